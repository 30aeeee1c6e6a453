"""How sure a run is: a statistic's running estimate and its 95% interval.

A target statistic is written as one of:

- ``mean npv``;
- ``P(npv<0)`` (the probability of a loss);
- ``p5 npv`` … ``p95 npv`` (any percentile 1..99 of npv);
- ``P(payback<=24)`` (payback within that many months; see the README for
  the month convention).

Half-widths are 1.96 standard errors, as in :mod:`roisim.metrics`; for a
percentile, half the distance between the order statistics of ranks
n q ± 1.96 sqrt(n q (1-q)).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from roisim.distributions import number
from roisim.metrics import Z

if TYPE_CHECKING:
    from roisim.result import Outcomes

FORMS = "'mean npv', 'P(npv<0)', 'p50 npv' (any percentile 1..99), 'P(payback<=24)'"


@dataclass(frozen=True)
class Target:
    """A statistic to watch: ``kind`` in mean, p_loss, percentile, p_payback."""

    kind: str
    param: float
    label: str


def parse_target(text: str) -> Target:
    """Read a statistic such as ``P(npv<0)``; ValueError naming the accepted forms."""
    compact = re.sub(r"\s+", "", text.lower())
    if compact in ("meannpv", "npvmean", "e[npv]"):
        return Target("mean", 0.0, "mean npv")
    if compact in ("p(npv<0)", "p_loss", "ploss"):
        return Target("p_loss", 0.0, "P(npv<0)")
    match = re.fullmatch(r"p(\d{1,2})npv|npvp(\d{1,2})", compact)
    if match:
        q = int(match.group(1) or match.group(2))
        if 1 <= q <= 99:
            return Target("percentile", q / 100.0, f"p{q} npv")
    match = re.fullmatch(r"p\(payback<=(\d+)\)", compact)
    if match:
        months = int(match.group(1))
        return Target("p_payback", months, f"P(payback<={months})")
    raise ValueError(f"unknown statistic {text!r}; expected one of: {FORMS}")


def target_problem(target: Target, within: float, horizon: int | None = None) -> str | None:
    """Why ``within`` (or, given the horizon, the target itself) cannot be what was meant.

    A probability's half-width of 1 or more is met by any run: 2 meant 0.02.
    Payback is known within the horizon only: P(payback<=99) of a 36-month
    scenario would be P(payback<=36) under another name, and P(payback<=0)
    is 0 in every trial. None where both make sense.
    """
    if target.kind in ("p_loss", "p_payback") and within >= 1:
        return (f"a half-width of {number(within)} for {target.label}, a probability, is met by any "
                f"run; expected a fraction below 1, such as 0.02 for 2 percentage points")
    if target.kind == "p_payback" and horizon is not None and not 1 <= target.param <= horizon:
        return (f"{target.label} counts paybacks by month {number(target.param)}, outside what a "
                f"{horizon}-month horizon can tell; expected 1 to {horizon} months")
    return None


def estimate(target: Target, npv: np.ndarray, payback: np.ndarray) -> tuple[float, float]:
    """The statistic on these trials and the half-width of its 95% interval."""
    n = npv.size
    if target.kind == "mean":
        sd = float(npv.std(ddof=1)) if n > 1 else math.inf
        return float(npv.mean()), Z * sd / math.sqrt(n)
    if target.kind in ("p_loss", "p_payback"):
        hits = npv < 0.0 if target.kind == "p_loss" else (payback >= 0) & (payback < target.param)
        p = float(np.count_nonzero(hits)) / n
        return p, Z * math.sqrt(p * (1.0 - p) / n)
    q = target.param
    half = Z * math.sqrt(q * (1.0 - q) / n)
    lo, mid, hi = np.quantile(npv, [max(q - half, 0.0), q, min(q + half, 1.0)])
    return float(mid), float(hi - lo) / 2.0


def precise_enough(target: Target, within: float, out: Outcomes, done: int,
                   n_subjects: int) -> tuple[bool, float]:
    """Whether every subject's half-width on the first ``done`` trials is at most ``within``.

    Also returns the largest half-width.
    """
    worst = 0.0
    for s in range(n_subjects):
        npv = out.pv_benefits[s, :done] - out.pv_costs[s, :done]
        _, half = estimate(target, npv, out.payback[s, :done])
        worst = max(worst, half)
    return worst <= within, worst


def trace(npv: dict[str, np.ndarray], payback: dict[str, np.ndarray], target: Target,
          points: int = 30) -> pd.DataFrame:
    """The running estimate and half-width of every subject at growing trial counts.

    The counts grow geometrically from a hundredth of the run's trials, at
    least 10 and at most 1,000, so that a run of 1,000 trials still shows
    its estimate settling.
    """
    n = next(iter(npv.values())).size
    counts = np.unique(np.geomspace(min(1000, max(10, n // 100), n), n, points).astype(np.int64))
    rows = []
    for subject, values in npv.items():
        if target.kind == "mean":
            estimates = _running_means(values, counts)
        else:
            estimates = [estimate(target, values[:count], payback[subject][:count])
                         for count in counts]
        rows += [{"subject": subject, "trials": int(count), "estimate": value,
                  "half_width": half} for count, (value, half) in zip(counts, estimates,
                                                                       strict=True)]
    return pd.DataFrame(rows)


def _running_means(values: np.ndarray, counts: np.ndarray) -> list[tuple[float, float]]:
    """:func:`estimate` of the mean on the first ``count`` values, for each of ``counts``.

    One pass: each stretch between two counts is summarised (count, mean, sum
    of squared deviations) and merged into the running one (Chan, Golub &
    LeVeque's update), instead of every prefix being read again.
    """
    out = []
    n, mean, m2, start = 0, 0.0, 0.0, 0
    for count in counts:
        part = values[start:count]
        k = part.size
        if k:
            part_mean = float(part.mean())
            part_m2 = float(part.var()) * k
            total = n + k
            delta = part_mean - mean
            mean += delta * k / total
            m2 += part_m2 + delta * delta * n * k / total
            n, start = total, count
        sd = math.sqrt(m2 / (n - 1)) if n > 1 else math.inf
        out.append((mean, Z * sd / math.sqrt(n)))
    return out
