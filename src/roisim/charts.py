"""Charts of a run: distributions, payback curves, cash fans, what drives the risk.

Each chart function returns a matplotlib :class:`~matplotlib.figure.Figure`
(which a notebook shows); :func:`write_charts` saves every chart of a run as
PNG, and :meth:`roisim.SimulationResult.plot` draws one by name. Figures are
made with matplotlib's object-oriented API and drawn by Agg, without pyplot:
no global backend is chosen, so importing this module changes nothing in a
notebook's own plotting, and no figure is kept in pyplot's registry.

Charts that need every trial (histograms, CDFs) use at most the first
``CHART_TRIALS`` trials: a random sample (trials are independent) large
enough that the drawn curves do not move visibly.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import signal
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps, font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import (
    Formatter,
    FuncFormatter,
    LogFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
    StrMethodFormatter,
)
from matplotlib.transforms import Bbox

from roisim.chart_process import fork, release_signals, signals_held
from roisim.compare import equal_to_earlier
from roisim.metrics import months, sorted_quantiles
from roisim.result import MONTHLY_TRIALS, Profiles, SimulationResult
from roisim.sensitivity import ANALYSIS_TRIALS

if TYPE_CHECKING:
    from roisim.fitting import Fits
    from roisim.sweeps import Sweep

CHART_TRIALS = 1_000_000
DPI = 110
#: area of the risk-return chart's markers (points², as ``scatter`` takes it)
MARKER = 60
#: panels per row in the inputs chart
INPUT_COLUMNS = 4
#: inputs a spider chart names in one legend, each in one colour in every panel
SPIDER_SHARED = 10
#: the charts :func:`figure` draws by name; those of :data:`PER_SUBJECT` for one subject each.
CHARTS = ("roi_hist", "tornado", "scatter", "npv_cdf", "payback_curve", "cash_fan", "risk_return",
          "prioritisation", "spider", "value_of_information", "convergence", "inputs")
PER_SUBJECT = ("roi_hist", "tornado", "scatter")
#: trials a scatter chart draws: enough to show the spread, few enough to see each point
SCATTER_TRIALS = 2_000


class MoneyFormatter(Formatter):
    """Tick labels for money, told apart however close the ticks (``1.2k``, ``1.4k``).

    One unit for the whole axis (``k``, ``M`` or none), and as many decimals
    as it takes to write every tick exactly.
    """

    def format_ticks(self, values: Any) -> list[str]:
        scale, unit, decimals = money_style(values)
        return ["0" if x == 0 else f"{x / scale:,.{decimals}f}{unit}" for x in values]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return money(x)  # one value alone (a cursor's position)


def money_style(values: Any) -> tuple[float, str, int]:
    """(scale, unit, decimals) that write every one of ``values`` exactly, in one unit.

    The unit is set by the largest magnitude: M from a million, k from ten
    thousand (below, ``9,500`` reads as well as ``9.5k``); decimals are the
    fewest (at most 3) that write every value exactly.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    top = float(np.abs(values).max()) if values.size else 0.0
    scale, unit = (1e6, "M") if top >= 1e6 else (1e3, "k") if top >= 1e4 else (1.0, "")
    scaled = values / scale
    for decimals in range(4):
        if np.allclose(np.round(scaled, decimals), scaled, rtol=0, atol=1e-9 * max(top / scale, 1)):
            return scale, unit, decimals
    return scale, unit, 3


def money(value: float) -> str:
    """One amount in the style of :class:`MoneyFormatter`, to three significant digits."""
    if value == 0 or not np.isfinite(value):
        return f"{value:,.0f}"
    rounded = float(f"{value:.3g}")
    scale, unit, decimals = money_style([rounded])
    return f"{rounded / scale:,.{decimals}f}{unit}"


class NumberFormatter(MoneyFormatter):
    """Ticks of any magnitude, told apart however small.

    As :class:`MoneyFormatter` writes them where that tells them apart, else
    in as few significant digits as do (``1.2e-06``, ``1.4e-06``).
    """

    def format_ticks(self, values: Any) -> list[str]:
        labels = super().format_ticks(values)
        for digits in range(1, 10):
            if len(set(labels)) == len(labels):
                break
            labels = [f"{x:.{digits}g}" for x in values]
        return labels


class CountFormatter(LogFormatter):
    """Trial counts on a log axis in plain figures: ``1,000``, ``200,000``, ``2M``.

    matplotlib's default writes ``10^4`` in mathtext, whose parser takes
    0.3 s to build in each process that draws; which ticks get a label is
    still matplotlib's choice (decades, and more where the axis spans few).
    """

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:,.0f}" if x < 1e6 else f"{x / 1e6:,.{0 if x % 1e6 == 0 else 1}f}M"


def money_axis(axis: object) -> None:
    """Label an axis's ticks as money (:class:`MoneyFormatter`)."""
    axis.set_major_formatter(MoneyFormatter())  # type: ignore[attr-defined]


def line_colours(n: int) -> list[Any]:
    """Colours for ``n`` lines drawn together, no two alike.

    matplotlib's ten default colours up to ten lines, its twenty paired ones up
    to twenty, and evenly spaced colours of a continuous map beyond.
    """
    if n <= 10:
        return [f"C{k}" for k in range(n)]
    if n <= 20:
        return [colormaps["tab20"](k) for k in range(n)]
    return [colormaps["turbo"](k / (n - 1)) for k in range(n)]


def label_points(ax: Any, points: list[tuple[float, float]], labels: list[str],
                 key_at: str = "right", sizes: Iterable[float] | None = None) -> None:
    """Label each point with its text, or with a number and a key where texts would collide.

    Each text goes above right of its point, above left, centred above or
    centred below, the first of those that stays in the axes and covers no
    other text or marker (:func:`_annotate_apart`). Where some text finds no
    such place, and would run into another text or out of the figure, the
    texts are replaced by the points' numbers, and a key of the numbers is
    put beside the axes (``key_at`` "right" or "below"). Points at the same
    place (an initiative and its all-at-once plan) share one label.
    ``sizes`` are the markers' areas (points², as ``scatter`` takes them)
    where they are larger than a dot: each text starts beyond its marker's
    edge.
    """
    merged: dict[tuple[float, float], list[str]] = {}
    radius: dict[tuple[float, float], float] = {}
    for xy, label, size in zip(points, labels, sizes if sizes is not None else [0.0] * len(points),
                               strict=True):
        key = (float(xy[0]), float(xy[1]))
        merged.setdefault(key, []).append(label)
        radius[key] = max(radius.get(key, 0.0), math.sqrt(max(size, 0.0)) / 2)
    points, labels = list(merged), [" / ".join(names) for names in merged.values()]
    radii = [radius[xy] for xy in points]
    texts, costs = _annotate_apart(ax, points, radii, labels, _text_sides, {})
    if not any(covered or cut for covered, cut, _, _ in costs):
        return
    for text in texts:
        text.remove()
    _annotate_apart(ax, points, radii, [str(k) for k in range(1, len(points) + 1)],
                    _number_sides, {"fontweight": "bold"})
    handles = [Line2D([], [], ls="none") for _ in points]
    keys = [f"{k}   {label}" for k, label in enumerate(labels, start=1)]
    if key_at == "right":
        _beside(ax, handles, keys, handlelength=0, handletextpad=0)
    else:
        _grown_by(ax.legend(handles, keys, fontsize=8, borderaxespad=0.0, handlelength=0,
                            handletextpad=0, loc="upper left", bbox_to_anchor=(0.0, -0.1)), key_at)


#: a place for a label beside a marker: offset in points, and alignments
Side = tuple[float, float, str, str]


def _within(box: Any, frame: Any) -> bool:
    """Whether ``box`` lies wholly inside ``frame`` (both in pixels)."""
    return bool(frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
                and box.y1 <= frame.y1)


def _text_sides(r: float) -> list[Side]:
    """Places for a name beside a marker of radius ``r`` points.

    Above right (its corner just off the marker's edge, diagonally), above
    left, centred above, centred below.
    """
    d = 0.71 * r
    return [(6 + d, 5 + d, "left", "bottom"), (-6 - d, 5 + d, "right", "bottom"),
            (0, r + 3, "center", "bottom"), (0, -r - 3, "center", "top")]


