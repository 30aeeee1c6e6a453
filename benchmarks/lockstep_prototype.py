"""A canonical subject's month loop, trial by trial (as the kernel runs it) and in lockstep.

Usage::

    python benchmarks/lockstep_prototype.py [--trials N] [--rounds R]

The month work of one canonical trial (logistic adoption, a set-up cost, a
monthly fee, two monthly benefits scaled by adoption, then the outcomes:
present values, the NPV's two derivatives, the sign counts and both payback
months) is computed two ways on the same inputs, one thread:

- ``per_trial``: roisim's own stages, one trial at a time, each loop over the
  months of that trial (``fill_adoption``, the line loops of ``add_phase``,
  ``outcomes``);
- ``lockstep``: 64 trials at a time, month by month, with the trials
  innermost, so that each month's arithmetic is one vector loop over the
  trials. Its state lives in arrays the function allocates itself, with a
  size known at compile time (``GROUP``): LLVM then vectorises the loop.
  With the same state passed in as arguments (how roisim's kernels get their
  scratch arrays) it vectorised nothing and took 400-600 ns a trial; so did
  a loop of this kind over local arrays sized by an argument.

It prints the time a trial of each, their paired ratio over interleaved
rounds, and the largest difference between their outcomes. This is a
measurement for the kernel's design (see benchmarks/README.md), not part of
roisim: the lockstep loop knows the canonical model's structure, where the
kernel reads any scenario's lines and phases from the model.
"""

from __future__ import annotations

import argparse
import math
import time

import numba
import numpy as np

from roisim import _kernels as K
from roisim._random import kernel

HORIZON = 60
MONTHS = np.arange(HORIZON, dtype=np.float64)
DISCOUNT = (1.0 + 0.08299950680750978) ** (-MONTHS / 12.0)
GROUP = 64
#: per trial: go-live (risk delay included), adoption ceiling, ramp, monthly fee,
#: set-up and risk cost at month 0, the two benefits' monthly amounts
COLUMNS = 7


def inputs(n: int, seed: int = 1) -> np.ndarray:
    """Canonical-like inputs for ``n`` trials (shape (n, COLUMNS))."""
    rng = np.random.default_rng(seed)
    delayed = rng.random(n) < 0.15
    return np.column_stack([
        rng.triangular(1, 2, 4, n) + 2.0 * delayed, rng.beta(8, 2, n), rng.uniform(2, 9, n),
        rng.uniform(150, 320, n), rng.lognormal(9.5, 0.3, n) + delayed * 5000.0,
        rng.uniform(500, 2000, n), rng.uniform(0, 700, n)])


@kernel
def per_trial(params, costs, bens, adopt, net, out):
    """roisim's stages, one trial at a time: out[i] = (pvc, pvb, payback, dpayback, d1, d2)."""
    for i in range(params.shape[0]):
        golive, ceiling, ramp, fee, once, b1, b2 = params[i]
        for t in range(HORIZON):
            costs[t] = 0.0
            bens[t] = 0.0
        K.fill_adoption(K.LOGISTIC, ceiling, ramp, golive, HORIZON, adopt)
        costs[0] += once
        for t in range(HORIZON):
            costs[t] += fee
        t0 = K.month_of(golive, HORIZON)
        b, ad = bens[t0:HORIZON], adopt[t0:HORIZON]
        for k in range(HORIZON - t0):
            b[k] += b1 * ad[k]
        for k in range(HORIZON - t0):
            b[k] += b2 * ad[k]
        pvc, pvb, pb, dpb, _, _, d1, d2 = K.outcomes(costs, bens, DISCOUNT, MONTHS, net)
        out[i, 0], out[i, 1], out[i, 2], out[i, 3], out[i, 4], out[i, 5] = pvc, pvb, pb, dpb, d1, d2


