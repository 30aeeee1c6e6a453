"""Writing a run's results: the analysis tables and trials.parquet, and the charts.

The charts are timed drawn by one process and by two (forked) processes, in
the same session; ``benchmarks/report.py`` prints their ratio.
"""

from __future__ import annotations

import pytest

import roisim
from benchmarks.conftest import ROOT, trials
from roisim.charts import write_charts
from roisim.output import write_results

ECOMMERCE = ROOT / "scenarios" / "ecommerce_pick_automation.toml"
BAKERY = ROOT / "scenarios" / "bakery_catering_crm.toml"


def fresh(result: roisim.SimulationResult) -> roisim.SimulationResult:
    """``result`` with nothing computed yet: every table and chart is computed again."""
    result._cache.clear()
    return result


@pytest.mark.benchmark(group="output")
def test_tables_and_parquet(benchmark, tmp_path):
    # the e-commerce example at its own 250,000 trials: 5 subjects, 24 inputs
    result = roisim.simulate(roisim.load(ECOMMERCE), trials=trials(250_000))
    benchmark.extra_info["trials"] = result.n_trials
    benchmark.pedantic(lambda: write_results(fresh(result), tmp_path, charts=False), rounds=3,
                       iterations=1)


@pytest.mark.benchmark(group="output")
@pytest.mark.parametrize("workers", [1, 2])
def test_charts(benchmark, tmp_path, workers):
    result = roisim.simulate(roisim.load(BAKERY), trials=10_000)
    write_charts(result, tmp_path, workers=1)  # fonts and matplotlib's caches warm
    benchmark.extra_info["workers"] = workers
    benchmark.pedantic(lambda: write_charts(fresh(result), tmp_path, workers=workers),
                       rounds=3, iterations=1)