def _number_sides(r: float) -> list[Side]:
    """Places for a number beside a marker of radius ``r`` points.

    Above right, above left, below right, below left, right, left, then the
    same twice as far out.
    """
    sides: list[Side] = []
    for far in (1.0, 2.0):
        d, e = far * (2 + 0.71 * r), far * (r + 2)  # diagonally, and straight out
        sides += [(d, d, "left", "bottom"), (-d, d, "right", "bottom"), (d, -d, "left", "top"),
                  (-d, -d, "right", "top"), (e, 0, "left", "center"), (-e, 0, "right", "center")]
    return sides


def _annotate_apart(ax: Any, points: list[tuple[float, float]], radii: list[float],
                    labels: list[str], sides: Callable[[float], list[Side]],
                    style: dict[str, Any]) -> tuple[list[Any], list[tuple[int, bool, bool, int]]]:
    """Annotate each point with its label, each where it is easiest to read.

    ``radii`` are the markers' radii, in points; ``sides(radius)`` the places
    to try, in order. The first where the label stays in the axes and covers
    neither another marker nor a label placed before it is taken; where none
    is free, the one that covers the fewest labels, then lies in the figure,
    then in the axes, then covers the fewest markers. Returns the texts, and
    for each what its place costs: (labels covered, outside the figure,
    outside the axes, markers covered).
    """
    renderer = ax.figure.canvas.get_renderer()
    inside, figure_box = ax.get_window_extent(renderer), ax.figure.bbox
    scale = ax.figure.dpi / 72.0  # pixels a point
    centres = ax.transData.transform(np.asarray(points, dtype=float).reshape(-1, 2))
    markers = [Bbox.from_extents(x - r * scale, y - r * scale, x + r * scale, y + r * scale)
               for (x, y), r in zip(centres, radii, strict=True)]
    placed: list[Any] = []
    texts, costs = [], []
    for k, (xy, r, label) in enumerate(zip(points, radii, labels, strict=True)):
        others = markers[:k] + markers[k + 1:]
        places = sides(r)
        text = ax.annotate(label, xy, xytext=places[0][:2], textcoords="offset points",
                           fontsize=8, **style)
        best: tuple[tuple[int, bool, bool, int], Any, Side] | None = None
        for place in places:
            box = _moved(text, place, renderer)
            cost = (sum(box.overlaps(b) for b in placed), not _within(box, figure_box),
                    not _within(box, inside), sum(box.overlaps(b) for b in others))
            if best is None or cost < best[0]:
                best = (cost, box, place)
            if cost == (0, False, False, 0):
                break
        assert best is not None
        _moved(text, best[2], renderer)
        placed.append(best[1])
        texts.append(text)
        costs.append(best[0])
    return texts, costs


def _moved(text: Any, place: Side, renderer: Any) -> Any:
    """``text`` moved to ``place`` beside its point; the box it then takes, in pixels."""
    dx, dy, ha, va = place
    text.xyann = (dx, dy)
    text.set_horizontalalignment(ha)
    text.set_verticalalignment(va)
    return text.get_window_extent(renderer)


def _beside(ax: Any, *args: Any, **kwargs: Any) -> None:
    """A legend (``ax.legend``'s arguments) on the right of ``ax``, the figure grown by it.

    One taller than the figure below its top (thirty subjects) is set in as
    many columns as it takes to fit: in one, its last lines were cut off.
    """
    where = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0,
             "fontsize": 8}
    legend = ax.legend(*args, **where, **kwargs)
    fig = ax.figure
    size = legend.get_window_extent(fig.canvas.get_renderer())
    room = size.y1 - 0.02 * fig.bbox.height
    if size.height > room:
        legend.remove()
        legend = ax.legend(*args, **where, ncols=math.ceil(size.height / room), **kwargs)
    _grown_by(legend, "right")


def _grown_by(legend: Any, side: str) -> None:
    """Grow the figure by ``legend``, put beside its axes, so that the axes keep their size."""
    fig = legend.figure
    size = legend.get_window_extent(fig.canvas.get_renderer())
    if side == "right":
        fig.set_figwidth(fig.get_figwidth() + size.width / fig.dpi + 0.2)
    else:
        fig.set_figheight(fig.get_figheight() + size.height / fig.dpi + 0.3)


#: lines a legend may list inside the axes; beyond, it goes beside them
LEGEND_INSIDE = 6


def _legend(ax: Any, loc: str) -> None:
    """The legend of ``ax``'s lines at ``loc``, or beside the axes where it would hide them.

    Beside them where it lists more than :data:`LEGEND_INSIDE` lines, or
    where inside it would cover a part of a line (matplotlib's "best" place
    is only the least covered of a few).
    """
    if len(ax.get_legend_handles_labels()[1]) <= LEGEND_INSIDE:
        legend = ax.legend(fontsize=8, loc=loc)
        if not _covers_a_line(ax, legend):
            return
        legend.remove()
    _beside(ax)


def _covers_a_line(ax: Any, legend: Any) -> bool:
    """Whether ``legend`` lies over a part of one of ``ax``'s lines."""
    box = legend.get_window_extent(ax.figure.canvas.get_renderer())
    return any(line.get_transform().transform_path(line.get_path()).intersects_bbox(box, filled=False)
               for line in ax.get_lines())


def _sample(values: np.ndarray) -> np.ndarray:
    return values[:CHART_TRIALS]


class Chart(Figure):
    """A matplotlib Figure that shows itself as PNG in IPython and Jupyter.

    A figure made without pyplot is shown by the inline backend's formatter
    only once pyplot has loaded that backend; ``_repr_png_`` shows it in any
    case, and once (where the formatter is there, it takes precedence).
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def _subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> Any:
    """A figure drawn by Agg and its axes (``Figure.subplots``), at the resolution it is saved at.

    Text is measured for the layout and again for drawing; at one resolution
    the second measurement comes from matplotlib's cache.
    """
    fig = Chart(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(*args, **kwargs)


def warm_up() -> None:
    """Draw a throwaway figure with text, loading the fonts and caches the first chart needs.

    For a process that has time to spare before its first chart
    (:mod:`roisim.chart_process`); it changes nothing that a chart draws.
    """
    fig, ax = _subplots(figsize=(2, 2))
    ax.plot([0.0, 1.0], [0.0, 1.0], label="0")
    ax.set_title("0")
    ax.legend()
    fig.canvas.draw()


def _month_axis(ax: Any, horizon: int) -> None:
    """An axis of the months 0 .. horizon-1, with ticks on whole months only.

    Where there are so few months that matplotlib would zoom in between them,
    the axis shows half a month either side.
    """
    ax.set_xlabel("month")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if horizon <= 3:
        ax.set_xlim(-0.5, horizon - 0.5)


#: fonts with the scripts DejaVu Sans lacks (Chinese, Japanese, Korean, Arabic, ...),
#: used where installed: matplotlib falls back to them glyph by glyph
FALLBACK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
                  "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "IPAexGothic",
                  "IPAGothic", "Droid Sans Fallback", "Microsoft YaHei", "Yu Gothic",
                  "Malgun Gothic", "Hiragino Sans", "PingFang SC", "Arial Unicode MS", "Noto Sans",
                  "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari", "Noto Sans Thai")


class FontWarning(UserWarning):
    """Characters of a run's names that no installed font has: charts show boxes for them."""


@functools.cache
def font_families() -> tuple[str, ...]:
    """DejaVu Sans (matplotlib's own), then each fallback font that is installed."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *(name for name in FALLBACK_FONTS if name in installed))


@contextlib.contextmanager
def _fonts() -> Iterator[None]:
    """Charts drawn in :func:`font_families`, and quiet about glyphs none of them has.

    matplotlib warns once per missing glyph and place it draws one, dozens of
    lines for a name in another script; :func:`missing_glyphs` says it once.
    """
    with matplotlib.rc_context({"font.family": list(font_families())}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        yield


def missing_glyphs(texts: Iterable[str]) -> list[str]:
    """The characters of ``texts`` that none of :func:`font_families` has, in order of appearance."""
    charmaps = [font_manager.get_font(font_manager.findfont(font_manager.FontProperties(
        family=family), fallback_to_default=False)).get_charmap() for family in font_families()]
    missing: dict[str, None] = {}
    for char in "".join(texts):
        if not char.isspace() and not any(ord(char) in charmap for charmap in charmaps):
            missing[char] = None
    return list(missing)


def _warn_missing_glyphs(result: SimulationResult) -> None:
    """A :class:`FontWarning` where the run's names use characters no installed font has."""
    # labels, not the analysed inputs: computing those starts numba's threads, and a
    # process that has started them must not fork (the chart process's helpers)
    texts = [result.scenario.name, result.scenario.scenario.currency, *result.subjects,
             *result.input_labels]
    if missing := missing_glyphs(texts):
        shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        warnings.warn(FontWarning(
            f"charts of {result.scenario.name}: no installed font has {shown} (in names), which "
            "show as boxes; a font that has them (Noto Sans CJK, for one) is used once installed"),
            stacklevel=3)


