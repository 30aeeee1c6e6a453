"""The command line end to end, in a subprocess, with its exit codes and files."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import SCENARIOS, initiative_text

from roisim.cli import Terminated, interruption
from roisim.output import sha256
from roisim.report import figure

BAKERY = SCENARIOS / "bakery_catering_crm.toml"


def roisim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "roisim", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def bakery_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    proc = roisim("run", str(BAKERY), "--trials", "20000", "--seed", "3", "--out", str(out))
    return proc, out / "bakery_catering_crm"


def test_run_exits_0_and_prints_a_summary(bakery_run):
    proc, _ = bakery_run
    assert proc.returncode == 0, proc.stderr
    assert "Corner bakery: catering CRM" in proc.stdout
    assert "Catering CRM" in proc.stdout and "P(loss)" in proc.stdout
    assert proc.stderr.strip().endswith("1 scenario simulated, 0 failed.")
    assert "Traceback" not in proc.stderr
    folder = out_folder(proc)
    assert (folder / "report.html").is_file()


def out_folder(proc: subprocess.CompletedProcess[str]) -> Path:
    """The results folder a run says it wrote, with the report to start with."""
    found = re.search(r"^wrote (.+); start with (.+)$", proc.stderr, re.MULTILINE)
    assert found and Path(found[2]) == Path(found[1]) / "report.html", proc.stderr
    return Path(found[1])


def test_run_names_what_to_measure_and_what_the_worst_trials_share(bakery_run):
    proc, folder = bakery_run
    printed = " ".join(proc.stdout.split())  # the console wraps long lines
    voi = pd.read_csv(folder / "value_of_information.csv", index_col=0)
    worth = voi[voi["evppi"] > 2 * voi["evppi_se"]].head(3)
    assert len(worth) == 3
    names = ", ".join(f"{name}: {value:,.0f}" for name, value in worth["evppi"].items())
    assert (f"Best choice now: Catering CRM. Perfect information is worth "
            f"{voi['evpi'].iloc[0]:,.0f} USD; measure first: {names}.") in printed
    table = pd.read_csv(folder / "sensitivity.csv", index_col=[0, 1]).loc["Catering CRM"]
    shift = table["worst_decile_shift"].abs()
    far = table.loc[shift[shift >= 0.5].sort_values(ascending=False).index[:3]]
    assert len(far) == 3
    parts = [f"{name} {figure(row['input_mean_worst_decile'])} "
             f"(all trials: {figure(row['input_mean'])})" for name, row in far.iterrows()]
    assert f"In the worst 10% of trials of Catering CRM: {'; '.join(parts)}." in printed


def test_a_scenario_without_inputs_runs_and_says_nothing_is_uncertain(tmp_path):
    # every amount fixed: every trial is the same, and no table or chart of inputs is empty
    path = tmp_path / "fixed.toml"
    path.write_text(initiative_text("""
        costs = [{ name = "fee", amount = 900, month = 0 }]
        benefits = [{ name = "time", amount = 100, every = "month" }]
        """, horizon=12))
    proc = roisim("run", str(path), "--trials", "1000", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "Best choice now: A. Nothing is uncertain, so nothing is worth measuring." in proc.stdout
    assert "worst 10%" not in proc.stdout
    folder = tmp_path / "out" / "fixed"
    assert not list(folder.glob("tornado_*.png")) and not (folder / "value_of_information.png").exists()
    assert not (folder / "inputs.png").exists()
    assert pd.read_csv(folder / "sensitivity.csv").empty
    summary = pd.read_csv(folder / "summary.csv", index_col=0)
    assert summary.loc["A", "npv_sd"] == 0.0 and summary.loc["A", "npv_mean"] == 300.0


def test_a_gate_that_fails_in_every_trial_is_warned_of(tmp_path):
    # judged in month 2, before the first fee: roi_to_date is undefined and fails
    path = tmp_path / "gated.toml"
    path.write_text(initiative_text("""
        costs = [{ name = "fee", amount = 100, every = "month", from_month = 3 }]
        benefits = [{ name = "gain", amount = 150, every = "month", from_month = 4 }]
        """, horizon=12) + """
[[plans]]
name = "Pilot"
phases = [{ initiative = "A", share = 0.2 },
          { initiative = "A", start_month = 2, share = 0.8,
            gate = { metric = "roi_to_date", at_least = 0 } }]
