"""Paired comparisons of subjects (initiatives and plans) evaluated on common trials.

Every subject of a scenario is evaluated on the same trials, so differences
are taken trial by trial: their spread is the spread of the difference, not
of two independent estimates, and a subject compared with itself differs by
exactly zero.

Stochastic dominance is judged on the npv quantile functions at
``DOMINANCE_POINTS`` evenly spaced probabilities: A dominates B in the first
order when A's quantile is at least B's everywhere and above it somewhere; in
the second order when the running integral of A's quantile function (the
area under the lower tail) is at least B's everywhere and above it somewhere.
First-order dominance implies second-order dominance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from roisim.metrics import Z, cvar, money_decimals, money_text, sorted_quantiles

#: quantile points used to judge dominance (ignores differences below 1e-9 of the scale).
DOMINANCE_POINTS = 1000


def dominance_quantiles(values: np.ndarray) -> np.ndarray:
    """The quantiles of ``values`` on which dominance is judged (see :func:`dominance`).

    ``np.quantile``'s, read off one sort: selecting a thousand order
    statistics by partition takes seven times as long.
    """
    return sorted_quantiles(np.sort(values), (np.arange(DOMINANCE_POINTS) + 0.5) / DOMINANCE_POINTS)


def dominance(a: np.ndarray, b: np.ndarray) -> tuple[bool, bool]:
    """Whether ``a`` dominates ``b`` in the first and in the second order."""
    return dominates(dominance_quantiles(a), dominance_quantiles(b))


def dominates(qa: np.ndarray, qb: np.ndarray) -> tuple[bool, bool]:
    """:func:`dominance` from the two samples' :func:`dominance_quantiles`."""
    scale = max(float(np.abs(qa).max()), float(np.abs(qb).max()), 1.0)
    tol = 1e-9 * scale
    diff = qa - qb
    first = bool(np.all(diff >= -tol) and np.any(diff > tol))
    area = np.cumsum(diff)
    second = bool(np.all(area >= -tol * np.arange(1, area.size + 1)) and np.any(area > tol))
    return first, second or first


def equal_to_earlier(*outcomes: Mapping[str, np.ndarray]) -> dict[str, str]:
    """Each subject, mapped to the first subject equal to it in every trial and outcome given.

    ``outcomes`` map each subject to its per-trial values (npv, payback ...);
    a subject equal to no earlier one maps to itself.
    """
    names = list(outcomes[0])
    same: dict[str, str] = {}
    for i, a in enumerate(names):
        same[a] = next((b for b in names[:i] if same[b] == b and all(
            np.array_equal(values[a], values[b]) for values in outcomes)), a)
    return same


