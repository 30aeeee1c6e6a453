"""Distribution fitting: estimates against scipy.stats, scores against their definitions.

Sample sizes: 2,000 values tell every candidate family from the others
(the true family has an Akaike weight of 1.00 at eight seeds out of eight
for each, 0.84 at worst for a beta(8, 2)), so each test of the ranking uses
seed 0 and n = 2,000 and would fail if the estimates or the scores were
wrong. Estimates are compared with scipy's at its own optimum: after
rounding, a fit's log-likelihood may lie ``ROUNDING_LOSS`` below it.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import roisim
from roisim._toml import toml_number
from roisim.fitting import (
    MIN_VALUES,
    PARAMETERS,
    ROUNDING_LOSS,
    SEARCH_VALUES,
    fit,
    ks_distance,
    log_likelihood,
)

N = 2_000
TRUE = {
    "normal": lambda r, n: r.normal(40, 8, n),
    "lognormal": lambda r, n: r.lognormal(3, 0.5, n),
    "triangular": lambda r, n: r.triangular(10, 15, 40, n),
    "pert": lambda r, n: 5 + 20 * r.beta(1.8, 4.2, n),  # PERT(5, 9, 25)
    "uniform": lambda r, n: r.uniform(3, 9, n),
    "beta": lambda r, n: r.beta(8, 2, n),
    "poisson": lambda r, n: r.poisson(4, n).astype(float),
}


def values(family: str, n: int = N, seed: int = 0) -> np.ndarray:
    return TRUE[family](np.random.default_rng(seed), n)


@pytest.mark.parametrize("family", list(TRUE))
def test_values_drawn_from_a_family_are_fitted_best_by_it(family):
    fits = fit(values(family))
    assert fits.table.index[0] == family
    assert fits.table.loc[family, "weight"] > 0.8


def test_normal_and_lognormal_are_scipys_maximum_likelihood_estimates():
    x = values("normal", 500)
    mean, sd = stats.norm.fit(x)
    normal = fit(x).distributions["normal"]
    assert normal.mean == pytest.approx(mean, rel=1e-2) and normal.sd == pytest.approx(sd, rel=1e-2)
    y = values("lognormal", 500)
    sigma, _, scale = stats.lognorm.fit(y, floc=0)
    mu, s = fit(y).distributions["lognormal"].params()
    assert mu == pytest.approx(math.log(scale), abs=0.01) and s == pytest.approx(sigma, rel=0.01)


@pytest.mark.parametrize("family, scipy_fit", [
    ("beta", lambda x: stats.beta(*stats.beta.fit(x, floc=0, fscale=1))),
    ("triangular", lambda x: stats.triang(*stats.triang.fit(x))),
    ("normal", lambda x: stats.norm(*stats.norm.fit(x))),
    ("lognormal", lambda x: stats.lognorm(*stats.lognorm.fit(x, floc=0))),
])
def test_no_fit_is_worse_than_scipys_of_the_same_family(family, scipy_fit):
    x = values(family, 400, seed=3)
    fits = fit(x)
    theirs = float(np.sum(scipy_fit(x).logpdf(x)))
    assert fits.table.loc[family, "log_likelihood"] >= theirs - ROUNDING_LOSS - 1e-9
    # and the table's log-likelihood is that of the distribution it writes
    assert fits.table.loc[family, "log_likelihood"] == pytest.approx(
        float(np.sum(fits.distributions[family].reference().logpdf(x))), abs=1e-9)


@pytest.mark.parametrize("family, truth", [
    ("pert", dict(dist="pert", min=5, mode=9, max=25)),
    ("triangular", dict(dist="triangular", min=10, mode=15, max=40)),
])
def test_the_estimate_is_likelier_than_the_truth(family, truth):
    # the maximum of the likelihood is at least its value at the parameters the values came from
    from roisim.fitting import _DIST

    x = values(family, 300, seed=5)
    fits = fit(x)
    assert fits.table.loc[family, "log_likelihood"] >= log_likelihood(
        _DIST.validate_python(truth), x, False) - ROUNDING_LOSS


def test_many_values_are_searched_on_a_summary_and_refined_on_all():
    from roisim.fitting import _DIST

    x = values("triangular", 3 * SEARCH_VALUES, seed=7)
    fits = fit(x)
    truth = _DIST.validate_python(dict(dist="triangular", min=10, mode=15, max=40))
    assert fits.table.index[0] == "triangular"
    assert fits.table.loc["triangular", "log_likelihood"] >= log_likelihood(truth, x, False) - ROUNDING_LOSS


def test_numbers_are_written_as_toml_that_reads_back_exactly():
    rng = np.random.default_rng(12)
    xs = np.concatenate([rng.normal(0, 1, 300) * 10.0 ** rng.integers(-12, 19, 300),
                         [19e12, 12_500.0, -3.0, 0.5, 1e16]])
    for x in xs:
        assert tomllib.loads(f"a = {toml_number(x)}")["a"] == x
    assert [toml_number(x) for x in (12_500.0, 1234.5, -123_456.75, 40.0)] == [
        "12_500", "1234.5", "-123_456.75", "40"]


def test_a_uniforms_ends_lie_a_mean_gap_beyond_the_values():
    x = np.array([3.0, 4.5, 7.0, 8.0, 9.5, 5.25])
    u = fit(x).distributions["uniform"]
    gap = (9.5 - 3.0) / 5
    assert (u.min, u.max) == (pytest.approx(3.0 - gap), pytest.approx(9.5 + gap))


def test_scores_are_aicc_bic_and_akaike_weights():
    x = values("lognormal", 60, seed=2)
    table = fit(x).table
    k, ll, n = table["parameters"], table["log_likelihood"], x.size
    assert np.allclose(table["aicc"], 2 * k - 2 * ll + 2 * k * (k + 1) / (n - k - 1))
    assert np.allclose(table["bic"], k * np.log(n) - 2 * ll)
    assert table["aicc"].is_monotonic_increasing
    relative = np.exp(-(table["aicc"] - table["aicc"].min()) / 2)
    assert np.allclose(table["weight"], relative / relative.sum())
    assert table["parameters"].to_dict() == {d: PARAMETERS[d] for d in table.index}


def test_ks_distance_is_scipys_for_continuous_values():
    x = values("triangular", 300, seed=1)
    fits = fit(x)
    for family, dist in fits.distributions.items():
        assert fits.table.loc[family, "ks"] == pytest.approx(
            stats.kstest(x, dist.reference().cdf).statistic, abs=1e-12)


def test_ks_distance_of_counts_is_the_largest_gap_anywhere():
    x = values("poisson", 200, seed=4)
    fits = fit(x)
    t = np.linspace(-1.0, x.max() + 2, 20_001)
    ecdf = np.searchsorted(np.sort(x), t, side="right") / x.size
    for family, dist in fits.distributions.items():
        model = (stats.poisson(dist.mean).cdf(np.floor(t)) if family == "poisson"
                 else dist.cdf(np.floor(t) + 0.5))  # a continuous fit's value as recorded
        assert ks_distance(dist, np.unique(x, return_counts=True), True) == pytest.approx(
            np.max(np.abs(ecdf - model)), abs=1e-9)


def test_whole_values_are_scored_by_the_probability_of_each_recorded_value():
    x = values("poisson", 300, seed=6)
    fits = fit(x)
    assert fits.whole and "poisson" in fits.table.index
    normal = fits.distributions["normal"]
    k = np.arange(-60, 80)
    # a continuous fit's probabilities of whole values add up to 1, and give its score
    from roisim.fitting import _recorded

    assert _recorded(normal, k.astype(float)).sum() == pytest.approx(1.0, abs=1e-12)
    expected = np.sum(np.log(stats.norm(*normal.params()).cdf(x + 0.5)
                             - stats.norm(*normal.params()).cdf(x - 0.5)))
    assert fits.table.loc["normal", "log_likelihood"] == pytest.approx(expected, abs=1e-9)
    assert fits.table.loc["poisson", "log_likelihood"] == pytest.approx(
        float(np.sum(stats.poisson(fits.distributions["poisson"].mean).logpmf(x))), abs=1e-9)


def test_small_counts_are_fitted_as_recorded():
    # with counts 0..3 the density's estimate puts a triangular's mode and upper end at the
    # largest value, 3, where values that round to it are then half as likely
    from roisim.fitting import _DIST, ESTIMATORS

    x = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 1, 2, 0, 1, 2, 2, 3, 1, 2], dtype=float)
    density = ESTIMATORS["triangular"](x)
    assert density["max"] == pytest.approx(3.0)
    as_density = log_likelihood(_DIST.validate_python({"dist": "triangular", **density}), x, True)
    assert fit(x).table.loc["triangular", "log_likelihood"] > as_density + 0.5


def test_yes_no_values_get_a_bernoulli_alone():
    x = np.array([1, 0, 0, 1, 1, 1, 0, 1, 1, 0], dtype=float)
    fits = fit(x)
    assert list(fits.table.index) == ["bernoulli"]
    assert fits.best.p == pytest.approx(0.6)


def test_candidates_that_cannot_describe_the_values_are_named_with_why():
    fits = fit(values("poisson", 50))  # counts with zeros
    assert "lognormal" in fits.skipped and "above 0" in fits.skipped["lognormal"]
    assert "beta" in fits.skipped
    assert not set(fits.skipped) & set(fits.table.index)


def test_parameters_are_rounded_to_the_fewest_digits_that_keep_the_fit():
    x = values("normal", 30, seed=9)
    fits = fit(x)
    mean, sd = stats.norm.fit(x)
    normal = fits.distributions["normal"]
    assert len(repr(normal.mean).replace(".", "").strip("0")) <= 4  # 30 values: a few digits do
    exact = float(np.sum(stats.norm(mean, sd).logpdf(x)))
    assert exact - ROUNDING_LOSS <= fits.table.loc["normal", "log_likelihood"] <= exact + 1e-9
    big = fit(values("normal", 200_000, seed=9)).distributions["normal"]
    assert len(repr(big.mean).replace(".", "")) > len(repr(normal.mean).replace(".", ""))


def test_the_toml_is_a_scenario_input_that_loads_and_draws_as_fitted():
    x = values("pert", 500, seed=8)
    fits = fit(pd.Series(x, name="hours saved"))
    line = fits.toml("pert")
    assert line.startswith('"hours saved" = { dist = "pert"')
    parsed = tomllib.loads(line)["hours saved"]
    assert parsed == fits.distributions["pert"].model_dump(by_alias=True, exclude_defaults=True)
    scenario = roisim.parse(f"""
