"""What a run says in words: the printed sentences and report.html."""

from __future__ import annotations

import html
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli
from conftest import SCENARIOS, initiative, initiatives, scenario
from scipy import stats

import roisim
from roisim.metrics import headline
from roisim.output import write_results
from roisim.report import (
    _readable,
    assumptions,
    correlation_table,
    describe_value,
    figure,
    gate_notes,
    head_to_head,
    input_name,
    measure_next,
    risk_table,
    worst_decile,
)

INPUTS = """
[inputs]
saving = { dist = "normal", mean = 100, sd = 10 }
noise = { dist = "uniform", min = 0, max = 1 }
"""
FEE = 'costs = [{ name = "fee", amount = 900, month = 0 }, { name = "n", amount = ["noise", 0], month = 0 }]\n'


def test_the_worst_trials_line_says_how_often_a_risk_struck():
    risky = initiative(FEE + """
        benefits = [{ name = "time", amount = "saving", every = "month" }]
        risks = [{ name = "Outage", probability = 0.2, cost = 1_000 }]
        """, horizon=12, extra=INPUTS)
    result = roisim.simulate(risky, trials=20_000, seed=1)
    row = result.sensitivity("A").loc["risk:A:Outage"]
    # the outage (1,000) outweighs any month's spread of the saving (sd 10 a month):
    # every trial of the worst decile has it, and nothing else is shifted as far
    assert row["input_mean_worst_decile"] == 1.0
    line = worst_decile(result)
    assert line.startswith(f"In the worst 10% of trials of A: Outage struck in 100% "
                           f"(all trials: {row['input_mean']:.0%}); saving ")
    assert "noise" not in line


@pytest.mark.filterwarnings("ignore::roisim.ScenarioWarning")  # saving is unused here
def test_the_worst_trials_line_when_nothing_sets_them_apart():
    flat = initiative(FEE + 'benefits = [{ name = "time", amount = 100, every = "month" }]\n',
                      horizon=12, extra=INPUTS)
    result = roisim.simulate(flat, trials=2_000, seed=1)
    assert worst_decile(result) == ("The worst 10% of trials of A have no input half a "
                                    "standard deviation or more from its mean.")



def test_when_every_subject_loses_the_best_choice_is_to_do_nothing():
    losing = initiative(FEE + 'benefits = [{ name = "time", amount = "saving", every = "month" }]\n',
                        horizon=6, extra=INPUTS)  # 900 against six months of about 100
    result = roisim.simulate(losing, trials=2_000, seed=1)
    assert result.npv("A").max() < 0 and result.value_of_information()["default_choice"].iloc[0] is None
    assert measure_next(result) == ("Best choice now: none of them (no expected npv is above 0, what "
                                    "doing nothing is worth). No single input is worth measuring "
                                    "first (EVPI 0 USD).")


def test_the_ranking_says_never_for_a_subject_that_never_pays_back(tmp_path):
    losing = initiative(FEE + 'benefits = [{ name = "time", amount = "saving", every = "month" }]\n',
                        horizon=6, extra=INPUTS)
    result = roisim.simulate(losing, trials=2_000, seed=1)
    assert result.ranking().loc["A", "median_payback_month"] == np.inf
    page = read_page(write_results(result, tmp_path, charts=False) / "report.html")
    text = " ".join(" ".join(page.text).split())
    ranking = text[text.index("Ranking"):text.index("Assumptions")]
    assert "never" in ranking  # was a blank cell, where the outcomes table said "never"


