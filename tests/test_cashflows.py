"""Each timing key, adoption curve and risk effect on a hand-computed case."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import initiative

import roisim


def cash(body: str, *, horizon: int = 24, subject: str = "A", trial: int = 0, extra: str = ""):
    sc = initiative(body, horizon=horizon, extra=extra)
    result = roisim.simulate(sc, trials=4, seed=1, threads=1)
    return result.cash_flows(subject, trial)


def months_with(series) -> list[int]:
    return [int(m) for m in np.flatnonzero(series.to_numpy())]


def test_once_at_month_k():
    flows = cash('costs = [{ name = "c", amount = 100, month = 3 }]')
    assert months_with(flows["costs"]) == [3]
    assert flows["costs"][3] == 100


def test_fractional_time_falls_in_the_next_whole_month():
    flows = cash('costs = [{ name = "c", amount = 100, month = 2.5 }]')
    assert months_with(flows["costs"]) == [3]


def test_every_month_from_until_exclusive():
    flows = cash('costs = [{ name = "c", amount = 10, every = "month", from_month = 2, until_month = 5 }]')
    assert months_with(flows["costs"]) == [2, 3, 4]


def test_every_month_defaults_to_the_whole_horizon():
    flows = cash('costs = [{ name = "c", amount = 10, every = "month" }]', horizon=12)
    assert months_with(flows["costs"]) == list(range(12))


def test_fractional_recurring_times():
    # times 0.5, 1.5, 2.5 (< 3) fall in months 1, 2, 3
    flows = cash('costs = [{ name = "c", amount = 10, every = "month", from_month = 0.5, until_month = 3 }]')
    assert months_with(flows["costs"]) == [1, 2, 3]


def test_every_year_pays_at_from_and_every_12_months():
    flows = cash('costs = [{ name = "c", amount = 500, every = "year", from_month = 1 }]', horizon=30)
    assert months_with(flows["costs"]) == [1, 13, 25]


def test_benefits_start_at_go_live():
    flows = cash("""
        go_live_month = 3
        benefits = [{ name = "b", amount = 50, every = "month" }]
    """, horizon=12)
    assert months_with(flows["benefits"]) == list(range(3, 12))


def test_fractional_go_live():
    flows = cash("""
        go_live_month = 2.5
        benefits = [{ name = "b", amount = 50, every = "month" }]
    """, horizon=8)
    assert months_with(flows["benefits"]) == [3, 4, 5, 6, 7]


def test_one_off_benefits_fall_in_their_month_times_that_months_adoption():
    # a one-off line is paid k months after the start, as the format says; a
    # benefit is scaled by that month's adoption unless told not to, so only
    # an unscaled one can pay before go-live (a grant at signing)
    flows = cash("""
        go_live_month = 3
        adoption = { curve = "linear", ceiling = 1.0, ramp_months = 4 }
        benefits = [
          { name = "grant", amount = 100, month = 1, scale_with_adoption = false },
          { name = "bonus", amount = 40, month = 4 },
        ]
    """, horizon=8)
    np.testing.assert_array_equal(flows["benefits"], [0, 100, 0, 0, 40 * 0.5, 0, 0, 0])


def test_benefit_from_month_before_go_live_waits_for_go_live():
    flows = cash("""
        go_live_month = 4
        benefits = [{ name = "b", amount = 50, every = "month", from_month = 1, until_month = 6 }]
    """, horizon=12)
    assert months_with(flows["benefits"]) == [4, 5]


def test_linear_adoption():
    # a(t) = ceiling * min(1, (t + 1) / ramp): 0.2, 0.4, 0.6, 0.8, 0.8, ...
    flows = cash("""
        adoption = { curve = "linear", ceiling = 0.8, ramp_months = 4 }
        benefits = [{ name = "b", amount = 100, every = "month" }]
    """, horizon=8)
    np.testing.assert_allclose(flows["benefits"], [20, 40, 60, 80, 80, 80, 80, 80])


def test_logistic_adoption_with_fractional_go_live():
    ceiling, ramp, golive = 0.9, 6.0, 1.5
    flows = cash(f"""
        go_live_month = {golive}
        adoption = {{ curve = "logistic", ceiling = {ceiling}, ramp_months = {ramp} }}
        benefits = [{{ name = "b", amount = 100, every = "month" }}]
    """, horizon=60)
    t = np.arange(60) - golive
    expected = np.where(t >= 0, 100 * ceiling / (1 + np.exp(-(8 / ramp) * (t - ramp / 2))), 0.0)
    np.testing.assert_allclose(flows["benefits"], expected, rtol=1e-12)


def test_monthly_growth_compounds_from_the_first_payment():
    flows = cash("""
        go_live_month = 2
        benefits = [{ name = "b", amount = 100, every = "month", growth_per_year = 0.12 }]
    """, horizon=24)
    k = np.arange(22)
    np.testing.assert_allclose(flows["benefits"][2:], 100 * 1.12 ** (k / 12), rtol=1e-12)


def test_yearly_growth():
    flows = cash('benefits = [{ name = "b", amount = 100, every = "year", growth_per_year = 0.05 }]',
                 horizon=36)
    np.testing.assert_allclose(flows["benefits"][[0, 12, 24]], [100, 105, 110.25])


def test_costs_scale_with_adoption_only_when_asked():
    flows = cash("""
        adoption = { curve = "linear", ceiling = 1.0, ramp_months = 2 }
        costs = [
          { name = "per user", amount = 10, every = "month", scale_with_adoption = true },
          { name = "flat", amount = 1, every = "month" },
        ]
        benefits = [{ name = "unscaled", amount = 7, every = "month", scale_with_adoption = false }]
    """, horizon=4)
    np.testing.assert_allclose(flows["costs"], [5 + 1, 10 + 1, 10 + 1, 10 + 1])
    np.testing.assert_allclose(flows["benefits"], [7, 7, 7, 7])


def test_cash_at_or_beyond_the_horizon_is_not_counted():
    flows = cash('costs = [{ name = "c", amount = 10, every = "year", from_month = 5 }]', horizon=17)
    assert months_with(flows["costs"]) == [5]
    assert len(flows) == 17


def test_uncertain_product_amount():
    # the amount is the product of its factors: 3 x 4 x 2
    flows = cash('costs = [{ name = "c", amount = ["a", "b", 2], month = 0 }]',
                 extra='[inputs]\na = { dist = "fixed", value = 3 }\nb = { dist = "fixed", value = 4 }\n')
    assert flows["costs"][0] == 24


RISKY = """
    go_live_month = 2
    costs = [
      {{ name = "setup", amount = 1000, month = 0 }},
      {{ name = "fee", amount = 10, every = "month" }},
      {{ name = "upgrade", amount = 300, month = 8 }},
    ]
    benefits = [{{ name = "b", amount = 100, every = "month" }}]
    risks = [{{ name = "r", probability = {p}, {effect} }}]