def _laid_out(fig: Figure) -> Figure:
    """``fig`` laid out once, and not again on drawing.

    An x label wider than its axes (which long input names beside them leave
    narrow) is set flush with the axes' right end, so that it runs left under
    the names instead of out of the figure.
    """
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    wide = [ax for ax in fig.axes if ax.xaxis.label.get_text() and
            ax.xaxis.label.get_window_extent(renderer).width > ax.get_window_extent(renderer).width]
    for ax in wide:
        ax.set_xlabel(ax.xaxis.label.get_text(), loc="right")
    if wide:
        fig.tight_layout()
    # the layout is done: without this, every draw (savefig, a notebook's) would lay
    # the figure out again before drawing it (a fifth of a chart's time)
    fig.set_layout_engine(None)
    return fig


def _save(fig: Figure | None, folder: Path, name: str) -> list[str]:
    """Save a chart as ``folder/name``; the files written (none where there is no chart)."""
    if fig is None:
        return []
    # zlib's fastest level: a fifth of a chart's time saved for files a fifth larger
    fig.savefig(folder / name, dpi=DPI, pil_kwargs={"compress_level": 1})
    return [name]


def roi_histogram(result: SimulationResult, subject: str) -> Figure:
    """Histogram of ROI, with the break-even line, the P5 and P95, and P(loss) in the title."""
    drawn = result.roi(subject)[:CHART_TRIALS]
    roi = drawn[np.isfinite(drawn)]
    fig, ax = _subplots(figsize=(7, 4))
    left_out = []
    if roi.size:
        lo, hi = np.quantile(roi, [0.001, 0.999])
        bins = None  # the range of the values shown
        if roi.max() - roi.min() <= 1e-9 * max(1.0, float(np.abs(roi).max())):
            # the same ROI in every trial but for rounding (a benefit that is a multiple of
            # the cost), which 80 bins cannot split: one unit wide, as numpy draws a
            # constant, and shifted half a bin so that the value falls inside one bin,
            # not on the edge between two
            lo, hi = roi.min(), roi.max()
            start = 0.5 * (lo + hi) - 0.5 + 0.5 / 80
            bins = (start, start + 1.0)
        shown = (roi >= lo) & (roi <= hi)
        counts, edges = np.histogram(roi[shown], bins=80, range=bins)
        below, above = int(np.count_nonzero(roi < lo)), int(np.count_nonzero(roi > hi))
        beyond = [f"{k:,} {side}" for k, side in ((below, "below"), (above, "above")) if k]
        if beyond:
            left_out.append(" and ".join(beyond) + " the range shown")
        # one filled outline, not 80 bar patches: the same picture, drawn faster
        ax.stairs(counts, edges, fill=True, color="#4C72B0", alpha=0.85)
        ax.axvline(0.0, color="black", lw=1, ls="--", label="break-even")
        # @RISK's delimiters: the middle 90% of trials, as the summary's roi_p5 and roi_p95
        p5, p95 = np.quantile(roi, [0.05, 0.95])
        ax.axvline(p5, color="#555555", lw=1, ls=":",
                   label=f"P5 {_percent(p5)}, P95 {_percent(p95)}: 90% of trials between")
        ax.axvline(p95, color="#555555", lw=1, ls=":")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1.3 * max(int(counts.max()), 1))  # room above the bars for the legend
        ax.legend(loc="best", fontsize=9)  # a skewed histogram may fill either upper corner
    if roi.size < drawn.size:
        left_out.append(f"{drawn.size - roi.size:,} with no costs (ROI undefined)")
    # P(npv < 0), as the summary has it: trials with no costs (no ROI) count too
    p_loss = float(np.mean(result.npv(subject)[:CHART_TRIALS] < 0))
    ax.set_title(f"{subject}: ROI over {months(result.scenario.scenario.horizon_months)} "
                 f"(P(loss) = {p_loss:.1%})")
    ax.set_xlabel("ROI = NPV / PV of costs" + (
        f"\nof {drawn.size:,} trials, not drawn: " + "; ".join(left_out) if left_out else ""))
    ax.set_ylabel("trials")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.2 of a trial
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # 36,000, as the tables write it
    return _laid_out(fig)


def _percent(share: float) -> str:
    """A share as a percentage to three significant digits: 142%, 12.3%, -0.41%, 1,230%."""
    from roisim.report import figure

    return f"{figure(100.0 * share)}%"


def twins(profiles: Profiles) -> dict[str, list[str]]:
    """The subjects to draw, each with those whose npv and payback equal its own in every trial.

    An initiative and its all-at-once plan are the same trial by trial: drawn
    twice, one line would hide the other, and the legend would name a line
    that cannot be seen. Each is drawn once, named after both.
    """
    groups: dict[str, list[str]] = {}
    for subject, first in equal_to_earlier(profiles.npv, profiles.payback).items():
        groups.setdefault(first, []).append(subject)
    return groups


def npv_cdfs(profiles: Profiles) -> Figure:
    """Overlaid NPV distribution functions: the risk profiles side by side."""
    fig, ax = _subplots(figsize=(8, 5))
    probs = np.linspace(0.0, 1.0, 501)
    groups = twins(profiles)
    for (subject, same), colour in zip(groups.items(), line_colours(len(groups)), strict=True):
        ax.plot(sorted_quantiles(np.sort(_sample(profiles.npv[subject])), probs), probs, lw=1.8,
                label=" = ".join(same), color=colour)
    ax.axvline(0.0, color="black", lw=1, ls="--")
    money_axis(ax.xaxis)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"NPV [{profiles.currency}]")
    ax.set_ylabel("P(NPV ≤ x)")
    ax.set_title("NPV risk profiles (further right is better; steeper is surer)")
    ax.grid(alpha=0.3)
    _legend(ax, "lower right")
    return _laid_out(fig)


def payback_curves(profiles: Profiles) -> Figure:
    """P(paid back by the end of month t) for every subject; plans drawn solid."""
    horizon = profiles.horizon
    months = np.arange(horizon)
    fig, ax = _subplots(figsize=(8, 5))
    groups = twins(profiles)
    for (subject, same), colour in zip(groups.items(), line_colours(len(groups)), strict=True):
        paid = profiles.payback[subject]
        counts = np.bincount(paid[paid >= 0], minlength=horizon)[:horizon]
        style = "-" if any(name in profiles.plans for name in same) else ":"
        # a short horizon's few steps are marked, so that one month still shows
        ax.step(months, np.cumsum(counts) / paid.size, where="post", lw=1.8, ls=style,
                color=colour, marker="o" if horizon <= 3 else None,
                label=" = ".join(name + ("" if name in profiles.plans else " (initiative)")
                                 for name in same))
    ax.set_ylim(-0.02, 1.02)  # a curve at 0% or 100% clear of the frame, not hidden by it
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    _month_axis(ax, horizon)
    ax.set_ylabel("P(paid back by the end of the month)")
    ax.set_title("Payback probability")
    ax.grid(alpha=0.3)
    _legend(ax, "best")  # a subject paid back in month 0 runs along the top
    return _laid_out(fig)


def risk_return(ranking: pd.DataFrame, currency: str) -> Figure:
    """Expected npv against CVaR 5% (the mean of the worst 5%), one labelled point per subject."""
    fig, ax = _subplots(figsize=(8, 5.5))
    ax.scatter(ranking["cvar5_npv"], ranking["expected_npv"], s=MARKER, color="#4C72B0", zorder=3)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.axvline(0.0, color="black", lw=0.8, ls="--")
    money_axis(ax.xaxis)
    money_axis(ax.yaxis)
    ax.set_xlabel(f"CVaR 5%: mean NPV of the worst 5% of trials [{currency}]  (right = safer)")
    ax.set_ylabel(f"expected NPV [{currency}]  (up = better)")
    ax.set_title("Risk and return")
    ax.grid(alpha=0.3)
    label_points(ax, list(zip(ranking["cvar5_npv"], ranking["expected_npv"], strict=True)),
                 [str(subject) for subject in ranking.index], sizes=[MARKER] * len(ranking))
    return _laid_out(fig)


