"""How much Latin hypercube and Sobol designs shrink the standard error of mean npv.

For each example scenario: 20 seeds x one design block (65,536 trials) per
sampling; the spread (sd) of mean npv across the seeds is the actual standard
error. The ratio random / design is the error reduction at equal trials
(its square is the saving in trials).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import roisim
from benchmarks.conftest import ROOT, SCALE
from roisim.sampling import DESIGN_BLOCK

SEEDS = max(5, int(20 * min(1.0, SCALE * 10)))
EXAMPLES = sorted((ROOT / "scenarios").glob("*.toml"))


def spread(scenario: roisim.Scenario, sampling: str) -> float:
    means = [roisim.simulate(scenario, trials=DESIGN_BLOCK, seed=s, sampling=sampling,
                             irr=False).npv(scenario.subjects[0]).mean() for s in range(SEEDS)]
    return float(np.std(means, ddof=1))


@pytest.mark.benchmark(group="designs")
@pytest.mark.parametrize("path", EXAMPLES, ids=[Path(p).stem for p in EXAMPLES])
def test_standard_error_reduction(benchmark, path):
    scenario = roisim.load(path)
    seen: dict[str, float] = {}

    def experiment() -> None:
        for sampling in ("random", "lhs", "sobol"):
            seen[sampling] = spread(scenario, sampling)

    benchmark.pedantic(experiment, rounds=1, iterations=1)
    benchmark.extra_info.update(
        subject=scenario.subjects[0], seeds=SEEDS, trials=DESIGN_BLOCK,
        se_random=seen["random"], se_lhs=seen["lhs"], se_sobol=seen["sobol"],
        lhs_reduction=seen["random"] / seen["lhs"], sobol_reduction=seen["random"] / seen["sobol"])
