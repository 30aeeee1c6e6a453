"""Every mistake a scenario author can make gets one exact, actionable message.

Each file in tests/bad_scenarios/ starts with ``# expect: <message>``: the
message it must produce after ``<file>: ``.
"""

from __future__ import annotations

import copy
import html
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import roisim
from roisim.distributions import number

FOLDER = ROOT / "tests" / "bad_scenarios"
FILES = sorted(FOLDER.glob("*.toml"))


def expected(path: Path) -> str:
    first = path.read_text().split("\n", 1)[0]
    assert first.startswith("# expect: "), path
    return first[len("# expect: "):]


def test_there_are_at_least_forty():
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_exact_message(path):
    with pytest.raises(roisim.ScenarioError) as caught:
        roisim.load(path)
    assert str(caught.value) == f"{path}: {expected(path)}"


def test_a_file_not_saved_as_utf8_is_named_where_its_first_odd_byte_is(tmp_path):
    # a Windows editor's "ANSI" (cp1252) file: é is the byte 0xe9
    path = tmp_path / "cafe.toml"
    text = (ROOT / "scenarios" / "bakery_catering_crm.toml").read_text()
    path.write_bytes(text.replace('name = "Catering CRM"', 'name = "Café CRM"').encode("cp1252"))
    line = next(k for k, row in enumerate(text.splitlines(), 1) if 'name = "Catering CRM"' in row)
    with pytest.raises(roisim.ScenarioError) as caught:
        roisim.load(path)
    assert str(caught.value) == (f"{path}: line {line}, column 12: byte 0xe9 is not UTF-8 text; "
                                 "expected the file saved as UTF-8")


def test_the_column_of_an_odd_byte_counts_characters(tmp_path):
    # UTF-8 text with one stray cp1252 byte (ü) after a two-byte character (é)
    path = tmp_path / "mixed.toml"
    path.write_bytes('# note\nname = "Café '.encode() + b"\xfc" + b'"\n')
    with pytest.raises(roisim.ScenarioError, match=r"line 2, column 14: byte 0xfc is not UTF-8"):
        roisim.load(path)


def test_loading_a_folder_says_so(tmp_path):
    with pytest.raises(roisim.ScenarioError, match=r": is a folder; expected one scenario file "
                                                   r"\(roisim run and roisim validate take folders\)"):
        roisim.load(tmp_path)


def test_a_byte_order_mark_is_skipped(tmp_path):
    # some Windows editors start UTF-8 files with one; TOML parsers take it for a statement
    source = ROOT / "scenarios" / "bakery_catering_crm.toml"
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    assert (roisim.load(path).model_dump(exclude={"source"})
            == roisim.load(source).model_dump(exclude={"source"}))


def test_whole_numbers_may_be_written_as_floats_without_a_fraction(tmp_path):
    # TOML reads 1e6 and 36.0 as floats; an analyst means the whole numbers
    source = ROOT / "scenarios" / "bakery_catering_crm.toml"
    text = source.read_text()
    assert "trials = 1_000_000" in text and "horizon_months = 36" in text
    path = tmp_path / "floats.toml"
    path.write_text(text.replace("trials = 1_000_000", "trials = 1e6")
                    .replace("horizon_months = 36", "horizon_months = 36.0"))
    loaded = roisim.load(path)
    assert loaded.scenario.trials == 1_000_000 and type(loaded.scenario.trials) is int
    assert loaded.model_dump(exclude={"source"}) == roisim.load(source).model_dump(exclude={"source"})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "roisim", *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"}, timeout=600)


@pytest.mark.parametrize("command", ["run", "validate"])
def test_the_command_line_reports_each_once_and_writes_nothing(command, tmp_path):
    out = tmp_path / "results"
    args = [command, str(FOLDER)] + (["--out", str(out)] if command == "run" else [])
    proc = _cli(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for path in FILES:
        line = f"error: {path}: {expected(path)}"
        assert proc.stderr.count(line) == 1, line
    verb = "simulated" if command == "run" else "valid"
    assert proc.stderr.strip().endswith(f"0 scenarios {verb}, {len(FILES)} failed.")
    assert not out.exists() or not any(out.iterdir())


BASE = tomli.loads((ROOT / "tests" / "data" / "format_example.toml").read_text())

leaves = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


ALL_PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated(draw):
    document = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "rename"]))
            if action == "replace":
                parent[path[-1]] = draw(leaves)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(max_size=10))] = parent.pop(path[-1])
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    return document


