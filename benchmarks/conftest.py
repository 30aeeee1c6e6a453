"""Benchmark fixtures: the canonical workload and generated scenarios for scaling curves.

Sizes can be reduced for a quick check with ROISIM_BENCH_SCALE (e.g. 0.01).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import roisim

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CANONICAL = ROOT / "benchmarks" / "scenarios" / "canonical.toml"
SCALE = float(os.environ.get("ROISIM_BENCH_SCALE", "1"))


def trials(n: float) -> int:
    """A benchmark size, scaled by ROISIM_BENCH_SCALE."""
    return max(1000, int(n * SCALE))


@pytest.fixture(scope="session")
def canonical() -> roisim.Scenario:
    scenario = roisim.load(CANONICAL)
    roisim.simulate(scenario, trials=1000, threads=2)  # warm the JIT (or load its cache)
    return scenario


def generated(*, months: int = 60, lines: int = 3, initiatives: int = 1) -> roisim.Scenario:
    """A canonical-like scenario with the given size, for scaling curves."""
    body = [
        "[scenario]", 'name = "scaling"', f"horizon_months = {months}",
        "discount_rate = 0.08", "trials = 1000", "seed = 1", "", "[inputs]",
        'hours = { dist = "triangular", min = 20, mode = 35, max = 60 }',
        'wage = { dist = "normal", mean = 28, sd = 3, at_least = 15 }',
        'ceiling = { dist = "beta", alpha = 8, beta = 2 }',
        'ramp = { dist = "uniform", min = 2, max = 9 }',
    ]
    # ``lines`` cash-flow lines per initiative: benefit lines that share the
    # canonical benefit, with the set-up cost from two lines on and the monthly
    # fee from three (one line is a benefit alone: no cost, so no IRR to search)
    costs = ['  { name = "setup", amount = "setup", month = 0 },',
             '  { name = "fee", amount = "fee", every = "month" },'][:max(0, min(2, lines - 1))]
    # the cost inputs only where a line names them: one declared and not used is warned
    # of (and an error under pytest); draws do not depend on which inputs are declared
    body += ['setup = { dist = "lognormal", p5 = 8000, p95 = 20000 }',
             'fee = { dist = "pert", min = 150, mode = 200, max = 320 }'][:len(costs)]
    n_benefits = lines - len(costs)
    for i in range(initiatives):
        body += ["", "[[initiatives]]", f'name = "I{i}"',
                 'go_live_month = { dist = "triangular", min = 1, mode = 2, max = 4 }',
                 'adoption = { curve = "logistic", ceiling = "ceiling", ramp_months = "ramp" }',
                 "costs = [", *costs, "]", "benefits = ["]
        body += [f'  {{ name = "b{k}", amount = ["hours", "wage", {1 / n_benefits:.4f}], '
                 'every = "month" },' for k in range(n_benefits)]
        body += ["]", 'risks = [{ name = "r", probability = 0.15, cost = 5000, delay_months = 2 }]']
    import tomli

    return roisim.parse(tomli.loads("\n".join(body)), source="generated.toml")
