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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from roisim.engine import SimulationResult

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
Z = 1.959963984540054  # two-sided 95% normal quantile
MONTH_OUTCOMES = ("payback_month", "discounted_payback_month")


def describe(values: np.ndarray, name: str, *, months: bool = False) -> dict[str, Any]:
    """Count, mean (with standard error), sd and percentiles (with standard errors).

    Parameters
    ----------
    values : ndarray of float, shape (n_trials,)
        One outcome per trial; NaN marks "undefined" (excluded); for months,
        ``inf`` marks "never" (kept in percentiles, left out of the mean).
    name : str
        Column prefix.
    months : bool
        Percentiles are order statistics rather than interpolated.
    """
    if months:
        ranked = values
        finite = values[np.isfinite(values)]
    else:
        finite = values[np.isfinite(values)]
        ranked = finite
    n = ranked.size
    row: dict[str, Any] = {f"{name}_n": int(finite.size)}
    if finite.size:
        mean = float(finite.mean())
        sd = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    else:
        mean = sd = math.nan
    row[f"{name}_mean"] = mean
    row[f"{name}_mean_se"] = sd / math.sqrt(finite.size) if finite.size > 1 else math.nan
    row[f"{name}_sd"] = sd
    if n == 0:
        for q in PERCENTILES:
            row[f"{name}_p{q}"] = row[f"{name}_p{q}_se"] = math.nan
        return row
    qs = np.array(PERCENTILES, dtype=np.float64) / 100.0
    half = Z * np.sqrt(qs * (1.0 - qs) / n)
    wanted = np.concatenate([qs, np.clip(qs - half, 0.0, 1.0), np.clip(qs + half, 0.0, 1.0)])
    method = "inverted_cdf" if months else "linear"
    got = np.quantile(ranked, wanted, method=method)
    k = len(PERCENTILES)
    for i, q in enumerate(PERCENTILES):
        row[f"{name}_p{q}"] = float(got[i])
        lo, hi = float(got[k + i]), float(got[2 * k + i])
        # an interval reaching "never" (inf) has no finite width
        row[f"{name}_p{q}_se"] = (hi - lo) / (2 * Z) if math.isfinite(hi) else math.inf
    return row


def probability(hits: np.ndarray, name: str) -> dict[str, float]:
    """P(event) and its standard error from a boolean array over trials."""
    n = hits.size
    p = float(np.count_nonzero(hits)) / n
    return {name: p, f"{name}_se": math.sqrt(p * (1.0 - p) / n)}


def cvar(npv: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Mean of the worst ``alpha`` share of ``npv`` and its standard error."""
    n = npv.size
    k = max(1, math.ceil(alpha * n))
    worst = np.partition(npv, k - 1)[:k]
    value_at_risk = float(worst.max())
    shortfall = np.minimum(npv - value_at_risk, 0.0)
    se = float(shortfall.std()) / (alpha * math.sqrt(n))
    return float(worst.mean()), se


def payback_horizons(horizon: int) -> list[int]:
    """The months m for which P(payback within m months) is reported."""
    return list(range(12, horizon + 1, 12)) or [horizon]


def subject_summary(result: SimulationResult, subject: str) -> dict[str, Any]:
    """Every summary statistic of one subject (see module notes)."""
    s = result.index(subject)
    o = result.outcomes
    pvc, pvb = o.pv_costs[s], o.pv_benefits[s]
    npv = pvb - pvc
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(pvc != 0.0, npv / pvc, np.nan)
    row: dict[str, Any] = {"subject": subject,
                           "kind": "plan" if result.is_plan(subject) else "initiative",
                           "n_trials": result.n_trials}
    row.update(describe(npv, "npv"))
    row.update(probability(npv < 0.0, "p_loss"))
    row["cvar5_npv"], row["cvar5_npv_se"] = cvar(npv)
    row.update(describe(roi, "roi"))
    row["roi_undefined"] = int(np.count_nonzero(pvc == 0.0))
    row.update(describe(pvc, "pv_costs"))
    row.update(describe(pvb, "pv_benefits"))
    irr = o.irr[s].astype(np.float64)
    row.update(describe(irr, "irr"))
    row["irr_undefined"] = int(np.count_nonzero(np.isnan(irr)))
    for name, months in (("payback_month", o.payback[s]),
                         ("discounted_payback_month", o.dpayback[s])):
        as_float = np.where(months >= 0, months.astype(np.float64), np.inf)
        row.update(describe(as_float, name, months=True))
        never = "payback_never" if name == "payback_month" else "discounted_payback_never"
        row[never] = int(np.count_nonzero(months < 0))
    paid = o.payback[s]
    for m in payback_horizons(result.scenario.scenario.horizon_months):
        # payback_month t means "paid back by the end of month t": within m months is t < m
        row.update(probability((paid >= 0) & (paid < m), f"p_payback_within_{m}"))
    return row


def summarize(result: SimulationResult) -> pd.DataFrame:
    """Summary statistics of every subject, one row each, indexed by subject."""
    rows = [subject_summary(result, subject) for subject in result.subjects]
    return pd.DataFrame(rows).set_index("subject")


HEADLINE = {
    "npv_mean": "E[NPV]",
    "npv_mean_se": "± se",
    "npv_p5": "NPV P5",
    "npv_p50": "NPV P50",
    "npv_p95": "NPV P95",
    "p_loss": "P(loss)",
    "cvar5_npv": "CVaR 5%",
    "roi_p50": "ROI P50",
    "payback_month_p50": "payback P50",
}


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The columns worth printing, with readable names."""
    return summary[list(HEADLINE)].rename(columns=HEADLINE)
