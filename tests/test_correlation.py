"""Rank correlations: targets met, marginals untouched, bad matrices rejected or repaired.

Tolerances: the sampling sd of a Spearman coefficient is about
(1 - rho^2) / sqrt(n); at n = 100,000 that is at most 0.0032, and 0.015
allows for 4.5 of them. KS thresholds as in test_distributions.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scenario
from scipy import stats

import roisim
from roisim.correlation import is_valid, nearest_correlation
from roisim.report import correlation_table

N = 100_000

BASE = """
[scenario]
name = "corr"
horizon_months = 12
trials = 10
seed = 5

[inputs]
a = { dist = "normal", mean = 10, sd = 2 }
b = { dist = "lognormal", p5 = 100, p95 = 900, at_most = 800 }
c = { dist = "triangular", min = 0, mode = 1, max = 5 }
d = { dist = "beta", alpha = 2, beta = 5 }
e = { dist = "uniform", min = -1, max = 1 }
f = { dist = "pert", min = 1, mode = 2, max = 9 }
m = { dist = "poisson", mean = 4, resample = "monthly" }

[[initiatives]]
name = "X"
costs = [{ name = "c", amount = ["a", "b", "c", "d", "e", "f"], month = 0 }]
benefits = [{ name = "b", amount = "m", every = "month" }]
"""


def run(correlations: str, **kw) -> roisim.SimulationResult:
    return roisim.simulate(scenario(BASE + correlations, **kw), trials=N, seed=8)


def pairs(spec: dict[tuple[str, str], float]) -> str:
    return "".join(f'\n[[correlations]]\ninputs = ["{a}", "{b}"]\nrank = {r}\n'
                   for (a, b), r in spec.items())


def test_a_pair_meets_its_rank_correlation_and_keeps_its_marginals():
    inputs = run(pairs({("a", "b"): 0.6})).inputs()
    rho = stats.spearmanr(inputs["a"], inputs["b"]).statistic
    assert rho == pytest.approx(0.6, abs=0.015)
    assert stats.kstest(inputs["a"], stats.norm(10, 2).cdf).pvalue > 0.001
    # the truncated lognormal stays truncated and keeps its shape
    assert inputs["b"].max() <= 800


def test_negative_correlation():
    inputs = run(pairs({("c", "d"): -0.45})).inputs()
    assert stats.spearmanr(inputs["c"], inputs["d"]).statistic == pytest.approx(-0.45, abs=0.015)


FIVE = {("a", "b"): 0.5, ("a", "c"): 0.3, ("b", "c"): 0.2, ("c", "d"): -0.3, ("d", "e"): 0.4,
        ("a", "e"): 0.1, ("b", "e"): -0.2}


def test_a_five_by_five_matrix():
    inputs = run(pairs(FIVE)).inputs()
    names = ["a", "b", "c", "d", "e"]
    got = stats.spearmanr(inputs[names]).statistic
    for i, x in enumerate(names):
        for j, y in enumerate(names):
            if i < j:
                target = FIVE.get((x, y), FIVE.get((y, x), 0.0))
                assert got[i, j] == pytest.approx(target, abs=0.015), (x, y)


def test_inputs_outside_correlations_are_untouched():
    plain = run("").inputs()
    correlated = run(pairs({("a", "b"): 0.7})).inputs()
    for name in ("c", "d", "e", "f", "m"):
        np.testing.assert_array_equal(plain[name], correlated[name])
    # and each correlated input keeps its exact marginal distribution
    assert stats.ks_2samp(plain["b"], correlated["b"]).pvalue > 0.001


def test_empirical_input_can_be_correlated(tmp_path):
    (tmp_path / "obs.csv").write_text("x\n" + "\n".join(str(v) for v in range(1, 201)) + "\n")
    text = BASE.replace('f = { dist = "pert", min = 1, mode = 2, max = 9 }',
                        'f = { dist = "empirical", file = "obs.csv", column = "x" }')
    sc = scenario(text + pairs({("a", "f"): 0.5}), source=tmp_path / "s.toml")
    inputs = roisim.simulate(sc, trials=N, seed=3).inputs()
    assert stats.spearmanr(inputs["a"], inputs["f"]).statistic == pytest.approx(0.5, abs=0.02)
    assert set(np.unique(inputs["f"])) <= set(range(1, 201))


INVALID = {("a", "b"): 0.9, ("b", "c"): 0.9, ("a", "c"): -0.9}


def test_an_invalid_matrix_is_rejected_naming_the_inputs():
    with pytest.raises(roisim.ScenarioError,
                       match=r"correlations: the rank correlations among a, b, c contradict "
                             r"each other .* nearest valid matrix is: a~b = .*"
                             r"--repair-correlations"):
        scenario(BASE + pairs(INVALID))


def test_an_invalid_matrix_is_repaired_on_request():
    sc = scenario(BASE + pairs(INVALID), repair_correlations=True)
    moved = {(a, b): (given, used) for a, b, given, used in sc.correlation_repairs}
    assert set(moved) == {("a", "b"), ("a", "c"), ("b", "c")}
    matrix = np.eye(3)
    names = ["a", "b", "c"]
    for entry in sc.correlations:
        i, j = names.index(entry.inputs[0]), names.index(entry.inputs[1])
        matrix[i, j] = matrix[j, i] = entry.rank
    assert is_valid(matrix)
    inputs = roisim.simulate(sc, trials=N, seed=1).inputs()
    got = stats.spearmanr(inputs["a"], inputs["b"]).statistic
    assert got == pytest.approx(matrix[0, 1], abs=0.015)


def test_a_repair_leaves_correlations_outside_the_contradiction_as_given():
    # d~e is valid on its own; only a, b and c contradict each other
    spec = {**INVALID, ("d", "e"): 0.5}
    with pytest.raises(roisim.ScenarioError) as caught:
        scenario(BASE + pairs(spec))
    assert "d~e" not in str(caught.value) and "a~d" not in str(caught.value)
    sc = scenario(BASE + pairs(spec), repair_correlations=True)
    assert {(a, b) for a, b, _, _ in sc.correlation_repairs} == {("a", "b"), ("a", "c"), ("b", "c")}
    ranks = {tuple(entry.inputs): entry.rank for entry in sc.correlations}
    assert ranks[("d", "e")] == 0.5 and len(ranks) == 4
    # the triangle's repair is the one it gets alone
    alone = scenario(BASE + pairs(INVALID), repair_correlations=True)
    assert {tuple(e.inputs): e.rank for e in alone.correlations} == {
        pair: rank for pair, rank in ranks.items() if pair != ("d", "e")}


def test_the_report_gives_each_correlation_as_stated_used_and_drawn():
    # a valid pair beside the repaired triangle keeps what the file states
    spec = {**INVALID, ("d", "f"): 0.3}
    sc = scenario(BASE + pairs(spec), repair_correlations=True)
    result = roisim.simulate(sc, trials=N, seed=1)
    table = correlation_table(result).set_index(["input_a", "input_b"])
    used = {frozenset(entry.inputs): entry.rank for entry in sc.correlations}
    inputs = result.analysis_inputs()
    assert len(table) == 4
    for (a, b), row in table.iterrows():
        given = spec.get((a, b), spec.get((b, a)))
        assert row["rank_stated"] == given and row["rank_used"] == used[frozenset((a, b))]
        assert row["rank_drawn"] == pytest.approx(stats.spearmanr(inputs[a], inputs[b]).statistic,
                                                  abs=1e-12)
        # continuous inputs draw what was used, within the 95% interval's tolerance above
        assert row["rank_drawn"] == pytest.approx(row["rank_used"], abs=0.015)
        assert row["rank_drawn_lo95"] < row["rank_drawn"] < row["rank_drawn_hi95"]
        # the interval's half-width is 1.96 sds of rho, about 1.96 (1 - rho^2) / sqrt(n)
        half = (row["rank_drawn_hi95"] - row["rank_drawn_lo95"]) / 2
        assert half == pytest.approx(1.96 * (1 - row["rank_drawn"] ** 2) / np.sqrt(N), rel=0.15)
    assert table.loc[("d", "f"), "rank_stated"] == table.loc[("d", "f"), "rank_used"] == 0.3
    assert table.loc[("a", "b"), "rank_stated"] == 0.9 != table.loc[("a", "b"), "rank_used"]


def test_nearest_correlation_of_a_valid_matrix_is_itself():
    valid = np.array([[1, 0.3, 0.2], [0.3, 1, 0.1], [0.2, 0.1, 1.0]])
    np.testing.assert_allclose(nearest_correlation(valid), valid, atol=1e-5)


@pytest.mark.parametrize(("entry", "message"), [
    ('inputs = ["a", "m"]\nrank = 0.3', r"correlations\[0\]\.inputs\[1\]: input 'm' is resampled "
                                         r"monthly; correlations apply only to inputs drawn once"),
    ('inputs = ["a", "zz"]\nrank = 0.3', r"correlations\[0\]\.inputs\[1\]: unknown input 'zz'"),
    ('inputs = ["a", "a"]\nrank = 0.3', r"correlations\[0\]\.inputs: an input cannot be correlated "
                                         r"with itself"),
    ('inputs = ["a", "b"]\nrank = 1.0', r"correlations\[0\]\.rank: a rank correlation of \+-1"),
    ('inputs = ["a", "b"]\nrank = 1.5', r"correlations\[0\]\.rank: must be less than or equal to 1"),
])
def test_bad_correlations(entry, message):
    with pytest.raises(roisim.ScenarioError, match=message):
        scenario(BASE + "\n[[correlations]]\n" + entry + "\n")


def test_a_pair_given_twice():
    with pytest.raises(roisim.ScenarioError,
                       match=r"correlations\[1\]: the pair b~a is already given in correlations\[0\]"):
        scenario(BASE + pairs({("a", "b"): 0.2}) + pairs({("b", "a"): 0.3}))
