"""1,000,000 trials of each example scenario, 2 threads (the engine's speed target: under 1 s).

Every initiative and plan of a scenario is evaluated on the same trials, so
the time covers all of its subjects (3 to 6 per example); the per-trial IRR
is included, as in a default run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import roisim
from benchmarks.conftest import ROOT, trials

N = trials(1_000_000)
EXAMPLES = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.mark.benchmark(group="examples")
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example(benchmark, path: Path):
    scenario = roisim.load(path)
    roisim.simulate(scenario, trials=1000, threads=2)  # warm the JIT (or load its cache)
    benchmark.extra_info["trials"] = N
    benchmark.extra_info["subjects"] = len(scenario.subjects)
    benchmark.pedantic(roisim.simulate, args=(scenario,),
                       kwargs={"trials": N, "seed": 1, "threads": 2}, rounds=3, iterations=1)