"""


def test_risk_that_never_strikes_changes_nothing():
    base = cash(RISKY.format(p=0, effect="cost = 500, delay_months = 2, benefit_loss = 0.5"),
                horizon=12)
    assert months_with(base["benefits"]) == list(range(2, 12))
    assert base["costs"].sum() == 1000 + 120 + 300


def test_risk_cost_delay_and_benefit_loss():
    flows = cash(RISKY.format(p=1, effect="cost = 500, delay_months = 2, benefit_loss = 0.25"),
                 horizon=12)
    assert flows["costs"][0] == 1000 + 10 + 500  # the risk's cost is paid when its phase starts
    assert months_with(flows["benefits"]) == list(range(4, 12))  # go-live 2 + 2
    np.testing.assert_allclose(flows["benefits"][4:], 75.0)


def test_abandon_stops_everything_after_the_go_live_month():
    flows = cash(RISKY.format(p=1, effect="abandon = true, delay_months = 1"), horizon=12)
    # go-live at month 3 (2 + delay 1): fees paid in months 0..3, no benefits, no upgrade
    np.testing.assert_allclose(flows["costs"][:4], [1010, 10, 10, 10])
    assert flows["costs"][4:].sum() == 0
    assert flows["benefits"].sum() == 0


def test_risk_probability_is_honoured_across_trials():
    sc = initiative(RISKY.format(p=0.3, effect="cost = 500"), horizon=12)
    result = roisim.simulate(sc, trials=200_000, seed=2)
    struck = result.trials("A")["pv_costs"] > 1000 + 120 + 300 + 1
    # se of a proportion at n = 200,000 is 0.001; allow 4 se
    assert abs(struck.mean() - 0.3) < 0.0041


def test_monthly_resampled_input_varies_by_month_and_follows_its_distribution():
    from scipy import stats

    extra = '[inputs]\norders = { dist = "poisson", mean = 5, resample = "monthly" }\n' \
            'price = { dist = "uniform", min = 1, max = 2 }\n'
    sc = initiative('benefits = [{ name = "b", amount = "orders", every = "month" }]\n'
                    'costs = [{ name = "c", amount = "price", every = "month" }]',
                    horizon=24, extra=extra)
    result = roisim.simulate(sc, trials=300, seed=4)
    draws = np.concatenate([result.cash_flows("A", t)["benefits"].to_numpy() for t in range(300)])
    ks, counts = np.unique(draws, return_counts=True)
    expected = stats.poisson(5).pmf(ks) * draws.size
    keep = expected >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(expected[keep], draws.size - expected[keep].sum())
    assert stats.chisquare(obs, exp).pvalue > 0.001
    one = result.cash_flows("A", 0)
    assert one["benefits"].nunique() > 3  # varies month to month
    assert one["costs"].nunique() == 1  # a per-trial input does not
    # the trial's draws, month by month, are the ones its cash used; inputs() gives their mean
    drawn = result.monthly_inputs(0)
    assert list(drawn.columns) == ["orders"]
    np.testing.assert_array_equal(drawn["orders"].to_numpy(), one["benefits"].to_numpy())
    assert result.inputs(1)["orders"][0] == pytest.approx(drawn["orders"].mean(), rel=1e-12)


@pytest.mark.parametrize("golive", [0, 1.25, 7])
def test_payback_and_discounted_payback_of_an_annuity(golive):
    # cost C at month 0, benefit B a month from go-live; cumulative -C + B k
    C, B, r = 1000.0, 90.0, 0.1
    sc = initiative(f"""
        go_live_month = {golive}
        costs = [{{ name = "c", amount = {C}, month = 0 }}]
        benefits = [{{ name = "b", amount = {B}, every = "month" }}]
    """, horizon=60, rate=r)
    row = roisim.simulate(sc, trials=2, seed=1).trials("A").iloc[0]
    first = math.ceil(golive)
    # closed form: paid back at the end of the month of the ceil(C/B)-th payment
    assert row["payback_month"] == first + math.ceil(C / B) - 1
    v = (1 + r) ** (-1 / 12)
    # discounted: smallest t with sum_{m=first..t} B v^m >= C (geometric series)
    n = math.ceil(math.log(1 - C * (1 - v) / (B * v**first)) / math.log(v))
    assert row["discounted_payback_month"] == first + n - 1
