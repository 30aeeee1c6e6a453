"""Phased rollouts, gates and paired comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import scenario

import roisim
from roisim.compare import (
    _paired,
    _paired_both_ways,
    dominance,
    dominance_quantiles,
    interval,
    pairwise,
)
from roisim.metrics import subject_summary
from roisim.output import write_results
from roisim.sensitivity import sensitivity_tables, value_of_information

HEAD = """
[scenario]
name = "plans"
horizon_months = 24
discount_rate = {rate}
trials = 10
seed = 2

[inputs]
fee = {{ dist = "uniform", min = 80, max = 120 }}
gain = {{ dist = "normal", mean = 400, sd = 150 }}

[[initiatives]]
name = "A"
go_live_month = 1
adoption = {{ curve = "linear", ceiling = 0.9, ramp_months = 4 }}
costs = [
  {{ name = "setup", amount = 3000, month = 0, fixed = true }},
  {{ name = "fee", amount = "fee", every = "month" }},
]
benefits = [{{ name = "gain", amount = "gain", every = "month" }}]
"""


def plans(text: str, rate: float = 0.0, trials: int = 20_000) -> roisim.SimulationResult:
    return roisim.simulate(scenario(HEAD.format(rate=rate) + text), trials=trials, seed=4)


PILOT = """
[[plans]]
name = "{name}"
phases = [
  {{ initiative = "A", start_month = 0, share = 0.4 }},
  {{ initiative = "A", start_month = 6, share = 0.6{gate} }},
]
"""


def pilot(name: str, gate: str = "") -> str:
    return PILOT.format(name=name, gate=f", gate = {{ {gate} }}" if gate else "")


def test_a_gate_that_always_passes_equals_the_ungated_plan():
    result = plans(pilot("gated", 'metric = "net_cash_to_date", at_least = -1e12')
                   + pilot("plain"))
    np.testing.assert_array_equal(result.npv("gated"), result.npv("plain"))
    assert result.trials("gated")["phase_2_started"].all()
    gates = result.gates()
    assert gates.loc[0, "p_fail"] == 0 and gates.loc[0, "value_of_gates"] == 0


def test_a_gate_that_never_passes_equals_the_pilot_alone():
    alone = '\n[[plans]]\nname = "pilot only"\nphases = [{ initiative = "A", start_month = 0, share = 0.4 }]\n'
    result = plans(pilot("gated", 'metric = "net_cash_to_date", at_least = 1e12') + alone)
    np.testing.assert_array_equal(result.npv("gated"), result.npv("pilot only"))
    assert not result.trials("gated")["phase_2_started"].any()
    assert result.gates().loc[0, "p_fail"] == 1.0


def test_the_gates_table_has_its_columns_and_float_bounds_with_or_without_gates(tmp_path):
    result = plans(pilot("gated", 'metric = "adoption", at_least = 0.25')
                   + pilot("both", 'metric = "adoption", at_least = 0.25, at_most = 0.65'))
    gates = result.gates()
    assert gates["at_least"].dtype == gates["at_most"].dtype == np.float64
    assert np.isnan(gates.loc[0, "at_most"]) and gates.loc[1, "at_most"] == 0.65
    ungated = plans(pilot("plain"))
    assert list(ungated.gates().columns) == list(gates.columns) and ungated.gates().empty
    # report.html states the thresholds as the file does
    page = (write_results(result, tmp_path, charts=False) / "report.html").read_text()
    rows = page[page.index("<h2>Gates</h2>"):].split("</tr>")
    cells = [[cell.split(">", 1)[1] for cell in row.split("</td>")[:-1]] for row in rows]
    bounds = [row[2:4] for row in cells if len(row) > 4]
    assert bounds == [["0.25", ""], ["0.25", "0.65"]]


def test_times_from_unbounded_inputs_are_checked_and_run():
    # a lognormal wait has no latest month: the checks once tried to name one (OverflowError)
    result = roisim.simulate(scenario("""
        [scenario]
        name = "unbounded"
        horizon_months = 24
        [inputs]
        wait = { dist = "lognormal", p5 = 2, p95 = 40 }
        [[initiatives]]
        name = "A"
        go_live_month = 1
        costs = [{ name = "setup", amount = 500, month = 0, fixed = true },
                 { name = "late fee", amount = 100, month = "wait" },
                 { name = "support", amount = 20, every = "month", until_month = "wait" }]
        benefits = [{ name = "gain", amount = 80, every = "month", until_month = ["wait", 2] }]
        [[plans]]
        name = "later"
        phases = [{ initiative = "A", start_month = 0, share = 0.5 },
                  { initiative = "A", start_month = "wait", share = 0.5,
                    gate = { metric = "net_cash_to_date", at_least = -400 } }]
    """), trials=4000, seed=1)
    wait = result.analysis_inputs()["wait"].to_numpy()
    started = result.trials("later")["phase_2_started"].to_numpy()
    # the phase never starts where the wait runs past the horizon
    assert not started[np.ceil(wait - 1e-9) >= 24].any() and started.any()


def test_a_gate_is_judged_only_where_the_plan_reaches_it():
    # the pilot goes live in month 1; where the risk abandons it there, the
    # rollout's gate in month 6 is never reached, so it neither fails nor passes
    risk = 'risks = [{ name = "drop", probability = 0.3, abandon = true }]\n'
    result = plans(risk + pilot("gated", 'metric = "net_cash_to_date", at_least = 1e12'))
    kept = result.analysis_inputs()["risk:A:drop"].to_numpy() == 0
    gate = result.gates().loc[0]
    assert gate["p_judged"] == kept.mean() == gate["p_fail"]
    assert gate["p_fail_if_judged"] == 1.0 and gate["p_fail_if_judged_se"] == 0.0
    assert 0.68 < gate["p_judged"] < 0.72  # 0.7 within about 6 standard errors


def test_the_ungated_twin_equals_the_plan_without_gates_in_every_trial():
    # the twin copies the gated plan's outcomes where no gate failed and is
    # computed where one did; either way it must equal the plan without gates,
    # simulated on its own on the same trials (all but the IRR, which is not
    # searched for a twin: nothing reports it)
    result = plans(pilot("gated", 'metric = "net_cash_to_date", at_least = -2700'))
    alone = plans(pilot("gated"))
    failed = result.outcomes.failed[result.index("gated")] != 0
    assert 0.2 < failed.mean() < 0.8
    twin, plain = result.ungated_rows["gated"], alone.index("gated")
    for column in ("pv_costs", "pv_benefits", "payback", "dpayback", "started", "band_paths"):
        np.testing.assert_array_equal(getattr(result.outcomes, column)[twin],
                                      getattr(alone.outcomes, column)[plain], err_msg=column)
    assert np.isnan(result.outcomes.irr[twin]).all()


@pytest.mark.parametrize(("lo", "hi", "scale", "text"), [
    (30_481.2, 30_906.7, -86_618.8, "[30,481, 30,907]"),
    (-0.0123, 0.0345, 0.2, "[-0.0123, 0.0345]"),  # a plan in small amounts: was "[-0, 0]"
])
def test_the_value_of_gates_interval_is_written_to_the_plans_scale(lo, hi, scale, text):
    assert interval(lo, hi, scale) == text


OUTCOMES = ("pv_costs", "pv_benefits", "payback", "dpayback", "irr", "started", "band_paths")


def assert_same_outcomes(a: roisim.SimulationResult, subject_a: str,
                         b: roisim.SimulationResult, subject_b: str) -> None:
    for column in OUTCOMES:
        np.testing.assert_array_equal(getattr(a.outcomes, column)[a.index(subject_a)],
                                      getattr(b.outcomes, column)[b.index(subject_b)],
                                      err_msg=column)


def test_a_subjects_outcomes_do_not_depend_on_the_other_subjects():
    # a phase's cash is computed once per trial for a share of 1 and reused by
    # every subject that runs it. "late" starts A at month 6 as its first
    # phase (the setup is paid there); "two phases" runs A at month 6 too, but
    # as its second phase (no setup): the two must not share.
    late = '\n[[plans]]\nname = "late"\nphases = [{ initiative = "A", start_month = 6, share = 0.6 }]\n'
    assert_same_outcomes(plans(pilot("two phases") + late), "late", plans(late), "late")
    # a whole phase that no other subject runs is added straight to its
    # subject, with the same arithmetic: the initiative (no fixed line here)
    # is the same whether a pilot shares its phase or not
    head = HEAD.replace(", fixed = true", "").format(rate=0.01)

    def run(text: str) -> roisim.SimulationResult:
        return roisim.simulate(scenario(head + text), trials=20_000, seed=4)

    assert_same_outcomes(run(pilot("two phases")), "A", run(""), "A")
    # and a phase of a share below 1 is scaled the same way, shared or not
    more = ('\n[[plans]]\nname = "late, then more"\nphases = [{ initiative = "A", start_month = 6, '
            'share = 0.6 }, { initiative = "A", start_month = 12, share = 0.4 }]\n')
    assert_same_outcomes(run(late + more), "late", run(late), "late")


ABANDONED_AT_START = """
[scenario]
name = "abandoned"
horizon_months = 12
discount_rate = 0.05
trials = 10
seed = 2

