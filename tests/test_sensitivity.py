"""Sensitivity and value of information against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import scenario
from scipy import optimize, stats

import roisim
from roisim.sensitivity import (
    DECILE_COLUMNS,
    SIGNIFICANT,
    decile_bounds,
    evpi,
    evppi,
    ranked_order,
    sensitivity,
)

N = 200_000
A, B = 3.0, -1.0
MX, SX, MY, SY = 10.0, 2.0, 5.0, 4.0
COST = 23.0  # npv mean 2 against sd 7.2: a close call, so information is worth something

LINEAR = f"""
[scenario]
name = "linear"
horizon_months = 1
trials = 10
seed = 1

[inputs]
x = {{ dist = "normal", mean = {MX}, sd = {SX} }}
y = {{ dist = "normal", mean = {MY}, sd = {SY} }}
unused = {{ dist = "uniform", min = 0, max = 1 }}

[[initiatives]]
name = "L"
benefits = [
  {{ name = "x", amount = ["x", {A}], month = 0 }},
  {{ name = "y", amount = ["y", {B}], month = 0 }},
]
costs = [
  {{ name = "u", amount = ["unused", 0], month = 0 }},
  {{ name = "fixed", amount = {COST}, month = 0 }},
]
"""


@pytest.fixture(scope="module")
def linear():
    return roisim.simulate(scenario(LINEAR), trials=N, seed=3)


def test_decile_swings_rank_correlations_and_variance_shares(linear):
    table = linear.sensitivity("L")
    assert list(table.index[:2]) == ["x", "y"]  # sorted by swing
    # npv = A x + B y, x and y independent normals (closed forms)
    tail = stats.norm.pdf(stats.norm.ppf(0.9)) / 0.1  # E[z | z in top decile]
    mean = A * MX + B * MY - COST
    expected_high_x = mean + A * SX * tail
    expected_low_x = mean - A * SX * tail
    sd = math.hypot(A * SX, B * SY)
    # se of a mean of N/10 trials whose npv has conditional sd at most sd: 4 se
    tol = 4 * sd / math.sqrt(N / 10)
    assert table.loc["x", "npv_high_decile"] == pytest.approx(expected_high_x, abs=tol)
    assert table.loc["x", "npv_low_decile"] == pytest.approx(expected_low_x, abs=tol)
    # y enters with a negative sign: its high decile has the lower npv
    assert table.loc["y", "swing"] == pytest.approx(-2 * abs(B) * SY * tail, abs=2 * tol)
    rho_x = A * SX / sd  # Pearson of jointly normal variables; Spearman = 6/pi asin(rho/2)
    rho_y = B * SY / sd
    for name, rho in (("x", rho_x), ("y", rho_y)):
        assert table.loc[name, "spearman"] == pytest.approx(6 / math.pi * math.asin(rho / 2),
                                                            abs=0.01)
    share_x = table.loc["x", "spearman"] ** 2 / (table.loc["x", "spearman"] ** 2
                                                 + table.loc["y", "spearman"] ** 2)
    assert table.loc["x", "variance_share"] == pytest.approx(share_x, abs=0.01)
    assert table.loc["x", "variance_share"] == pytest.approx(rho_x**2, abs=0.02)
    assert abs(table.loc["unused", "spearman"]) < 4 / math.sqrt(N)


def test_each_tenths_mean_npv_follows_the_input(linear):
    table = linear.sensitivity("L")
    deciles = table.loc["x", DECILE_COLUMNS].to_numpy(dtype=float)
    # npv = mean + A SX z + noise: E[z | z in the g-th tenth] = (pdf(a) - pdf(b)) / 0.1 for the
    # tenth's normal quantiles a, b (closed form)
    edges = stats.norm.ppf(np.linspace(0.0, 1.0, 11))
    expected = A * MX + B * MY - COST + A * SX * -np.diff(stats.norm.pdf(edges)) / 0.1
    sd = math.hypot(A * SX, B * SY)
    # a mean of N/10 trials whose npv has conditional sd at most sd: 4 standard errors
    np.testing.assert_allclose(deciles, expected, rtol=0, atol=4 * sd / math.sqrt(N / 10))
    # the tornado's bars are the first and last tenths, to the bit
    for name in table.index:
        assert table.loc[name, "npv_decile_1"] == table.loc[name, "npv_low_decile"]
        assert table.loc[name, "npv_decile_10"] == table.loc[name, "npv_high_decile"]
    # an input that moves nothing: every tenth near the mean, within the same error
    flat = table.loc["unused", DECILE_COLUMNS].to_numpy(dtype=float)
    np.testing.assert_allclose(flat, A * MX + B * MY - COST, rtol=0, atol=4 * sd / math.sqrt(N / 10))


def test_the_p_value_of_the_tenths_is_one_way_anovas(linear):
    table = linear.sensitivity("L")
    npv = linear.npv("L")
    orders = linear._input_orders()
    starts, ends = decile_bounds(N)
    for name in ("x", "y", "unused"):
        ranked = npv[orders[name]]
        expected = stats.f_oneway(*(ranked[a:b] for a, b in zip(starts, ends, strict=True))).pvalue
        assert table.loc[name, "deciles_p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert table.loc["x", "deciles_p_value"] < 1e-300  # npv is 3x: no chance about it
    assert table.loc["unused", "deciles_p_value"] > SIGNIFICANT


def test_the_p_value_of_the_tenths_of_a_flat_npv_or_a_tiny_run():
    flat = sensitivity(np.full(100, 5.0), pd.DataFrame({"x": np.arange(100.0)}))
    assert flat.loc["x", "deciles_p_value"] == 1.0  # nothing moves a constant
    few = sensitivity(np.arange(19.0), pd.DataFrame({"x": np.arange(19.0)}))
    assert math.isnan(few.loc["x", "deciles_p_value"])  # tenths of one or two trials
    enough = sensitivity(np.arange(20.0), pd.DataFrame({"x": np.arange(20.0)}))
    assert enough.loc["x", "deciles_p_value"] < 1e-6


@pytest.mark.parametrize("n", [*range(1, 41), 99, 105, 1_000, 200_001])
def test_the_tenths_split_the_trials_as_the_tornado_does(n):
    starts, ends = decile_bounds(n)
    sizes = ends - starts
    k = max(1, n // 10)
    assert sizes[0] == sizes[-1] == k  # the tornado's lowest and highest deciles
    assert starts[0] == 0 and ends[-1] == n and (sizes >= 1).all()
    if n >= 10:  # every trial in exactly one tenth, the eight between within one of each other
        assert (starts[1:] == ends[:-1]).all()
        assert sizes[1:-1].max() - sizes[1:-1].min() <= 1
    else:  # fewer trials than tenths: each tenth is the trial of its rank
        np.testing.assert_array_equal(starts, np.arange(10) * n // 10)


def test_what_the_worst_decile_of_npv_has_in_common(linear):
    table = linear.sensitivity("L")
    # npv = mean + sd Z; x = MX + SX (rho Z + sqrt(1 - rho^2) W), W independent of Z, so
    # E[x | Z in its lowest decile] = MX - SX rho tail: a shift of -rho tail sd
    tail = stats.norm.pdf(stats.norm.ppf(0.1)) / 0.1  # -E[z | z in the lowest decile]
    sd = math.hypot(A * SX, B * SY)
    # a mean of N/10 trials of a variable whose conditional sd is at most 1 (in its sd): 4 se
    tol = 4 / math.sqrt(N / 10)
    for name, mean, spread, rho in (("x", MX, SX, A * SX / sd), ("y", MY, SY, B * SY / sd),
                                    ("unused", 0.5, math.sqrt(1 / 12), 0.0)):
        row = table.loc[name]
        assert row["input_mean"] == pytest.approx(mean, abs=4 * spread / math.sqrt(N))
        assert row["worst_decile_shift"] == pytest.approx(-rho * tail, abs=tol), name
        assert row["input_mean_worst_decile"] == pytest.approx(mean - rho * tail * spread,
                                                               abs=tol * spread)


def test_the_worst_decile_shows_how_often_a_risk_struck():
    cost, p = 6.0, 0.3
    text = LINEAR + f'\nrisks = [{{ name = "hit", probability = {p}, cost = {cost} }}]\n'
    n = 100_000
    row = roisim.simulate(scenario(text), trials=n, seed=2).sensitivity("L").loc["risk:L:hit"]
    # npv = N(mu, sd) less the cost where the risk struck: a two-normal mixture whose lowest
    # decile lies below q; P(struck | npv < q) = p Phi((q + cost - mu) / sd) / 0.1
    mu, sd = A * MX + B * MY - COST, math.hypot(A * SX, B * SY)
    def below(q: float) -> float:
        return (1 - p) * stats.norm.cdf((q - mu) / sd) + p * stats.norm.cdf((q + cost - mu) / sd)
    q = optimize.brentq(lambda q: below(q) - 0.1, mu - 10 * sd, mu + 10 * sd)
    struck = p * stats.norm.cdf((q + cost - mu) / sd) / 0.1
    assert struck == pytest.approx(0.64, abs=0.01)  # not a trivial case: 0.3 overall
    # binomial se of a share of n/10 trials, and of p over n trials: 4 se
    assert row["input_mean_worst_decile"] == pytest.approx(
        struck, abs=4 * math.sqrt(struck * (1 - struck) / (n / 10)))
    assert row["input_mean"] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))
    assert row["worst_decile_shift"] == pytest.approx(
        (row["input_mean_worst_decile"] - row["input_mean"]) / math.sqrt(p * (1 - p)), rel=0.01)


def unit_normal_loss(z: float) -> float:
    return stats.norm.pdf(z) - z * stats.norm.sf(z)


@pytest.mark.parametrize("mu", [-3.0, 0.0, 4.0])
def test_evpi_of_a_two_action_normal_decision(mu):
    sigma = 10.0
    npv = np.random.default_rng(1).normal(mu, sigma, N)
    value, se, _ = evpi({"go": npv})
    # Hubbard / Howard: EVPI = sigma L(|mu| / sigma)
    assert value == pytest.approx(sigma * unit_normal_loss(abs(mu) / sigma), abs=4 * se)


def test_evppi_of_an_irrelevant_input_is_zero_and_of_a_decisive_one_is_the_evpi():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, N)
    noise = rng.normal(0, 1, N)
    npv = 5 * x - 1.0  # x decides everything
    total, _, _ = evpi({"go": npv})
    decisive, decisive_se = evppi(npv[None, :], x)
    irrelevant, irrelevant_se = evppi(npv[None, :], noise)
    assert abs(irrelevant) < 4 * irrelevant_se + 0.002 * total
    # binning smooths within bins; 2% of the EVPI covers it at 50 bins
    assert decisive == pytest.approx(total, rel=0.02)
    assert decisive <= total + 4 * decisive_se


def test_the_error_of_evppi_is_its_spread_over_repeated_runs():
    # B beats A only where x is in its top 5%: bins of half the trials cannot see it.
    # The error must still match how much the estimate moves from run to run (it once
    # came from batches binned more coarsely than the whole, and was nine times too small)
    values, errors = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=20_000)
        a = 1.0 + rng.normal(size=x.size)
        b = 0.4 + 5.0 * (x > stats.norm.ppf(0.95)) + rng.normal(size=x.size)
        value, se = evppi(np.vstack([a, b]), x, seed=seed)
        values.append(value)
        errors.append(se)
    # the sd of 40 estimates is known to about 1/sqrt(2 * 39) = 11%: 0.7..1.4 is 3 of those
    assert 0.7 < np.mean(errors) / np.std(values, ddof=1) < 1.4


@pytest.mark.parametrize("n", [20_000, 200_000])
def test_an_input_with_few_values_is_binned_by_value(n):
    # a risk striking in 4% of trials decides the project: struck, it gains 2.5 on average;
    # else it loses 2, so without information the choice is none. EVPPI = 0.04 x 2.5.
    # In equal-count bins (10 at 20,000 trials) the struck trials share the top bin with
    # as many again that were not struck, whose mean (-0.2) hides the gain: EVPPI 0
    rng = np.random.default_rng(7)
    struck = (rng.random(n) < 0.04).astype(float)
    npv = -2.0 + 4.5 * struck + rng.normal(size=n)
    value, se = evppi(npv[None, :], struck)
    assert value == pytest.approx(0.04 * 2.5, abs=4 * se + 0.002)
    assert se > 0
    # an input of three values: the same gain where it is 2, met in a third of the trials
    level = rng.integers(0, 3, n).astype(float)
    npv = -1.0 + 1.5 * (level == 2) + rng.normal(size=n)
    value, se = evppi(npv[None, :], level)
    assert value == pytest.approx(0.5 / 3, abs=4 * se + 0.002)


def test_evppi_never_exceeds_evpi_beyond_its_error(linear):
    table = linear.value_of_information()
    assert set(table.index) == {"x", "y", "unused"}
    for name, row in table.iterrows():
        assert row["evppi"] <= row["evpi"] + 4 * row["evppi_se"] + 4 * row["evpi_se"], name
    assert table.index[0] == "x"  # x moves the npv the most
    # closed forms: E[npv | x] ~ N(2, |A| SX), E[npv | y] ~ N(2, |B| SY); EVPPI = s L(2 / s)
    for name, s in (("x", abs(A) * SX), ("y", abs(B) * SY)):
        assert table.loc[name, "evppi"] == pytest.approx(s * unit_normal_loss(2 / s), rel=0.03)
    sd = math.hypot(A * SX, B * SY)
    assert table["evpi"].iloc[0] == pytest.approx(sd * unit_normal_loss(2 / sd),
                                                  abs=4 * table["evpi_se"].iloc[0])
    assert abs(table.loc["unused", "evppi"]) < 4 * table.loc["unused", "evppi_se"] + 1e-9


def test_sensitivity_of_a_risk_uses_its_occurrence():
    text = LINEAR + '\nrisks = [{ name = "hit", probability = 0.3, cost = 20 }]\n'

    result = roisim.simulate(scenario(text), trials=50_000, seed=1)
    table = result.sensitivity("L")
    assert table.loc["risk:L:hit", "spearman"] < 0
    inputs = result.inputs()
    assert set(np.unique(inputs["risk:L:hit"])) == {0.0, 1.0}
    assert inputs["risk:L:hit"].mean() == pytest.approx(0.3, abs=4 * math.sqrt(0.21 / 50_000))


def test_rank_correlations_of_tied_values_are_spearmans_with_mid_ranks():
    # a rare risk and a choice take few distinct values, and npv ties wherever the
    # initiative is abandoned; Spearman's correlation ranks tied values by their mean
    # rank, as scipy does (ranks that broke ties in trial order found a third of the risk's)
    text = LINEAR.replace('unused = {', 'crews = { dist = "choice", values = [1, 2, 3] }\nunused = {') \
        + '\nrisks = [{ name = "hit", probability = 0.04, abandon = true }]\n'
    text = text.replace('amount = ["x", 3.0]', 'amount = ["x", 3.0, "crews"]')
    result = roisim.simulate(scenario(text), trials=20_000, seed=2)
    table = result.sensitivity("L")
    inputs, npv = result.inputs(), result.npv("L")
    assert (npv == -COST).sum() > 500  # abandoned at go-live in month 0: the cost alone
    for name in ("risk:L:hit", "crews", "x", "y"):
        expected = stats.spearmanr(inputs[name], npv).statistic
        assert table.loc[name, "spearman"] == pytest.approx(expected, rel=1e-9)
    assert table.loc["risk:L:hit", "spearman"] < -0.15


def test_sensitivity_function_on_arrays():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=10_000), rng.normal(size=10_000)
    table = sensitivity(2 * x, pd.DataFrame({"x": x, "y": y}))
    assert table.loc["x", "spearman"] == pytest.approx(1.0)
    assert table.index[0] == "x"


@pytest.mark.parametrize("scale", [1.0, 1e-300, 1e-310])
def test_the_worst_decile_shift_does_not_depend_on_the_inputs_scale(scale):
    # a beta with a tiny shape draws inputs near 1e-308, whose sd is 0 computed directly
    x = np.random.default_rng(4).random(2000)
    npv = x - 0.5
    table = sensitivity(npv, pd.DataFrame({"x": x * scale}))
    # the worst decile of npv is the lowest of x: mean 0.05 against 0.5, sd sqrt(1/12); the
    # mean of its 200 trials has an se of 0.1 / sqrt(12 x 200) = 0.002, 0.007 sd
    assert table.loc["x", "worst_decile_shift"] == pytest.approx(-0.45 * math.sqrt(12), abs=0.1)
    assert table.loc["x", "input_mean_worst_decile"] == pytest.approx(0.05 * scale, rel=0.1)


@pytest.mark.parametrize("values", [
    np.array([]), np.array([3.0]), np.zeros(1000),
    np.random.default_rng(0).normal(size=5000),  # no ties
    np.random.default_rng(1).integers(0, 5, 5000).astype(float),  # few values, long ties
    np.round(np.random.default_rng(2).normal(size=20_000), 2),  # many short ties
    np.where(np.random.default_rng(3).random(3000) < 0.5, -0.0, 0.0),  # -0.0 ties 0.0
    np.where(np.random.default_rng(5).random(3000) < 0.3, np.nan,
             np.random.default_rng(6).integers(0, 3, 3000)),  # NaNs last, in trial order
])
def test_ranked_order_is_the_stable_sort(values):
    # deciles and ranks break ties in trial order; the fast sort must keep to it
    np.testing.assert_array_equal(ranked_order(values), np.argsort(values, kind="stable"))


def test_evppi_of_two_inputs_differs_by_their_binned_values_alone():
    # one shuffle estimates the binning bias of every input: with the same
    # bias, an input and the same input relabelled give the same EVPPI, and a
    # seed gives the same answer twice
    rng = np.random.default_rng(4)
    x = rng.normal(size=40_000)
    npv = np.vstack([3 * x + rng.normal(size=x.size), rng.normal(size=x.size)])
    assert evppi(npv, x, seed=5) == evppi(npv, x, seed=5)
    assert evppi(npv, x, seed=5) == evppi(npv, x, seed=5, order=ranked_order(x))
    value, se = evppi(npv, x)
    other, other_se = evppi(npv, 2 * x + 1)  # same order of trials
    assert (value, se) == (other, other_se)


def test_the_regression_of_a_linear_npv_recovers_its_slopes(linear):
    # npv = A x + B y - COST exactly: one sd more of x adds A SX, of y B SY, the unused input
    # nothing, and the linear model explains all of the variance
    table = linear.sensitivity("L")
    drawn = linear.inputs()
    assert table.loc["x", "npv_per_sd"] == pytest.approx(A * np.std(drawn["x"]), rel=1e-9)
    assert table.loc["y", "npv_per_sd"] == pytest.approx(B * np.std(drawn["y"]), rel=1e-9)
    assert abs(table.loc["unused", "npv_per_sd"]) < 1e-9
    np.testing.assert_allclose(table["regression_r2"], 1.0, atol=1e-12)
    sd = linear.npv("L").std()
    np.testing.assert_allclose(table["regression_coefficient"], table["npv_per_sd"] / sd, rtol=1e-12)


def test_the_regression_is_ordinary_least_squares_with_an_intercept():
    rng = np.random.default_rng(8)
    n = 5000
    x1 = rng.normal(10, 2, n)
    x2 = 0.5 * x1 + rng.normal(0, 1, n)  # correlated with x1
    risk = (rng.random(n) < 0.1).astype(float)
    inputs = pd.DataFrame({"x1": x1, "x2": x2, "risk": risk, "flat": np.full(n, 3.0)})
    npv = 4 * x1 - 7 * x2 - 900 * risk + x1 * x2 + rng.normal(0, 5, n)
    table = sensitivity(npv, inputs)
    design = np.column_stack([np.ones(n), x1, x2, risk])
    beta, residual, *_ = np.linalg.lstsq(design, npv, rcond=None)
    expected = beta[1:] * np.array([x1.std(), x2.std(), risk.std()])
    np.testing.assert_allclose(table.loc[["x1", "x2", "risk"], "npv_per_sd"], expected, rtol=1e-9)
    assert table.loc["flat", "npv_per_sd"] == 0.0
    r2 = 1 - residual[0] / np.square(npv - npv.mean()).sum()
    assert table["regression_r2"].iloc[0] == pytest.approx(r2, rel=1e-9)


def test_the_regression_credits_a_correlated_input_with_nothing_it_does_not_do():
    # npv follows x1 alone; x2, rank-correlated 0.8 with x1, correlates with the npv as
    # strongly, but held fixed beside x1 it moves nothing
    rng = np.random.default_rng(9)
    n = 20_000
    x1 = rng.normal(size=n)
    x2 = 0.8 * x1 + 0.6 * rng.normal(size=n)
    table = sensitivity(100 * x1, pd.DataFrame({"x1": x1, "x2": x2}))
    assert table.loc["x2", "spearman"] > 0.75
    assert abs(table.loc["x2", "npv_per_sd"]) < 1e-9 and table.loc["x1", "regression_coefficient"] == (
        pytest.approx(1.0))


def test_a_regression_with_too_few_trials_or_a_flat_npv_says_so():
    x = np.arange(3.0)
    few = sensitivity(x, pd.DataFrame({"a": x, "b": x[::-1] ** 2}))  # 3 trials, 2 inputs
    assert few[["regression_coefficient", "npv_per_sd", "regression_r2"]].isna().all().all()
    flat = sensitivity(np.full(50, 7.0), pd.DataFrame({"a": np.arange(50.0)}))
    assert flat.loc["a", "npv_per_sd"] == 0.0 and math.isnan(flat.loc["a", "regression_r2"])
