"""Print a benchmark run's ratios, compare it with the last kept run, and chart the scaling.

Usage: python benchmarks/report.py results/benchmarks/latest.json [--keep]

``--keep`` copies the run to results/benchmarks/run-<date>.json, to be
committed: the performance history lives in git.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def medians(run: dict) -> dict[str, dict]:
    return {b["fullname"].split("::", 1)[1]: {"median": b["stats"]["median"],
                                              "group": b["group"], **b.get("extra_info", {})}
            for b in run["benchmarks"]}


def ratios(rows: dict[str, dict]) -> list[str]:
    lines = []
    ref = rows.get("test_numpy_reference")
    for name in ("test_roisim[with_irr]", "test_roisim[without_irr]"):
        if ref and name in rows:
            trials = rows[name].get("trials", 0)
            seconds = rows[name]["median"]
            lines.append(f"{name:30s} {seconds:8.2f} s  {trials / seconds / 1e6:6.2f} M trials/s"
                         f"  {ref['median'] / seconds:5.1f}x faster than numpy "
                         f"({ref['median']:.2f} s)")
    paired = rows.get("test_paired_ratio")
    if paired:
        for name in ("with_irr", "without_irr"):
            lines.append(f"paired, {name:22s} {paired[f'ratio_{name}']:5.1f}x faster than numpy "
                         f"(median of pairs; pairs: "
                         f"{', '.join(f'{r:.1f}x' for r in paired[f'ratios_{name}'])})")
    for name, row in rows.items():
        if row["group"] == "memory":
            estimate = (f"; roisim run estimates {row['estimate_mb']:.0f} MB"
                        if row.get("estimate_mb") else "")
            lines.append(f"{name:30s} peak {row.get('peak_mb', float('nan')):7.0f} MB for "
                         f"{row['trials']:,} trials ({row.get('seconds', float('nan')):.1f} s)"
                         f"{estimate}")
        if row["group"] == "startup":
            lines.append(f"{name:30s} {row['median']:8.2f} s as a whole process")
    serial, parallel = rows.get("test_charts[1]"), rows.get("test_charts[2]")
    if serial and parallel:
        lines.append(f"charts of the bakery: {serial['median']:.2f} s in one process, "
                     f"{parallel['median']:.2f} s in two ({serial['median'] / parallel['median']:.1f}x)")
    if "test_tables_and_parquet" in rows:
        row = rows["test_tables_and_parquet"]
        lines.append(f"tables and trials.parquet of the e-commerce example: {row['median']:.2f} s "
                     f"for {row['trials']:,} trials")
    for row in rows.values():
        if row["group"] != "tools":
            continue
        if "ratio" in row:
            lines.append(f"sweep of {row['values']} values x {row['trials']:,} trials: "
                         f"{row['sweep_s']:.2f} s, {row['ratio']:.2f}x the same simulations by hand "
                         f"({row['reference_s']:.2f} s)")
        elif "evaluations" in row:
            lines.append(f"solve of the bakery's break-even subscription at {row['trials']:,} trials: "
                         f"{row['median']:.2f} s ({row['evaluations']} simulations at most a subject)")
        elif "values" in row:
            lines.append(f"fit of {row['values']:,} values: {row['median']:.2f} s (best: {row['best']})")
    for name, row in rows.items():
        if row["group"] == "designs":
            lines.append(f"{name:55s} se of mean npv: random {row['se_random']:9.1f}  "
                         f"lhs {row['se_lhs']:9.1f} (x{row['lhs_reduction']:.1f} smaller)  "
                         f"sobol {row['se_sobol']:9.1f} (x{row['sobol_reduction']:.1f} smaller)")
    trials = scaling(rows).get(("trials", True), [])
    if len(trials) >= 2:
        (x0, t0), (x1, t1) = trials[-2], trials[-1]
        lines.append(f"time x{x1 / x0:.0f} trials: x{t1 / t0:.1f} "
                     f"({x0:,.0f} -> {x1:,.0f} trials: {t0:.2f} -> {t1:.2f} s)")
    lines += linearity(rows)
    return lines


#: the scaling axes, and the unit each curve's slope is per
AXES = {"trials": "trial", "months": "month", "lines": "line", "initiatives": "initiative"}


def scaling(rows: dict[str, dict]) -> dict[tuple[str, bool], list[tuple[float, float]]]:
    """The scaling curves: (axis, with IRR) -> sorted (x, median seconds).

    A point timed both ways holds the two medians as ``with_irr`` and
    ``without_irr``; one timed once says which way in ``irr`` (as in
    ``run-20261127-1029``), or was timed with it (trials, and every axis in
    runs kept before that).
    """
    curves: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for row in rows.values():
        if row.get("axis") not in AXES:
            continue
        if "with_irr" in row:
            points = [(True, row["with_irr"]), (False, row["without_irr"])]
        else:
            points = [(row.get("irr", True), row["median"])]
        for irr, seconds in points:
            curves.setdefault((row["axis"], irr), []).append((float(row["x"]), seconds))
    return {key: sorted(points) for key, points in curves.items()}


def line_fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least-squares line through ``points``: (intercept, slope, worst deviation).

    The worst deviation is the largest distance of a point from the line, as
    a share of the curve's largest time: how far the curve is from linear
    (a share of each point's own time would make the smallest, least
    precise, point decide).
    """
    x, t = np.array(points).T
    slope, intercept = np.polyfit(x, t, 1)
    return float(intercept), float(slope), float(np.max(np.abs(t - intercept - slope * x))
                                                 / t.max())


