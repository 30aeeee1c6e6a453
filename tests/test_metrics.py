"""Outcomes and summaries against numpy-financial and closed forms."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from conftest import SCENARIOS, initiative
from scipy import stats

import roisim
from roisim import _kernels
from roisim._random import seed_key
from roisim.metrics import HEADLINE, cvar, describe, headline, money_decimals, money_text, payback_horizons


def monthly_rate(annual: float) -> float:
    return (1 + annual) ** (1 / 12) - 1


def test_npv_of_fixed_flows_matches_numpy_financial():
    r = 0.08
    sc = initiative("""
        costs = [{ name = "setup", amount = 5000, month = 0 },
                 { name = "fee", amount = 120, every = "month" }]
        benefits = [{ name = "saving", amount = 450, every = "month", from_month = 3 }]
        go_live_month = 3
    """, horizon=36, rate=r)
    row = roisim.simulate(sc, trials=3, seed=0).trials("A").iloc[0]
    flows = np.full(36, 450.0 - 120.0)
    flows[:3] = -120.0
    flows[0] -= 5000
    # numpy_financial.npv discounts value t by (1 + rate)^t, t = 0 first
    assert row["npv"] == pytest.approx(npf.npv(monthly_rate(r), flows), rel=1e-12)
    costs = np.full(36, 120.0)
    costs[0] += 5000
    assert row["pv_costs"] == pytest.approx(npf.npv(monthly_rate(r), costs), rel=1e-12)
    assert row["roi"] == pytest.approx(row["npv"] / row["pv_costs"], rel=1e-12)


@pytest.mark.parametrize("flows", [
    [-1000, 300, 400, 500],
    [-5000] + [180] * 35,
    [-100, -100, 50, 60, 70, 80, 90],
    [-20000] + [100] * 11 + [900] * 48,
    [-1000] + [10] * 30,  # a negative IRR
])
def test_irr_matches_numpy_financial(flows):
    net = np.array(flows, dtype=float)
    # numpy_financial.irr gives the per-period (monthly) rate; ours is annual
    expected = (1 + npf.irr(net)) ** 12 - 1
    assert _kernels.irr(net) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("example", ["restaurant_online_ordering", "agency_campaign_automation"])
def test_kernel_irrs_equal_the_scalar_search_on_every_trial(example):
    # the kernel searches a group of trials' IRRs together, from the discount
    # rate and to a coarser step; each must equal the scalar search on that
    # trial's flows. Seed 1 of the agency holds flows whose IRR is near -90%,
    # where a Halley step can be small far from the root (trials 9188, 10408).
    scenario = roisim.load(f"scenarios/{example}.toml")
    n = 10_500
    result = roisim.simulate(scenario, trials=n, seed=1, threads=2)
    model, key = result.compiled(), seed_key(1)
    start = -math.log(model.discount[1])  # the kernel's searches start at the discount rate
    costs, bens, none = np.empty(model.horizon), np.empty(model.horizon), np.zeros((0, 1))
    monthly = np.empty((model.in_kind.size, model.horizon))
    for s in range(len(scenario.subjects)):
        expected = np.empty(n)
        for trial in range(n):
            _kernels.trial_cash(model, key, trial, none, 0, s, costs, bens, monthly)
            expected[trial] = _kernels.irr(bens - costs, start)
        # outcomes keep the IRR in float32 (relative precision 6e-8); the kernel's
        # search stops at a step of 1e-4 (1 + |rate|), whose error, about that
        # step cubed, is absolute: it shows only on IRRs within 1e-4 of zero
        np.testing.assert_allclose(result.outcomes.irr[s], expected, rtol=2e-7, atol=1e-9)
        assert np.isnan(expected).mean() < 0.5


def test_irr_of_flows_with_two_roots_is_the_one_reached_from_the_start():
    # -100 + 230 v - 132 v^2 = 0 at monthly rates of 10 % and 20 %. The present value
    # is negative at both ends of the searched range: no sign-change bracket holds them
    net = np.array([-100.0, 230.0, -132.0])
    assert _kernels.irr(net) == pytest.approx(1.1 ** 12 - 1, rel=1e-12)
    assert _kernels.irr(net, math.log(1.25)) == pytest.approx(1.2 ** 12 - 1, rel=1e-12)
    # negative at every rate: the search stalls, and the bracket finds no root either
    assert math.isnan(_kernels.irr(np.array([-100.0, 10.0, -5.0, 10.0])))


def test_payback_months_are_one_after_the_last_negative_running_sum():
    rng = np.random.default_rng(5)
    for horizon in (1, 2, 3, 7, 36, 60):
        discount = 1.01 ** -np.arange(horizon)
        for _ in range(100):
            net = np.round(rng.normal(0.0, 100.0, horizon))
            net[0] -= rng.integers(0, 400)
            got = _kernels.paybacks(net, discount)
            expected = []
            for running in (np.cumsum(net), np.cumsum(net * discount)):
                negative = np.flatnonzero(running < 0)
                month = negative[-1] + 1 if negative.size else 0
                expected.append(month if month < horizon else -1)
            assert got == tuple(expected), (horizon, net)


def test_irr_undefined_without_a_sign_change():
    assert math.isnan(_kernels.irr(np.array([100.0, 50.0, 0.0])))
    assert math.isnan(_kernels.irr(np.array([-100.0, -50.0])))
    assert math.isnan(_kernels.irr(np.zeros(5)))


def test_mean_and_sd_of_npv_with_independent_normal_amounts():
    mu_b, sd_b, mu_c, sd_c, r, h = 300.0, 40.0, 5000.0, 800.0, 0.1, 24
    sc = initiative(f"""
        costs = [{{ name = "setup", amount = {{ dist = "normal", mean = {mu_c}, sd = {sd_c} }}, month = 0 }}]
        benefits = [{{ name = "b", amount = {{ dist = "normal", mean = {mu_b}, sd = {sd_b} }}, every = "month" }}]
    """, horizon=h, rate=r)
    n = 200_000
    result = roisim.simulate(sc, trials=n, seed=21)
    annuity = sum((1 + r) ** (-m / 12) for m in range(h))
    # closed form: NPV = B A - C with B, C independent normals
    mean = mu_b * annuity - mu_c
    sd = math.hypot(sd_b * annuity, sd_c)
    summary = result.summary().loc["A"]
    # 4 standard errors: se of the mean sd/sqrt(n), of the sd about sd/sqrt(2n)
    assert abs(summary["npv_mean"] - mean) < 4 * sd / math.sqrt(n)
    assert abs(summary["npv_sd"] - sd) < 4 * sd / math.sqrt(2 * n)
    assert summary["npv_mean_se"] == pytest.approx(sd / math.sqrt(n), rel=0.01)
    p_loss = stats.norm.cdf(-mean / sd)
    assert abs(summary["p_loss"] - p_loss) < 4 * math.sqrt(p_loss * (1 - p_loss) / n)
    # CVaR 5% of a normal: mean - sd * phi(z_0.05) / 0.05
    expected_cvar = mean - sd * stats.norm.pdf(stats.norm.ppf(0.05)) / 0.05
    assert abs(summary["cvar5_npv"] - expected_cvar) < 4 * summary["cvar5_npv_se"]
    median = summary["npv_p50"]
    assert abs(median - mean) < 4 * summary["npv_p50_se"]
    # a normal's skewness is 0 and its kurtosis 3; their sampling sds about sqrt(6/n), sqrt(24/n)
    assert abs(summary["npv_skewness"]) < 4 * math.sqrt(6 / n)
    assert abs(summary["npv_kurtosis"] - 3) < 4 * math.sqrt(24 / n)


def test_reported_standard_errors_match_the_spread_across_seeds():
    sc = initiative("""
        costs = [{ name = "setup", amount = { dist = "lognormal", p5 = 2000, p95 = 9000 }, month = 0 }]
        benefits = [{ name = "b", amount = { dist = "triangular", min = 50, mode = 200, max = 400 }, every = "month" }]
    """, horizon=24, rate=0.05)
    rows = [roisim.simulate(sc, trials=4000, seed=s).summary().loc["A"] for s in range(40)]
    for stat in ("npv_mean", "p_loss", "npv_p50", "npv_p5"):
        spread = np.std([row[stat] for row in rows], ddof=1)
        reported = np.mean([row[f"{stat}_se"] for row in rows])
        # the sd of 40 estimates is itself uncertain by about 1/sqrt(2*39) = 11%
        assert reported == pytest.approx(spread, rel=0.35), stat


def test_cvar_of_known_sample():
    values = np.arange(1.0, 101.0)  # worst 5 are 1..5
    value, _ = cvar(values)
    assert value == 3.0


def test_describe_reports_undefined_and_never():
    row = describe(np.array([1.0, np.nan, 3.0]), "roi")
    assert row["roi_n"] == 2 and row["roi_mean"] == 2.0
    months = describe(np.array([2.0, np.inf, np.inf, 5.0]), "payback_month", months=True)
    assert months["payback_month_mean"] == 3.5  # over the trials that pay back
    assert months["payback_month_p95"] == np.inf  # most do not: "never"
    # smallest and largest: of the defined values; "never" is the latest payback
    assert (row["roi_min"], row["roi_max"]) == (1.0, 3.0)
    assert (months["payback_month_min"], months["payback_month_max"]) == (2.0, np.inf)
    assert np.isnan(describe(np.array([np.nan]), "irr")["irr_max"])
    # every trial the same: no spread, so no shape (not scipy's rounding noise)
    same = describe(np.full(1000, 0.1), "npv")
    assert np.isnan(same["npv_skewness"]) and np.isnan(same["npv_kurtosis"])


def test_summary_smallest_and_largest_are_the_trials_own():
    bakery_result = roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"),
                                    trials=20_000, seed=2)
    summary = bakery_result.summary()
    for subject in bakery_result.subjects:
        trials = bakery_result.trials(subject)
        for outcome in ("npv", "roi", "irr"):
            values = trials[outcome].dropna()
            assert summary.loc[subject, f"{outcome}_min"] == values.min()
            assert summary.loc[subject, f"{outcome}_max"] == values.max()
            # moments as @RISK and Crystal Ball give them: scipy's, kurtosis not in excess
            as_float = values.to_numpy(dtype=np.float64)
            assert summary.loc[subject, f"{outcome}_skewness"] == pytest.approx(
                stats.skew(as_float), rel=1e-9)
            assert summary.loc[subject, f"{outcome}_kurtosis"] == pytest.approx(
                stats.kurtosis(as_float, fisher=False), rel=1e-9)
        columns = list(summary.columns)
        assert columns.index("npv_sd") < columns.index("npv_min") < columns.index("npv_p5")
        assert columns.index("npv_p95_se") < columns.index("npv_max")


def test_payback_horizons():
    assert payback_horizons(36) == [12, 24, 36]
    assert payback_horizons(30) == [12, 24, 30]  # and whether it pays back at all
    assert payback_horizons(6) == [6]


def test_payback_probabilities_and_zero_cost_roi():
    sc = initiative("""
        benefits = [{ name = "b", amount = 10, every = "month" }]
    """, horizon=24)
    summary = roisim.simulate(sc, trials=100, seed=1).summary().loc["A"]
    assert summary["roi_undefined"] == 100 and summary["roi_n"] == 0
    assert summary["p_payback_within_12"] == 1.0  # never negative: paid back at month 0
    assert summary["payback_month_p50"] == 0


@pytest.mark.parametrize("method", ["linear", "inverted_cdf"])
def test_sorted_quantiles_are_numpys(method):
    # the summary sorts once and reads its percentiles off the sorted values
    from roisim.metrics import sorted_quantiles

    rng = np.random.default_rng(8)
    probs = np.concatenate([[0.0, 0.05, 0.5, 0.95, 1.0], rng.random(30)])
    for n in [*range(1, 40), 1000, 1001, 54_321]:
        values = np.sort(np.round(rng.normal(size=n) * 10, n % 3))  # with ties
        got = sorted_quantiles(values, probs, order_statistic=method == "inverted_cdf")
        np.testing.assert_allclose(got, np.quantile(values, probs, method=method), rtol=1e-15,
                                   atol=0)


@pytest.mark.parametrize(("amounts", "decimals"), [
    ([12_345.6, -800.0], 0), ([1_000.0], 0), ([999.0, 3.0], 1), ([-150.0], 1), ([12.5, -3.0], 2),
    ([0.5953, -0.2972], 4), ([0.0, math.inf, math.nan], 0), ([], 0)])
def test_money_shows_four_significant_digits_of_amounts_below_1000(amounts, decimals):
    assert money_decimals(amounts) == decimals


@pytest.mark.parametrize(("amount", "decimals", "text"), [
    (12_345.6, 0, "12,346"), (-0.4, 0, "0"), (-0.00004, 4, "0.0000"), (0.0, 4, "0"),
    (-0.29718, 4, "-0.2972"), (1234.5678, 2, "1,234.57")])
def test_money_text_never_writes_minus_zero(amount, decimals, text):
    assert money_text(amount, decimals) == text


def test_a_scenario_in_small_amounts_does_not_read_as_zeros():
    # amounts in thousands, or in small sums: the headline was "0, -0, 1"
    small = initiative('costs = [{ name = "c", amount = 0.4, month = 0 }]\n'
                       'benefits = [{ name = "x", amount = "a", every = "month" }]\n', horizon=12,
                       extra='[inputs]\na = { dist = "normal", mean = 0.05, sd = 0.02 }\n')
    summary = roisim.simulate(small, trials=20_000, seed=1).summary()
    cells = headline(summary).loc["A"]
    for column, name in (("npv_mean", "E[NPV]"), ("npv_p5", "P5"), ("npv_p95", "P95"),
                         ("cvar5_npv", "CVaR 5%")):
        assert float(cells[name]) == pytest.approx(summary.loc["A", column], abs=0.5e-4)
    assert cells["E[NPV]"] != "0" and float(cells["± se"]) > 0


def test_headline_reads_as_the_command_line_prints_it():
    summary = pd.DataFrame(
        {"npv_mean": [12345.6, -50.0], "npv_mean_se": [12.3, 4.0], "npv_p5": [-1000.4, -900.0],
         "npv_p50": [9999.5, -40.0], "npv_p95": [30000.0, 800.0], "p_loss": [0.0512, 0.75],
         "cvar5_npv": [-2500.0, -1200.0], "roi_n": [10, 0], "roi_p50": [0.256, math.nan],
         "payback_month_p50": [17.0, math.inf]},
        index=pd.Index(["Pick <robots>", "No costs"], name="subject"))
    cells = headline(summary)
    assert list(cells.columns) == list(HEADLINE)
    assert cells.loc["Pick <robots>"].tolist() == [
        "12,346", "12", "-1,000", "10,000", "30,000", "5.1%", "-2,500", "26%", "month 17"]
    # a subject without costs has no ROI; one that never pays back by the median says so
    assert cells.loc["No costs", "ROI P50"] == "n/a"
    assert cells.loc["No costs", "payback P50"] == "never"