[scenario]
name = "fitted"
horizon_months = 12
[inputs]
{line}
[[initiatives]]
name = "A"
benefits = [ {{ name = "b", amount = "hours saved", every = "month" }} ]
""")
    result = roisim.simulate(scenario, trials=20_000, seed=1)
    drawn = result.inputs()["hours saved"]
    assert stats.kstest(drawn, fits.distributions["pert"].reference().cdf).pvalue > 0.001


def test_the_table_sets_each_fits_statistics_beside_the_values():
    x = values("lognormal", 400, seed=11)
    fits = fit(x)
    assert fits.observed["n"] == 400 and fits.observed["sd"] == pytest.approx(np.std(x, ddof=1))
    ln = fits.distributions["lognormal"].reference()
    row = fits.table.loc["lognormal"]
    assert (row["mean"], row["sd"], row["p95"]) == pytest.approx((ln.mean(), ln.std(), ln.ppf(0.95)))


@pytest.mark.parametrize("bad, message", [
    ([1.0, 2.0, np.nan, 4.0, 5.0, 6.0], "missing (NaN)"),
    ([1.0, 2.0, np.inf, 4.0, 5.0, 6.0], "infinite"),
    ([1.0, 2.0, 3.0], f"too few to fit a distribution (at least {MIN_VALUES})"),
    ([7.0] * 8, "all 8 values are 7: a constant"),
    (["a", "b", "c", "d", "e"], "expected numbers"),
    ([4.0], "1 value is too few"),
    ([1e308, -1e308, 5e307, -5e307, 1.0], "spread beyond what a double holds"),
    (pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0)}), "expected one column of values, got a "
                                                             "table of 2 columns"),
    (np.arange(12.0).reshape(3, 4), "expected one column of values, got an array of shape (3, 4)"),
    (pd.Series(pd.date_range("2024-01-01", periods=6)), "found datetime64[us] values (dates or durations)"),
])
def test_values_that_cannot_be_fitted_are_refused_with_why(bad, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(bad)


def test_a_frame_of_one_column_is_fitted_under_its_name_and_huge_counts_not_as_a_poisson():
    fits = fit(pd.DataFrame({"orders": values("poisson", 40)}))
    assert fits.name == "orders" and fits.toml().startswith("orders = ")
    cents = np.random.default_rng(1).integers(10**9, 2 * 10**9, 50).astype(float)
    assert fits.whole and "poisson" in fit(cents).skipped
    assert "must be at most 10,000,000 for a poisson" in fit(cents).skipped["poisson"]


def test_the_chart_draws_the_values_and_the_best_fits():
    fits = fit(values("poisson", 200, seed=2), name="orders")
    fig = fits.plot()
    left, right = fig.axes[:2]
    labels = [text.get_text() for text in left.get_legend().get_texts()]
    top = list(fits.table.index[:3])
    assert labels[:3] == [f"{d} ({fits.table.loc[d, 'weight']:.0%})" for d in top]
    # bars a value each, as shares of the values; the values' distribution function ends at 1
    heights = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in left.patches}
    for k, count in zip(*np.unique(fits.values, return_counts=True), strict=True):
        assert heights[round(k)] == pytest.approx(count / fits.values.size)
    assert right.lines[0].get_ydata()[-1] == 1.0
    continuous = fit(values("lognormal", 300), name="cost").plot()
    assert continuous.axes[0].get_ylabel() == "density"


def fit_cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "roisim", "fit", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_fit_on_the_command_line_prints_the_inputs_to_write_and_draws_them(tmp_path):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"month": [f"2025-{m:02d}" for m in range(1, 13)] * 3,
                          "orders": rng.poisson(40, 36), "cost": np.round(rng.lognormal(8, 0.5, 36), 2)})
    frame.to_csv(tmp_path / "history.csv", index=False)
    proc = fit_cli("history.csv", "--charts", "charts", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    twice = fit_cli("history.csv", "--column", "cost", "--column", "cost", cwd=tmp_path)
    assert twice.stdout.count("cost in history.csv") == 1
    assert "column 'month' not fitted" in proc.stderr and "'2025-01'" in proc.stderr
    inputs = tomllib.loads(proc.stdout[proc.stdout.index("[inputs]"):])["inputs"]
    assert set(inputs) == {"orders", "cost"}
    assert inputs["cost"] == tomllib.loads(fit(frame["cost"]).toml())["cost"]
    assert "orders in history.csv: 36 values" in proc.stdout
    assert "not fitted: beta" not in proc.stdout  # never in question for counts of 40
    # orders and cost were drawn apart: nothing to correlate, and it says so
    assert "# no two columns rank-correlated beyond chance" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == ["fit_cost.png", "fit_orders.png"]
    assert (tmp_path / "charts" / "fit_cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a file where the folder would go is bad input; a folder that cannot be made (no process
    # makes one in /proc, root or not) a failure: the fits printed, one message, exit code 1
    (tmp_path / "blocked").write_text("a file where a folder of charts would go")
    assert fit_cli("history.csv", "--charts", "blocked/charts", cwd=tmp_path).returncode == 2
    blocked = fit_cli("history.csv", "--charts", "/proc/roisim-charts", cwd=tmp_path)
    assert blocked.returncode == 1 and "[inputs]" in blocked.stdout
    assert "failed: --charts /proc/roisim-charts: cannot write the charts there" in blocked.stderr
    assert "Traceback" not in blocked.stderr


@pytest.mark.parametrize("args, message", [
    (["missing.csv"], "error: file not found: missing.csv"),
    (["history.csv", "--column", "ordres"], "error: history.csv has no column 'ordres'; did you mean 'orders'?"),
    (["history.csv", "--column", "month"], "error: history.csv, line 2, column 'month': expected a number, found 'Jan'"),
    (["labels.csv"], "error: labels.csv: none of its columns could be fitted"),
])
def test_fit_refuses_bad_input_with_exit_code_2_and_one_message(tmp_path, args, message):
    (tmp_path / "history.csv").write_text("month,orders\nJan,40\nFeb,38\nMar,45\nApr,41\nMay,39\nJun,50\n")
    (tmp_path / "labels.csv").write_text("month\nJan\nFeb\n")
    proc = fit_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "charts").exists()


def test_rank_correlations_pair_values_by_line_and_are_scipys(tmp_path):
    rng = np.random.default_rng(3)
    a = rng.normal(size=40)
    b = a + rng.normal(size=40)
    lines = ["a,b,c"] + [f"{x:.6f},{y:.6f},{z:.6f}" for x, y, z in zip(a, b, rng.normal(size=40), strict=True)]
    lines[5] = f"{a[4]:.6f},,{0.5}"  # a blank cell: that line is left out of every pair
    (tmp_path / "obs.csv").write_text("\n".join(lines) + "\n")
    from roisim.fitting import rank_correlations, read_column

    observed = {name: read_column(tmp_path / "obs.csv", name) for name in "abc"}
    pairs = rank_correlations(observed).set_index(["a", "b"])
    keep = np.ones(40, bool)
    keep[4] = False
    rows = np.round(np.column_stack([a, b]), 6)[keep]
    expected = stats.spearmanr(rows[:, 0], rows[:, 1])
    assert pairs.loc[("a", "b"), "n"] == 39
    assert pairs.loc[("a", "b"), "rank"] == pytest.approx(expected.statistic, abs=1e-12)
    assert pairs.loc[("a", "b"), "p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    z, half = math.atanh(expected.statistic), 1.96 * math.sqrt(1.06 / 36)
    assert pairs.loc[("a", "b"), "low"] == pytest.approx(math.tanh(z - half))
    assert pairs.loc[("a", "b"), "high"] == pytest.approx(math.tanh(z + half))


def test_correlations_written_are_those_beyond_chance_and_always_a_valid_matrix():
    from roisim.correlation import usable
    from roisim.fitting import correlation_lines

    def written(rows):
        pairs = pd.DataFrame(rows, columns=["a", "b", "n", "rank", "low", "high", "p_value"])
        text = "\n".join(correlation_lines(pairs))
        return {tuple(c["inputs"]): c["rank"] for c in tomllib.loads(text).get("correlations", [])}

    assert written([("x", "y", 30, 0.6, 0.3, 0.8, 0.001), ("x", "z", 30, 0.1, -0.3, 0.4, 0.6),
                    ("y", "z", 30, 0.05, -0.3, 0.4, 0.8)]) == {("x", "y"): 0.6}
    assert written([("x", "y", 30, 0.1, -0.3, 0.4, 0.6)]) == {}
    # x~y and y~z strong, x~z weak: the strong ones alone are no correlation matrix
    found = written([("x", "y", 30, 0.9, 0.8, 0.95, 1e-9), ("x", "z", 30, 0.1, -0.3, 0.4, 0.6),
                     ("y", "z", 30, 0.9, 0.8, 0.95, 1e-9)])
    assert set(found) == {("x", "y"), ("x", "z"), ("y", "z")}
    m = np.eye(3)
    for (p, q), rank in found.items():
        i, j = "xyz".index(p), "xyz".index(q)
        m[i, j] = m[j, i] = rank
    assert usable(m)


def test_fit_on_the_command_line_writes_the_correlation_of_columns_observed_together(tmp_path):
    rng = np.random.default_rng(8)
    cost = rng.lognormal(9, 0.4, 30)
    frame = pd.DataFrame({"setup_cost": np.round(cost),
                          "months_to_live": np.round(2 + cost / 4000 + rng.normal(0, 0.8, 30), 1)})
    frame.to_csv(tmp_path / "projects.csv", index=False)
    proc = fit_cli("projects.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pasted = tomllib.loads(proc.stdout[proc.stdout.index("[inputs]"):])
    expected = stats.spearmanr(frame["setup_cost"], frame["months_to_live"]).statistic
    assert pasted["correlations"] == [{"inputs": ["setup_cost", "months_to_live"],
                                       "rank": round(expected, 2)}]
    assert set(pasted["inputs"]) == {"setup_cost", "months_to_live"}
    # months fitted by a distribution with no lower bound: told how to keep them at 0 or more
    months = fit(frame["months_to_live"])
    assert months.best.support()[0] < 0
    assert (f"every value is 0 or more, but the {months.table.index[0]} has no lower bound"
            in proc.stdout)
    assert "add at_least = 0 to its line; a month must have one" in proc.stdout
