"""The benchmark report (benchmarks/report.py): scaling curves, their fits, the chart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
try:
    from benchmarks.report import chart, line_fit, linearity, ratios, scaling
finally:
    sys.path.remove(str(ROOT))


def row(axis, x, seconds, without=None):
    """A benchmark row as report.medians() gives it; ``without``: also timed without the IRR."""
    info = {"median": seconds, "group": f"scaling-{axis}", "axis": axis, "x": x}
    if without is not None:
        info |= {"median": seconds + without, "with_irr": seconds, "without_irr": without}
    return info


def test_a_straight_line_is_fitted_exactly():
    intercept, slope, worst = line_fit([(12, 0.1 + 0.012), (60, 0.1 + 0.06), (240, 0.1 + 0.24)])
    assert intercept == pytest.approx(0.1)
    assert slope == pytest.approx(0.001)
    assert worst == pytest.approx(0.0, abs=1e-12)


def test_the_worst_miss_is_a_share_of_the_slowest_time():
    # the least-squares line is 0.1 + x: it misses the middle point by 0.2, a tenth
    # of the slowest point's 2.0 (and a sixth of the middle point's own time)
    _, _, worst = line_fit([(0, 0.0), (1, 1.3), (2, 2.0)])
    assert worst == pytest.approx(0.2 / 2.0)


def test_points_timed_both_ways_give_two_curves_and_others_say_which_or_had_it():
    rows = {"a": row("months", 60, 0.5, without=0.4), "b": row("months", 12, 0.2, without=0.1),
            "c": row("trials", 1e5, 0.05), "d": {"median": 1.0, "group": "other"},
            # a point timed one way, saying which
            "e": {**row("lines", 3, 0.3), "irr": False}}
    assert scaling(rows) == {("months", True): [(12.0, 0.2), (60.0, 0.5)],
                             ("months", False): [(12.0, 0.1), (60.0, 0.4)],
                             ("trials", True): [(1e5, 0.05)], ("lines", False): [(3.0, 0.3)]}


def test_linearity_reports_the_cost_per_unit_and_the_trials_exponent():
    rows = {f"m{x}": row("months", x, 0.3 + 0.004 * x, without=0.2 + 0.003 * x)
            for x in (12, 60, 120)}
    rows |= {f"t{n}": row("trials", n, n * 4e-7) for n in (1e5, 1e6, 1e7)}
    text = "\n".join(linearity(rows))
    assert "months, without IRR" in text and "0.200 s + 3.00 ms per month" in text
    assert "largest miss 0% " in text
    assert "time ~ trials^1.00" in text


def test_the_chart_draws_both_series_with_their_fits(tmp_path):
    rows = {f"{axis}{x}": row(axis, x, 0.2 + x / 1000, without=0.1 + x / 1000)
            for axis in ("months", "lines") for x in (1, 10, 50)}
    rows["t"] = row("trials", 1e5, 0.05)
    out = tmp_path / "scaling.png"
    fig = chart(rows, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trials, months, lines, initiatives = fig.axes
    for ax in (months, lines):  # each series and its dashed fit
        assert [line.get_linestyle() for line in ax.get_lines()] == ["-", "--", "-", "--"]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["with IRR", "without IRR"]
    assert len(trials.get_lines()) == 1  # one series of one point: no fit line, no legend
    assert trials.get_legend() is None
    assert not initiatives.get_visible()  # no curve


def test_the_tools_lines_say_what_a_sweep_adds_to_its_simulations():
    rows = {
        "test_sweep": {"median": 9.0, "group": "tools", "trials": 1_000_000, "values": 3,
                       "reference_s": 4.0, "sweep_s": 4.4, "ratio": 1.1},
        "test_solve": {"median": 2.5, "group": "tools", "trials": 200_000, "evaluations": 10},
        "test_fit": {"median": 6.1, "group": "tools", "values": 1_000_000, "best": "lognormal"},
    }
    assert ratios(rows) == [
        "sweep of 3 values x 1,000,000 trials: 4.40 s, 1.10x the same simulations by hand (4.00 s)",
        "solve of the bakery's break-even subscription at 200,000 trials: 2.50 s (10 simulations at "
        "most a subject)",
        "fit of 1,000,000 values: 6.10 s (best: lognormal)",
    ]
