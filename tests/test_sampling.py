"""Sampling designs and stopping on precision."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import scenario
from scipy import stats

import roisim
from roisim import engine
from roisim.convergence import estimate, parse_target, trace
from roisim.sampling import DESIGN_BLOCK

TEXT = """
[scenario]
name = "designs"
horizon_months = 12
trials = 10
seed = 4
sampling = "{sampling}"

[inputs]
u = {{ dist = "uniform", min = 0, max = 1 }}
w = {{ dist = "normal", mean = 100, sd = 20 }}

[[initiatives]]
name = "A"
costs = [{{ name = "c", amount = 50, every = "month" }}]
benefits = [{{ name = "b", amount = ["w", "u"], every = "month" }}]
risks = [{{ name = "r", probability = 0.2, cost = 300 }}]
"""


def run(sampling: str, n: int, threads: int = 2, seed: int = 4) -> roisim.SimulationResult:
    return roisim.simulate(scenario(TEXT.format(sampling=sampling)), trials=n, seed=seed,
                           threads=threads)


def test_lhs_hits_every_stratum_once_per_block():
    n = 2 * DESIGN_BLOCK + 500
    u = run("lhs", n).inputs()["u"].to_numpy()
    for block in range(2):
        strata = np.floor(u[block * DESIGN_BLOCK:(block + 1) * DESIGN_BLOCK] * DESIGN_BLOCK)
        np.testing.assert_array_equal(np.sort(strata), np.arange(DESIGN_BLOCK))


@pytest.mark.parametrize("k", [4, 10, 16])
def test_sobol_prefixes_are_balanced(k):
    u = run("sobol", DESIGN_BLOCK).inputs()["u"].to_numpy()
    cells = np.floor(u[: 2**k] * 2**k)
    np.testing.assert_array_equal(np.sort(cells), np.arange(2**k))


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_designs_are_reproducible_per_seed_and_block(sampling):
    one = run(sampling, DESIGN_BLOCK + 1000, threads=1)
    two = run(sampling, DESIGN_BLOCK + 1000, threads=2)
    for f in dataclasses.fields(one.outcomes):
        np.testing.assert_array_equal(getattr(one.outcomes, f.name), getattr(two.outcomes, f.name))
    shorter = run(sampling, DESIGN_BLOCK)
    np.testing.assert_array_equal(shorter.npv("A"), one.npv("A")[:DESIGN_BLOCK])
    assert not np.array_equal(run(sampling, 1000, seed=5).npv("A"), one.npv("A")[:1000])
    # a trial's cash flows are recomputed from the same design
    trial = DESIGN_BLOCK + 17
    flows = one.cash_flows("A", trial)
    discount = flows["discount_factor"].to_numpy()
    npv = float((flows["net"].to_numpy() * discount).sum())
    assert npv == pytest.approx(one.npv("A")[trial], rel=1e-12)


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_designs_keep_each_inputs_distribution(sampling):
    inputs = run(sampling, DESIGN_BLOCK).inputs()
    assert stats.kstest(inputs["w"], stats.norm(100, 20).cdf).pvalue > 0.001
    assert inputs["risk:A:r"].mean() == pytest.approx(0.2, abs=0.002)


def test_stopping_on_precision_equals_a_fixed_run(monkeypatch):
    monkeypatch.setattr(engine, "BLOCK_TRIALS", 5000)
    sc = scenario(TEXT.format(sampling="random"))
    stopped = roisim.simulate(sc, trials=1_000_000, seed=3, until="P(npv<0)", within=0.005)
    assert stopped.n_trials < 1_000_000 and stopped.n_trials % 5000 == 0
    assert stopped.stop_reason.startswith("precision reached")
    value, half = estimate(parse_target("P(npv<0)"), stopped.npv("A"),
                           stopped.outcomes.payback[0])
    assert half <= 0.005
    # one block fewer would not have been enough
    n = stopped.n_trials - 5000
    _, before = estimate(parse_target("P(npv<0)"), stopped.npv("A")[:n],
                         stopped.outcomes.payback[0][:n])
    assert before > 0.005
    fixed = roisim.simulate(sc, trials=stopped.n_trials, seed=3)
    for f in dataclasses.fields(fixed.outcomes):
        np.testing.assert_array_equal(getattr(fixed.outcomes, f.name),
                                      getattr(stopped.outcomes, f.name))
    # with the most trials allowed just enough, the last block reaches the precision: said so
    exactly = roisim.simulate(sc, trials=stopped.n_trials, seed=3, until="P(npv<0)", within=0.005)
    assert exactly.n_trials == stopped.n_trials
    assert exactly.stop_reason == stopped.stop_reason


def test_stopping_at_the_most_trials():
    result = roisim.simulate(scenario(TEXT.format(sampling="random")), trials=3000, seed=1,
                             until="mean npv", within=1e-9)
    assert result.n_trials == 3000
    _, half = estimate(parse_target("mean npv"), result.npv("A"), result.outcomes.payback[0])
    assert result.stop_reason == ("reached the most trials allowed (3,000) before the precision "
                                  f"asked for: the 95% half-width of mean npv is {half:.3g} for "
                                  "the least precise subject, against 1e-09")


@pytest.mark.parametrize(("text", "kind", "param"), [
    ("mean npv", "mean", 0), ("P(npv<0)", "p_loss", 0), ("p5 npv", "percentile", 0.05),
    ("npv p95", "percentile", 0.95), ("P(payback <= 24)", "p_payback", 24),
])
def test_targets(text, kind, param):
    target = parse_target(text)
    assert (target.kind, target.param) == (kind, param)


def test_unknown_target():
    with pytest.raises(ValueError, match=r"unknown statistic 'median'; expected one of: "
                                         r"'mean npv', 'P\(npv<0\)'"):
        parse_target("median")


@pytest.mark.parametrize("statistic", ["mean npv", "p5 npv", "P(npv<0)"])
def test_the_convergence_trace_is_the_estimate_on_each_prefix(statistic):
    # the chart's running mean is merged stretch by stretch; it must be the
    # statistic computed afresh on the first n trials, for every n shown
    rng = np.random.default_rng(9)
    npv = {"a": rng.normal(5e4, 3e4, 300_000), "b": rng.lognormal(8.0, 1.0, 300_000) - 4e3}
    payback = {name: np.zeros(values.size, np.int16) for name, values in npv.items()}
    target = parse_target(statistic)
    frame = trace(npv, payback, target)
    assert len(frame) == 2 * frame["trials"].nunique() > 40
    for row in frame.itertuples():
        value, half = estimate(target, npv[row.subject][:row.trials],
                               payback[row.subject][:row.trials])
        assert row.estimate == pytest.approx(value, rel=1e-12, abs=1e-12)
        assert row.half_width == pytest.approx(half, rel=1e-12)


@pytest.mark.parametrize(("trials", "first"), [(1_000, 10), (10_000, 100), (300_000, 1_000), (5, 5)])
def test_a_small_runs_convergence_trace_starts_early_enough_to_show_it_settle(trials, first):
    npv = {"a": np.random.default_rng(3).normal(size=trials)}
    frame = trace(npv, {"a": np.zeros(trials, np.int16)}, parse_target("mean npv"))
    assert frame["trials"].iloc[0] == first and frame["trials"].iloc[-1] == trials
    assert len(frame) >= min(20, trials - first + 1)  # a run of 1,000 had a single point
