"""Reproducibility, common random numbers and the example scenarios."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli
from conftest import ROOT, SCENARIOS

import roisim
from roisim import engine
from roisim.result import available_memory

EXAMPLES = sorted(SCENARIOS.glob("*.toml"))


def assert_same_outcomes(a: roisim.SimulationResult, b: roisim.SimulationResult) -> None:
    for f in dataclasses.fields(a.outcomes):
        np.testing.assert_array_equal(getattr(a.outcomes, f.name), getattr(b.outcomes, f.name),
                                      err_msg=f.name)


@pytest.fixture(scope="module")
def bakery():
    return roisim.load(SCENARIOS / "bakery_catering_crm.toml")


def test_same_seed_same_outcomes_for_one_and_two_threads(bakery):
    one = roisim.simulate(bakery, trials=30_000, seed=9, threads=1)
    two = roisim.simulate(bakery, trials=30_000, seed=9, threads=2)
    assert_same_outcomes(one, two)
    # the analyses run on the result's threads, each piece on one: the same to the bit
    assert one.summary().equals(two.summary())
    for subject, table in one.sensitivity_tables().items():
        assert table.equals(two.sensitivity_tables()[subject])
    assert one.value_of_information().equals(two.value_of_information())


def test_outcomes_do_not_depend_on_block_size(bakery, monkeypatch):
    reference = roisim.simulate(bakery, trials=5000, seed=9)
    monkeypatch.setattr(engine, "BLOCK_TRIALS", 777)
    assert_same_outcomes(reference, roisim.simulate(bakery, trials=5000, seed=9))


def test_a_longer_run_extends_a_shorter_one(bakery):
    short = roisim.simulate(bakery, trials=1000, seed=9)
    long = roisim.simulate(bakery, trials=3000, seed=9)
    np.testing.assert_array_equal(short.outcomes.pv_costs, long.outcomes.pv_costs[:, :1000])


def test_different_seeds_differ(bakery):
    a = roisim.simulate(bakery, trials=1000, seed=1)
    b = roisim.simulate(bakery, trials=1000, seed=2)
    assert not np.array_equal(a.npv("Catering CRM"), b.npv("Catering CRM"))


def test_defaults_come_from_the_scenario(bakery):
    small = bakery.model_copy(update={"scenario": bakery.scenario.model_copy(
        update={"trials": 500, "seed": 4})})
    result = roisim.simulate(small)
    assert (result.n_trials, result.seed) == (500, 4)


def test_common_random_numbers_across_subjects(bakery):
    # "All at once" is the initiative as a one-phase plan: identical trial by trial
    result = roisim.simulate(bakery, trials=2000, seed=3)
    np.testing.assert_array_equal(result.npv("Catering CRM"), result.npv("All at once"))


def test_trials_and_seed_may_be_floats_without_a_fraction(bakery):
    # a notebook's trials=1e4
    by_float = roisim.simulate(bakery, trials=1e4, seed=3.0)
    assert by_float.n_trials == 10_000
    np.testing.assert_array_equal(by_float.npv("Catering CRM"),
                                  roisim.simulate(bakery, trials=10_000, seed=3).npv("Catering CRM"))


def test_bad_arguments(bakery):
    with pytest.raises(ValueError, match="trials must be a whole number of at least 1"):
        roisim.simulate(bakery, trials=0)
    with pytest.raises(ValueError, match="trials must be a whole number of at least 1, got 1.5"):
        roisim.simulate(bakery, trials=1.5)
    with pytest.raises(ValueError, match="seed must be a whole number of at least 0"):
        roisim.simulate(bakery, seed=-1)
    with pytest.raises(ValueError, match="threads must be between 1 and"):
        roisim.simulate(bakery, threads=10_000)
    for threads in (1.5, True, 0):
        with pytest.raises(ValueError, match=f"threads must be a whole number of at least 1, got {threads}"):
            roisim.simulate(bakery, trials=10, threads=threads)
    assert roisim.simulate(bakery, trials=10, threads=1.0).threads == 1
    result = roisim.simulate(bakery, trials=10)
    for ask in (result.trials, result.npv, result.sensitivity, result.bands):
        with pytest.raises(KeyError, match=r"no initiative or plan named 'Nope' \(subjects: Catering"):
            ask("Nope")
    for ask in (lambda: result.cash_flows("Catering CRM", 10), lambda: result.monthly_inputs(-1)):
        with pytest.raises(IndexError, match="trial must be in 0..9, got"):
            ask()
    for trial in (2.5, True, "3"):  # a trial is a whole number; 3.0 and numpy's integers are
        with pytest.raises(TypeError, match="trial must be a whole number, got"):
            result.cash_flows("Catering CRM", trial)
    by_float, by_numpy = result.cash_flows("Catering CRM", 3.0), result.monthly_inputs(np.int32(3))
    pd.testing.assert_frame_equal(by_float, result.cash_flows("Catering CRM", 3))
    pd.testing.assert_frame_equal(by_numpy, result.monthly_inputs(3))
    for trials in (-3, 2.5):
        with pytest.raises(ValueError, match=f"trials must be a whole number of at least 0, got {trials}"):
            result.inputs(trials)
    for within in (None, 0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match=f"within must be a positive, finite number with until, "
                                             f"got {within}"):
            roisim.simulate(bakery, until="mean npv", within=within)
    with pytest.raises(ValueError, match="a half-width of 5 for P.npv<0., a probability"):
        roisim.simulate(bakery, until="P(npv<0)", within=5)
    for months in (0, 37):
        with pytest.raises(ValueError, match=f"paybacks by month {months}, outside what a "
                                             "36-month horizon can tell; expected 1 to 36"):
            roisim.simulate(bakery, until=f"P(payback<={months})", within=0.01)
    assert len(result.inputs(3)) == 3 and len(result.inputs(50)) == 10  # as DataFrame.head


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="available memory is known on Linux")
def test_a_run_larger_than_memory_fails_at_once(bakery):
    # 10^10 trials of 4 simulated subjects (the bakery's 3 and its gated plan's ungated
    # twin) would take 1.1 TB of outcomes; Linux would lend it, and kill the run later
    with pytest.raises(MemoryError, match=r"10,000,000,000 trials need 1,120 GB for "
                       r"the outcomes of 4 simulated subjects \(28 bytes per trial and subject\), "
                       r"more than the [\d,.]+ GB of memory available: at most about [\d,]+ trials"):
        roisim.simulate(bakery, trials=10**10)
    with pytest.raises(MemoryError, match=r"trials fit \(lower trials=, the most to run\)$"):
        roisim.simulate(bakery, trials=10**10, until="mean npv", within=1.0)


def test_available_memory_reads_meminfo_and_container_limits(tmp_path):
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    assert available_memory(proc, cgroup) is None  # not Linux
    (proc / "meminfo").write_text("MemTotal: 32000000 kB\nMemAvailable: 20000000 kB\n")
    assert available_memory(proc, cgroup) == 20_000_000 * 1024
    # cgroup v2: no limit on the process's own group; its parent's 4 GB limit, 3 GB used,
    # of which 1 GB inactive file cache, leaves 2 GB
    (proc / "self" / "cgroup").write_text("0::/box/job\n")
    (cgroup / "box" / "job").mkdir(parents=True)
    (cgroup / "box" / "job" / "memory.max").write_text("max\n")
    (cgroup / "box" / "job" / "memory.current").write_text("1000\n")
    (cgroup / "box" / "memory.max").write_text("4000000000\n")
    (cgroup / "box" / "memory.current").write_text("3000000000\n")
    (cgroup / "box" / "memory.stat").write_text("anon 2000000000\ninactive_file 1000000000\n")
    assert available_memory(proc, cgroup) == 2_000_000_000
    # cgroup v1, where memory is a controller of its own; a limit above MemAvailable changes nothing
    (proc / "self" / "cgroup").write_text("5:cpu,cpuacct:/job\n4:memory:/job\n0::/\nodd line\n")
    v1 = cgroup / "memory" / "job"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (v1 / "memory.usage_in_bytes").write_text("5000000000\n")
    assert available_memory(proc, cgroup) == 20_000_000 * 1024
    (v1 / "memory.limit_in_bytes").write_text("6000000000\n")
    (v1 / "memory.stat").write_text("total_inactive_file 500000000\n")
    assert available_memory(proc, cgroup) == 1_500_000_000


def test_trials_frame_columns(bakery):
    frame = roisim.simulate(bakery, trials=100, seed=1).trials("Pilot, then roll out if adopted")
    assert list(frame.columns[:7]) == ["npv", "roi", "pv_costs", "pv_benefits", "payback_month",
                                       "discounted_payback_month", "irr"]
    assert frame["phase_1_started"].all()
    np.testing.assert_allclose(frame["npv"], frame["pv_benefits"] - frame["pv_costs"])


def test_every_subjects_trials_in_one_frame_as_trials_parquet_has_them(bakery, tmp_path):
    result = roisim.simulate(bakery, trials=500, seed=1)
    frame = result.trials()
    assert list(frame.index.names) == ["subject", "trial"] and len(frame) == 3 * 500
    for subject in result.subjects:  # each subject's rows are its own trials() less the phases
        own = result.trials(subject)
        pd.testing.assert_frame_equal(frame.loc[subject].iloc[:, :7], own.iloc[:, :7])
    plan = "Pilot, then roll out if adopted"
    assert (frame.loc[plan, "phases_started"] & 2 > 0).equals(result.trials(plan)["phase_2_started"])
    wide = frame["npv"].unstack("subject")  # trials by subject, in the scenario's order
    assert list(wide.columns) == result.subjects and wide.shape == (500, 3)
    saved = pd.read_parquet(result.save(tmp_path, charts=False) / "trials.parquet")
    flat = frame.reset_index()
    assert list(flat.columns) == list(saved.columns)
    pd.testing.assert_frame_equal(flat, saved, check_dtype=False, check_categorical=False)


def test_a_result_shows_itself_briefly_and_as_its_headline_in_a_notebook(bakery):
    result = roisim.simulate(bakery, trials=2000, seed=3)
    # one line, not the arrays of every outcome
    assert repr(result) == ("<SimulationResult 'Corner bakery: catering CRM': 3 subjects, "
                            "2,000 trials, seed 3, random sampling>")
    page = result._repr_html_()
    assert page.startswith("<p>Corner bakery: catering CRM — 2,000 trials, seed 3")
    assert "NPV in USD over 36 months" in page
    summary = result.summary()
    for subject, row in summary.iterrows():
        assert f"<th>{subject}</th>" in page
        assert f"<td>{row['npv_mean']:,.0f}</td>" in page
        assert f"<td>{row['p_loss']:.1%}</td>" in page


def test_there_are_at_least_six_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_scenario_runs(path):
    scenario = roisim.load(path)
    result = roisim.simulate(scenario, trials=2000, seed=1)
    summary = result.summary()
    assert list(summary.index) == scenario.subjects
    assert np.isfinite(summary["npv_mean"]).all()
    assert (summary["pv_costs_mean"] > 0).all()
    # an example's gate decides something: one that (almost) always or never
    # passes shows little that the plan without it would not
    gates = result.gates()
    assert ((gates["p_fail"] > 0.05) & (gates["p_fail"] < 0.9)).all(), gates[["plan", "p_fail"]]


def test_the_format_pages_example_loads():
    scenario = roisim.load(ROOT / "tests" / "data" / "format_example.toml")
    assert scenario.subjects == ["Catering CRM", "All at once", "Pilot, then roll out if it pays"]


def test_a_scenario_written_as_toml_text_in_a_notebook(bakery):
    path = SCENARIOS / "bakery_catering_crm.toml"
    text = path.read_text()
    from_text = roisim.parse(text, source=path)
    assert from_text == bakery
    assert_same_outcomes(roisim.simulate(from_text, trials=200), roisim.simulate(bakery, trials=200))
    with pytest.raises(roisim.ScenarioError, match=r"^<scenario>: line 2, column 8: invalid TOML: Invalid value"):
        roisim.parse("[scenario]\nname = \n")
    with pytest.raises(TypeError, match="simulate takes a Scenario, from roisim.load.path. or "
                                        "roisim.parse.text.; got str 'scenarios/bakery"):
        roisim.simulate("scenarios/bakery_catering_crm.toml")


def test_a_scenario_built_from_numpy_values_reads_as_its_toml(bakery):
    # values taken from arrays or DataFrames are numpy scalars, lists may be
    # tuples and files paths: strict validation refused np.int64(36) as "not a whole number"
    path = SCENARIOS / "bakery_catering_crm.toml"
    document = tomli.loads(path.read_text())

    def numpy_typed(value):
        if isinstance(value, dict):
            return {key: numpy_typed(item) for key, item in value.items()}
        if isinstance(value, list):
            return tuple(numpy_typed(item) for item in value)
        if isinstance(value, bool):
            return np.bool_(value)
        if isinstance(value, int):
            return np.int64(value)
        return np.float64(value) if isinstance(value, float) else value

    built = numpy_typed(document)
    assert isinstance(built["scenario"]["horizon_months"], np.int64)
    assert roisim.parse(built, source=path) == bakery
    # a list from a DataFrame is an array (df["price"].unique()) or a column (df["price"]);
    # they were refused as "found array(...)" and as the column's printout
    restaurant = SCENARIOS / "restaurant_online_ordering.toml"
    document = tomli.loads(restaurant.read_text())
    listed = [name for name, dist in document["inputs"].items() if dist["dist"] == "choice"]
    assert listed
    for name in listed:
        dist = document["inputs"][name]
        dist["values"] = np.array(dist["values"])
        dist["weights"] = pd.Series(dist["weights"], name="weights")
    assert roisim.parse(document, source=restaurant) == roisim.load(restaurant)
    shop = SCENARIOS / "ecommerce_pick_automation.toml"
    document = tomli.loads(shop.read_text())
    document["inputs"]["orders"]["file"] = Path(document["inputs"]["orders"]["file"])
    assert roisim.parse(document, source=shop) == roisim.load(shop)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_a_scenarios_document_parses_back_to_it_for_what_ifs(path):
    scenario = roisim.load(path)
    document = scenario.document()
    assert roisim.parse(document, source=scenario.source) == scenario
    assert "source" not in document and "lambda_" not in str(document)  # as a file writes it
    # a what-if: the same scenario at a higher discount rate, on the same trials
    document["scenario"]["discount_rate"] = scenario.scenario.discount_rate + 0.1
    dearer = roisim.parse(document, source=scenario.source)
    assert dearer.scenario.discount_rate > scenario.scenario.discount_rate
    assert roisim.load(path) == scenario  # the document is a copy


def test_the_kernels_name_the_random_source_they_inline():
    # numba's cache keys a kernel on its own file's contents: without this line
    # a change to _random.py alone would leave stale compiled kernels behind
    from roisim import _kernels, _random

    source = Path(_random.__file__).read_bytes().replace(b"\r\n", b"\n")  # any checkout
    digest = hashlib.sha256(source).hexdigest()
    assert _kernels.RANDOM_SOURCE == digest, (
        f"_random.py changed: set RANDOM_SOURCE in _kernels.py to {digest!r} so that "
        "numba compiles the kernels that inline it again")


@pytest.mark.parametrize("setup, collecting, frozen", [
    ("", True, False),
    ("gc.disable()", False, False),  # a collector turned off stays off
    ("gc.freeze()", True, True),     # a user's frozen objects stay frozen
])
def test_importing_roisim_leaves_the_garbage_collector_as_it_was(setup, collecting, frozen):
    # the import pauses the collector and ages what it made (_startup.collection_paused)
    code = f"""
