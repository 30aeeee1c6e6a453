"""Interrupted runs, numerical edge cases, and reruns that reproduce bytes."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tomli
from conftest import SCENARIOS, initiative, live_processes

import roisim

BAKERY = SCENARIOS / "bakery_catering_crm.toml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "roisim", *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"}, timeout=600)


def _start(*args: str) -> subprocess.Popen[str]:
    """The command line, started with Ctrl-C's default action.

    A shell starts background jobs with SIGINT ignored, and Python then never
    raises KeyboardInterrupt; the suite may run as such a job.
    """
    return subprocess.Popen([sys.executable, "-m", "roisim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_writing_leaves_the_previous_results(tmp_path, sig, code):
    out = tmp_path / "results"
    first = _cli("run", str(BAKERY), "--trials", "2000", "--seed", "1", "--out", str(out))
    assert first.returncode == 0, first.stderr
    folder = out / "bakery_catering_crm"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    proc = _start("run", str(BAKERY), "--trials", "4000000", "--seed", "2", "--out", str(out))
    deadline = time.monotonic() + 300
    while not list(out.glob(".bakery_catering_crm.*.partial")):  # it is writing now
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == f"interrupted: results for {BAKERY} left as they were"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in out.iterdir()) == ["bakery_catering_crm"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_chart_process_draws_leaves_nothing_behind(tmp_path, sig, code):
    # a small run: its charts are drawn by the process forked before the simulation
    out = tmp_path / "results"
    args = ["run", str(BAKERY), "--trials", "3000", "--seed", "3", "--out", str(out)]
    proc = _start(*args)
    deadline = time.monotonic() + 300
    while not list(out.glob(".bakery_catering_crm.*.partial/*.png")):  # drawing now
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == f"interrupted: results for {BAKERY} left as they were"
    time.sleep(1.0)  # long enough for a surviving chart helper to write another chart
    assert list(out.iterdir()) == []
    assert not [pid for pid in _processes_running(args) if pid != proc.pid]


def _processes_running(args: list[str]) -> list[int]:
    """Processes (not zombies) whose command line ends with ``args``: the command and its forks."""
    return [pid for pid, _, cmdline in live_processes() if cmdline[-len(args):] == args]


def test_an_interrupt_during_a_fork_waits_until_the_child_is_noted():
    # a chart helper forked but not yet in the parent's list of children was never
    # ended when Ctrl-C came in between, and went on drawing into a folder being removed
    code = """
import os, signal, threading, time
from roisim.chart_process import fork, release_signals, signals_held
# a thread that takes signals, as numba's do after a run: a signal mask held Ctrl-C in
# this thread only, the signal went to that one, and Python still raised it here
threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
children, order = [], []
try:
    with signals_held():
        pid = fork()
        if pid == 0:
            release_signals()
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set())
            os._exit(3 if signal.SIGINT in blocked or signal.SIGTERM in blocked else 0)
        os.kill(os.getpid(), signal.SIGINT)  # arrives here, taken at the end of the block
        time.sleep(0.2)
        children.append(pid)
        order.append("noted")
    order.append("not reached")
except KeyboardInterrupt:
    order.append("interrupted")
_, status = os.waitpid(children[0], 0)
print(order, os.waitstatus_to_exitcode(status))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['noted', 'interrupted'] 0"  # the child takes signals again


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_killing_the_chart_process_waits_for_its_helpers_too():
    # the chart process's helpers are its children, not the command's: killed with it,
    # they die a moment later, and one could still be writing a chart into the folder
    # being removed. Here a shell stands for the chart process and a sleep for a helper.
    from roisim.chart_process import _group_alive, wait_for_group

    proc = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], process_group=0)
    deadline = time.monotonic() + 60
    while not _children_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # the leader alone: the helper lives on in the group
    proc.wait()
    assert _group_alive(proc.pid)
    started = time.monotonic()
    wait_for_group(proc.pid, timeout=0.2)
    assert time.monotonic() - started >= 0.2  # it waited for the living helper
    os.killpg(proc.pid, signal.SIGKILL)
    wait_for_group(proc.pid)
    assert not _group_alive(proc.pid)  # dead, and a zombie at most