def pairwise(npv: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Every ordered pair (A, B) of subjects: how A's npv compares with B's, trial by trial.

    Columns: p_a_beats_b = P(npv_A > npv_B) and its se; mean_diff
    (E[npv_A - npv_B]) and its se; diff_p5 and diff_p95; dominates_first and
    dominates_second (A over B).
    """
    names = list(npv)
    # a subject whose npv equals an earlier one's trial for trial (an initiative
    # and its all-at-once plan) takes that subject's comparisons
    same = equal_to_earlier(npv)
    distinct = [name for name in names if same[name] == name]
    # each subject's quantiles once, not once per pair: a thousand of them cost
    # as much as sorting the sample (and none where there is no pair)
    quantiles = {name: dominance_quantiles(npv[name]) for name in distinct} \
        if len(distinct) > 1 else {}
    pairs = {}
    for i, a in enumerate(distinct):
        for b in distinct[i + 1:]:
            pairs[a, b], pairs[b, a] = _paired_both_ways(npv[a], npv[b], quantiles[a], quantiles[b])
    rows = []
    for a in names:
        for b in names:
            if a != b:
                key = same[a], same[b]
                rows.append({"a": a, "b": b,
                             **(pairs[key] if key in pairs else _identical(npv[a].size))})
    return pd.DataFrame(rows, columns=[
        "a", "b", "p_a_beats_b", "p_a_beats_b_se", "mean_diff", "mean_diff_se", "diff_p5",
        "diff_p95", "dominates_first", "dominates_second"])


def _paired(a: np.ndarray, b: np.ndarray, qa: np.ndarray, qb: np.ndarray) -> dict[str, object]:
    """:func:`pairwise`'s statistics of A against B, from their npv and dominance quantiles."""
    diff = a - b
    n = diff.size
    p = float(np.count_nonzero(diff > 0.0)) / n
    sd = float(diff.std(ddof=1)) if n > 1 else math.nan
    p5, p95 = np.percentile(diff, [5, 95])
    first, second = dominates(qa, qb)
    return {"p_a_beats_b": p, "p_a_beats_b_se": math.sqrt(p * (1 - p) / n),
            "mean_diff": float(diff.mean()), "mean_diff_se": sd / math.sqrt(n),
            "diff_p5": float(p5), "diff_p95": float(p95),
            "dominates_first": first, "dominates_second": second}


def _paired_both_ways(a: np.ndarray, b: np.ndarray, qa: np.ndarray, qb: np.ndarray
                      ) -> tuple[dict[str, object], dict[str, object]]:
    """:func:`_paired` of A against B and of B against A, from one set of differences.

    B - A is A - B negated: its mean is the negated mean, its sd the same, its
    5th and 95th percentiles the negated 95th and 5th (numpy's linear
    interpolation is symmetric, up to the rounding of the interpolation
    weight); only P(B > A) is counted again. Half the differences and sorts.
    A negated 0 is written as 0, not -0.
    """
    ab = _paired(a, b, qa, qb)
    n = a.size
    p = float(np.count_nonzero(a < b)) / n
    first, second = dominates(qb, qa)
    ba = {"p_a_beats_b": p, "p_a_beats_b_se": math.sqrt(p * (1 - p) / n),
          "mean_diff": 0.0 - ab["mean_diff"], "mean_diff_se": ab["mean_diff_se"],  # type: ignore[operator]
          "diff_p5": 0.0 - ab["diff_p95"], "diff_p95": 0.0 - ab["diff_p5"],  # type: ignore[operator]
          "dominates_first": first, "dominates_second": second}
    return ab, ba


def _identical(n: int) -> dict[str, object]:
    """:func:`_paired` of two identical samples of ``n`` trials: every difference is 0."""
    return {"p_a_beats_b": 0.0, "p_a_beats_b_se": 0.0, "mean_diff": 0.0,
            "mean_diff_se": 0.0 if n > 1 else math.nan, "diff_p5": 0.0, "diff_p95": 0.0,
            "dominates_first": False, "dominates_second": False}


def ranking(npv: Mapping[str, np.ndarray], payback: Mapping[str, np.ndarray],
            scores: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """One row per subject, sorted by expected npv (best first).

    Columns: expected_npv (and se), p_loss, cvar5_npv, p_payback_within_24,
    median_payback_month (``inf`` when fewer than half pay back within the
    horizon), strategic_impact and feasibility where given. ``payback`` holds
    payback months with -1 for "never".
    """
    rows = []
    for name, values in npv.items():
        months = payback[name]
        paid = np.where(months >= 0, months.astype(np.float64), np.inf)
        impact, feasibility = (scores or {}).get(name, (math.nan, math.nan))
        rows.append({
            "subject": name,
            "expected_npv": float(values.mean()),
            "expected_npv_se": float(values.std(ddof=1)) / math.sqrt(values.size)
            if values.size > 1 else math.nan,
            "p_loss": float(np.mean(values < 0.0)),
            "cvar5_npv": cvar(values)[0],
            "p_payback_within_24": float(np.mean(paid < 24)),
            "median_payback_month": float(np.quantile(paid, 0.5, method="inverted_cdf")),
            "strategic_impact": impact,
            "feasibility": feasibility,
        })
    frame = pd.DataFrame(rows).sort_values("expected_npv", ascending=False, kind="stable")
    return frame.set_index("subject")


#: the columns of :func:`gate_table`, and of ``SimulationResult.gates`` where there is no gate
GATE_COLUMNS = ["plan", "phase", "initiative", "metric", "at_least", "at_most", "on_fail", "p_judged",
                "p_fail", "p_fail_se", "p_fail_if_judged", "p_fail_if_judged_se", "expected_npv",
                "expected_npv_without_gates", "value_of_gates", "value_of_gates_se",
                "value_of_gates_ci95"]


def gate_table(plan: str, phases: list[dict[str, object]], started: np.ndarray,
               failed: np.ndarray, npv: np.ndarray, ungated_npv: np.ndarray) -> pd.DataFrame:
    """The value of a plan's gates and how often each one was judged and failed.

    ``value_of_gates`` is E[npv] minus E[npv of the same plan with every gate
    removed], paired on the same trials. ``p_judged`` is the share of trials
    in which the plan reached the gate: not in trials where its initiative
    was abandoned before, the rollout stopped at an earlier gate, or the
    phase's start fell beyond the horizon. ``p_fail`` is the share of all
    trials in which the gate was judged and failed (the phase did not start,
    and with ``on_fail = "stop"`` the rollout stopped there);
    ``p_fail_if_judged`` the share of the judged ones. ``started`` and
    ``failed`` hold bit k for phase k: a gate was judged where its phase
    started or its gate failed.
    """
    diff = npv - ungated_npv
    n = diff.size
    value, value_se = float(diff.mean()), float(diff.std(ddof=1)) / math.sqrt(n) if n > 1 \
        else math.nan
    rows = []
    for k, phase in enumerate(phases):
        if phase.get("metric") is None:
            continue
        hits = ((failed >> k) & 1) == 1
        fails = np.count_nonzero(hits)
        judged = fails + np.count_nonzero(((started >> k) & 1) == 1)
        p, p_judged = fails / n, judged / n
        q = fails / judged if judged else math.nan
        rows.append({"plan": plan, "phase": k + 1, **phase,
                     "p_judged": p_judged,
                     "p_fail": p, "p_fail_se": math.sqrt(p * (1 - p) / n),
                     "p_fail_if_judged": q,
                     "p_fail_if_judged_se": math.sqrt(q * (1 - q) / judged) if judged else math.nan,
                     "expected_npv": float(npv.mean()),
                     "expected_npv_without_gates": float(ungated_npv.mean()),
                     "value_of_gates": value, "value_of_gates_se": value_se,
                     "value_of_gates_ci95": interval(value - Z * value_se, value + Z * value_se,
                                                     npv.mean())})
    return pd.DataFrame(rows, columns=GATE_COLUMNS)


def interval(lo: float, hi: float, scale: float) -> str:
    """``[lo, hi]`` as text, amounts shown as the plan's npv of about ``scale`` would be."""
    decimals = money_decimals([lo, hi, scale])
    return f"[{money_text(lo, decimals)}, {money_text(hi, decimals)}]"
