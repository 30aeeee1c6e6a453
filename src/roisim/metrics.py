"""Summary statistics of per-trial outcomes, each with its Monte Carlo error.

Conventions
-----------
- Means carry the standard error sd / sqrt(n); probabilities sqrt(p (1-p) / n).
- Percentiles use linear interpolation for money and rates and the order
  statistic itself for months. Their standard error is distribution-free:
  the 95% interval between the order statistics of ranks
  n q +- 1.96 sqrt(n q (1-q)), divided by 2 x 1.96.
- ROI is undefined where pv_costs is 0 and IRR where no rate solves the
  flows: their statistics are over the trials where they are defined, and the
  counts of the others are reported (``roi_undefined``, ``irr_undefined``).
- Payback months are ``inf`` in percentiles where the cumulative cash has not
  paid back by the horizon ("never"); their mean is over the trials that pay
  back; ``payback_never`` counts the others.
- CVaR 5% is the mean npv of the worst 5% of trials; its error follows the
  asymptotic variance of Hong & Liu (2009): Var(min(X - VaR, 0)) / (0.05^2 n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from roisim._parallel import dot
from roisim.selection import SLICE, Computed, Source, order_statistics, slices

if TYPE_CHECKING:
    from roisim.result import SimulationResult

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
Z = 1.959963984540054  # two-sided 95% normal quantile
MONTH_OUTCOMES = ("payback_month", "discounted_payback_month")


def finite_moments(values: Source) -> tuple[int, float, float, float, float]:
    """Count, mean, sample sd, skewness and kurtosis of the finite ``values``.

    Skewness m3 / m2^1.5 and kurtosis m4 / m2² from the central moments
    m_k = mean((x - mean)^k), as @RISK and Crystal Ball report them (a
    normal's kurtosis is 3; scipy's ``skew`` and ``kurtosis(fisher=False)``);
    NaN where every value is the same. Two passes over slices, leaving out the
    non-finite values of each slice: no temporary of the size of ``values``.
    """
    n, total = 0, 0.0
    for lo in range(0, values.size, SLICE):
        part = values[lo:lo + SLICE]
        part = part[np.isfinite(part)]
        n += part.size
        total += float(part.sum(dtype=np.float64))
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = total / n
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    squares, cubes, fourths = 0.0, 0.0, 0.0
    for lo in range(0, values.size, SLICE):
        part = values[lo:lo + SLICE]
        dev = part[np.isfinite(part)].astype(np.float64) - mean
        square = dev * dev
        squares += dot(dev, dev)
        cubes += dot(square, dev)
        fourths += dot(square, square)
    m2, m3, m4 = squares / n, cubes / n, fourths / n
    spread = m2 > 1e-24 * max(mean * mean, 1e-300)  # not rounding noise about one value
    return (n, mean, math.sqrt(squares / (n - 1)), m3 / m2 ** 1.5 if spread else math.nan,
            m4 / (m2 * m2) if spread else math.nan)


def describe(values: Source, name: str, *, months: bool = False) -> dict[str, Any]:
    """Count, mean (with standard error), sd, skewness, kurtosis, smallest, percentiles, largest.

    Percentiles come with standard errors; the moments are those of
    :func:`finite_moments`.

    Parameters
    ----------
    values : ndarray of float, shape (n_trials,), or a :class:`roisim.selection.Computed`
        One outcome per trial; NaN marks "undefined" (excluded); for months,
        ``inf`` marks "never" (kept in percentiles, left out of the mean).
        Read a slice at a time: nothing of its size is copied or sorted
        (:func:`roisim.selection.order_statistics`).
    name : str
        Column prefix.
    months : bool
        Percentiles are order statistics rather than interpolated.
    """
    n_finite, mean, sd, skewness, kurtosis = finite_moments(values)
    row: dict[str, Any] = {f"{name}_n": n_finite}
    row[f"{name}_mean"] = mean
    row[f"{name}_mean_se"] = sd / math.sqrt(n_finite) if n_finite > 1 else math.nan
    row[f"{name}_sd"] = sd
    row[f"{name}_skewness"] = skewness
    row[f"{name}_kurtosis"] = kurtosis
    # percentiles: of every value for months ("never" included), else of the finite ones
    n = n_finite + (count_if(values, lambda v: v == np.inf) if months else 0)
    if n == 0:
        row[f"{name}_min"] = math.nan
        for q in PERCENTILES:
            row[f"{name}_p{q}"] = row[f"{name}_p{q}_se"] = math.nan
        row[f"{name}_max"] = math.nan
        return row
    qs = np.array(PERCENTILES, dtype=np.float64) / 100.0
    half = Z * np.sqrt(qs * (1.0 - qs) / n)
    wanted = np.concatenate([qs, np.clip(qs - half, 0.0, 1.0), np.clip(qs + half, 0.0, 1.0)])
    places = quantile_places(n, wanted, order_statistic=months)
    ranks = np.concatenate([[0, n - 1], *places[:2]])
    found = dict(zip(ranks.tolist(), order_statistics(values, ranks, with_inf=months), strict=True))
    got = from_places(places, lambda at: np.array([found[r] for r in at.tolist()]))
    row[f"{name}_min"] = found[0]
    k = len(PERCENTILES)
    for i, q in enumerate(PERCENTILES):
        row[f"{name}_p{q}"] = float(got[i])
        lo, hi = float(got[k + i]), float(got[2 * k + i])
        # an interval reaching "never" (inf) has no finite width
        row[f"{name}_p{q}_se"] = (hi - lo) / (2 * Z) if math.isfinite(hi) else math.inf
    row[f"{name}_max"] = found[n - 1]
    return row


def quantile_places(n: int, probs: np.ndarray, *, order_statistic: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Where the quantiles at ``probs`` of n sorted values lie: (lower rank, upper rank, weight).

    The default is numpy's "linear" method (Hyndman & Fan's 7th): the
    quantile lies between the values of the two ranks, at the weight of the
    upper; ``order_statistic`` gives "inverted_cdf" (the smallest value whose
    empirical distribution function reaches p), one rank, which keeps months
    whole (weight None).
    """
    if order_statistic:
        at = np.clip(np.ceil(probs * n).astype(np.int64) - 1, 0, n - 1)
        return at, at, None
    virtual = (n - 1) * probs
    previous = np.floor(virtual)
    gamma = virtual - previous
    lo = previous.astype(np.int64)
    hi = lo + 1
    lo[virtual >= n - 1] = hi[virtual >= n - 1] = n - 1
    lo[virtual < 0] = hi[virtual < 0] = 0
    return lo, hi, gamma