def prioritisation(ranking: pd.DataFrame, currency: str, plans: Iterable[str] = ()
                   ) -> Figure | None:
    """Strategic impact against feasibility of the initiatives; size = expected npv, colour = P(loss).

    The scores are the initiatives': ``plans`` (whose rows in ``ranking``
    repeat their initiative's scores, on the same point) are left out, and
    initiatives without both scores are named in the title. None where no
    initiative has both.
    """
    initiatives = ranking.drop(index=[name for name in plans if name in ranking.index])
    scored = initiatives.dropna(subset=["strategic_impact", "feasibility"])
    if scored.empty:
        return None
    unscored = [str(name) for name in initiatives.index if name not in scored.index]
    fig, ax = _subplots(figsize=(7, 6))
    value = scored["expected_npv"].clip(lower=0.0)
    size = 80 + 1500 * value / max(float(value.max()), 1.0)
    # initiatives scored alike are spread around their cell, on a circle, so all stay visible
    cell = scored.groupby(["feasibility", "strategic_impact"])
    k, n = cell.cumcount().to_numpy(), cell["p_loss"].transform("size").to_numpy()
    angle = np.pi / 2 + 2 * np.pi * k / n
    radius = np.where(n > 1, 0.25, 0.0)
    x = scored["feasibility"].to_numpy() + radius * np.cos(angle)
    y = scored["strategic_impact"].to_numpy() + radius * np.sin(angle)
    points = ax.scatter(x, y, s=size, c=scored["p_loss"], cmap="RdYlGn_r", vmin=0, vmax=1,
                        alpha=0.8, edgecolors="black", zorder=3)
    fig.colorbar(points, ax=ax, label="P(loss)", format=PercentFormatter(1.0))
    ax.set_xlim(0.5, 6.6)
    ax.set_ylim(0.5, 5.9)
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.axvline(3, color="grey", lw=0.8, ls="--")
    ax.axhline(3, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("feasibility (1-5)")
    ax.set_ylabel("strategic impact (1-5)")
    title = (f"Prioritisation of the initiatives\n(point size: expected NPV in {currency}; "
             "negative shown smallest)")
    if unscored:
        title += "\n" + _wrapped(f"not shown, without both scores: {', '.join(unscored)}", 80)
    ax.set_title(title, fontsize=10)
    label_points(ax, list(zip(x, y, strict=True)),
                 [f"{subject}: E[NPV] {money(row['expected_npv'])}"
                  for subject, row in scored.iterrows()], key_at="below", sizes=size)
    return _laid_out(fig)


def tornado(table: pd.DataFrame, subject: str, mean_npv: float, currency: str,
            top: int = 12) -> Figure:
    """Mean npv when each input is in its lowest vs highest decile, largest swings on top.

    Only inputs that move the npv beyond chance (``deciles_p_value`` below
    :data:`~roisim.sensitivity.SIGNIFICANT`, or no p-value: a run of fewer
    than 20 trials) are drawn: in the e-commerce example, half the carts'
    twelve bars were inputs of the robots and the WMS, whose deciles differ
    in the carts' trials by chance alone. The title counts those left out.
    """
    from roisim.sensitivity import beyond_chance

    beyond = table[beyond_chance(table)]
    rows = beyond.head(top).iloc[::-1]
    fig, ax = _subplots(figsize=(8, 0.45 * len(rows) + 2.25))
    y = np.arange(len(rows))
    # a free row under the bars for the legend: with few inputs any corner may hold a bar
    ax.set_ylim(-1.5, len(rows) - 0.5)
    # colours of low and high, not of bad and good: a high cost or a struck risk lowers the
    # npv, and drawn in green it read as good news
    for column, colour, label in (("npv_low_decile", "#DD8452", "input in lowest 10%"),
                                  ("npv_high_decile", "#4C72B0", "input in highest 10%")):
        values = rows[column].to_numpy()
        ax.barh(y, values - mean_npv, left=mean_npv, color=colour, alpha=0.85, label=label)
    ax.axvline(mean_npv, color="black", lw=1)
    chance = len(table) - len(beyond)
    every = table[["npv_low_decile", "npv_high_decile"]].to_numpy() - mean_npv
    empty = None
    if not np.any(np.abs(every) > 1e-9 * max(abs(mean_npv), 1.0)):  # as the VOI chart says
        empty = "no input moves the NPV in these trials"
    elif rows.empty:
        empty = "no input moves the NPV more than chance would"
    if empty:
        ax.text(0.5, 0.55, empty, transform=ax.transAxes, ha="center", va="center", fontsize=10,
                color="#555555", bbox={"facecolor": "white", "edgecolor": "none"})
    ax.set_yticks(y, [str(i) for i in rows.index], fontsize=8)
    money_axis(ax.xaxis)
    ax.set_xlabel(f"mean NPV [{currency}] (line: overall mean)")
    # over the whole figure, whose width long input names leave the axes short of
    if len(rows) < len(beyond) or not chance:
        note = _top(len(rows), len(table))
    elif rows.empty:
        note = ""  # the axes say why
    else:
        note = (f"\n(the {len(rows)} of {len(table)} inputs that move it beyond chance; "
                f"the other {chance} are not drawn)")
    fig.suptitle(_wrapped(f"{subject}: what moves the NPV") + note, fontsize=10)
    ax.legend(fontsize=8, loc="lower center", ncol=2)
    ax.grid(alpha=0.3, axis="x")
    return _laid_out(fig)


def _decile_spread(table: pd.DataFrame) -> pd.Series:
    """How far apart each input's tenths' mean npvs lie (a sensitivity table's)."""
    from roisim.sensitivity import DECILE_COLUMNS

    return table[DECILE_COLUMNS].max(axis=1) - table[DECILE_COLUMNS].min(axis=1)


def _strongest(table: pd.DataFrame, top: int) -> list[str]:
    """The ``top`` inputs whose tenths lie furthest apart, of those that move the npv beyond chance.

    Where there is no p-value (fewer than 20 trials), every input that moves
    the npv at all. The spider's inputs, and the scatter chart's.
    """
    from roisim.sensitivity import beyond_chance

    spread = _decile_spread(table)
    moves = (spread > 0) & beyond_chance(table)
    return list(spread[moves].sort_values(ascending=False, kind="stable").index[:top])


def spider(result: SimulationResult, top: int = 5) -> Figure:
    """Mean npv in each tenth of the trials ranked by an input: one panel per subject.

    Each panel draws the ``top`` inputs whose tenths' means lie furthest
    apart in its subject (for an input that moves the npv one way, its
    tornado swing; an input that raises it and then lowers it counts too),
    on its own scale, of those whose means differ by more than chance
    (``deciles_p_value`` below :data:`~roisim.sensitivity.SIGNIFICANT`):
    an input of another initiative is not drawn as if it moved this one.
    Where the tornado shows how far an input moves the npv, a line here
    shows where: steadily, past a threshold, or up to a plateau. Subjects
    equal in every trial share a panel, named after both. Up to
    :data:`SPIDER_SHARED` inputs in all, each has one colour in every panel
    and one legend names them; beyond, each panel names its own below it (a
    legend of 80 inputs told no line apart).
    """
    from roisim.report import input_name
    from roisim.sensitivity import DECILE_COLUMNS

    tables = result.sensitivity_tables()
    panels: dict[str, list[str]] = {}
    for subject, first in result.identical_subjects().items():
        panels.setdefault(first, []).append(subject)
    spread = {s: _decile_spread(tables[s]) for s in panels}
    drawn = {s: _strongest(tables[s], top) for s in panels}
    # in order of each input's widest spread, so that the strongest take C0, C1 ...
    largest = pd.concat(spread.values(), axis=1).max(axis=1)
    inputs = [name for name in largest.sort_values(ascending=False, kind="stable").index
              if any(name in names for names in drawn.values())]
    shared = len(inputs) <= SPIDER_SHARED
    centres = 100.0 * (np.arange(len(DECILE_COLUMNS)) + 0.5) / len(DECILE_COLUMNS)
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    # room under each panel for its own legend, where it has one
    height = 3.8 if shared else 3.8 + 0.17 * top
    fig, axes = _subplots(rows, cols, figsize=(5.2 * cols, height * rows), squeeze=False)
    lines = {}
    for ax, (subject, same) in zip(axes.flat, panels.items(), strict=False):
        for k, name in enumerate(drawn[subject]):
            colour = f"C{inputs.index(name) if shared else k}"
            lines[name], = ax.plot(centres, tables[subject].loc[name, DECILE_COLUMNS].to_numpy(float),
                                   color=colour, lw=1.6, marker="o", markersize=3,
                                   label=input_name(result, name))
        ax.axhline(float(result.npv(subject).mean()), color="black", lw=0.8, ls=":")
        ax.set_title(_wrapped(" = ".join(same), 60), fontsize=10)
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.xaxis.set_major_formatter(PercentFormatter(100))
        ax.set_xlabel("the input's percentile", fontsize=8)
        money_axis(ax.yaxis)
        ax.grid(alpha=0.3)
        if not drawn[subject]:
            ax.text(0.5, 0.5, "no input moves the NPV\nmore than chance would", transform=ax.transAxes,
                    ha="center", va="center", fontsize=10, color="#555555")
        elif not shared:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(f"mean NPV [{result.scenario.scenario.currency}]")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if inputs and shared:
        _beside(axes[0, cols - 1], [lines[name] for name in inputs],
                [input_name(result, name) for name in inputs])
    full = [len(names) == top for names in drawn.values()]
    which = (f"the {top} inputs that move its NPV most" if all(full) else
             f"the {top} inputs that move its NPV most, or fewer where fewer move it beyond chance"
             if any(full) else "every input that moves its NPV beyond chance")
    if len(panels) > 1:
        which = f"each panel: {which}"
    # wrapped to the figure's width: one panel is narrower than the sentence
    width = int(10 * fig.get_figwidth())
    fig.suptitle(_wrapped("How the NPV follows each input: mean NPV in each tenth of the trials, "
                          "ranked by the input", width) + "\n"
                 + _wrapped(f"({which}; dotted: mean NPV)", width),
                 y=1.0 - 0.1 / fig.get_figheight(), va="top", fontsize=11)
    return _laid_out(fig)


def scatter(result: SimulationResult, subject: str, top: int = 6) -> Figure:
    """A subject's npv against each of the ``top`` inputs that move it most, trial by trial.

    @RISK's scatter plots beside its tornado: where the tornado gives how
    far an input moves the npv on average, and the spider where along its
    range, this shows the spread around that: how much of the npv the input
    decides. The inputs are the tornado's, those beyond chance in order of
    their tenths' spread; each panel draws the first
    :data:`SCATTER_TRIALS` trials and, as a line, the mean npv in each tenth
    of the trials ranked by the input (the spider's, at each tenth's median
    value), and names the input's rank correlation with the npv. An input
    of ten values or fewer (a risk's strike) has its points spread a little
    sideways so that they do not hide each other, and the mean npv at each
    value in place of the tenths, which its ties make meaningless.
    """
    from roisim.report import input_name
    from roisim.sensitivity import DECILE_COLUMNS

    table = result.sensitivity(subject)
    shown = _strongest(table, top)
    inputs = result.analysis_inputs()
    every = result.npv(subject)[:len(inputs)]  # the trials the tables read
    npv = every[:SCATTER_TRIALS]
    cols = min(3, max(len(shown), 1))
    rows = max(1, -(-len(shown) // cols))
    fig, axes = _subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows + 0.6), squeeze=False,
                          sharey=True)
    rng = np.random.default_rng(0)  # the sideways spread of few-valued inputs: the same each time
    for ax, name in zip(axes.flat, shown, strict=False):
        x = inputs[name].to_numpy(dtype=float)
        drawn = x[:npv.size]
        outcomes = np.unique(x)
        if outcomes.size <= 10:
            gap = np.diff(outcomes).min() if outcomes.size > 1 else 1.0
            drawn = drawn + rng.uniform(-0.15, 0.15, drawn.size) * gap
        ax.scatter(drawn, npv, s=4, alpha=0.25, color="#4C72B0", linewidths=0)
        if outcomes.size <= 10:  # tenths of tied values mean little: the mean npv at each value
            ax.plot(outcomes, [float(every[x == v].mean()) for v in outcomes], color="black",
                    lw=0, marker="D", ms=5, label="mean at each value")
            if outcomes.size <= 6:
                ax.set_xticks(outcomes)
        else:
            centres = np.quantile(x, (np.arange(len(DECILE_COLUMNS)) + 0.5) / len(DECILE_COLUMNS))
            ax.plot(centres, table.loc[name, DECILE_COLUMNS].to_numpy(float), color="black",
                    lw=1.6, marker="o", ms=3, label="mean of each tenth")
        ax.axhline(0.0, color="black", lw=0.8, ls=":")
        ax.set_title(_wrapped(f"{input_name(result, name)} (rank correlation "
                              f"{table.loc[name, 'spearman']:+.2f})", 45), fontsize=9)
        ax.xaxis.set_major_formatter(NumberFormatter())
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(shown):]:
        ax.set_visible(False)
    if not shown:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "no input moves the NPV\nmore than chance would",
                          transform=axes.flat[0].transAxes, ha="center", va="center", color="#555555")
    for ax in axes[:, 0]:
        money_axis(ax.yaxis)
        ax.set_ylabel(f"NPV [{result.scenario.scenario.currency}]")
    for ax in axes.flat[:len(shown)]:
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(_wrapped(f"{subject}: NPV against the inputs that move it most", 100)
                 + f"\n(each point a trial, the first {npv.size:,})", fontsize=11)
    return _laid_out(fig)


