"""Sweeps: each value's outcomes are those of the scenario written with that value.

A sweep must equal, bit for bit, simulating by hand each variant of the
scenario file at the same seed, and its paired change of npv must be the
mean and standard error of the trial-by-trial differences.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import roisim
from roisim.metrics import Z
from roisim.sweeps import parse_goal, parse_range, parse_setting, set_value, solve, sweep, variants

BAKERY = SCENARIOS / "bakery_catering_crm.toml"
TRIALS = 4_000


@pytest.fixture(scope="module")
def bakery():
    return roisim.load(BAKERY)


def by_hand(scenario, place_setter, value, **options):
    document = scenario.document()
    place_setter(document, value)
    return roisim.simulate(roisim.parse(document, source=scenario.source), **options)


def test_each_value_is_the_scenario_written_with_it_on_the_same_trials(bakery):
    swept = sweep(bakery, "scenario.discount_rate", [0.04, 0.08, 0.15], trials=TRIALS, seed=3)
    results = [by_hand(bakery, lambda d, v: d["scenario"].__setitem__("discount_rate", v), value,
                       trials=TRIALS, seed=3) for value in (0.04, 0.08, 0.15)]
    for label, result in zip(["0.04", "0.08", "0.15"], results, strict=True):
        mine = swept.summary.xs(label, level="value").drop(columns=["npv_change", "npv_change_se"])
        pd.testing.assert_frame_equal(mine, result.summary())
    # the change from the first value, trial by trial
    for subject in bakery.subjects:
        diff = results[2].npv(subject) - results[0].npv(subject)
        row = swept.summary.loc[("0.15", subject)]
        assert row["npv_change"] == pytest.approx(diff.mean(), rel=1e-12)
        assert row["npv_change_se"] == pytest.approx(diff.std(ddof=1) / np.sqrt(TRIALS), rel=1e-12)
        assert swept.summary.loc[("0.04", subject), "npv_change"] == 0.0
    # a higher rate discounts the later benefits: every subject's npv falls, surely
    means = swept.table("npv_mean")
    assert (means.diff().iloc[1:] < 0).all().all()
    assert list(means.index) == ["0.04", "0.08", "0.15"] and list(means.columns) == bakery.subjects


def test_numpy_values_are_numbers_on_a_line_and_save(bakery, tmp_path):
    swept = sweep(bakery, "initiatives[0].go_live_month", np.arange(1, 4), trials=500, seed=1)
    assert swept.labels == ["1", "2", "3"] and swept.numeric
    folder = swept.save(tmp_path, charts=False)
    assert json.loads((folder / "manifest.json").read_text())["values"] == ["1", "2", "3"]


def test_a_place_in_a_named_list_and_a_distribution_table_as_a_value(bakery):
    tables = [{"dist": "pert", "min": 100, "mode": 150, "max": 200},
              {"dist": "pert", "min": 250, "mode": 300, "max": 400}]
    swept = sweep(bakery, "inputs.subscription", tables, trials=TRIALS, seed=1)
    assert swept.labels == ['{ dist = "pert", min = 100, mode = 150, max = 200 }',
                            '{ dist = "pert", min = 250, mode = 300, max = 400 }']
    assert not swept.numeric
    # the chart names each table by what differs between them: cut short, their TOML reads alike
    ticks = [label.get_text() for label in swept.plot().axes[0].get_xticklabels()]
    assert ticks == ["min = 100, mode = 150, max = 200", "min = 250, mode = 300, max = 400"]
    dearer = swept.summary.loc[(swept.labels[1], "Catering CRM"), "npv_change"]
    # 36 months of a subscription about 155 higher, discounted at 8%: about -5,000
    assert -6_000 < dearer < -4_500
    # a fee of its own leaves the subscription input unused: said once, with the values that do it
    with pytest.warns(roisim.ScenarioWarning) as said:
        by_name = sweep(bakery, "initiatives[Catering CRM].costs[Subscription].amount", [150, 300],
                        trials=TRIALS, seed=1)
    assert [str(w.message) for w in said] == [
        f"{BAKERY}: initiatives[Catering CRM].costs[Subscription].amount set to any of the values: "
        "inputs.subscription: no value uses this input, so it changes nothing; name it where it "
        "applies, or remove it"]
    with pytest.warns(roisim.ScenarioWarning):
        by_index = sweep(bakery, "initiatives[0].costs[1].amount", [150, 300], trials=TRIALS, seed=1)
    pd.testing.assert_frame_equal(by_name.summary, by_index.summary)
    assert by_name.best().loc["150", "best"] in bakery.subjects


@pytest.mark.parametrize("place, message", [
    ("scenario.discount_rat", "scenario.discount_rat = 0.1: scenario: unknown key 'discount_rat'; "
                              "did you mean 'discount_rate'?"),
    ("initiatives[Catering CMR].costs[0].amount",
     "initiatives has no entry named 'Catering CMR'; did you mean 'Catering CRM'? (names: Catering CRM)"),
    ("initiatives[0].costs[5].amount", "initiatives[0].costs has 2 entries (from 0); found [5]"),
    ("scenario.horizon_months.x", "scenario.horizon_months is 36, not a table or list: nothing in it "
                                  "to set at 'x'"),
    ("plans[1].phases[1].gate.metric", "plans[1].phases[1].gate.metric = 0.1: plans[1].phases[1].gate."
                                       "metric: "),
    ("inputs..mean", "'inputs..mean' is not a place in a scenario"),
    ("inputs.nothing.mean", "inputs has no 'nothing'"),
    ("scenario.trials", "scenario.trials says how every value is simulated, the same for each; "
                        "a sweep runs each value on the same trials (to choose the trials: --trials"),
    ("scenario.seed", "(to choose the seed: --seed, or seed= in Python)"),
])
def test_a_place_that_leads_nowhere_is_refused_with_where(bakery, place, message):
    with pytest.raises(ValueError) as caught:
        variants(bakery, place, [0.1, 0.2])
    assert message in str(caught.value)


def test_every_value_is_checked_before_any_is_simulated(bakery, monkeypatch):
    import roisim.engine

    def never(*args, **kwargs):
        raise AssertionError("simulated before every value was checked")

    monkeypatch.setattr(roisim.engine, "simulate", never)
    with pytest.raises(ValueError, match=r"scenario.discount_rate = -2: scenario.discount_rate: "
                                         r"must be greater than -1"):
        sweep(bakery, "scenario.discount_rate", [0.05, -2], trials=10)
    with pytest.raises(ValueError, match="changes which initiatives and plans are simulated"):
        sweep(bakery, "plans[0].name", ["Everything now", "At once"], trials=10)


@pytest.mark.parametrize("text, expected", [
    ("scenario.discount_rate=0.05,0.08", ("scenario.discount_rate", [0.05, 0.08])),
    ("inputs.fee = 1_000, 2_000", ("inputs.fee", [1000, 2000])),
    ('inputs.fee={ dist = "fixed", value = 1 },{ dist = "fixed", value = 2 }',
     ("inputs.fee", [{"dist": "fixed", "value": 1}, {"dist": "fixed", "value": 2}])),
])
def test_settings_are_a_place_and_values_as_toml(text, expected):
    assert parse_setting(text) == expected


@pytest.mark.parametrize("text, message", [
    ("scenario.discount_rate", "expected PLACE=VALUE,VALUE,..."),
    ("scenario.discount_rate=0.05", "expected at least two values"),
    ("scenario.discount_rate=0.05,x", "expected values as a scenario file writes them"),
    ("scenario.discount_rate=0.05,0.05", "0.05 is given twice"),
])
def test_settings_that_are_not_a_sweep_are_refused(text, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_setting(text)


def test_set_value_by_name_by_index_and_a_new_key():
    document = {"initiatives": [{"name": "A", "costs": [{"name": "fee", "amount": 1}]}],
                "inputs": {"x": {"dist": "normal", "mean": 1, "sd": 2}}}
    set_value(document, "initiatives.A.costs[fee].amount", 5)
    set_value(document, "inputs.x.at_least", 0)
    assert document["initiatives"][0]["costs"][0]["amount"] == 5
    assert document["inputs"]["x"] == {"dist": "normal", "mean": 1, "sd": 2, "at_least": 0}


def test_the_chart_draws_each_subjects_npv_and_p_loss_at_each_value(bakery):
    swept = sweep(bakery, "scenario.discount_rate", [0.04, 0.08, 0.15], trials=TRIALS, seed=3)
    left, right = swept.plot().axes[:2]
    labels = [text.get_text() for text in right.get_legend().get_texts()]
    # the initiative and its all-at-once plan are alike at every value: one line, named after both
    assert labels == ["Catering CRM = All at once", "Pilot, then roll out if adopted"]
    for label, line in zip(labels, right.lines, strict=True):
        assert list(line.get_xdata()) == [0.04, 0.08, 0.15]
        assert list(line.get_ydata()) == list(swept.table("p_loss")[label.split(" = ")[0]])


def run_sweep(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "roisim", "sweep", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def test_sweep_on_the_command_line_writes_its_folder_and_prints_the_best(tmp_path):
    proc = run_sweep(str(BAKERY), "--set", "inputs.subscription.mode=150,250", "--trials", "3000",
                     "--seed", "2", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "bakery_catering_crm_sweep_inputs_subscription_mode"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "sweep.csv", "sweep.png"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["place"] == "inputs.subscription.mode" and manifest["values"] == ["150", "250"]
    assert manifest["trials"] == 3000 and manifest["seed"] == 2
    table = pd.read_csv(folder / "sweep.csv", index_col=["value", "subject"])
    swept = sweep(roisim.load(BAKERY), "inputs.subscription.mode", [150, 250], trials=3000, seed=2)
    assert np.allclose(table["npv_mean"].to_numpy(), swept.summary["npv_mean"].to_numpy(), rtol=1e-12)
    assert "expected NPV [USD] at each value of inputs.subscription.mode" in proc.stdout
    assert " *" in proc.stdout  # the best marked
    # a second sweep of the same place replaces the first's folder
    again = run_sweep(str(BAKERY), "--set", "inputs.subscription.mode=160,260", "--trials", "1000",
                      "--out", str(tmp_path), "--no-charts", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((folder / "manifest.json").read_text())["values"] == ["160", "260"]
    assert not (folder / "sweep.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--set", "scenario.discount_rate=0.05"], "error: --set: expected at least two values"),
    (["--set", "inputs.subscriptoin.mode=1,2"], "inputs has no 'subscriptoin'; did you mean 'subscription'?"),
    (["--set", "scenario.discount_rate=0.05,-3"], "--set scenario.discount_rate = -3: scenario.discount_rate"),
    (["--set", "scenario.discount_rate=0.05,0.1", "--trials", "1e10"],
     "--trials: 10,000,000,000 trials need about"),
])
def test_a_bad_sweep_exits_2_with_one_message_and_writes_nothing(tmp_path, args, message):
    args = args if "--trials" in args else [*args, "--trials", "100"]
    proc = run_sweep(str(BAKERY), *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()



SAVING = """
    costs = [{ name = "Kit", amount = 1000, month = 0 }]
    benefits = [{ name = "Saving", amount = "saving", every = "month" }]
    """
MONTHLY = '[inputs]\nsaving = { dist = "normal", mean = 100, sd = 20, resample = "monthly" }\n'


def test_the_break_even_of_a_certain_project_is_its_closed_form():
    from conftest import initiative

    flat = initiative(SAVING, horizon=12, extra='[inputs]\nsaving = { dist = "fixed", value = 100 }\n')
    table = solve(flat, "initiatives[A].costs[Kit].amount", 0, 5000, trials=10, seed=1)
    assert table.loc["A", "value"] == pytest.approx(1200.0, abs=1e-9)  # 12 months of 100, rate 0
    assert table.loc["A", "value_half_width"] == 0.0
    assert table.loc["A", "note"] == ""  # reached, to rounding: not a step


def test_the_break_even_is_the_mean_and_a_loss_limit_the_percentile_of_the_benefits():
    from conftest import initiative

    uncertain = initiative(SAVING, horizon=12, extra=MONTHLY)
    benefits = roisim.simulate(uncertain, trials=20_000, seed=4).outcomes.pv_benefits[0]
    # npv = benefits - kit on every trial: the kit at which the mean npv is 0 is the mean benefit,
    # with the mean's own precision (the slope is -1)
    even = solve(uncertain, "initiatives[A].costs[Kit].amount", 0, 5000, trials=20_000, seed=4)
    assert even.loc["A", "value"] == pytest.approx(benefits.mean(), abs=1e-6)
    assert even.loc["A", "value_half_width"] == pytest.approx(
        Z * benefits.std(ddof=1) / np.sqrt(benefits.size), rel=1e-6)  # Z: 1.95996...
    # and the kit at which P(loss) is 10% is the benefits' 10th percentile, to within the
    # twentieth of its own precision the search stops at (and the trials' steps between)
    loss = solve(uncertain, "initiatives[A].costs[Kit].amount", 0, 5000, "P(npv<0)=0.1",
                 trials=20_000, seed=4).loc["A"]
    ordered = np.sort(benefits)
    assert ordered[1999] - loss["value_half_width"] / 20 <= loss["value"] <= ordered[2000] + \
        loss["value_half_width"] / 20
    # the precision: P(loss)'s half-width over the benefits' density there (about 1.7)
    assert 1.0 < loss["value_half_width"] < 2.5
    assert loss["statistic"] == pytest.approx(0.1, abs=0.002)


def test_the_answers_precision_is_the_statistics_half_width_over_its_slope():
    from conftest import initiative

    scaled = initiative("""
        costs = [{ name = "Kit", amount = 1000, month = 0 }]
        benefits = [{ name = "Saving", amount = ["saving", "scale"], every = "month" }]
        """, horizon=12, extra=MONTHLY + 'scale = { dist = "fixed", value = 1 }\n')
    benefits = roisim.simulate(scaled, trials=20_000, seed=4).outcomes.pv_benefits[0]
    # npv = scale x benefits - 1,000: mean npv is 0 at 1,000 / mean benefit, and moves by the
    # mean benefit per unit of scale, so the answer is as precise as the mean over that slope
    row = solve(scaled, "inputs.scale.value", 0.1, 3.0, trials=20_000, seed=4).loc["A"]
    assert row["value"] == pytest.approx(1000 / benefits.mean(), rel=1e-9)
    spread = (row["value"] * benefits).std(ddof=1)
    assert row["statistic_half_width"] == pytest.approx(Z * spread / np.sqrt(benefits.size), rel=1e-6)
    assert row["value_half_width"] == pytest.approx(row["statistic_half_width"] / benefits.mean(),
                                                    rel=1e-6)


def test_a_goal_out_of_reach_in_the_range_is_said_with_the_ends():
    from conftest import initiative

    uncertain = initiative(SAVING, horizon=12, extra=MONTHLY)
    table = solve(uncertain, "initiatives[A].costs[Kit].amount", 0, 500, trials=2_000, seed=4)
    row = table.loc["A"]
    assert np.isnan(row["value"]) and row["note"] == "mean npv stays above 0 from 0 to 500"
    assert row["at_low"] > row["at_high"] > 0


@pytest.mark.parametrize("text, message", [
    ("scenario.discount_rate", "expected PLACE=LOW..HIGH"),
    ("scenario.discount_rate=0.2..0.1", "expected LOW below HIGH"),
    ("scenario.discount_rate=a..b", "expected PLACE=LOW..HIGH"),
])
def test_ranges_that_are_not_a_range_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_range(text)


@pytest.mark.parametrize("text, message", [
    ("mean npv", "expected STATISTIC=VALUE"),
    ("P(npv<0)=10", "is a probability: expected a goal between 0 and 1"),
    ("median=0", "unknown statistic 'median'"),
    ("mean npv=zero", "expected a number after '='"),
])
def test_goals_that_are_not_a_goal_are_refused(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_goal(text)


def test_solve_on_the_command_line_prints_each_subjects_break_even(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "roisim", "solve", str(BAKERY), "--set",
         "initiatives[Catering CRM].costs[Subscription].amount=100..2000", "--subject", "Catering CRM",
         "--trials", "4000", "--seed", "2"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with pytest.warns(roisim.ScenarioWarning):  # the subscription input, no longer used
        table = solve(roisim.load(BAKERY), "initiatives[Catering CRM].costs[Subscription].amount",
                      100, 2000, subjects=["Catering CRM"], trials=4000, seed=2)
    value = table.loc["Catering CRM", "value"]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("│ Catering CRM"))
    from roisim.distributions import number

    assert f" {number(float(f'{value:.4g}'))} " in row and 300 < value < 600
    bad = subprocess.run([sys.executable, "-m", "roisim", "solve", str(BAKERY), "--set",
                          "scenario.discount_rate=0..1", "--subject", "Caterng CRM", "--trials", "10"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert bad.returncode == 2 and "did you mean 'Catering CRM'?" in bad.stderr


def test_a_goal_the_statistic_steps_past_is_said_and_placed_at_the_step():
    from conftest import initiative

    # the kit is paid in month ceil(t): its month moves the npv in steps (about 33 each at 50% a
    # year), never between; the mean's half-width at 2,000 trials is about 3
    stepped = initiative("""
        costs = [{ name = "Kit", amount = 1000, month = 2 }]
        benefits = [{ name = "Saving", amount = "saving", every = "month" }]
        """, horizon=12, rate=0.5, extra=MONTHLY)
    by_month = {}
    for m in range(11):
        document = stepped.document()
        set_value(document, "initiatives[A].costs[Kit].month", m)
        by_month[m] = roisim.simulate(roisim.parse(document), trials=2_000, seed=4).npv("A").mean()
    goal = (by_month[4] + by_month[5]) / 2  # halfway up the step from month 4 to month 5
    row = solve(stepped, "initiatives[A].costs[Kit].month", 0, 10, f"mean npv={goal}",
                trials=2_000, seed=4).loc["A"]
    assert row["value"] == pytest.approx(4.0, abs=0.01)  # 4 is month 4, a hair more month 5
    assert row["value_half_width"] == 0.0  # both sides beyond chance of the goal: a sure step
    assert row["note"].startswith(f"mean npv steps past {goal:g} here, from ")
    # a goal a hair above one side of the step: which step passes it is chance's to say
    near = solve(stepped, "initiatives[A].costs[Kit].month", 0, 10, f"mean npv={by_month[5] + 0.5}",
                 trials=2_000, seed=4).loc["A"]
    assert np.isnan(near["value_half_width"]) and "more trials would tell" in near["note"]


def test_a_whole_number_place_is_searched_in_whole_numbers(bakery):
    # the horizon: the first whole month at which the CRM's mean npv reaches 0
    table = solve(bakery, "scenario.horizon_months", 12, 60, trials=4_000, seed=2,
                  subjects=["Catering CRM"])
    row = table.loc["Catering CRM"]
    value = int(row["value"])
    assert row["value"] == value and 12 < value <= 60
    means = {}
    for horizon in (value - 1, value):
        document = bakery.document()
        document["scenario"]["horizon_months"] = horizon
        variant = roisim.parse(document, source=bakery.source)
        means[horizon] = roisim.simulate(variant, trials=4_000, seed=2).npv("Catering CRM").mean()
    assert means[value - 1] < 0 <= means[value]
    assert row["note"].startswith("scenario.horizon_months takes whole numbers: mean npv steps past 0")