import gc, json
{setup}
before = gc.get_freeze_count()
import roisim
print(json.dumps([gc.isenabled(), gc.get_freeze_count() - before, gc.get_freeze_count(),
                  len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1)),
                  len(gc.get_objects(generation=2))]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    enabled, newly_frozen, still_frozen, young, old = json.loads(out.stdout)
    assert enabled is collecting
    assert newly_frozen <= 0  # none of its own (frozen objects freed since are not counted)
    assert (still_frozen > 0) is frozen
    if not frozen:  # the ~200,000 objects of the imports wait in the oldest generation,
        assert old > 100_000 > 10 * young  # not in the young ones to be scanned soon


def test_runs_from_several_python_threads_take_turns_on_any_threading_layer():
    # numba's workqueue layer (where OpenMP and TBB are missing) ends the process when two
    # threads launch parallel kernels at once: a notebook simulating in a thread pool
    code = f"""
import json
from concurrent.futures import ThreadPoolExecutor
import numba, roisim
scenario = roisim.load({str(SCENARIOS / "bakery_catering_crm.toml")!r})
def run(seed):
    result = roisim.simulate(scenario, trials=50_000, seed=seed)
    return float(result.npv("Catering CRM").sum() + result.inputs().to_numpy().sum())
with ThreadPoolExecutor(4) as pool:
    together = list(pool.map(run, range(8)))
print(json.dumps([numba.threading_layer(), together == [run(seed) for seed in range(8)]]))
"""
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == ["workqueue", True]