""")
    proc = roisim("run", str(path), "--trials", "500", "--no-charts", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert (f"warning: {path}: plans[0].phases[1].gate: failed in every one of the 500 trials "
            "that reached it, so that phase never starts") in proc.stderr


def test_run_writes_every_file(bakery_run):
    _, folder = bakery_run
    names = {p.name for p in folder.iterdir()}
    assert {"summary.csv", "summary.json", "trials.parquet", "manifest.json", "npv_cdf.png",
            "payback_curve.png", "cash_fan.png", "roi_hist_catering_crm.png"} <= names
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_every_table_opens_in_excel_with_its_accents_and_in_pandas_as_before(tmp_path):
    # Excel reads a CSV without a byte-order mark in the system's code page: "trÃ¤gt"
    text = initiative_text("""
        costs = [{ name = "fee", amount = 100, every = "month" }]
        benefits = [{ name = "gain", amount = { dist = "uniform", min = 50, max = 200 }, every = "month" }]
        """, horizon=12).replace('name = "A"', 'name = "Kasse für Café"')
    text += ('\n[[plans]]\nname = "Erst prüfen"\nphases = [{ initiative = "Kasse für Café", '
             'start_month = 0, share = 0.5 }, { initiative = "Kasse für Café", start_month = 3, '
             'share = 0.5, gate = { metric = "net_cash_to_date", at_least = -1000 } }]\n')
    path = tmp_path / "cafe.toml"
    path.write_text(text, encoding="utf-8")
    proc = roisim("run", str(path), "--out", str(tmp_path / "out"), "--trials", "2000", "--no-charts")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "out" / "cafe"
    tables = sorted(folder.glob("*.csv"))
    assert {t.name for t in tables} == {"summary.csv", "sensitivity.csv", "value_of_information.csv",
                                        "gates.csv", "comparison.csv", "ranking.csv"}
    for table in tables:
        raw = table.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1, table.name
        assert "Café" in raw.decode("utf-8-sig") or table.name == "value_of_information.csv"
        assert not pd.read_csv(table).columns[0].startswith("\ufeff"), table.name
    assert list(pd.read_csv(folder / "ranking.csv", index_col=0).index) == ["Kasse für Café", "Erst prüfen"]


def test_trials_parquet_holds_every_trial_of_every_subject(bakery_run):
    _, folder = bakery_run
    table = pq.read_table(folder / "trials.parquet").to_pandas()
    assert len(table) == 3 * 20_000
    assert set(table["subject"]) == {"Catering CRM", "All at once",
                                     "Pilot, then roll out if adopted"}
    one = table[table["subject"] == "Catering CRM"]
    assert (one["trial"].to_numpy() == range(20_000)).all()
    assert one["payback_month"].isna().any() and one["payback_month"].notna().any()
    # the file alone says which run wrote it and what its columns hold, money in its currency
    schema = pq.read_schema(folder / "trials.parquet")
    run = json.loads(schema.metadata[b"roisim"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {key: run[key] for key in ("scenario_name", "seed", "trials", "sampling", "currency",
                                      "horizon_months", "roisim_version")} == {
        key: manifest[key] for key in ("scenario_name", "seed", "trials", "sampling", "currency",
                                       "horizon_months", "roisim_version")}
    assert run["discount_rate"] == 0.08
    notes = {field.name: field.metadata[b"description"].decode() for field in schema}
    assert set(notes) == set(table.columns)
    assert notes["npv"].endswith("[USD]") and "null where none" in notes["irr"]


def test_summary_and_manifest(bakery_run):
    _, folder = bakery_run
    summary = pd.read_csv(folder / "summary.csv", index_col=0)
    assert list(summary.index) == ["Catering CRM", "All at once", "Pilot, then roll out if adopted"]
    assert {"npv_mean", "npv_mean_se", "p_loss", "cvar5_npv", "p_payback_within_36"} <= set(summary)
    records = json.loads((folder / "summary.json").read_text())
    assert records[0]["subject"] == "Catering CRM"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == sha256(BAKERY)
    assert (manifest["seed"], manifest["trials"]) == (3, 20_000)
    assert manifest["roisim_version"] and manifest["wall_time_s"] > 0


def test_bad_input_exits_2_with_one_message_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAKERY.read_text().replace('amount = "subscription"', 'amount = "subscriptoin"'))
    out = tmp_path / "results"
    proc = roisim("run", str(bad), "--out", str(out))
    assert proc.returncode == 2
    assert f"{bad}: initiatives[0].costs[1].amount: unknown input 'subscriptoin'; did you mean " \
           "'subscription'?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_two_files_of_one_name_do_not_share_a_results_folder(tmp_path):
    # a/bakery.toml and b/bakery.toml would both write results/bakery: the second would
    # silently replace the first; a file named twice runs once
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(BAKERY, tmp_path / sub / "bakery.toml")
    first, second = tmp_path / "a" / "bakery.toml", tmp_path / "b" / "bakery.toml"
    out = tmp_path / "results"
    proc = roisim("run", str(first), str(tmp_path / "a"), str(second), "--trials", "2000",
                  "--no-charts", "--out", str(out))
    assert proc.returncode == 2
    assert (f"error: {second}: its results would replace those of {first} in {out / 'bakery'}, "
            "written by this same run") in proc.stderr
    assert proc.stdout.count("Corner bakery: catering CRM") == 1
    assert proc.stderr.strip().endswith("1 scenario simulated, 1 failed.")
    manifest = json.loads((out / "bakery" / "manifest.json").read_text())
    assert manifest["scenario_file"] == str(first)
    proc = roisim("validate", str(first), str(tmp_path / "a"))
    assert proc.returncode == 0 and proc.stdout.count("bakery.toml: ok") == 1


def test_a_batch_carries_on_past_a_bad_scenario(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(BAKERY, folder / "a_good.toml")
    (folder / "b_bad.toml").write_text("[scenario\n")
    out = tmp_path / "results"
    proc = roisim("run", str(folder), "--trials", "2000", "--out", str(out))
    assert proc.returncode == 2
    assert "b_bad.toml: line 1, column 10: invalid TOML" in proc.stderr
    assert proc.stderr.strip().endswith("1 scenario simulated, 1 failed.")
    assert (out / "a_good" / "summary.csv").exists()
    assert not (out / "b_bad").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc, where no folder can be made")
def test_unwritable_output_exits_1():
    # a folder that cannot be made, even by root (a file in the way is bad input: exit 2)
    proc = roisim("run", str(BAKERY), "--trials", "1000", "--out", "/proc/self/roisim-results")
    assert proc.returncode == 1
    assert "cannot write results to" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate(tmp_path):
    proc = roisim("validate", str(SCENARIOS))
    assert proc.returncode == 0, proc.stderr
    assert "bakery_catering_crm.toml: ok" in proc.stdout
    missing = roisim("validate", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_help_documents_exit_codes():
    proc = roisim("run", "--help")
    assert proc.returncode == 0
    assert "Exit codes: 0" in proc.stdout and "2 bad input" in proc.stdout


# 2000.00000000000001 is 2000 as a float: read as written, it is not whole
@pytest.mark.parametrize("trials", ["0", "1.5", "1,5", "ten", "inf", "1e-400", "2000.00000000000001"])
def test_a_trial_count_that_is_not_a_whole_number_exits_2(trials, tmp_path):
    proc = roisim("run", str(BAKERY), "--trials", trials, "--out", str(tmp_path))
    assert proc.returncode == 2
    assert f"expected a whole number of trials of at least 1, such as 1000000, 1_000_000 or 1e6; " \
           f"got '{trials}'" in proc.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("trials", ["10000000001", "1e19", "1e400", "1e1000000000"])
def test_a_trial_count_beyond_a_scenario_files_limit_exits_2(trials, tmp_path):
    proc = roisim("run", str(BAKERY), "--trials", trials, "--out", str(tmp_path))
    assert proc.returncode == 2
    assert f"expected at most 10,000,000,000 trials, as in a scenario file; got '{trials}'" \
        in proc.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("trials", ["2e3", "2_000", "2,000", "2.000e3"])
def test_trials_may_be_written_as_analysts_write_them(trials, tmp_path):
    proc = roisim("run", str(BAKERY), "--trials", trials, "--no-charts", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "bakery_catering_crm" / "manifest.json").read_text())["trials"] == 2000


def test_until_stops_on_precision_and_records_why(tmp_path):
    proc = roisim("run", str(BAKERY), "--until", "P(npv<0)", "--within", "0.004",
                  "--max-trials", "2000000", "--sampling", "lhs", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "bakery_catering_crm" / "manifest.json").read_text())
    assert manifest["stop_reason"].startswith("precision reached")
    assert manifest["trials"] < 2_000_000 and manifest["sampling"] == "lhs"
    assert (tmp_path / "bakery_catering_crm" / "convergence.png").exists()
    assert "warning" not in proc.stderr


def test_until_warns_where_the_most_trials_were_not_enough(tmp_path):
    proc = roisim("run", str(BAKERY), "--until", "p5 npv", "--within", "0.01", "--max-trials",
                  "5000", "--no-charts", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    reason = json.loads((tmp_path / "bakery_catering_crm" / "manifest.json").read_text())["stop_reason"]
    assert reason.startswith("reached the most trials allowed (5,000) before the precision asked for: "
                             "the 95% half-width of p5 npv is ")
    assert f"warning: {BAKERY}: {reason}; raise --max-trials, or ask for a wider --within" in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--until", "median", "--within", "1"], "--until: unknown statistic 'median'"),
    (["--until", "mean npv"], "--until needs --within"),
    (["--until", "mean npv", "--within", "0"], "--until needs --within, a positive half-width, got 0"),
    (["--until", "mean npv", "--within", "nan"], "--until needs --within, a positive half-width, got nan"),
    (["--until", "mean npv", "--within", "inf"], "--until needs --within, a positive half-width, got inf"),
    (["--within", "1"], "--within and --max-trials go with --until"),
    (["--until", "mean npv", "--within", "10", "--trials", "5000"], "--trials does not go with "
     "--until, which adds trials until the estimate is precise; to cap them, use --max-trials"),
    (["--sampling", "halton"], "--sampling must be one of random, lhs, sobol"),
    # 2 meant 2 percentage points; as a fraction it is met by any run
    (["--until", "P(npv<0)", "--within", "2"], "--within: a half-width of 2 for P(npv<0), a "
     "probability, is met by any run; expected a fraction below 1, such as 0.02"),
    # the bakery's horizon is 36 months: a payback by month 48 cannot be told
    (["--until", "P(payback<=48)", "--within", "0.01"], "bakery_catering_crm.toml: --until: "
     "P(payback<=48) counts paybacks by month 48, outside what a 36-month horizon can tell; "
     "expected 1 to 36 months"),
])
def test_bad_run_options_exit_2(args, message, tmp_path):
    proc = roisim("run", str(BAKERY), *args, "--out", str(tmp_path))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing simulated, nothing written


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_the_summary_never_cuts_a_number_short_whatever_the_terminal(width):
    from rich.console import Console

    from roisim import load, simulate
    from roisim.cli import summary_table
    from roisim.metrics import HEADLINE, headline

    summary = simulate(load(SCENARIOS / "ecommerce_pick_automation.toml"), trials=2000).summary()
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(summary_table("E-commerce", summary, "EUR", console.width))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width and "…" not in text
    cells = headline(summary)
    table = "┃" in text
    assert table == (width >= 120)  # five long names and six-digit money need 120 columns
    for subject, row in cells.iterrows():
        for name, value in zip(HEADLINE, row, strict=True):
            # a number whole on one line: in its cell, or beside its name in a subject's block
            assert any(re.search(rf"(^|[\s│]){re.escape(value)}([\s│]|$)", line) for line in lines), \
                (subject, name, value)
        if not table:
            assert subject in lines
            assert any(f"E[NPV] {row['E[NPV]']} ± {row['± se']}" in line for line in lines)


def test_a_fault_while_checking_one_file_is_reported_and_the_batch_goes_on(monkeypatch):
    from typer.testing import CliRunner

    import roisim as package
    from roisim.cli import app

    real = package.load

    def faulty(path, **options):
        if Path(path).name == BAKERY.name:
            raise OverflowError("cannot convert float infinity to integer")
        return real(path, **options)

    monkeypatch.setattr(package, "load", faulty)
    retail = SCENARIOS / "retail_inventory_system.toml"
    result = CliRunner().invoke(app, ["validate", str(BAKERY), str(retail)])
    assert result.exit_code == 1  # a run failed; not 2: the file is not known to be bad
    output = result.output
    assert f"{BAKERY}: could not be checked (OverflowError: cannot convert float infinity to " \
           "integer); this is a fault in roisim, not in the file" in output
    assert f"{retail}: ok" in output and "Traceback" not in output


def test_names_in_another_script_print_no_glyph_warnings(tmp_path):
    scenario = tmp_path / "shop.toml"
    scenario.write_text(initiative_text("""
        benefits = [{ name = "b", amount = { dist = "uniform", min = 5, max = 10 }, every = "month" }]
        costs = [{ name = "c", amount = 50, month = 0 }]
    """, horizon=12).replace('name = "A"', 'name = "受注管理"'))
    proc = roisim("run", str(scenario), "--trials", "500", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    # one line where no installed font has the characters (none where one does)
    assert "Glyph" not in proc.stderr and "UserWarning" not in proc.stderr
    assert proc.stderr.count("warning: charts of test: no installed font has 受, 注, 管, 理") <= 1
    assert (tmp_path / "out" / "shop" / "roi_hist_受注管理.png").is_file()


@pytest.mark.parametrize("below", ["", "results"])
def test_an_out_folder_where_a_file_is_exits_2_before_simulating(below, tmp_path):
    blocking = tmp_path / "notes.txt"
    blocking.write_text("mine")
    proc = roisim("run", str(BAKERY), "--trials", "1000", "--out", str(blocking / below))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: --out {blocking / below}: {blocking} is a file, where a folder is expected" \
        in proc.stderr
    assert proc.stdout == "" and blocking.read_text() == "mine"


def test_an_interrupt_that_python_wraps_is_still_an_interrupt():
    # Ctrl-C during an import that creates classes (matplotlib's, on a large run) reached
    # the command line as "RuntimeError: Error calling __set_name__ ...": exit 1, "a run failed"
    class Interrupted:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    try:
        type("Axes", (), {"set_yticklabels": Interrupted()})
    except BaseException as exc:  # RuntimeError on Python 3.11, KeyboardInterrupt from 3.12
        caught = exc
    stop = interruption(caught)
    assert isinstance(stop, KeyboardInterrupt)
    assert interruption(ValueError("bad")) is None
    failed_cleanup = OSError("cleaning up")  # raised while a SIGTERM unwound the run
    failed_cleanup.__context__ = Terminated()
    assert isinstance(interruption(failed_cleanup), Terminated)


@pytest.mark.parametrize(("args", "named"), [
    (["run", str(BAKERY), "--trials", "1000", "--out", ""], "'--out'"),
    (["run", ""], "'PATH'"),
    (["validate", str(BAKERY), ""], "'PATH'"),
    (["compare", ""], "'RESULTS_DIR'"),
])
def test_an_empty_path_exits_2_instead_of_meaning_the_current_folder(args, named, tmp_path):
    # as `--out "$RESULTS"` with RESULTS unset: not the folder the command runs in
    (tmp_path / "scenario.toml").write_text(BAKERY.read_text())
    proc = roisim(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"Invalid value for {named}: expected a path, got an empty one" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"] and proc.stdout == ""


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="available memory is known on Linux")
@pytest.mark.parametrize(("args", "where", "instead"), [
    (["--trials", "10000000000"], "--trials", "--until to stop once precise enough"),
    (["--until", "mean npv", "--within", "1", "--max-trials", "10000000000"], "--max-trials",
     "a lower --max-trials"),
    ([], "scenario.trials", "--until to stop once precise enough"),
])
def test_a_run_larger_than_memory_exits_2_before_simulating(args, where, instead, tmp_path):
    scenario = tmp_path / "bakery.toml"
    # the most trials a scenario may ask for
    scenario.write_text(BAKERY.read_text().replace("trials = 1_000_000", "trials = 10_000_000_000"))
    out = tmp_path / "results"
    proc = roisim("run", str(scenario), *args, "--threads", "1", "--out", str(out))
    assert proc.returncode == 2
    # 4 simulated subjects (the bakery's 3 and its gated plan's ungated twin), summarised on
    # one thread: 10^10 x (16 + 4 x 48) bytes, 0.5 GB, and 0.5 GB for the charts
    assert re.search(rf"^error: {re.escape(str(scenario))}: {where}: 10,000,000,000 trials need "
                     rf"about 2,081 GB of memory to simulate and write their results, more than "
                     rf"the [\d,.]+ GB available; expected at most about [\d,]+ trials, or "
                     rf"{instead}$", proc.stderr, re.M), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_read_only_output_location_exits_1(tmp_path):
    # root ignores file permissions, but sysfs refuses new entries even to root
    target = Path("/sys/roisim-results")
    try:
        target.mkdir()
    except OSError:
        pass
    else:  # pragma: no cover - a machine where /sys is writable
        target.rmdir()
        pytest.skip("/sys is writable here")
    proc = roisim("run", str(BAKERY), "--trials", "1000", "--out", str(target))
    assert proc.returncode == 1
    assert f"cannot write results to {target}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_compare_redraws_the_comparison_from_saved_results(bakery_run, tmp_path):
    # from trials.parquet alone, the same comparison and ranking as the run wrote
    _, folder = bakery_run
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    written = {name: (copy / name).read_bytes() for name in ("comparison.csv", "ranking.csv")}
    for name in (*written, "npv_cdf.png", "risk_return.png"):
        (copy / name).unlink()
    proc = roisim("compare", str(copy))
    assert proc.returncode == 0, proc.stderr
    assert {name: (copy / name).read_bytes() for name in written} == written
    assert (copy / "npv_cdf.png").stat().st_size > 0 and (copy / "risk_return.png").is_file()
    bad = roisim("compare", str(tmp_path / "nothing"))
    assert bad.returncode == 2 and "nothing: no such folder" in bad.stderr


@pytest.mark.parametrize(("change", "message"), [
    ({"subjects": ["A", "B", "C"]}, "trials.parquet holds the subjects ['Catering CRM', 'All at once', "
     "'Pilot, then roll out if adopted'], manifest.json ['A', 'B', 'C']"),
    ({"trials": 5000}, "trials.parquet holds 20,000, 20,000, 20,000 trials of its subjects, "
     "manifest.json 5,000 of each"),
])
def test_compare_refuses_a_manifest_and_trials_of_different_runs(change, message, bakery_run, tmp_path):
    # files copied together from two runs: never one run's trials under the other's names
    _, folder = bakery_run
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, **change}))
    proc = roisim("compare", str(copy))
    assert proc.returncode == 2
    assert f"{message}: the two files are not of the same run" in proc.stderr


def test_compare_takes_a_folder_of_results_as_run_writes_it(bakery_run, tmp_path):
    _, folder = bakery_run
    results = tmp_path / "results"
    shutil.copytree(folder, results / "b_scenario")
    shutil.copytree(folder, results / "a_scenario")
    (results / "notes").mkdir()  # not a result folder: passed over
    for name in ("a_scenario", "b_scenario"):
        (results / name / "ranking.csv").unlink()
    proc = roisim("compare", str(results))
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" in ")[-1] for line in proc.stderr.splitlines() if line.startswith("wrote")] \
        == [str(results / "a_scenario"), str(results / "b_scenario")]
    assert (results / "a_scenario" / "ranking.csv").is_file()
    empty = roisim("compare", str(tmp_path / "results" / "notes"))
    assert empty.returncode == 2
    assert "notes: not a result folder, nor a folder of them" in empty.stderr


def test_a_long_run_shows_a_progress_bar_in_a_terminal_only(tmp_path):
    import pty

    # 2M trials of the bakery on one thread: seconds on any machine, past the first
    # second after which the bar appears
    command = [sys.executable, "-m", "roisim", "run", str(BAKERY), "--trials", "2e6", "--threads", "1",
               "--no-charts", "--out"]
    # an xterm, whatever the environment running the tests says (rich reads these)
    env = {key: value for key, value in os.environ.items()
           if key not in ("FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE")} | {"TERM": "xterm"}
    piped = subprocess.run([*command, str(tmp_path / "piped")], capture_output=True, text=True,
                           env=env, timeout=600)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr.startswith("wrote ") and "%" not in piped.stderr  # no bar in a file
    main, sub = pty.openpty()  # a terminal for stderr
    proc = subprocess.Popen([*command, str(tmp_path / "tty")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=sub, env=env)
    os.close(sub)
    shown = bytearray()
    while True:
        try:
            data = os.read(main, 1 << 16)
        except OSError:  # EIO: the process has closed the terminal
            break
        if not data:
            break
        shown += data
    os.close(main)
    assert proc.wait(timeout=600) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace"))  # no colours
    assert re.search(r"bakery_catering_crm\.toml \(2,000,000 trials\) ━+.* \d+%", text), text[:2000]
    assert "1 scenario simulated, 0 failed." in text


@pytest.mark.parametrize("stderr_too", [False, True])
def test_a_batch_goes_on_when_its_reader_stops_reading(stderr_too, tmp_path):
    # roisim run scenarios/ | head: the reader has gone by the first summary; every
    # scenario is still simulated and written (rich alone would end the batch, exit 1)
    with subprocess.Popen([sys.executable, "-m", "roisim", "run", str(SCENARIOS), "--trials", "2000",
                           "--no-charts", "--out", str(tmp_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if stderr_too else subprocess.PIPE) as proc:
        proc.stdout.close()  # before anything is written
        errors = b"" if stderr_too else proc.stderr.read()
        assert proc.wait(timeout=600) == 0, errors
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert all((p / "report.html").is_file() for p in tmp_path.iterdir())
    if not stderr_too:
        assert errors.decode().endswith("6 scenarios simulated, 0 failed.\n")
