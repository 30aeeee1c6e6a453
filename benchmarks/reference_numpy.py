"""The canonical workload in plain vectorised numpy, as an analyst writes it in a notebook.

It is the yardstick roisim is measured against (benchmarks/test_canonical.py)
and must agree with roisim's statistics within Monte Carlo error
(tests/test_reference.py). Trials are processed in chunks of arrays
(trials x months); IRR is not computed (a per-trial root search is what a
notebook would skip).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

HORIZON = 60
RATE = 0.08299950680750978  # 8% nominal, compounded monthly
Z95 = stats.norm.ppf(0.95)
CHUNK = 250_000


def _lognormal_90(rng: np.random.Generator, p5: float, p95: float, n: int) -> np.ndarray:
    mu = (math.log(p5) + math.log(p95)) / 2
    sigma = (math.log(p95) - math.log(p5)) / (2 * Z95)
    return rng.lognormal(mu, sigma, n)


def _pert(rng: np.random.Generator, lo: float, mode: float, hi: float, n: int) -> np.ndarray:
    a = 1 + 4 * (mode - lo) / (hi - lo)
    b = 1 + 4 * (hi - mode) / (hi - lo)
    return lo + (hi - lo) * rng.beta(a, b, n)


def _normal_at_least(rng: np.random.Generator, mean: float, sd: float, floor: float,
                     n: int) -> np.ndarray:
    x = rng.normal(mean, sd, n)
    bad = x < floor
    while bad.any():  # redraw, not clip
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = x < floor
    return x


def simulate_chunk(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """npv, pv_costs, pv_benefits and payback month of ``n`` canonical trials."""
    setup = _lognormal_90(rng, 8_000, 20_000, n)
    license_fee = _pert(rng, 150, 200, 320, n)
    hours = rng.triangular(20, 35, 60, n)
    hourly = _normal_at_least(rng, 28, 3, 15, n)
    ceiling = rng.beta(8, 2, n)
    ramp = rng.uniform(2, 9, n)
    orders = _pert(rng, 0, 20, 60, n)
    margin = rng.normal(12, 2, n)
    go_live = rng.triangular(1, 2, 4, n)
    failed = rng.random(n) < 0.15
    rework = np.where(failed, _lognormal_90(rng, 2_000, 10_000, n), 0.0)
    go_live = go_live + 2.0 * failed

    months = np.arange(HORIZON, dtype=np.float64)
    discount = (1 + RATE) ** (-months / 12)
    t = months[None, :] - go_live[:, None]  # months since go-live
    live = months[None, :] >= np.ceil(go_live - 1e-9)[:, None]
    k = 8.0 / ramp[:, None]
    adoption = np.where(live, ceiling[:, None] / (1 + np.exp(-k * (t - ramp[:, None] / 2))), 0.0)
    benefits = adoption * (hours * hourly + orders * margin)[:, None]
    costs = np.repeat(license_fee[:, None], HORIZON, axis=1)
    costs[:, 0] += setup + rework
    net = benefits - costs
    cumulative = np.cumsum(net, axis=1)
    negative = cumulative < 0
    # last month with cumulative cash below 0; paid back the month after, if in the horizon
    last_negative = np.where(negative.any(axis=1),
                             HORIZON - 1 - np.argmax(negative[:, ::-1], axis=1), -1)
    payback = np.where(last_negative + 1 < HORIZON, last_negative + 1, -1)
    pv_costs = costs @ discount
    pv_benefits = benefits @ discount
    return {"npv": pv_benefits - pv_costs, "pv_costs": pv_costs, "pv_benefits": pv_benefits,
            "payback": payback}


def simulate(n_trials: int, seed: int = 0) -> dict[str, np.ndarray]:
    """All trials, chunk by chunk, concatenated."""
    rng = np.random.default_rng(seed)
    parts = [simulate_chunk(rng, min(CHUNK, n_trials - start))
             for start in range(0, n_trials, CHUNK)]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def summarize(out: dict[str, np.ndarray]) -> dict[str, float]:
    """The statistics an analyst reads off: mean npv, P(loss), percentiles, payback."""
    npv = out["npv"]
    p5, p50, p95 = np.percentile(npv, [5, 50, 95])
    return {"npv_mean": float(npv.mean()), "npv_sd": float(npv.std(ddof=1)),
            "p_loss": float(np.mean(npv < 0)), "npv_p5": float(p5), "npv_p50": float(p50),
            "npv_p95": float(p95), "p_payback_within_24": float(np.mean(
                (out["payback"] >= 0) & (out["payback"] < 24)))}