def from_places(places: tuple[np.ndarray, np.ndarray, np.ndarray | None],
                value_at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The quantiles at :func:`quantile_places`, given the values at ranks (``value_at``)."""
    lo, hi, gamma = places
    a = value_at(lo)
    if gamma is None:
        return a
    b = value_at(hi)
    diff = b - a
    # numpy's interpolation: from the nearer end, so that gamma = 1 gives b exactly
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


def sorted_quantiles(ordered: np.ndarray, probs: np.ndarray, *,
                     order_statistic: bool = False) -> np.ndarray:
    """Quantiles at ``probs`` of an ascending array, as ``np.quantile`` defines them.

    The methods of :func:`quantile_places`. ``np.quantile`` would select the
    order statistics again, by partition, from an array that is already sorted.
    """
    places = quantile_places(ordered.size, probs, order_statistic=order_statistic)
    return from_places(places, lambda at: ordered[at])


def share(hits: int, n: int, name: str) -> dict[str, float]:
    """P(event) and its standard error from the number of trials, of ``n``, where it happened."""
    p = float(hits) / n
    return {name: p, f"{name}_se": math.sqrt(p * (1.0 - p) / n)}


def count_if(values: Source, test: Callable[[np.ndarray], np.ndarray]) -> int:
    """How many ``values`` pass ``test``, counted slice by slice (no full-size mask)."""
    return sum(int(np.count_nonzero(test(values[lo:lo + SLICE])))
               for lo in range(0, values.size, SLICE))


def cvar(npv: Source, alpha: float = 0.05) -> tuple[float, float]:
    """Mean of the worst ``alpha`` share of ``npv`` and its standard error.

    The worst k = ceil(alpha n) values are those below the k-th smallest
    (the value at risk), and as many copies of it as make k: found with
    :func:`roisim.selection.order_statistics` and summed a slice at a time.
    """
    n = npv.size
    k = max(1, math.ceil(alpha * n))
    value_at_risk = float(order_statistics(npv, np.array([k - 1]))[0])
    # Var(min(X - VaR, 0)): zero outside the worst k, so the tail alone gives it
    total, squares = 0.0, 0.0
    for part in slices(npv):
        shortfall = part[part < value_at_risk] - value_at_risk
        total += float(shortfall.sum())
        squares += dot(shortfall, shortfall)
    mean_shortfall = total / n
    variance = squares / n - mean_shortfall**2
    se = math.sqrt(max(variance, 0.0) * n / max(n - 1, 1)) / (alpha * math.sqrt(n))
    return value_at_risk + total / k, se


def payback_horizons(horizon: int) -> list[int]:
    """The months m for which P(payback within m months) is reported.

    Whole years up to the horizon, and the horizon itself: whether it pays
    back at all within what was simulated (a 30-month scenario reports 12,
    24 and 30).
    """
    years = list(range(12, horizon + 1, 12))
    return years if horizon in years else [*years, horizon]


def roi_of(pv_benefits: np.ndarray, pv_costs: np.ndarray) -> np.ndarray:
    """ROI = npv / pv_costs; NaN where pv_costs is 0 (undefined).

    One new array: the npv, divided in place, and marked slice by slice (no
    full-size mask).
    """
    roi = pv_benefits - pv_costs
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(roi, pv_costs, out=roi)
    for lo in range(0, roi.size, SLICE):
        part = roi[lo:lo + SLICE]
        part[pv_costs[lo:lo + SLICE] == 0.0] = np.nan
    return roi


def as_months(months: np.ndarray) -> np.ndarray:
    """Payback months as numbers: -1 ("never") as inf."""
    return np.where(months >= 0, months.astype(np.float64), np.inf)


def subject_summary(result: SimulationResult, subject: str) -> dict[str, Any]:
    """Every summary statistic of one subject (see module notes).

    Outcomes are taken one at a time and their temporaries released, so the
    memory needed beyond the outcomes is about one array of n_trials values.
    """
    s = result.index(subject)
    o = result.outcomes
    row: dict[str, Any] = {"subject": subject, "kind": _kind(result, subject),
                           "n_trials": result.n_trials}
    # npv and ROI computed a slice at a time: never held whole
    pvb, pvc = o.pv_benefits[s], o.pv_costs[s]
    npv = Computed(pvb.size, lambda at: pvb[at] - pvc[at])
    row.update(share(count_if(npv, lambda v: v < 0.0), npv.size, "p_loss"))
    row["cvar5_npv"], row["cvar5_npv_se"] = cvar(npv)
    row.update(describe(npv, "npv"))
    row.update(describe(Computed(pvb.size, lambda at: roi_of(pvb[at], pvc[at])), "roi"))
    row["roi_undefined"] = count_if(o.pv_costs[s], lambda v: v == 0.0)
    row.update(describe(o.pv_costs[s], "pv_costs"))
    row.update(describe(o.pv_benefits[s], "pv_benefits"))
    row.update(describe(o.irr[s], "irr"))
    row["irr_undefined"] = count_if(o.irr[s], np.isnan)
    for name, months in (("payback_month", o.payback[s]),
                         ("discounted_payback_month", o.dpayback[s])):
        row.update(describe(Computed(months.size, lambda at, m=months: as_months(m[at])), name,
                            months=True))
        never = "payback_never" if name == "payback_month" else "discounted_payback_never"
        row[never] = count_if(months, lambda v: v < 0)
    paid = o.payback[s]
    for m in payback_horizons(result.scenario.scenario.horizon_months):
        # payback_month t means "paid back by the end of month t": within m months is t < m
        row.update(share(count_if(paid, lambda v, m=m: (v >= 0) & (v < m)), paid.size,
                         f"p_payback_within_{m}"))
    return row


def summarize(result: SimulationResult) -> pd.DataFrame:
    """Summary statistics of every subject, one row each, indexed by subject.

    A subject whose outcomes are copies of an earlier one's
    (:meth:`SimulationResult.identical_subjects`) takes that row's statistics.
    The others are summarised on the run's threads, each holding one sorted
    copy of an outcome at a time.
    """
    from roisim._parallel import each

    same = result.identical_subjects()
    distinct = [subject for subject, first in same.items() if first == subject]
    computed = dict(zip(distinct, each(lambda subject: subject_summary(result, subject), distinct,
                                       result.threads), strict=True))
    rows = [{**computed[first], "subject": subject, "kind": _kind(result, subject)}
            for subject, first in same.items()]
    return pd.DataFrame(rows).set_index("subject")


def months(n: int) -> str:
    """A horizon as a caption says it: "36 months", "1 month"."""
    return f"{n:,} month" + ("" if n == 1 else "s")


#: what "payback P50" in :data:`HEADLINE` means
PAYBACK_CAPTION = "payback: median month by which cumulative cash ≥ 0"
#: the headline columns of a summary, as the command line and a notebook show them
HEADLINE = ("E[NPV]", "± se", "P5", "P50", "P95", "P(loss)", "CVaR 5%", "ROI P50", "payback P50")


def money_decimals(amounts: Iterable[float]) -> int:
    """Decimals with which to show amounts of this size: none from 1,000 up.

    Below that, enough for four significant digits of the largest, so that
    a scenario written in thousands (12.5 for 12,500) or in small sums
    does not read as a column of zeros: 0 for 1,000 or more, 1 for 100 to
    999, 4 for 0.5.
    """
    finite = [abs(x) for x in amounts if math.isfinite(x) and x != 0]
    if not finite:
        return 0
    return max(0, 3 - math.floor(math.log10(max(finite))))


def money_text(amount: float, decimals: int) -> str:
    """``amount`` with thousands separators and ``decimals`` decimals; exactly 0 as "0", never "-0"."""
    if amount == 0:
        return "0"
    text = f"{amount:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def summary_decimals(summary: pd.DataFrame) -> int:
    """:func:`money_decimals` of a summary's npv figures: its headline's and the sentences'."""
    columns = ["npv_mean", "npv_p5", "npv_p50", "npv_p95", "cvar5_npv"]
    return money_decimals(summary[columns].to_numpy(dtype=float).ravel())


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The headline numbers of every subject of ``summary``, as text to read, one row each.

    Money with thousands separators, to the unit where amounts reach 1,000
    (:func:`money_decimals`), shares in per cent, the median payback as
    "month N" or "never"; ROI is "n/a" where no trial has one (no costs).
    """
    decimals = summary_decimals(summary)

    def cells(row: pd.Series) -> list[str]:
        payback = row["payback_month_p50"]
        money = [money_text(row[column], decimals) for column in
                 ("npv_mean", "npv_mean_se", "npv_p5", "npv_p50", "npv_p95")]
        return [*money, f"{row['p_loss']:.1%}", money_text(row["cvar5_npv"], decimals),
                "n/a" if row["roi_n"] == 0 else f"{row['roi_p50']:.0%}",
                "never" if payback == math.inf else f"month {payback:.0f}"]

    return pd.DataFrame([cells(row) for _, row in summary.iterrows()], index=summary.index,
                        columns=list(HEADLINE))


def _kind(result: SimulationResult, subject: str) -> str:
    return "plan" if result.is_plan(subject) else "initiative"