[[initiatives]]
name = "A"
go_live_month = {go_live}
adoption = {{ curve = "immediate", ceiling = 1.0 }}
costs = [
  {{ name = "setup", amount = 3000, month = 0 }},
  {{ name = "fee", amount = 100, every = "month" }},
]
benefits = [{{ name = "gain", amount = 400, every = "month" }}]
risks = [{{ name = "dropped", probability = 1.0, cost = 500, abandon = true }}]
"""
SHARE_OF_A = '\n[[plans]]\nname = "half"\nphases = [{ initiative = "A", start_month = 0, share = 0.5 }]\n'


@pytest.mark.parametrize("go_live", [0, 2])
def test_an_abandoned_initiative_pays_the_same_whether_a_plan_shares_its_phase(go_live):
    # abandoned at go-live: the costs of that month are paid, what it took to get
    # there, and nothing after. With go-live in the start month that is the set-up,
    # a fee and the risk's cost (before, nothing at all: an abandon risk made the
    # initiative look safer); two months later also the fees of months 1 and 2.
    # Either way a plan running the same phase must not change A's numbers.
    text = ABANDONED_AT_START.format(go_live=go_live)
    alone = roisim.simulate(scenario(text), trials=50, seed=1)
    shared = roisim.simulate(scenario(text + SHARE_OF_A), trials=50, seed=1)
    assert_same_outcomes(alone, "A", shared, "A")
    costs = alone.cash_flows("A", 0)["costs"].to_numpy()
    expected = np.zeros(12)
    expected[:go_live + 1] = [3000 + 100 + 500] + [100] * go_live
    np.testing.assert_array_equal(costs, expected)
    assert (alone.cash_flows("A", 0)["benefits"] == 0).all()


def test_keep_and_stop_by_hand():
    never = 'metric = "adoption", at_least = 2'  # adoption never exceeds 1
    result = plans(pilot("keep", never + ', on_fail = "keep"')
                   + pilot("stop", never + ', on_fail = "stop"'), trials=3)
    keep, stop = result.cash_flows("keep", 0), result.cash_flows("stop", 0)
    fee = keep["costs"][1] / 0.4  # the trial's fee, paid at share 0.4
    # keep: the pilot runs to the horizon; stop: nothing from the gate's month (6) on
    np.testing.assert_allclose(keep["costs"][6:], 0.4 * fee)
    assert (stop["costs"][6:] == 0).all() and (stop["benefits"][6:] == 0).all()
    np.testing.assert_array_equal(stop["costs"][:6], keep["costs"][:6])
    np.testing.assert_array_equal(stop["benefits"][:6], keep["benefits"][:6])


def test_on_fail_may_be_written_beside_the_gate():
    # the format page lists on_fail with the gate's keys; written on the phase it means the same
    never = 'metric = "adoption", at_least = 2'
    inside = plans(pilot("stop", never + ', on_fail = "stop"'), trials=3)
    beside = plans(pilot("stop", never).replace("} },", '}, on_fail = "stop" },'), trials=3)
    assert beside.scenario.plans[0].phases[1].gate.on_fail == "stop"
    assert beside.scenario.plans == inside.scenario.plans
    np.testing.assert_array_equal(beside.npv("stop"), inside.npv("stop"))


def test_fixed_costs_are_paid_once_in_full():
    result = plans(pilot("two phases"), trials=3)
    flows = result.cash_flows("two phases", 0)
    fee = (flows["costs"][1]) / 0.4
    assert flows["costs"][0] == pytest.approx(3000 + 0.4 * fee)  # setup not scaled by share
    assert flows["costs"][6] == pytest.approx(0.4 * fee + 0.6 * fee)  # and not paid again


def test_a_two_phase_plan_by_hand():
    r = 0.1
    result = plans(pilot("two phases"), rate=r, trials=5)
    inputs = result.inputs()
    months = np.arange(24)

    def adoption(start):
        t = months - (start + 1)  # go-live one month after the phase starts
        return np.where(t >= 0, 0.9 * np.minimum(1, (t + 1) / 4), 0.0)

    for trial in range(5):
        fee, gain = inputs.loc[trial, "fee"], inputs.loc[trial, "gain"]

        costs = 0.4 * fee + np.where(months >= 6, 0.6 * fee, 0.0)
        costs[0] += 3000
        benefits = gain * (0.4 * adoption(0) + 0.6 * adoption(6))
        discount = (1 + r) ** (-months / 12)
        expected = ((benefits - costs) * discount).sum()
        assert result.trials("two phases").loc[trial, "npv"] == pytest.approx(expected, rel=1e-12)


def test_gate_on_adoption_judged_the_month_before():
    # pilot goes live at month 1; in month 5 (before the gate at 6) t = 4: a = 0.9
    result = plans(pilot("passes", 'metric = "adoption", at_least = 0.9')
                   + pilot("fails", 'metric = "adoption", at_least = 0.91'), trials=50)
    assert result.trials("passes")["phase_2_started"].all()
    assert not result.trials("fails")["phase_2_started"].any()


def test_gate_on_roi_to_date():
    result = plans(pilot("roi", 'metric = "roi_to_date", at_least = -0.5'), trials=20_000)
    frame = result.trials("roi")
    # judged on the undiscounted cash of months 0..5 of the pilot
    flows = [result.cash_flows("roi", t) for t in range(40)]
    for t, f in enumerate(flows):
        spent = f["costs"][:6].sum()
        roi = (f["benefits"][:6].sum() - spent) / spent
        assert frame.loc[t, "phase_2_started"] == (roi >= -0.5)


def pilot_with_risk(risk: str) -> roisim.SimulationResult:
    """The pilot plan "p" of initiative A, with one risk added to A."""
    benefits = 'benefits = [{ name = "gain", amount = "gain", every = "month" }]'
    text = HEAD.format(rate=0).replace(benefits, f"{benefits}\nrisks = [{risk}]")
    return roisim.simulate(scenario(text + pilot("p")), trials=2, seed=1)


def test_risks_strike_the_first_phase_only():
    result = pilot_with_risk('{ name = "late", probability = 1, delay_months = 3, cost = 1000 }')
    flows = result.cash_flows("p", 0)
    fee = flows["costs"][1] / 0.4
    assert flows["costs"][0] == pytest.approx(3000 + 0.4 * fee + 0.4 * 1000)
    assert flows["costs"][6] == pytest.approx(fee)  # no second risk cost
    # pilot benefits start at 0 + 1 + 3; phase 2 at 6 + 1 (no delay)
    pilot_gain = flows["benefits"][4]
    assert flows["benefits"][3] == 0 and pilot_gain > 0
    assert flows["benefits"][7] > flows["benefits"][6]


def test_the_earlier_start_in_a_shared_month_is_the_initiatives_first_phase():
    # phases at 2.5 (listed first, share 0.3) and 2.2 (share 0.7) both start in month 3;
    # the one at 2.2 starts first, so the risk strikes it and its cost scales by 0.7
    sc = scenario("""
        [scenario]
        name = "order"
        horizon_months = 12
        [[initiatives]]
        name = "A"
        costs = [{ name = "fee", amount = 10, every = "month" }]
        benefits = [{ name = "gain", amount = 50, every = "month" }]
        risks = [{ name = "r", probability = 1, cost = 1000, delay_months = 4 }]
        [[plans]]
        name = "p"
        phases = [{ initiative = "A", start_month = 2.5, share = 0.3 },
                  { initiative = "A", start_month = 2.2, share = 0.7 }]
    """)
    flows = roisim.simulate(sc, trials=1, seed=1).cash_flows("p", 0)
    assert flows["costs"][3] == pytest.approx(0.7 * 1000 + 10)
    # the delayed phase goes live at 2.2 + 4 (month 7), the other at 2.5 (month 3)
    np.testing.assert_allclose(flows["benefits"][3:7], 0.3 * 50)
    np.testing.assert_allclose(flows["benefits"][7:], 50)


def test_abandon_stops_later_phases():
    result = pilot_with_risk('{ name = "dead", probability = 1, abandon = true, delay_months = 8 }')
    flows = result.cash_flows("p", 0)
    # abandoned at the pilot's go-live, month 9: phase 2 (month 6) ran until then
    assert (flows["costs"][10:] == 0).all() and flows["benefits"].sum() == 0
    assert flows["costs"][9] == flows["costs"][8]
    assert flows["costs"][8] > flows["costs"][5]


def test_a_subject_compared_with_its_identical_twin():
    result = plans(pilot("p") + '\n[[plans]]\nname = "whole"\nphases = [{ initiative = "A" }]\n')
    comparison = result.compare().set_index(["a", "b"])
    row = comparison.loc[("A", "whole")]
    assert row["mean_diff"] == 0 and row["p_a_beats_b"] == 0
    assert row["diff_p5"] == 0 and row["diff_p95"] == 0
    assert not row["dominates_first"] and not row["dominates_second"]
    assert len(comparison) == 3 * 2


def test_an_identical_subjects_statistics_are_computed_once_and_unchanged():
    # "whole" is A rolled out at once: the kernel copies A's outcomes, and the
    # summary, comparisons, tornado and value of information take A's numbers
    # rather than computing them again; they must be what computing them gives
    result = plans(pilot("p") + '\n[[plans]]\nname = "whole"\nphases = [{ initiative = "A" }]\n')
    assert result.identical_subjects() == {"A": "A", "p": "p", "whole": "A"}
    computed = pd.DataFrame([subject_summary(result, s) for s in result.subjects])
    pd.testing.assert_frame_equal(result.summary(), computed.set_index("subject"))
    assert result.summary().loc["whole", "kind"] == "plan"

    npv = {s: result.npv(s) for s in result.subjects}
    quantiles = {s: dominance_quantiles(v) for s, v in npv.items()}
    for (a, b), row in pairwise(npv).set_index(["a", "b"]).iterrows():
        got, want = row.to_dict(), _paired(npv[a], npv[b], quantiles[a], quantiles[b])
        # B against A is A against B negated: its percentiles are the negated ones, up to
        # the rounding of numpy's interpolation weight
        for key in ("diff_p5", "diff_p95"):
            assert got.pop(key) == pytest.approx(want.pop(key), rel=1e-12, abs=0), (a, b, key)
        assert got == want, (a, b)

    inputs = result.analysis_inputs()
    sample = {s: v[: len(inputs)] for s, v in npv.items()}
    for subject, table in sensitivity_tables(sample, inputs).items():
        pd.testing.assert_frame_equal(result.sensitivity(subject), table)
    pd.testing.assert_frame_equal(result.value_of_information(),
                                  value_of_information(sample, inputs))


def test_a_zero_difference_is_written_as_0_both_ways():
    a, b = np.r_[np.zeros(99), 5.0], np.zeros(100)  # equal in 99 trials of 100
    qa, qb = dominance_quantiles(a), dominance_quantiles(b)
    ab, ba = _paired_both_ways(a, b, qa, qb)
    assert ab["diff_p5"] == ab["diff_p95"] == 0.0
    assert not any(np.signbit([ba["diff_p5"], ba["diff_p95"]])), ba  # "-0.0" in a CSV reads oddly


def test_comparison_is_paired():
    result = plans(pilot("p"))
    row = result.compare().set_index(["a", "b"]).loc[("A", "p")]
    diff = result.npv("A") - result.npv("p")
    assert row["mean_diff"] == pytest.approx(diff.mean())
    assert row["mean_diff_se"] == pytest.approx(diff.std(ddof=1) / np.sqrt(diff.size))
    assert row["p_a_beats_b"] == pytest.approx(np.mean(diff > 0))


def test_dominance_on_constructed_cases():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 100_000)
    assert dominance(base + 0.5, base) == (True, True)
    assert dominance(base, base + 0.5) == (False, False)
    # a mean-preserving spread is dominated in the second order only
    spread = base * 2
    assert dominance(base, spread) == (False, True)
    assert dominance(spread, base) == (False, False)
    # crossing with higher mean but a fatter left tail: neither
    risky = np.where(base < -1.5, base * 6, base + 0.3)
    assert dominance(risky, base) == (False, False)
    table = pairwise({"x": base + 0.5, "y": base})
    assert list(table["dominates_first"]) == [True, False]


def test_ranking_and_scores():
    text = HEAD.format(rate=0).replace('name = "A"\n', 'name = "A"\nstrategic_impact = 4\nfeasibility = 2\n')
    result = roisim.simulate(scenario(text + pilot("p")), trials=5000, seed=1)
    ranking = result.ranking()
    assert list(ranking.index) == list(ranking.sort_values("expected_npv", ascending=False).index)
    assert ranking.loc["p", "strategic_impact"] == 4 and ranking.loc["A", "feasibility"] == 2
    assert {"p_loss", "cvar5_npv", "p_payback_within_24", "median_payback_month"} <= set(ranking)


@pytest.mark.parametrize(("phases", "message"), [
    ('[{ initiative = "B" }]', r"plans\[0\]\.phases\[0\]\.initiative: unknown initiative 'B'"),
    ('[{ initiative = "A", share = 0 }]', r"plans\[0\]\.phases\[0\]\.share: expected a share "
                                          r"greater than 0 and at most 1, found 0"),
    ('[{ initiative = "A", share = 1.5 }]', r"share: expected a share greater than 0 and at most 1"),
    ('[{ initiative = "A", share = 0.7 }, { initiative = "A", share = 0.5, start_month = 3 }]',
     r"plans\[0\]\.phases\[1\]\.share: the shares of 'A' in this plan add up to 1\.2; they may "
     r"add up to at most 1"),
    ('[{ initiative = "A", gate = { metric = "npv", at_least = 0 } }]',
     r"plans\[0\]\.phases\[0\]\.gate\.metric: must be 'net_cash_to_date', 'roi_to_date' or "
     r"'adoption', found 'npv'"),
    ('[{ initiative = "A", gate = { metric = "adoption" } }]',
     r"plans\[0\]\.phases\[0\]\.gate: a gate needs at_least, at_most or both"),
    ('[]', r"plans\[0\]\.phases: expected at least 1 entry, found none"),
])
def test_bad_plans(phases, message):
    with pytest.raises(roisim.ScenarioError, match=message):
        scenario(HEAD.format(rate=0) + f'\n[[plans]]\nname = "bad"\nphases = {phases}\n')
