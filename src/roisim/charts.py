"""Static PNG charts of a run: distributions, payback curves, cash fans.

Charts that need every trial (histograms, CDFs) use at most the first
``CHART_TRIALS`` trials: a random sample (trials are independent) large
enough that the drawn curves do not move visibly.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from roisim.engine import SimulationResult  # noqa: E402

CHART_TRIALS = 1_000_000
DPI = 110


def money_axis(axis: object, currency: str) -> None:
    """Format an axis as money in thousands (``12k USD``)."""
    def fmt(x: float, _pos: int) -> str:
        return f"{x / 1000:,.0f}k" if abs(x) >= 1000 else f"{x:,.0f}"

    axis.set_major_formatter(FuncFormatter(fmt))  # type: ignore[attr-defined]


def _sample(values: np.ndarray) -> np.ndarray:
    return values[:CHART_TRIALS]


def _save(fig: plt.Figure, folder: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(folder / name, dpi=DPI)
    plt.close(fig)
    return name


def roi_histogram(result: SimulationResult, subject: str, folder: Path, name: str) -> str:
    """Histogram of ROI, with the break-even line and P(loss) in the title."""
    roi = result.trials(subject)["roi"].to_numpy()[:CHART_TRIALS]
    roi = roi[np.isfinite(roi)]
    fig, ax = plt.subplots(figsize=(7, 4))
    if roi.size:
        lo, hi = np.quantile(roi, [0.001, 0.999])
        shown = roi[(roi >= lo) & (roi <= hi)]
        ax.hist(shown, bins=80, color="#4C72B0", alpha=0.85)
        ax.axvline(0.0, color="black", lw=1, ls="--", label="break-even")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.legend(loc="upper right")
    p_loss = float(np.mean(roi < 0)) if roi.size else float("nan")
    ax.set_title(f"{subject}: ROI over {result.scenario.scenario.horizon_months} months "
                 f"(P(loss) = {p_loss:.1%})")
    ax.set_xlabel("ROI = NPV / PV of costs")
    ax.set_ylabel("trials")
    return _save(fig, folder, name)


def npv_cdfs(result: SimulationResult, folder: Path, subjects: list[str] | None = None,
             name: str = "npv_cdf.png") -> str:
    """Overlaid NPV distribution functions: the risk profiles side by side."""
    currency = result.scenario.scenario.currency
    fig, ax = plt.subplots(figsize=(8, 5))
    probs = np.linspace(0.0, 1.0, 501)
    for subject in subjects or result.subjects:
        npv = _sample(result.npv(subject))
        ax.plot(np.quantile(npv, probs), probs, lw=1.8, label=subject)
    ax.axvline(0.0, color="black", lw=1, ls="--")
    money_axis(ax.xaxis, currency)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"NPV [{currency}]")
    ax.set_ylabel("P(NPV ≤ x)")
    ax.set_title("NPV risk profiles (further right is better; steeper is surer)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, folder, name)


def payback_curves(result: SimulationResult, folder: Path, subjects: list[str] | None = None,
                   name: str = "payback_curve.png") -> str:
    """P(paid back by the end of month t) for every subject."""
    horizon = result.scenario.scenario.horizon_months
    months = np.arange(horizon)
    fig, ax = plt.subplots(figsize=(8, 5))
    for subject in subjects or result.subjects:
        paid = result.outcomes.payback[result.index(subject)]
        counts = np.bincount(paid[paid >= 0], minlength=horizon)[:horizon]
        ax.step(months, np.cumsum(counts) / paid.size, where="post", lw=1.8, label=subject)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("month")
    ax.set_ylabel("P(paid back by the end of the month)")
    ax.set_title("Payback probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, folder, name)


def cash_fan(result: SimulationResult, folder: Path, name: str = "cash_fan.png") -> str:
    """Cumulative net cash by month: P5-P95 and P25-P75 bands and the median."""
    subjects = result.subjects
    currency = result.scenario.scenario.currency
    cols = min(3, len(subjects))
    rows = -(-len(subjects) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False,
                             sharey=True)
    for ax, subject in zip(axes.flat, subjects, strict=False):
        bands = result.bands(subject)
        months = bands.index.to_numpy()
        ax.fill_between(months, bands["p5"], bands["p95"], color="#4C72B0", alpha=0.2,
                        label="P5–P95")
        ax.fill_between(months, bands["p25"], bands["p75"], color="#4C72B0", alpha=0.4,
                        label="P25–P75")
        ax.plot(months, bands["p50"], color="#1f3b6f", lw=1.8, label="median")
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_title(subject, fontsize=10)
        ax.set_xlabel("month")
        money_axis(ax.yaxis, currency)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(subjects):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(f"cumulative net cash [{currency}]")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Cumulative cash (undiscounted)")
    return _save(fig, folder, name)


def write_charts(result: SimulationResult, folder: Path) -> list[str]:
    """Every chart of a run, as PNG files in ``folder``."""
    from roisim.output import slug

    files = [roi_histogram(result, s, folder, f"roi_hist_{slug(s)}.png")
             for s in result.subjects]
    files.append(npv_cdfs(result, folder))
    files.append(payback_curves(result, folder))
    files.append(cash_fan(result, folder))
    return files