def linearity(rows: dict[str, dict]) -> list[str]:
    """One line per scaling curve: its fitted cost per unit and how close to linear it is.

    Trials span three decades, so their curve is fitted on log-log axes: an
    exponent of 1 is linear.
    """
    lines = []
    for (axis, irr), points in scaling(rows).items():
        if len(points) < 3:
            continue
        label = f"{axis}, {'with' if irr else 'without'} IRR"
        if axis == "trials":
            exponent = np.polyfit(*np.log(np.array(points)).T, 1)[0]
            lines.append(f"{label:28s} time ~ trials^{exponent:.2f} "
                         f"({points[0][0]:,.0f}..{points[-1][0]:,.0f})")
            continue
        intercept, slope, worst = line_fit(points)
        lines.append(f"{label:28s} {intercept:.3f} s + {slope * 1e3:.2f} ms per {AXES[axis]};"
                     f" largest miss {worst:.0%} of the slowest point's time")
    return lines


def last_kept(folder: Path) -> Path | None:
    kept = sorted(folder.glob("run-*.json"))
    return kept[-1] if kept else None


def compare(now: dict[str, dict], before: dict[str, dict]) -> list[str]:
    lines = []
    for name, row in now.items():
        if name in before:
            change = row["median"] / before[name]["median"] - 1
            lines.append(f"{name:40s} {before[name]['median']:9.3f} -> {row['median']:9.3f} s "
                         f"({change:+.0%})")
    return lines


def chart(rows: dict[str, dict], out: Path) -> plt.Figure:
    """The scaling curves, with and without the IRR, each with its fitted line (dashed)."""
    curves = scaling(rows)
    fig, axes = plt.subplots(1, len(AXES), figsize=(16, 3.8))
    for ax, axis in zip(axes, AXES, strict=True):
        series = [(irr, curves[axis, irr]) for irr in (True, False) if (axis, irr) in curves]
        if not series:
            ax.set_visible(False)
            continue
        for irr, points in series:
            xs, ts = zip(*points, strict=True)
            line, = ax.plot(xs, ts, "o-", label="with IRR" if irr else "without IRR")
            if axis != "trials" and len(points) >= 3:
                intercept, slope, _ = line_fit(points)
                ends = np.array([0.0, xs[-1]])
                ax.plot(ends, intercept + slope * ends, "--", lw=0.8, color=line.get_color())
        if axis == "trials":
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(axis)
        ax.set_ylabel("seconds (2 threads)")
        ax.set_ylim(bottom=0 if axis != "trials" else None)
        ax.grid(alpha=0.3)
        ax.set_title(f"time vs {axis}")
        if len(series) > 1:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    return fig


def main(argv: list[str]) -> None:
    path = Path(argv[0])
    run = json.loads(path.read_text())
    rows = medians(run)
    print("\n".join(["", "== roisim benchmarks", *ratios(rows)]))
    previous = last_kept(path.parent)
    if previous is not None:
        print(f"\n== compared with {previous.name}")
        print("\n".join(compare(rows, medians(json.loads(previous.read_text())))))
    chart(rows, path.parent / "scaling.png")
    print(f"\nscaling chart: {path.parent / 'scaling.png'}")
    if "--keep" in argv:
        kept = path.parent / f"run-{datetime.now(UTC):%Y%m%d-%H%M}.json"
        shutil.copy(path, kept)
        print(f"kept as {kept} (commit it to track performance over time)")


if __name__ == "__main__":
    main(sys.argv[1:])