def test_the_report_lists_the_inputs_worth_measuring_and_counts_the_others(tmp_path):
    result = roisim.simulate(roisim.load(SCENARIOS / "ecommerce_pick_automation.toml"),
                             trials=4000, seed=1)
    table = result.value_of_information()
    worth = table[table["evppi"] > 0]
    assert 0 < len(worth) < len(table) - 1
    page = read_page(write_results(result, tmp_path, charts=False) / "report.html")
    text = " ".join(" ".join(page.text).split())
    section = text[text.index("What to measure next"):text.index("Files")]
    assert [name for name in table.index if input_name(result, name) in section] == list(worth.index)
    assert (f"The other {len(table) - len(worth)} inputs (of {len(table)}) would not change the best "
            "choice if known: their EVPPI is 0") in section
    # where no input is worth anything, the sentence alone
    losing = initiative(FEE + 'benefits = [{ name = "time", amount = "saving", every = "month" }]\n',
                        horizon=6, extra=INPUTS)
    page = read_page(write_results(roisim.simulate(losing, trials=2_000, seed=1), tmp_path,
                                   charts=False) / "report.html")
    text = " ".join(" ".join(page.text).split())
    section = text[text.index("What to measure next"):text.index("Files")]
    assert "evppi_share" not in section
    assert "None of the 2 inputs would change the best choice if known: their EVPPI is 0" in section


def test_a_subject_named_none_is_not_mistaken_for_doing_nothing():
    result = roisim.simulate(initiatives(["other", "none"]), trials=2_000, seed=1)
    assert result.summary().loc["none", "npv_mean"] == result.summary()["npv_mean"].max() > 0
    assert result.value_of_information()["default_choice"].iloc[0] == "none"
    assert measure_next(result).startswith("Best choice now: none. ")


@pytest.mark.parametrize(("value", "text"), [
    (16_812.4, "16,800"), (-16_812.4, "-16,800"), (0.6254, "0.625"), (4.364, "4.36"),
    (999.7, "1,000"), (0.000123456, "0.000123"), (123.0, "123"), (0.0, "0")])
def test_figures_keep_three_significant_digits(value, text):
    assert figure(value) == text


