"""Charts drawn by several processes: the same files, and failures that are not lost.

Also by the chart process the command line starts before simulating
(:mod:`roisim.chart_process`).
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from conftest import SCENARIOS, initiatives, live_processes

import roisim
from roisim import chart_process, charts
from roisim.chart_process import ChartProcess
from roisim.output import slug, slugs

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="charts are drawn in parallel on Linux")


@pytest.fixture(scope="module")
def bakery():
    return roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"), trials=5000,
                           seed=4)


def test_parallel_charts_are_the_serial_charts_byte_for_byte(bakery, tmp_path):
    one, three = tmp_path / "one", tmp_path / "three"
    one.mkdir()
    three.mkdir()
    serial = charts.write_charts(bakery, one, workers=1)
    parallel = charts.write_charts(bakery, three, workers=3)
    assert sorted(serial) == sorted(p.name for p in one.iterdir())
    assert parallel == serial  # in the same order, whichever process drew each
    assert len(serial) == len(set(serial)) == 15
    for name in serial:
        assert (one / name).read_bytes() == (three / name).read_bytes(), name


def test_the_tables_are_written_while_the_copies_draw(bakery, tmp_path):
    seen = []

    def meanwhile():
        # a forked copy draws while this process is still busy: wait for its first chart
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("*.png")) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(sorted(p.name for p in tmp_path.glob("*.png")))

    names = charts.write_charts(bakery, tmp_path, workers=2, meanwhile=meanwhile)
    assert len(seen) == 1 and seen[0], "no chart was drawn while the tables were written"
    assert len(names) == 15 and set(names) == {p.name for p in tmp_path.iterdir()}


def test_a_failure_while_the_copies_draw_ends_them(bakery, tmp_path):
    def meanwhile():
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        charts.write_charts(bakery, tmp_path, workers=3, meanwhile=meanwhile)
    with pytest.raises(ChildProcessError):  # every copy was ended and waited for
        os.waitpid(-1, os.WNOHANG)


def test_a_chart_failing_in_a_worker_fails_the_run(bakery, tmp_path, monkeypatch):
    parent = os.getpid()
    save = charts._save

    failed = tmp_path / "worker failed"

    def _save(*args, **kwargs):
        if os.getpid() != parent:  # any chart, but only in the forked worker
            failed.touch()
            raise ValueError("no room for the labels")
        # charts go to whichever process is free: this one waits until the worker has taken one
        deadline = time.monotonic() + 120
        while not failed.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return save(*args, **kwargs)

    monkeypatch.setattr(charts, "_save", _save)
    with pytest.raises(RuntimeError, match="ValueError: no room for the labels"):
        charts.write_charts(bakery, tmp_path, workers=2)
    with pytest.raises(ChildProcessError):  # every worker was waited for
        os.waitpid(-1, os.WNOHANG)


def _drawn_by_chart_process(result, folder, drawer):
    """What write_results does with a drawer: submit, then collect."""
    assert drawer.submit(result, folder)
    assert drawer.pending
    return drawer.collect()


def test_the_chart_process_draws_the_serial_charts_byte_for_byte(bakery, tmp_path):
    one, sent, again = tmp_path / "one", tmp_path / "sent", tmp_path / "again"
    for folder in (one, sent, again):
        folder.mkdir()
    serial = charts.write_charts(bakery, one, workers=1)
    drawer = ChartProcess()
    try:
        drawn = _drawn_by_chart_process(bakery, sent, drawer)
        assert not drawer.pending
        # a second run on the same process (a batch), after its first helpers have ended
        assert sorted(_drawn_by_chart_process(bakery, again, drawer)) == sorted(drawn)
    finally:
        drawer.kill()
    assert sorted(drawn) == sorted(serial) == sorted(p.name for p in sent.iterdir())
    for name in serial:
        assert (sent / name).read_bytes() == (one / name).read_bytes(), name
        assert (again / name).read_bytes() == (one / name).read_bytes(), name
    with pytest.raises(ChildProcessError):  # it ended, and was waited for
        os.waitpid(-1, os.WNOHANG)


def test_a_chart_failing_in_the_chart_process_is_reported(bakery, tmp_path, monkeypatch):
    parent = os.getpid()
    draw = charts.value_of_information

    def value_of_information(*args, **kwargs):
        if os.getpid() != parent:  # in the chart process (forked after this patch)
            raise ValueError("no room for the bars")
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts, "value_of_information", value_of_information)
    drawer = ChartProcess()
    try:
        with pytest.raises(RuntimeError, match="ValueError: no room for the bars"):
            _drawn_by_chart_process(bakery, tmp_path, drawer)
        assert not drawer.pending and drawer.pid is not None  # it answered, and takes more work
    finally:
        drawer.kill()
    assert drawer.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_result_too_large_to_send_is_declined(bakery, tmp_path, monkeypatch):
    monkeypatch.setattr(chart_process, "MAX_BYTES", 1 << 20)  # bakery at 5,000 trials: ~1.3 MB
    drawer = ChartProcess()
    try:
        assert not drawer.submit(bakery, tmp_path)
        assert not drawer.pending
    finally:
        drawer.kill()
    assert list(tmp_path.iterdir()) == []


def test_killing_the_chart_process_ends_its_helpers(bakery, tmp_path):
    drawer = ChartProcess()
    pid = drawer.pid
    assert drawer.submit(bakery, tmp_path)
    deadline = time.monotonic() + 60
    while len(_running_in_group(pid)) < 2:  # drawing, with its helper forked into its group
        assert time.monotonic() < deadline
        time.sleep(0.005)
    drawer.kill()
    assert not drawer.pending and drawer.pid is None
    assert _group_ends(pid), "a chart helper outlived the chart process"


def _group_ends(pgid: int, within: float = 5.0) -> bool:
    """No process of group ``pgid`` is left running within ``within`` seconds (a helper
    SIGKILLed with the chart process acts on it at once, but not within the same instant)."""
    deadline = time.monotonic() + within
    while _running_in_group(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _running_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (a killed helper stays one until its
    adoptive parent reaps it)."""
    return [pid for pid, group, _ in live_processes() if group == pgid]