@numba.njit(error_model="numpy", fastmath={"reassoc", "contract"})
def lockstep(params, out):
    """The same outcomes, GROUP trials at a time with the trials innermost."""
    # one array per quantity, each allocated here (see the module's docstring)
    e, ratio, ceiling, benefit = np.empty(GROUP), np.empty(GROUP), np.empty(GROUP), np.empty(GROUP)
    fee, first, live_from = np.empty(GROUP), np.empty(GROUP), np.empty(GROUP)
    pvc, pvb, d1, d2 = np.empty(GROUP), np.empty(GROUP), np.empty(GROUP), np.empty(GROUP)
    acc, dacc, last, dlast = np.empty(GROUP), np.empty(GROUP), np.empty(GROUP), np.empty(GROUP)
    net = np.empty((HORIZON, GROUP))  # what the IRR search would read
    for g0 in range(0, params.shape[0], GROUP):
        n = min(GROUP, params.shape[0] - g0)
        for j in range(GROUP):
            golive, ceil, ramp, f, once, b1, b2 = params[g0 + min(j, n - 1)]
            k = 8.0 / ramp
            m0 = K.month_of(golive, HORIZON)
            live_from[j] = m0
            e[j] = math.exp(-k * (m0 - golive - 0.5 * ramp))
            ratio[j] = math.exp(-k)
            ceiling[j], benefit[j], fee[j], first[j] = ceil, b1 + b2, f, once
            pvc[j], pvb[j], d1[j], d2[j] = 0.0, 0.0, 0.0, 0.0
            acc[j], dacc[j] = 0.0, 0.0
            last[j] = dlast[j] = -1.0
        for t in range(HORIZON):
            d, month = DISCOUNT[t], MONTHS[t]
            row = net[t]
            for j in range(GROUP):
                live = month >= live_from[j]
                ej = e[j]
                adoption = ceiling[j] / (1.0 + ej) if live else 0.0
                e[j] = ej * ratio[j] if live else ej
                cost = fee[j] + (first[j] if t == 0 else 0.0)
                ben = benefit[j] * adoption
                c = ben - cost
                row[j] = c
                pvc[j] += cost * d
                pvb[j] += ben * d
                cd = c * d
                d1[j] -= month * cd
                d2[j] += month * month * cd
                a = acc[j] + c
                acc[j] = a
                da = dacc[j] + cd
                dacc[j] = da
                last[j] = month if a < 0.0 else last[j]
                dlast[j] = month if da < 0.0 else dlast[j]
        for j in range(n):
            p, q = int(last[j]) + 1, int(dlast[j]) + 1
            out[g0 + j, 0], out[g0 + j, 1] = pvc[j], pvb[j]
            out[g0 + j, 2] = p if p < HORIZON else -1
            out[g0 + j, 3] = q if q < HORIZON else -1
            out[g0 + j, 4], out[g0 + j, 5] = d1[j], d2[j]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    params = inputs(args.trials)
    scratch = [np.empty(HORIZON) for _ in range(4)]
    a, b = np.empty((args.trials, 6)), np.empty((args.trials, 6))
    per_trial(params[:GROUP], *scratch, a[:GROUP])
    lockstep(params[:GROUP], b[:GROUP])
    seconds: dict[str, list[float]] = {"per_trial": [], "lockstep": []}
    for _ in range(args.rounds):
        for name, run in (("per_trial", lambda: per_trial(params, *scratch, a)),
                          ("lockstep", lambda: lockstep(params, b))):
            began = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - began)
    for name, values in seconds.items():
        ns = np.array(values) / args.trials * 1e9
        print(f"{name:10s} best {ns.min():6.1f} ns a trial, median {np.median(ns):6.1f}")
    ratios = np.array(seconds["lockstep"]) / np.array(seconds["per_trial"])
    print(f"lockstep / per_trial: median {np.median(ratios):.2f} (rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    money = np.abs(a[:, [0, 1, 4, 5]] - b[:, [0, 1, 4, 5]]) / (1.0 + np.abs(a[:, [0, 1, 4, 5]]))
    print(f"largest relative difference of present values and derivatives: {money.max():.1e}; "
          f"payback months that differ: {int((a[:, 2:4] != b[:, 2:4]).sum())}")


if __name__ == "__main__":
    main()
