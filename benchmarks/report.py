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
            lines.append(f"{name:30s} peak {row.get('peak_mb', float('nan')):7.0f} MB for "
                         f"{row['trials']:,} trials ({row.get('seconds', float('nan')):.1f} s)")
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
    for name, row in rows.items():
        if row["group"] == "designs":
            lines.append(f"{name:55s} se of mean npv: random {row['se_random']:9.1f}  "
                         f"lhs {row['se_lhs']:9.1f} (x{row['lhs_reduction']:.1f} smaller)  "
                         f"sobol {row['se_sobol']:9.1f} (x{row['sobol_reduction']:.1f} smaller)")
    trials = sorted((r["x"], r["median"]) for r in rows.values() if r.get("axis") == "trials")
    if len(trials) >= 2:
        (x0, t0), (x1, t1) = trials[-2], trials[-1]
        lines.append(f"time x{x1 / x0:.0f} trials: x{t1 / t0:.1f} "
                     f"({x0:,.0f} -> {x1:,.0f} trials: {t0:.2f} -> {t1:.2f} s)")
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


def chart(rows: dict[str, dict], out: Path) -> None:
    axes_names = ["trials", "months", "lines", "initiatives"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for ax, axis in zip(axes, axes_names, strict=True):
        points = sorted((r["x"], r["median"]) for r in rows.values() if r.get("axis") == axis)
        if not points:
            ax.set_visible(False)
            continue
        xs, ts = zip(*points, strict=True)
        ax.plot(xs, ts, "o-")
        if axis == "trials":
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(axis)
        ax.set_ylabel("seconds (2 threads)")
        ax.set_ylim(bottom=0 if axis != "trials" else None)
        ax.grid(alpha=0.3)
        ax.set_title(f"time vs {axis}")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


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