def test_an_interrupted_write_ends_the_chart_process_before_removing_the_folder(
        bakery, tmp_path, monkeypatch):
    from roisim import output

    def interrupted(result, folder):
        raise KeyboardInterrupt  # while the chart process draws into the folder

    monkeypatch.setattr(output, "write_trials", interrupted)
    drawer = ChartProcess()
    pid = drawer.pid
    with pytest.raises(KeyboardInterrupt):
        output.write_results(bakery, tmp_path, drawer=drawer)
    assert drawer.pid is None and not drawer.pending  # killed, and waited for
    assert _group_ends(pid)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "expected"), [
    ("Catering CRM", "catering_crm"), ("Kasse für Café", "kasse_fur_cafe"),
    ("Кофе-машина", "кофе_машина"), ("  a/b\\c  ", "a_b_c"), ("__", "scenario"), ("", "scenario")])
def test_file_names_keep_words_and_drop_accents(name, expected):
    assert slug(name) == expected


def test_file_names_fit_any_file_system():
    # 255 bytes at most, with room for "tornado_" and ".png"; the cut keeps whole characters
    for name in ("Automation " * 40, "Кофе " * 60):
        cut = slug(name)
        assert 100 < len(cut.encode()) <= 120 and not cut.endswith("_")
        assert name.lower().replace(" ", "_").startswith(cut)
    long = ["x" * 300 + " first", "x" * 300 + " second"]  # the same once cut: a file each
    assert slugs(long) == {long[0]: "x" * 120, long[1]: "x" * 120 + "_2"}


def test_subjects_whose_names_give_one_file_name_get_a_file_each(tmp_path):
    assert slugs(["Pilot A", "pilot-a", "pilot_a_2", "B"]) == {
        "Pilot A": "pilot_a", "pilot-a": "pilot_a_2", "pilot_a_2": "pilot_a_2_2", "B": "b"}
    # names with nothing a file name keeps are subjects, not "scenario"
    assert slugs(["🚀", "✅"]) == {"🚀": "subject", "✅": "subject_2"}
    result = roisim.simulate(initiatives(["Pilot A", "pilot-a"]), trials=1000, seed=1)
    files = charts.write_charts(result, tmp_path)
    for chart in ("roi_hist", "tornado"):
        assert {f"{chart}_pilot_a.png", f"{chart}_pilot_a_2.png"} <= set(files)
    assert len(set(files)) == len(files) == len(list(tmp_path.iterdir()))