def _children_of(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return children.read().split()
    except OSError:
        return []


def test_an_interrupt_just_after_the_work_folder_appears_leaves_nothing(tmp_path, monkeypatch):
    # the work folder came from tempfile.mkdtemp, outside the try that removes it: an
    # interrupt between its creation and the assignment of its name left it behind (on a
    # busy machine, just when a watcher saw it appear)
    from roisim.output import redraw_comparison, write_results

    result = roisim.simulate(roisim.load(BAKERY), trials=1000, seed=1)
    folder = write_results(result, tmp_path, charts=False)
    mkdir = os.mkdir

    def interrupted(path, *args, **kwargs):
        mkdir(path, *args, **kwargs)
        if str(path).endswith(".partial"):
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "mkdir", interrupted)
    for write in (lambda: write_results(result, tmp_path, charts=False),
                  lambda: redraw_comparison(folder)):
        with pytest.raises(KeyboardInterrupt):
            write()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bakery_catering_crm"]
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_redraw_that_fails_halfway_leaves_every_file_as_it_was(tmp_path, monkeypatch):
    # roisim compare wrote comparison.csv and ranking.csv in place, then the charts: a
    # failure or Ctrl-C among the charts left new tables beside old charts, or half a file
    from roisim import charts
    from roisim.output import redraw_comparison

    result = roisim.simulate(roisim.load(BAKERY), trials=3000, seed=1)
    folder = result.save(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    (folder / "comparison.csv").write_text("edited by hand")  # what a redraw would replace
    before["comparison.csv"] = b"edited by hand"

    def broken(profiles, ranking, into):
        (into / "npv_cdf.png").write_bytes(b"half a chart")
        raise KeyboardInterrupt

    monkeypatch.setattr(charts, "comparison_charts", broken)
    with pytest.raises(KeyboardInterrupt):
        redraw_comparison(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing left behind
    monkeypatch.undo()
    assert "comparison.csv" in redraw_comparison(folder)
    assert (folder / "comparison.csv").read_bytes().startswith(b"\xef\xbb\xbfa,b,p_a_beats_b")


@pytest.mark.parametrize(("argv0", "command"), [("/usr/local/bin/roisim", True), ("notebook", False)])
def test_ctrl_c_while_roisim_loads_ends_the_command_quietly(argv0, command):
    # before main() runs, the command imports numba, pandas and scipy (most of a second):
    # Ctrl-C there printed Python's traceback. In a notebook it stays a KeyboardInterrupt
    code = f"""
import sys
sys.argv[0] = {argv0!r}

class CtrlC:  # Ctrl-C arrives while pandas loads
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            raise KeyboardInterrupt

sys.meta_path.insert(0, CtrlC())
try:
    import roisim
except KeyboardInterrupt:
    print("KeyboardInterrupt raised")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if command:
        assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n")
    else:
        assert (proc.returncode, proc.stdout) == (0, "KeyboardInterrupt raised\n"), proc.stderr


@pytest.mark.parametrize(("orig_argv", "argv0", "command"), [
    (["python", "-m", "roisim", "run"], "-m", True),
    (["python", "-X", "importtime", "-m", "roisim", "run"], "-m", True),  # options first
    (["/usr/bin/python3", "/usr/local/bin/roisim", "run"], "/usr/local/bin/roisim", True),
    (["python", "-m", "pytest"], "-m", False),
    (["python", "notebook.py"], "notebook.py", False),
])
def test_the_command_is_told_from_a_library_use(orig_argv, argv0, command, monkeypatch):
    from roisim._startup import is_the_command

    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    monkeypatch.setattr(sys, "argv", [argv0])
    assert is_the_command() is command


@pytest.mark.parametrize("command", ["validate", "run"])
def test_ctrl_c_while_a_scenario_loads_says_interrupted(command, tmp_path):
    # outside a scenario's run, typer turned Ctrl-C into exit 130 with nothing said
    code = f"""
import sys
import roisim, roisim.cli

def interrupted(*args, **kwargs):  # Ctrl-C arrives while the file is read
    raise KeyboardInterrupt

roisim.load = interrupted
sys.argv = ["roisim", {command!r}, {str(BAKERY)!r}, *({["--out", str(tmp_path)] if command == "run" else []!r})]
roisim.cli.main()
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert (proc.returncode, proc.stderr) == (130, "interrupted\n")
    assert list(tmp_path.iterdir()) == []


def test_files_added_to_a_results_folder_survive_a_rerun(tmp_path):
    result = roisim.simulate(roisim.load(BAKERY), trials=500, seed=1)
    folder = result.save(tmp_path, charts=False)
    (folder / "notes.txt").write_text("call the vendor")
    (folder / "drafts").mkdir()
    (folder / "drafts" / "memo.md").write_text("pilot first")
    (folder / "roi_hist_catering_crm.png").write_bytes(b"mine")  # a name the next run writes
    again = roisim.simulate(roisim.load(BAKERY), trials=600, seed=2).save(tmp_path, charts=True)
    assert again == folder
    assert (folder / "notes.txt").read_text() == "call the vendor"
    assert (folder / "drafts" / "memo.md").read_text() == "pilot first"
    assert (folder / "roi_hist_catering_crm.png").read_bytes().startswith(b"\x89PNG")  # the run's own
    assert json.loads((folder / "manifest.json").read_text())["trials"] == 600
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no old or partial folder left


def test_scenarios_not_from_a_file_save_under_their_own_names(tmp_path):
    # two notebooks' scenarios, parsed from dicts: neither may replace the other's results
    document = tomli.loads(BAKERY.read_text())
    first = roisim.simulate(roisim.parse(document), trials=100).save(tmp_path, charts=False)
    document["scenario"]["name"] = "Bakery, variant B"
    second = roisim.simulate(roisim.parse(document), trials=100).save(tmp_path, charts=False)
    assert (first.name, second.name) == ("corner_bakery_catering_crm", "bakery_variant_b")
    assert json.loads((first / "manifest.json").read_text())["scenario_name"] == \
        "Corner bakery: catering CRM"
    assert json.loads((second / "manifest.json").read_text())["scenario_file"] is None


def test_a_folder_that_is_not_a_results_folder_is_never_replaced(tmp_path):
    # a scenario file named like a folder of the user's, with --out pointing beside it
    scenario = tmp_path / "documents.toml"
    scenario.write_text(BAKERY.read_text())
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "contract.pdf").write_bytes(b"%PDF")
    with pytest.raises(FileExistsError, match="documents exists and is not a roisim results folder"):
        roisim.simulate(roisim.load(scenario), trials=100).save(tmp_path, charts=False)
    proc = _cli("run", str(scenario), "--trials", "100", "--out", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (f"error: {scenario}: its results go to {mine}, which exists and is not a roisim results "
            f"folder (it has no manifest.json from 'roisim run'); move it away, or choose another "
            f"--out") in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "documents.toml"]
    assert [p.name for p in mine.iterdir()] == ["contract.pdf"]
    mine.joinpath("contract.pdf").unlink()  # an empty folder may be filled
    assert roisim.simulate(roisim.load(scenario), trials=100).save(tmp_path, charts=False) == mine


def test_rerun_from_the_manifest_reproduces_the_bytes(tmp_path):
    first = _cli("run", str(BAKERY), "--trials", "30000", "--seed", "11", "--threads", "2",
                 "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "a" / "bakery_catering_crm"
    manifest = json.loads((folder / "manifest.json").read_text())
    again = _cli("run", manifest["scenario_file"], "--trials", str(manifest["trials"]),
                 "--seed", str(manifest["seed"]), "--threads", "1",
                 "--out", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    other = tmp_path / "b" / "bakery_catering_crm"
    for name in ("trials.parquet", "summary.csv", "summary.json", "comparison.csv",
                 "ranking.csv", "gates.csv"):
        assert (folder / name).read_bytes() == (other / name).read_bytes(), name
    # and the Python API gives the same numbers as the command line
    result = roisim.simulate(roisim.load(BAKERY), trials=30000, seed=11)
    saved = pd.read_csv(folder / "summary.csv", index_col=0)
    np.testing.assert_array_equal(saved["npv_mean"].to_numpy(),
                                  result.summary()["npv_mean"].to_numpy())
    trials = pd.read_parquet(folder / "trials.parquet")
    np.testing.assert_array_equal(trials[trials.subject == "Catering CRM"]["npv"].to_numpy(),
                                  result.npv("Catering CRM"))


def test_zero_costs_no_irr_and_never_paying_back_are_counted():
    sc = initiative("""
        benefits = [{ name = "b", amount = 10, every = "month" }]
    """, horizon=12)
    row = roisim.simulate(sc, trials=50, seed=1).summary().loc["A"]
    assert row["roi_undefined"] == 50 and row["roi_n"] == 0 and math.isnan(row["roi_mean"])
    assert row["irr_undefined"] == 50  # all flows positive: no IRR
    sc = initiative('costs = [{ name = "c", amount = 10, every = "month" }]', horizon=12)
    row = roisim.simulate(sc, trials=50, seed=1).summary().loc["A"]
    assert row["payback_never"] == 50 and row["payback_month_p50"] == math.inf
    assert row["p_payback_within_12"] == 0.0


def test_huge_amounts_and_a_one_month_horizon():
    sc = initiative("""
        costs = [{ name = "c", amount = { dist = "uniform", min = 1e15, max = 2e15 }, month = 0 }]
        benefits = [{ name = "b", amount = { dist = "uniform", min = 1.5e15, max = 3e15 }, every = "month" }]
    """, horizon=1, rate=0.1)
    summary = roisim.simulate(sc, trials=20_000, seed=1).summary().loc["A"]
    numeric = summary.drop(["kind"]).astype(float)
    # payback percentiles and latest payback are inf ("never") where trials do not pay back;
    # those that do all pay back in month 0, the only month: a payback month has no shape
    assert np.isfinite(numeric.drop(labels=[c for c in numeric.index if "payback_month_p" in c
                                            or "payback_month_max" in c
                                            or "payback_month_skewness" in c
                                            or "payback_month_kurtosis" in c
                                            or c.startswith("irr")])).all()
    assert summary["payback_month_sd"] == 0 and np.isnan(summary["payback_month_skewness"])
    # npv = B - C with B ~ U(1.5e15, 3e15), C ~ U(1e15, 2e15): mean 0.75e15
    assert summary["npv_mean"] == pytest.approx(0.75e15, rel=0.01)
    assert summary["irr_undefined"] == 20_000  # one month of flows: no rate solves them