class Page(HTMLParser):
    """The parts of a page the tests read; fails on a closing tag that closes nothing open."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(str(found["src"]))
        if tag == "a":
            self.links.append(str(found["href"]))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert page.open == [], page.open  # every element closed
    return page


@pytest.fixture(scope="module")
def bakery():
    return roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"), trials=5000,
                           seed=4)


def test_the_report_shows_every_chart_and_links_every_file(bakery, tmp_path):
    folder = write_results(bakery, tmp_path)
    page = read_page(folder / "report.html")
    on_disk = sorted(p.name for p in folder.iterdir())
    charts = [name for name in on_disk if name.endswith(".png")]
    assert sorted(page.images) == charts  # every chart once, and nothing missing
    assert sorted(page.links) == on_disk  # every file, manifest and report included
    text = " ".join(" ".join(page.text).split())
    # the printed sentences and the headline numbers, as the command line prints them
    assert measure_next(bakery) in text and worst_decile(bakery) in text
    for subject, row in headline(bakery.summary()).iterrows():
        assert subject in text and row["E[NPV]"] in text and row["P(loss)"] in text
    gates = pd.read_csv(folder / "gates.csv")
    assert f"{gates['p_fail'].iloc[0]:.1%}" in text and "p_fail_if_judged" in text
    assert "p_fail_se" not in text and "value_of_gates_ci95" in text  # intervals, not se
    for section in ("Head to head", "Assumptions", "Risks", "lognormal p5 8,000, p95 20,000",
                    "Correlations"):
        assert section in text


def test_a_report_without_charts_shows_the_tables_alone(bakery, tmp_path):
    folder = bakery.save(tmp_path, charts=False)  # what write_results writes, from a notebook
    assert folder == tmp_path / "bakery_catering_crm"
    assert {"summary.csv", "trials.parquet", "manifest.json"} <= {p.name for p in folder.iterdir()}
    page = read_page(folder / "report.html")
    assert page.images == []
    assert "Each initiative and plan" not in page.text  # no headings over nothing
    assert sorted(page.links) == sorted(p.name for p in folder.iterdir())


def test_names_are_escaped_in_the_report(tmp_path):
    odd = scenario("""
        [scenario]
        name = '<i>R&D</i> "tools"'
        horizon_months = 12
        [[initiatives]]
        name = '<b>Bots</b> & co'
        costs = [{ name = "fee", amount = 900, month = 0 }]
        benefits = [{ name = "time", amount = { dist = "uniform", min = 50, max = 150 }, every = "month" }]
        """)
    folder = write_results(roisim.simulate(odd, trials=500, seed=1), tmp_path, charts=False)
    source = (folder / "report.html").read_text()
    for name in ('<i>R&D</i> "tools"', "<b>Bots</b> & co"):
        assert name not in source and html.escape(name) in source
    assert "<i>" not in source and "<b>" not in source
    read_page(folder / "report.html")


def test_inputs_are_named_as_a_reader_would_say_them():
    result = roisim.simulate(scenario("""
        [scenario]
        name = "names"
        horizon_months = 24
        [inputs]
        fee = { dist = "uniform", min = 100, max = 200 }
        [[initiatives]]
        name = "Robots"
        adoption = { curve = "linear", ceiling = { dist = "beta", alpha = 8, beta = 2 }, ramp_months = 3 }
        costs = [{ name = "Lease", amount = [2, { dist = "uniform", min = 900, max = 1100 }], every = "month" }]
        benefits = [{ name = "Time", amount = 3_000, every = "month" }]
        risks = [{ name = "Aisles too narrow", probability = 0.3, cost = "fee" }]
        [[plans]]
        name = "Pilot"
        phases = [{ initiative = "Robots", start_month = 0, share = 0.5 },
                  { initiative = "Robots", start_month = { dist = "uniform", min = 6, max = 9 }, share = 0.5 }]
        """), trials=100, seed=1)
    said = {label: input_name(result, label) for label in result.inputs(1).columns}
    assert said == {"fee": "fee",
                    "initiatives[0].adoption.ceiling": "adoption ceiling (Robots)",
                    "initiatives[0].costs[0].amount[1]": "Lease amount (Robots)",
                    "risk:Robots:Aisles too narrow": "Aisles too narrow (risk)",
                    "plans[0].phases[1].start_month": "phase 2 start month (Pilot)"}
    # the assumptions list every input but the risks, which have a table of their own
    assert list(assumptions(result).index) == [name for name in said.values()
                                               if not name.endswith("(risk)")]


def test_a_risk_name_two_initiatives_share_is_named_with_its_initiative():
    blocks = "".join(f"""
        [[initiatives]]
        name = "{name}"
        costs = [{{ name = "fee", amount = 900, month = 0 }}]
        benefits = [{{ name = "time", amount = 100, every = "month" }}]
        risks = [{{ name = "{risk}", probability = 0.2, cost = 500 }}]
        """ for name, risk in [("Crm: cloud", "Late"), ("Crm: on site", "Late"), ("Robots", "Jams")])
    result = roisim.simulate(scenario('[scenario]\nname = "risks"\nhorizon_months = 12\n' + blocks),
                             trials=100, seed=1)
    assert [input_name(result, label) for label in result.inputs(1).columns] == [
        "Late (risk, Crm: cloud)", "Late (risk, Crm: on site)", "Jams (risk)"]


def test_the_assumptions_state_each_input_and_what_was_drawn(bakery):
    table = assumptions(bakery)
    # the named inputs, then what is written in place: the go-live month here
    assert list(table.index) == [*bakery.scenario.inputs, "go live month (Catering CRM)"]
    assert table.loc["go live month (Catering CRM)", "stated"] == "triangular min 1, mode 2, max 4"
    assert table.loc["setup_cost", "stated"] == "lognormal p5 8,000, p95 20,000"
    assert table.loc["hourly_wage", "stated"] == "normal mean 28, sd 3, at least 15"
    drawn = bakery.analysis_inputs()
    assert table.loc["setup_cost", "mean"] == pytest.approx(drawn["setup_cost"].mean())
    assert table.loc["setup_cost", "p95"] == pytest.approx(np.percentile(drawn["setup_cost"], 95))
    # drawn each month: the percentiles are of months' draws (Poisson(20): 13 and 28), not of
    # the trials' means of months (about 18.8 and 21.3 over 36 months)
    assert table.loc["extra_orders", "drawn"] == "each month"
    months = pd.concat([bakery.monthly_inputs(trial)["extra_orders"] for trial in range(200)])
    assert months.size == 200 * 36
    assert list(table.loc["extra_orders", ["p5", "p95"]]) == list(np.percentile(months, [5, 95]))
    assert abs(table.loc["extra_orders", "p5"] - stats.poisson.ppf(0.05, 20)) <= 1
    assert abs(table.loc["extra_orders", "p95"] - stats.poisson.ppf(0.95, 20)) <= 1


def test_the_risks_say_how_often_they_struck(bakery):
    table = risk_table(bakery)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["initiative"], row["risk"], row["probability"]) == (
        "Catering CRM", "Integration failure", "0.15")
    assert row["p_struck"] == bakery.analysis_inputs()["risk:Catering CRM:Integration failure"].mean()
    assert row["effects"] == "cost rework_cost; delay months 2"


def test_head_to_head_is_the_paired_comparison(bakery):
    matrix = head_to_head(bakery)
    assert list(matrix.index) == list(matrix.columns) == bakery.subjects
    for _, pair in bakery.compare().iterrows():
        assert matrix.loc[pair["a"], pair["b"]] == pair["p_a_beats_b"]
    assert np.isnan(np.diag(matrix.to_numpy())).all()


@pytest.mark.parametrize(("value", "text"), [
    (4000.0, "4,000"), (0.083, "0.083"), ("wms_fee", "wms_fee"),
    (["hours_saved", "hourly_wage", 2.5], "hours_saved × hourly_wage × 2.5")])
def test_values_are_described_as_written(value, text):
    assert describe_value(value) == text


def test_money_that_is_not_zero_is_never_shown_as_zero():
    # the report's value-of-information table lists the inputs whose EVPPI is above 0,
    # under a sentence saying the others' is 0: one of 0.0107 read "0" there
    frame = pd.DataFrame({"evppi": [0.0107, 0.0, 250.4, -0.3], "evppi_se": [0.538, 0.0, 2.0, 0.4]})
    assert _readable(frame, 0).to_dict("list") == {
        "evppi": ["0.0107", "0", "250", "-0.300"], "evppi_se": ["1", "0", "2", "0.400"]}
    assert _readable(frame, 2)["evppi"].tolist() == ["0.01", "0", "250.40", "-0.30"]


GATED = """
    [scenario]
    name = "gated"
    horizon_months = 24
    [inputs]
    gain = {{ dist = "uniform", min = 50, max = 150 }}
    [[initiatives]]
    name = "A"
    costs = [{{ name = "fee", amount = 100, every = "month", from_month = 3 }}]
    benefits = [{{ name = "gain", amount = "gain", every = "month", from_month = 4 }}]
    [[plans]]
    name = "Pilot"
    phases = [
      {{ initiative = "A", start_month = 0, share = 0.2 }},
      {{ initiative = "A", start_month = {month}, share = 0.8, gate = {{ {gate} }} }},
    ]
    """


@pytest.mark.parametrize(("month", "gate", "note"), [
    # the pilot's first fee falls in month 3: judged in month 2, roi_to_date is undefined
    (2, 'metric = "roi_to_date", at_least = 0',
     "plans[0].phases[1].gate: failed in every one of the 3,000 trials that reached it, so that "
     "phase never starts (roi_to_date fails where nothing has been spent before the gate's "
     "month); is the gate's month or threshold meant?"),
    (12, 'metric = "net_cash_to_date", at_least = -1e9',
     "plans[0].phases[1].gate: passed in every one of the 3,000 trials that reached it, so it "
     "changes nothing; is its threshold meant?"),
    (12, 'metric = "adoption", at_most = 1',
     "plans[0].phases[1].gate: passed in every one of the 3,000 trials that reached it, so it "
     "changes nothing (adoption is the share-weighted average of every phase already running, "
     "whatever its initiative); is its threshold meant?"),
    (12, 'metric = "roi_to_date", at_least = 0', None)])  # fails in some trials, not all
def test_a_gate_that_decides_nothing_is_pointed_out(tmp_path, month, gate, note):
    result = roisim.simulate(scenario(GATED.format(month=month, gate=gate)), trials=3000, seed=1)
    assert gate_notes(result, result.gates()) == ([note] if note else [])
    page = " ".join(" ".join(read_page(write_results(result, tmp_path, charts=False)
                                       / "report.html").text).split())
    assert ("Gates that decide nothing" in page) == bool(note)
    if note:
        assert note in page


def test_the_report_says_why_a_discrete_input_draws_less_correlation(tmp_path):
    text = """
        [scenario]
        name = "ties"
        horizon_months = 12
        [inputs]
        licence = { dist = "choice", values = [4_800, 6_000, 7_200], weights = [0.5, 0.3, 0.2] }
        build = { dist = "uniform", min = 8_000, max = 18_000 }
        hours = { dist = "normal", mean = 30, sd = 8 }
        rate = { dist = "uniform", min = 30, max = 50 }
        [[correlations]]
        inputs = ["build", "licence"]
        rank = 0.6
        [[correlations]]
        inputs = ["hours", "rate"]
        rank = 0.5
        [[initiatives]]
        name = "Bot"
        costs = [{ name = "build", amount = "build", month = 0 },
                 { name = "licence", amount = "licence", every = "year" }]
        benefits = [{ name = "time", amount = ["hours", "rate"], every = "month" }]
        """
    result = roisim.simulate(scenario(text), trials=20_000, seed=2)
    table = correlation_table(result).set_index("input_b")
    # the choice's ties keep it short of 0.6, beyond the interval; the continuous pair is not
    assert table.loc["licence", "rank_drawn_hi95"] < 0.6
    assert table.loc["rate", "rank_drawn_lo95"] < 0.5 < table.loc["rate", "rank_drawn_hi95"]
    page = " ".join(" ".join(read_page(write_results(result, tmp_path, charts=False)
                                       / "report.html").text).split())
    assert "Correlations" in page
    assert (" licence is discrete: many trials draw the same value, and such ties cap the rank "
            "correlation it can reach, so the trials draw less than stated.") in page  # the continuous inputs not named


@pytest.mark.filterwarnings("ignore::roisim.ScenarioWarning")  # demand: declared, not used
def test_a_distribution_is_described_by_the_keys_its_file_uses():
    # pert's lambda is 'lambda_' in Python (a keyword): it was written "lambda_ 3"
    document = tomli.loads((SCENARIOS / "bakery_catering_crm.toml").read_text())
    document["inputs"]["subscription"]["lambda"] = 3
    document["inputs"]["demand"] = {"dist": "empirical", "file": "data/monthly_orders.csv",
                                    "column": "orders"}
    inputs = roisim.parse(document, source=SCENARIOS / "bakery_catering_crm.toml").inputs
    assert describe_value(inputs["subscription"]) == "pert min 150, mode 200, max 320, lambda 3"
    assert describe_value(inputs["demand"]) == (
        "empirical file data/monthly_orders.csv, column orders (36 values)")


def test_results_without_charts_load_no_matplotlib(tmp_path):
    # matplotlib takes most of a second to import: a run with --no-charts, report included,
    # must not pay for it
    code = f"""
import sys, roisim
result = roisim.simulate(roisim.load({str(SCENARIOS / "bakery_catering_crm.toml")!r}), trials=500)
result.save({str(tmp_path)!r}, charts=False)
assert "matplotlib" not in sys.modules, "matplotlib was imported"
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bakery_catering_crm" / "report.html").is_file()