def inputs(result: SimulationResult) -> Figure:
    """Each input as the trials drew it (bars) against the distribution the file states (outline).

    One panel per input with a distribution, named or written in place, in
    the order of :func:`~roisim.report.stated_inputs`, constants (``fixed``,
    a choice of one value) left out: a check by eye that
    each is what its author meant (a PERT's skew, a truncation, a choice's
    weights), as @RISK's input thumbnails and Crystal Ball's assumption
    charts give. The draws are those the analyses read (the first 200,000
    trials); an input drawn each month shows its monthly draws in the first
    :data:`~roisim.result.MONTHLY_TRIALS` trials. Bar heights and the
    outline are shares of the draws, bin by bin.
    """
    from matplotlib.patches import Patch

    from roisim.report import input_name

    histograms = result.input_histograms()
    cols = min(INPUT_COLUMNS, len(histograms))
    rows = -(-len(histograms) // cols)
    shown = f"the first {min(result.n_trials, ANALYSIS_TRIALS):,} trials"
    if any(hist.monthly for hist in histograms.values()):
        shown += (f"; an input drawn each month: its draws in the first "
                  f"{min(result.n_trials, MONTHLY_TRIALS):,} trials")
    # laid out by hand, in inches: every panel alike, so matplotlib's tight layout,
    # half the chart's time, would find the same
    panel_w, panel_h, gap_w, ticks, side, bottom = 3.0, 1.6, 0.3, 0.3, 0.2, 0.35
    width = max(cols * panel_w + (cols - 1) * gap_w + 2 * side, 5.0)
    panel_w = (width - 2 * side - (cols - 1) * gap_w) / cols
    names = {label: _wrapped(input_name(result, label) + (" (each month)" if hist.monthly else ""),
                             int(12.5 * panel_w))  # characters of 9 points a line
             for label, hist in histograms.items()}
    chars = int(10 * width)  # of an 11-point title, per line
    title = (_wrapped("Each input as the trials drew it and as the scenario file states it", chars)
             + "\n" + _wrapped(f"(share of draws in each bin, of {shown}; each panel spans its "
                                "draws' 0.1 to 99.9 percentiles, or the input's bounds)", chars))
    title_h = 0.15 + (title.count("\n") + 1) * 11 * 1.25 / 72
    # the longest panel title's lines, in 9 points
    name_h = 0.1 + max(name.count("\n") + 1 for name in names.values()) * 9 * 1.25 / 72
    top = title_h + 0.36 + name_h  # the title, the legend under it, a panel's title
    gap_h = ticks + name_h
    height = rows * panel_h + (rows - 1) * gap_h + top + bottom
    fig = Chart(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(rows, cols, left=side / width, right=1 - side / width,
                            bottom=bottom / height, top=1 - top / height, wspace=gap_w / panel_w,
                            hspace=gap_h / panel_h)
    bars, outline = "#4C72B0", "black"
    for k, (label, hist) in enumerate(histograms.items()):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        shares = hist.drawn / max(hist.n, 1)
        if hist.centres is not None:
            gaps = np.diff(hist.centres)
            bar = 0.8 * (gaps.min() if gaps.size else max(1.0, abs(float(hist.centres[0]))))
            ax.bar(hist.centres, shares, width=bar, color=bars, alpha=0.85)
            ax.hlines(hist.stated, hist.centres - bar / 2, hist.centres + bar / 2,
                      color=outline, lw=1.5)
        else:
            ax.stairs(shares, hist.edges, fill=True, color=bars, alpha=0.85)
            ax.stairs(hist.stated, hist.edges, color=outline, lw=1.0)
        ax.set_ylim(0, 1.12 * max(float(shares.max(initial=0)), float(hist.stated.max(initial=0)), 1e-12))
        ax.yaxis.set_visible(False)  # shares of draws: the shape is what is read
        if hist.log:  # decades, each written as an amount is: 0.01, 1, 1,000, 10k, 1M
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(numticks=6))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: money(x) if x >= 1 else f"{x:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            if hist.centres is not None and hist.centres.size <= 6:
                ax.set_xticks(hist.centres)  # each outcome named
            else:  # a count's ticks on whole numbers (not 2.5 orders)
                whole = hist.centres is not None and bool(np.all(hist.centres == np.round(hist.centres)))
                ax.xaxis.set_major_locator(MaxNLocator(5, integer=whole))
            ax.xaxis.set_major_formatter(NumberFormatter())
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(names[label], fontsize=9)
    fig.suptitle(title, y=1.0 - 0.1 / height, va="top", fontsize=11)
    fig.legend([Patch(color=bars, alpha=0.85), Line2D([], [], color=outline)],
               ["drawn by the trials", "as the file states it"], loc="upper center", ncols=2,
               bbox_to_anchor=(0.5, 1.0 - (0.1 + title_h) / height), fontsize=8, frameon=False)
    return fig


def sweep(swept: Sweep) -> Figure:
    """Every subject's expected npv (95% interval) and P(loss) at each value of a sweep.

    Numbers on a number line; other values (distribution tables) as
    categories in the order given, each named by what sets it apart
    (:func:`_told_apart`).
    """
    labels = swept.labels
    x = np.asarray(swept.values, dtype=float) if swept.numeric else np.arange(len(labels), dtype=float)
    means, errors, losses = swept.table("npv_mean"), swept.table("npv_mean_se"), swept.table("p_loss")
    # subjects alike at every value (an initiative and its all-at-once plan) are one line, named
    # after both, as in the run's own charts
    groups: dict[bytes, list[str]] = {}
    for subject in means.columns:
        rows = swept.summary.xs(subject, level="subject").select_dtypes("number")
        groups.setdefault(rows.to_numpy(dtype=float).tobytes(), []).append(subject)
    fig, (left, right) = _subplots(1, 2, figsize=(12, 5.2))
    for same, colour in zip(groups.values(), line_colours(len(groups)), strict=True):
        subject, label = same[0], " = ".join(same)
        left.errorbar(x, means[subject], yerr=1.96 * errors[subject], color=colour, marker="o",
                      ms=4, lw=1.6, capsize=3, label=label)
        right.plot(x, losses[subject], color=colour, marker="o", ms=4, lw=1.6, label=label)
    left.axhline(0.0, color="black", lw=1, ls="--")
    money_axis(left.yaxis)
    currency = swept.scenario.scenario.currency
    left.set_ylabel(f"expected NPV [{currency}] (bars: 95% interval)")
    right.set_ylabel("P(NPV < 0)")
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.set_xlabel(_wrapped(swept.path, 60))
        if swept.numeric:
            ax.xaxis.set_major_formatter(NumberFormatter())
        else:
            ax.set_xticks(x, _told_apart(swept.values), rotation=20, ha="right", fontsize=8)
    left.set_title("expected NPV", fontsize=10)
    right.set_title("probability of losing money", fontsize=10)
    _legend(right, "best")
    fig.suptitle(_wrapped(f"{swept.scenario.name}: each value of {swept.path}", 100)
                 + f"\n(on the same {swept.trials:,} trials, seed {swept.seed})")
    return _laid_out(fig)


def _told_apart(values: list[Any], width: int = 36) -> list[str]:
    """Short tick labels for a sweep's values, by what differs between them.

    Distribution tables that share their kind and some parameters are named
    by the parameters that differ (``min = 2, max = 2.5``): cut to a few
    characters, their TOML would read alike.
    """
    from roisim._toml import toml_value

    if all(isinstance(v, dict) for v in values):
        keys = list(dict.fromkeys(k for v in values for k in v))
        differ = [k for k in keys if len({toml_value(v.get(k)) if k in v else "" for v in values}) > 1]
        texts = [", ".join(f"{k} = {toml_value(v[k])}" for k in differ if k in v) or toml_value(v)
                 for v in values]
    else:
        texts = [toml_value(v) for v in values]
    return [textwrap.shorten(text, width, placeholder="...") for text in texts]


#: the widest range of whole values a fit's chart draws with a bar per value
PER_VALUE = 60


def fits(fitted: Fits, top: int = 3) -> Figure:
    """Observed values against the ``top`` best fits of :func:`roisim.fitting.fit`.

    Left, the values' histogram (a bar per value where they are whole
    numbers within :data:`PER_VALUE` of each other, with each fit's
    probability of that value as recorded; else densities, with each fit's
    density); right, the values' distribution function and each fit's, as
    @RISK's fit comparison and its P-P view show them. Each fit is named
    with its Akaike weight.
    """
    from roisim.fitting import log_probabilities, recorded_cdf

    x = fitted.values
    shown = list(fitted.table.index[:top])
    lo, hi = float(x.min()), float(x.max())
    values, counts = np.unique(x, return_counts=True)
    per_value = fitted.whole and hi - lo <= PER_VALUE
    fig, (left, right) = _subplots(1, 2, figsize=(11, 4.8))
    bars = "#B0B0B0"
    pad = 0.08 * (hi - lo)
    if per_value:  # whole values from 0: a bar each, and a little beyond them either side
        ks = np.arange(max(0.0, lo - math.ceil(pad)), hi + math.ceil(pad) + 1)
        shares = np.zeros(ks.size)
        shares[(values - ks[0]).astype(np.int64)] = counts / x.size
        left.bar(ks, shares, width=0.8, color=bars, label="the values")
        grid = ks
        left.set_ylabel("share of values")
        if ks.size <= 12:
            left.set_xticks(ks)
    else:
        edges = np.histogram_bin_edges(x, bins="auto")
        if edges.size > 61:
            edges = np.linspace(lo, hi, 61)
        left.stairs(np.histogram(x, bins=edges, density=True)[0], edges, fill=True, color=bars,
                    label="the values")
        grid = np.linspace(lo - pad, hi + pad, 801)
        left.set_ylabel("density")
    if per_value:  # steps: just before each value and at it
        steps = np.unique(np.concatenate([np.linspace(ks[0] - 0.5, ks[-1] + 0.5, 1601), values,
                                          values - 1e-9 * max(1.0, hi - lo)]))
    else:
        steps = np.linspace(lo - pad, hi + pad, 1601)
    right.step(np.concatenate([[steps[0]], values, [steps[-1]]]),
               np.concatenate([[0.0], np.cumsum(counts) / x.size, [1.0]]), where="post",
               color="black", lw=1.6, label="the values")
    for family, colour in zip(shown, line_colours(len(shown)), strict=True):
        dist = fitted.distributions[family]
        label = f"{family} ({fitted.table.loc[family, 'weight']:.0%})"
        at = grid if dist.continuous else np.round(grid)  # a count's probability, as a density
        heights = np.exp(log_probabilities(dist, at, fitted.whole and per_value))
        if per_value:
            left.plot(grid, heights, color=colour, marker="o", ms=4, lw=1.2, label=label)
        else:
            left.plot(grid, heights, color=colour, lw=1.8, label=label)
        right.plot(steps, recorded_cdf(dist, steps, fitted.whole and per_value), color=colour,
                   lw=1.4, label=label)
    for ax in (left, right):
        ax.xaxis.set_major_formatter(NumberFormatter())
        ax.grid(alpha=0.3)
        ax.set_xlabel(fitted.name)
    left.set_ylim(bottom=0)
    right.set_ylim(-0.02, 1.02)
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_ylabel("share of values at most x")
    left.set_title("values and fitted distributions", fontsize=10)
    right.set_title("distribution functions", fontsize=10)
    _legend(left, "upper right")
    best = (f"the {len(shown)} best fits by AICc (Akaike weight)" if len(shown) > 1 else
            "the best fit by AICc" if len(fitted.table) > 1 else "the one distribution that fits them")
    fig.suptitle(_wrapped(f"{fitted.name}: {x.size:,} values and {best}", 100))
    return _laid_out(fig)


def _wrapped(title: str, width: int = 90) -> str:
    """A title in lines of at most ``width`` characters (a long subject name's)."""
    return "\n".join(textwrap.wrap(title, width)) or title


def _top(shown: int, inputs: int) -> str:
    """A title's note that only the first ``shown`` of ``inputs`` rows are drawn."""
    return f"\n(the {shown} of {inputs} inputs that matter most)" if shown < inputs else ""


def value_of_information(table: pd.DataFrame, currency: str, top: int = 12) -> Figure:
    """EVPPI of the inputs worth measuring, against the EVPI.

    Inputs whose EVPPI is 0 (knowing them would not change the decision: in
    the examples most are) are left out rather than drawn as empty rows.
    """
    worth = table[table["evppi"] > 0]
    rows = worth.head(top).iloc[::-1]
    evpi = float(table["evpi"].iloc[0]) if len(table) else 0.0
    fig, ax = _subplots(figsize=(8, 0.45 * len(rows) + 2.25))
    y = np.arange(len(rows))
    ax.set_ylim(-1.5, len(rows) - 0.5)  # a free row under the bars for the legend
    # no error bar where there is no error: a run of fewer than 20 trials has no batches
    se = rows["evppi_se"].fillna(0.0)
    ax.barh(y, rows["evppi"], xerr=1.96 * se, color="#8172B2", alpha=0.85, capsize=2)
    ax.axvline(evpi, color="black", ls="--", lw=1, label=f"EVPI {money(evpi)}")
    whiskers = (rows["evppi"] - 1.96 * se).to_numpy()
    ax.set_xlim(left=float(whiskers.min(initial=0.0)))  # from 0 even with no bar, or a whisker below
    ax.set_yticks(y, [str(i) for i in rows.index], fontsize=8)
    money_axis(ax.xaxis)
    ax.set_xlabel(f"expected value of perfect information on the input [{currency}]")
    note = ""  # every input drawn, or none (the text below says why)
    if len(worth) > len(rows):
        note = _top(len(rows), len(table))
    elif 0 < len(rows) < len(table):
        note = (f"\n(the {len(rows)} of {len(table)} inputs worth anything: "
                "knowing any other would not change the decision)")
    fig.suptitle("What to measure before deciding (EVPPI, 95% interval)" + note,
                 fontsize=10)  # over the whole figure, as the tornado's
    if not (table["evppi"] > 2 * table["evppi_se"]).any():  # as the printed summary says
        ax.text(0.5, 0.5, "no single input is worth measuring first:\nnone changes the decision "
                "on its own", transform=ax.transAxes, ha="center", va="center", fontsize=10,
                color="#555555", bbox={"facecolor": "white", "edgecolor": "none"})
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return _laid_out(fig)


def convergence(result: SimulationResult) -> Figure:
    """Running estimate of the watched statistic (default: mean npv) with its 95% band."""
    from roisim.convergence import Target, trace

    target = result.target if isinstance(result.target, Target) else \
        Target("mean", 0.0, "mean npv")
    profiles = result.profiles()
    groups = twins(profiles)
    frame = trace({s: profiles.npv[s] for s in groups}, {s: profiles.payback[s] for s in groups},
                  target)
    fig, ax = _subplots(figsize=(8, 5))
    traced = frame.groupby("subject", sort=False)
    for (subject, rows), colour in zip(traced, line_colours(traced.ngroups), strict=True):
        # a run of a trial or two has a point or two: marked, or a line of one point is unseen
        ax.plot(rows["trials"], rows["estimate"], lw=1.6, label=" = ".join(groups[str(subject)]),
                color=colour, marker="o" if len(rows) < 3 else None)
        ax.fill_between(rows["trials"], rows["estimate"] - rows["half_width"],
                        rows["estimate"] + rows["half_width"], color=colour, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlim(left=max(ax.get_xlim()[0], 0.8))  # no fewer than one trial (a lone point's margin)
    ax.xaxis.set_major_formatter(CountFormatter(labelOnlyBase=False))
    ax.xaxis.set_minor_formatter(CountFormatter(labelOnlyBase=False))
    ax.set_xlabel("trials")
    ax.set_ylabel(target.label)
    if target.kind in ("mean", "percentile"):
        ax.set_ylabel(f"{target.label} [{profiles.currency}]")
        money_axis(ax.yaxis)
    else:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"Convergence of {target.label} (band: 95% interval)", fontsize=10)
    ax.grid(alpha=0.3)
    _legend(ax, "best")
    return _laid_out(fig)


def comparison_charts(profiles: Profiles, ranking: pd.DataFrame, folder: Path) -> list[str]:
    """The charts that compare subjects: risk profiles, payback, risk-return, priorities."""
    with _fonts():
        return [name for job in comparison_jobs(profiles, ranking, folder) for name in job()]


def comparison_jobs(profiles: Profiles, ranking: pd.DataFrame, folder: Path
                    ) -> list[Callable[[], list[str]]]:
    """:func:`comparison_charts` as one job per chart (see :func:`chart_jobs`)."""
    currency = profiles.currency
    return [lambda: _save(npv_cdfs(profiles), folder, "npv_cdf.png"),
            lambda: _save(payback_curves(profiles), folder, "payback_curve.png"),
            lambda: _save(risk_return(ranking, currency), folder, "risk_return.png"),
            # no chart where no subject is scored
            lambda: _save(prioritisation(ranking, currency, profiles.plans), folder,
                          "prioritisation.png")]


def cash_fan(result: SimulationResult) -> Figure:
    """Cumulative net cash by month: P5-P95 and P25-P75 bands and the median.

    Subjects whose sampled paths are equal (an initiative and its all-at-once
    plan) share one panel, named after both, as they share a line in the
    other charts.
    """
    paths = result.outcomes.band_paths

    def equal(a: str, b: str) -> bool:  # the final month first: most pairs differ there
        pa, pb = paths[result.index(a)], paths[result.index(b)]
        return np.array_equal(pa[:, -1], pb[:, -1]) and np.array_equal(pa, pb)

    panels: dict[str, list[str]] = {}
    for subject in result.subjects:
        same = next((first for first in panels if equal(first, subject)), subject)
        panels.setdefault(same, []).append(subject)
    subjects = list(panels)
    currency = result.scenario.scenario.currency
    cols = min(3, len(subjects))
    rows = -(-len(subjects) // cols)
    fig, axes = _subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False,
                             sharey=True)
    for ax, subject in zip(axes.flat, subjects, strict=False):
        bands = result.bands(subject)
        if len(bands) == 1:  # one month has no width: drawn half a month either side
            bands = pd.concat([bands, bands]).set_axis([-0.5, 0.5])
        months = bands.index.to_numpy()
        ax.fill_between(months, bands["p5"], bands["p95"], color="#4C72B0", alpha=0.2,
                        label="P5–P95")
        ax.fill_between(months, bands["p25"], bands["p75"], color="#4C72B0", alpha=0.4,
                        label="P25–P75")
        ax.plot(months, bands["p50"], color="#1f3b6f", lw=1.8, label="median")
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_title(" = ".join(panels[subject]), fontsize=10)
        _month_axis(ax, result.scenario.scenario.horizon_months)
        money_axis(ax.yaxis)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(subjects):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(f"cumulative net cash [{currency}]")
    axes[0, 0].legend(fontsize=8, loc="best")  # cash falling from a high start fills the upper left
    sample = result.outcomes.band_paths.shape[1]
    drawn = "" if sample == result.n_trials else \
        f"\nbands from the first {sample:,} of {result.n_trials:,} trials"
    # 0.1 inch from the top, not 2% of a figure whose height grows with its rows (which
    # put the title over the top panels' titles from about four rows on)
    fig.suptitle(f"Cumulative cash (undiscounted){drawn}", y=1.0 - 0.1 / fig.get_figheight(),
                 va="top", fontsize=11)
    return _laid_out(fig)


def chart_jobs(result: SimulationResult, folder: Path) -> list[Callable[[], list[str]]]:
    """Every chart of a run as a job that draws it and returns the files written.

    A chart's file is named by :func:`~roisim.output.chart_file`.
    """
    from roisim.output import chart_file

    def job(chart: str, subject: str | None = None) -> Callable[[], list[str]]:
        name = chart_file(chart, result, subject)
        return lambda: _save(_figure(result, chart, subject), folder, name)

    # the inputs chart, of many panels, first: a long job taken last would keep one
    # process drawing after the others are done
    jobs = [job("inputs")] if result.input_histograms() else []
    jobs += [job("roi_hist", s) for s in result.subjects]
    # the comparison charts as a job each: jobs of about the same size share out evenly
    jobs += comparison_jobs(result.profiles(), result.ranking(), folder)
    jobs.append(job("cash_fan"))
    if _has_inputs(result):
        jobs += [job("tornado", s) for s in result.sensitivity_tables()]
        jobs += [job("spider"), job("value_of_information")]
    jobs.append(job("convergence"))
    return jobs


def _has_inputs(result: SimulationResult) -> bool:
    """Whether the scenario has an uncertain input; without one, no input moves the npv."""
    return not result.value_of_information().empty


def figure(result: SimulationResult, chart: str, subject: str | None = None) -> Figure:
    """One chart of a run by name (:data:`CHARTS`), as :meth:`SimulationResult.plot` draws it.

    ``roi_hist`` and ``tornado`` are drawn for one ``subject``; the others
    show every subject at once.
    """
    _warn_missing_glyphs(result)
    with _fonts():  # a figure's texts keep the fonts they were made in
        return _figure(result, chart, subject)


def _figure(result: SimulationResult, chart: str, subject: str | None) -> Figure:
    """:func:`figure`, in the fonts of :func:`_fonts`."""
    if chart not in CHARTS:
        from roisim.distributions import did_you_mean

        raise ValueError(f"unknown chart {chart!r}{did_you_mean(str(chart), CHARTS)} "
                         f"(charts: {', '.join(CHARTS)})")
    per_subject = chart in PER_SUBJECT
    if per_subject and subject is None:
        raise ValueError(f"chart {chart!r} is drawn for one subject: pass subject= one of "
                         f"{', '.join(map(repr, result.subjects))}")
    if not per_subject and subject is not None:
        raise ValueError(f"chart {chart!r} shows every subject: pass no subject")
    if subject is not None:
        result.index(subject)  # KeyError naming the subjects there are
    from roisim.report import named

    if chart in ("tornado", "scatter", "spider", "value_of_information") and not _has_inputs(result):
        raise ValueError(f"chart {chart!r} shows the inputs, and the scenario has none: "
                         "every trial is the same")
    currency = result.scenario.scenario.currency
    if chart == "roi_hist":
        return roi_histogram(result, str(subject))
    if chart == "tornado":
        table = result.sensitivity(str(subject))
        return tornado(named(result, table), str(subject), float(result.npv(str(subject)).mean()),
                       currency)
    if chart == "scatter":
        return scatter(result, str(subject))
    if chart == "npv_cdf":
        return npv_cdfs(result.profiles())
    if chart == "payback_curve":
        return payback_curves(result.profiles())
    if chart == "cash_fan":
        return cash_fan(result)
    if chart == "risk_return":
        return risk_return(result.ranking(), currency)
    if chart == "prioritisation":
        fig = prioritisation(result.ranking(), currency, [plan.name for plan in result.scenario.plans])
        if fig is None:
            raise ValueError("no initiative has both strategic_impact and feasibility")
        return fig
    if chart == "spider":
        return spider(result)
    if chart == "value_of_information":
        return value_of_information(named(result, result.value_of_information()), currency)
    if chart == "inputs":
        if not result.input_histograms():
            raise ValueError("chart 'inputs' shows the inputs' distributions, and the scenario has "
                             "none that varies (its risks' strikes are in the report's table of "
                             "risks)")
        return inputs(result)
    return convergence(result)


def write_charts(result: SimulationResult, folder: Path, workers: int = 1,
                 meanwhile: Callable[[], object] | None = None) -> list[str]:
    """Every chart of a run, as PNG files in ``folder``.

    With ``workers`` > 1 on Linux, the charts are shared among that many
    processes (this one and forked copies of it): matplotlib draws in one
    thread, and a run's charts do not depend on one another. Each process
    takes the next chart not yet taken whenever it is free. The analyses the
    charts read (:meth:`SimulationResult.analyses`), some of them numba
    kernels with threads that a forked process must not start, are computed
    first, here, so that the copies only draw.

    ``meanwhile`` is other work of the run (writing its tables): it is done
    here while the copies draw, before this process takes charts too.
    """
    result.analyses()
    _warn_missing_glyphs(result)
    with _fonts():  # the forked copies inherit the fonts and the quiet
        return _draw(chart_jobs(result, folder), workers, meanwhile)


def _draw(jobs: list[Callable[[], list[str]]], workers: int,
          meanwhile: Callable[[], object] | None) -> list[str]:
    """:func:`write_charts`'s jobs, shared among ``workers`` processes."""
    workers = min(workers, len(jobs))
    if workers <= 1 or sys.platform != "linux":
        if meanwhile is not None:
            meanwhile()
        return [name for job in jobs for name in job()]
    queue = _JobQueue(len(jobs))
    children = []
    try:
        with signals_held():  # each child noted before an interrupt can end this one
            children += [_fork_worker(jobs, queue) for _ in range(1, workers)]
        if meanwhile is not None:
            meanwhile()
        drawn = dict(queue.run(jobs))
        while children:
            pid, reader = children[0]
            with reader:
                answer = reader.read()
            children.pop(0)  # it has answered: only waiting for it is left
            drawn.update(_answer(answer, os.waitpid(pid, 0)[1]))
    except BaseException:
        for pid, reader in children:  # interrupted, or a chart failed: end the others
            reader.close()
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    finally:
        queue.close()
    return [name for k in sorted(drawn) for name in drawn[k]]


class _JobQueue:
    """Job numbers 0 .. n-1, each handed out once, to this process or a forked copy of it.

    The numbers wait in a pipe, written whole before any copy is forked:
    reads from a pipe are atomic, so each number reaches exactly one reader,
    without a lock or shared memory (some containers have neither).
    """

    SIZE = 2  # bytes per job number; a pipe holds 64 KiB, so up to 32,768 jobs

    def __init__(self, n: int) -> None:
        if n * self.SIZE > 1 << 16:
            raise ValueError(f"{n} charts are more than a pipe holds")
        self._read, write = os.pipe()
        with os.fdopen(write, "wb") as pipe:  # closed: an empty pipe then reads as the end
            pipe.write(b"".join(k.to_bytes(self.SIZE, "little") for k in range(n)))

    def take(self) -> int | None:
        """The next job number; None once all are taken."""
        number = os.read(self._read, self.SIZE)
        return int.from_bytes(number, "little") if number else None

    def run(self, jobs: list[Callable[[], list[str]]]) -> list[tuple[int, list[str]]]:
        """Take and run jobs until none is left; (job number, files written) of each."""
        done = []
        while (k := self.take()) is not None:
            done.append((k, jobs[k]()))
        return done

    def close(self) -> None:
        os.close(self._read)


def _fork_worker(jobs: list[Callable[[], list[str]]], queue: _JobQueue) -> tuple[int, Any]:
    """Run ``queue``'s jobs in a forked copy of this process; (its pid, the pipe its answer comes on).

    The answer is a line "job number, tab, file name" per file written, or the
    error that stopped it, after a first line "error".
    """
    read_end, write_end = os.pipe()
    pid = fork()
    if pid == 0:  # the copy: draw, answer, and leave without running any exit handler
        code = 1
        try:
            os.close(read_end)
            # Ctrl-C reaches the whole process group: only the parent unwinds
            # (and cleans up); SIGTERM ends a copy at once
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            release_signals()  # held by the parent around the fork
            try:
                answer = "\n".join(f"{k}\t{name}" for k, names in queue.run(jobs)
                                   for name in names)
                code = 0
            except Exception as exc:  # reported by the parent, which raises it
                answer = f"error\n{type(exc).__name__}: {exc}"
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(answer)
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, os.fdopen(read_end)


def _answer(answer: str, status: int) -> dict[int, list[str]]:
    """The files a forked worker wrote, by job (:func:`_fork_worker`); raises its error if it failed."""
    lines = answer.splitlines()
    if status != 0 or lines[:1] == ["error"]:
        raise RuntimeError("drawing charts failed: "
                           + ("\n".join(lines[1:]) or f"worker exit status {status}"))
    drawn: dict[int, list[str]] = {}
    for line in lines:
        k, name = line.split("\t", 1)
        drawn.setdefault(int(k), []).append(name)
    return drawn
