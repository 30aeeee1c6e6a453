"""The tools around a simulation: fitting observed values, sweeping and solving a scenario.

A sweep of k values should cost k simulations with their summaries and
little more; each is timed beside that reference in the same session, and
the ratio reported. Fitting is timed on a million values (the size at which
a search over every value took 35 s before the triangular and PERT searches
ran on a summary of 20,000).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import roisim
from benchmarks.conftest import ROOT, SCALE, trials

BAKERY = ROOT / "scenarios" / "bakery_catering_crm.toml"
RATES = [0.04, 0.08, 0.15]
PLACE = "initiatives[Catering CRM].costs[Subscription].amount"


@pytest.fixture(scope="module")
def bakery() -> roisim.Scenario:
    scenario = roisim.load(BAKERY)
    roisim.simulate(scenario, trials=1000)  # warm the JIT (or load its cache)
    return scenario


def _by_hand(scenario: roisim.Scenario, n: int) -> None:
    """The reference: each rate's scenario simulated and summarised, one after another."""
    for rate in RATES:
        document = scenario.document()
        document["scenario"]["discount_rate"] = rate
        roisim.simulate(roisim.parse(document, source=scenario.source), trials=n, seed=1).summary()


@pytest.mark.benchmark(group="tools")
def test_sweep(benchmark, bakery):
    n = trials(1_000_000)
    by_hand, swept = [], []

    def run() -> None:  # the two in turn, so that a change in the machine's load hits both
        began = time.perf_counter()
        _by_hand(bakery, n)
        by_hand.append(time.perf_counter() - began)
        began = time.perf_counter()
        roisim.sweep(bakery, "scenario.discount_rate", RATES, trials=n, seed=1)
        swept.append(time.perf_counter() - began)

    benchmark.pedantic(run, rounds=3, iterations=1)
    reference, sweep_s = float(np.median(by_hand)), float(np.median(swept))
    benchmark.extra_info.update(trials=n, values=len(RATES), reference_s=reference, sweep_s=sweep_s,
                                ratio=sweep_s / reference)


@pytest.mark.benchmark(group="tools")
def test_solve(benchmark, bakery):
    n = trials(200_000)
    found = {}

    def run() -> None:
        with pytest.warns(roisim.ScenarioWarning):  # the subscription input, no longer used
            found["table"] = roisim.solve(bakery, PLACE, 100, 2000, trials=n, seed=1)

    benchmark.pedantic(run, rounds=3, iterations=1)
    table = found["table"]
    benchmark.extra_info.update(trials=n, evaluations=int(table["evaluations"].max()),
                                value=float(table["value"].iloc[0]),
                                value_half_width=float(table["value_half_width"].iloc[0]))


@pytest.mark.benchmark(group="tools")
def test_fit(benchmark):
    n = max(10_000, int(1_000_000 * SCALE))
    values = np.random.default_rng(3).gamma(2, 3, n)
    best = {}

    def run() -> None:
        best["fits"] = roisim.fit(values)

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(values=n, best=str(best["fits"].table.index[0]))