@pytest.mark.filterwarnings("ignore::roisim.ScenarioWarning")  # a mutated rate may well be 8
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_only_raise_scenario_error(document):
    try:
        roisim.parse(document, source="mutated.toml")
    except roisim.ScenarioError as exc:
        assert str(exc).startswith("mutated.toml: ")
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), leaves, max_size=5))
def test_random_documents_only_raise_scenario_error(document):
    with pytest.raises(roisim.ScenarioError):
        roisim.parse(document, source="random.toml")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_only_raises_scenario_error(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "random.toml"
    path.write_text(text)
    try:
        roisim.load(path)
    except roisim.ScenarioError:
        pass


def _with_rates(discount_rate: float, growth: object) -> dict:
    document = copy.deepcopy(BASE)
    document["scenario"]["discount_rate"] = discount_rate
    document["initiatives"][0]["benefits"][0]["growth_per_year"] = growth
    return document


GROWTH = "initiatives[0].benefits[0].growth_per_year"


@pytest.mark.parametrize(("discount_rate", "growth", "message"), [
    (8, 0.05, "scenario.discount_rate: a discount rate of 8 is 800% a year; rates are fractions "
              "(0.08 for 8%): is 0.08 meant?"),
    (0.08, 5, f"{GROWTH}: growth of 5 is 500% a year; rates are fractions (0.08 for 8%): is 0.05 meant?"),
    (0.08, {"dist": "uniform", "min": 2, "max": 8},
     f"{GROWTH}: growth of 2 or more is at least 200% a year; rates are fractions (0.08 for 8%)"),
])
def test_a_rate_written_as_a_percentage_loads_with_a_warning(discount_rate, growth, message):
    with pytest.warns(roisim.ScenarioWarning) as caught:
        scenario = roisim.parse(_with_rates(discount_rate, growth), source="pct.toml")
    assert [str(w.message) for w in caught] == [f"pct.toml: {message}"]
    assert scenario.scenario.discount_rate == discount_rate  # run as written


@pytest.mark.parametrize(("discount_rate", "growth"), [
    (1.0, 1.0), (0.08, {"dist": "uniform", "min": 0.5, "max": 3}), (10, -0.5)])
def test_rates_of_up_to_100_percent_or_that_may_be_are_not_warned_of(discount_rate, growth):
    if discount_rate > 1:  # the one warning is of the discount rate, not of the growth
        with pytest.warns(roisim.ScenarioWarning, match="scenario.discount_rate") as caught:
            roisim.parse(_with_rates(discount_rate, growth), source="pct.toml")
        assert len(caught) == 1
    else:
        roisim.parse(_with_rates(discount_rate, growth), source="pct.toml")  # warnings are errors here


@pytest.mark.parametrize(("where", "amount", "message"), [
    (("costs", 0), -8000, "a cost of -8,000 is income; amounts are written as positive numbers "
                          "(is 8,000 meant?)"),
    (("costs", 1), {"dist": "uniform", "min": -300, "max": -100},
     "a cost negative in every trial is income; amounts are written as positive numbers"),
    (("benefits", 0), ["hours_saved", "hourly_wage", -1],
     "a benefit negative in every trial is a cost; amounts are written as positive numbers"),
    (("benefits", 1), ["extra_orders", -12],  # poisson orders may be 0
     "a benefit that is never positive is a cost wherever it is not 0; amounts are written as "
     "positive numbers"),
    (("risks", 0), -500, "a risk's cost of -500 is income; amounts are written as positive numbers "
                         "(is 500 meant?)"),
])
def test_a_cash_flow_that_is_never_positive_loads_with_a_warning(where, amount, message):
    document = copy.deepcopy(BASE)
    kind, k = where
    document["initiatives"][0][kind][k]["cost" if kind == "risks" else "amount"] = amount
    with pytest.warns(roisim.ScenarioWarning) as caught:
        roisim.parse(document, source="sign.toml")
    location = f"initiatives[0].{kind}[{k}].{'cost' if kind == 'risks' else 'amount'}"
    # (and of the inputs the replaced amount used, which no value uses now)
    assert [str(w.message) for w in caught if ": inputs." not in str(w.message)] == [
        f"sign.toml: {location}: {message}"]


def test_amounts_that_may_be_positive_are_not_warned_of():
    document = copy.deepcopy(BASE)
    document["initiatives"][0]["costs"][0]["amount"] = {"dist": "normal", "mean": 100, "sd": 300}
    document["initiatives"][0]["benefits"][0]["amount"] = 0
    with pytest.warns(roisim.ScenarioWarning) as caught:
        roisim.parse(document, source="sign.toml")
    assert {str(w.message).split(": ")[1] for w in caught} == {  # of the inputs left unused alone
        "inputs.setup_cost", "inputs.hours_saved", "inputs.hourly_wage"}


def test_an_input_no_value_uses_loads_with_a_warning():
    document = copy.deepcopy(BASE)
    document["inputs"]["price_rise"] = {"dist": "uniform", "min": 0, "max": 0.08}
    document["correlations"].append({"inputs": ["price_rise", "adoption"], "rank": 0.3})
    with pytest.warns(roisim.ScenarioWarning) as caught:
        roisim.parse(document, source="unused.toml")  # a correlation is not a use
    assert [str(w.message) for w in caught] == [
        "unused.toml: inputs.price_rise: no value uses this input, so it changes nothing; name it "
        "where it applies, or remove it"]
    for example in [*(ROOT / "scenarios").glob("*.toml"), ROOT / "tests/data/format_example.toml"]:
        roisim.load(example)  # not one warning: warnings are errors here


def test_the_results_keep_the_warnings(tmp_path):
    document = copy.deepcopy(BASE)
    document["scenario"]["discount_rate"] = 8
    document["inputs"]["price_rise"] = {"dist": "uniform", "min": 0, "max": 0.08}
    with pytest.warns(roisim.ScenarioWarning):
        scenario = roisim.parse(document, source="kept.toml")
    said = ["scenario.discount_rate: a discount rate of 8 is 800% a year; rates are fractions "
            "(0.08 for 8%): is 0.08 meant?",
            "inputs.price_rise: no value uses this input, so it changes nothing; name it where it "
            "applies, or remove it"]
    assert scenario.warnings == said
    folder = roisim.simulate(scenario, trials=1000, seed=1).save(tmp_path, charts=False)
    assert json.loads((folder / "manifest.json").read_text())["warnings"] == said
    page = (folder / "report.html").read_text()
    assert all(html.escape(text) in page for text in said)
    assert roisim.load(ROOT / "tests/data/format_example.toml").warnings == []


def test_the_command_line_prints_the_warning_and_runs(tmp_path):
    path = tmp_path / "pct.toml"
    path.write_text((ROOT / "tests" / "data" / "format_example.toml").read_text()
                    .replace("discount_rate = 0.08", "discount_rate = 8"))
    proc = _cli("validate", str(path))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert proc.stdout == f"{path}: ok (1 initiative, 2 plans), with 1 warning\n"
    assert proc.stderr.splitlines()[0] == (
        f"warning: {path}: scenario.discount_rate: a discount rate of 8 is 800% a year; rates are "
        "fractions (0.08 for 8%): is 0.08 meant?")


@pytest.mark.parametrize(("value", "quoted"), [
    (0.99999999, "0.99999999"),  # ":g" printed 1: "truncating to [1, 1]"
    (1234567.5, "1,234,567.5"),  # ":g" printed 1.23457e+06
    (25_000_000, "25,000,000"),
    (8000.0, "8,000"),
    (-1234.25, "-1,234.25"),
    (0.1 + 0.2, "0.30000000000000004"),
    (1e-20, "1e-20"),
    (math.inf, "inf"),
])
def test_messages_quote_numbers_with_every_digit(value, quoted):
    assert number(value) == quoted
    if math.isfinite(value):
        assert float(quoted.replace(",", "")) == value


@pytest.mark.parametrize(("written", "hint"), [
    ("1500", "write 1500 without quotes"),
    ("1_500", "write 1_500 without quotes"),
    (" -2.5e3 ", "write -2.5e3 without quotes"),
    ("1.500,5", "write 1500.5, without quotes (TOML's decimal mark is .)"),
    ("12,5", "write 12.5, without quotes (TOML's decimal mark is .)"),
    ("2,5 %", "a percentage in quotes is read as an input's name: write the share 0.025, without quotes"),
    ("1500 €", "write 1500, without quotes or currency sign"),
    ("-£20", "write -20, without quotes or currency sign"),
])
def test_a_number_written_as_a_spreadsheet_shows_it_is_told_how_toml_writes_it(written, hint):
    from roisim.distributions import quoted_number

    assert hint in quoted_number(written)


@pytest.mark.parametrize("written", ["setup_cost", "$", "%", "-", "nan", "inf", "12,34,5", "1,5,0"])
def test_names_that_are_no_number_get_no_such_hint(written):
    from roisim.distributions import quoted_number

    assert quoted_number(written) == ""
