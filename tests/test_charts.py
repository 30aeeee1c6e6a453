"""Charts drawn by several processes: the same files, and failures that are not lost."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import SCENARIOS

import roisim
from roisim import charts

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
    assert sorted(serial) == sorted(parallel) == sorted(p.name for p in one.iterdir())
    assert len(serial) == len(set(serial)) == 13
    for name in serial:
        assert (one / name).read_bytes() == (three / name).read_bytes(), name


def test_a_chart_failing_in_a_worker_fails_the_run(bakery, tmp_path, monkeypatch):
    parent = os.getpid()
    draw = charts.tornado

    def tornado(*args, **kwargs):
        if os.getpid() != parent:  # only in the forked workers
            raise ValueError("no room for the labels")
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts, "tornado", tornado)
    with pytest.raises(RuntimeError, match="ValueError: no room for the labels"):
        charts.write_charts(bakery, tmp_path, workers=2)
    with pytest.raises(ChildProcessError):  # every worker was waited for
        os.waitpid(-1, os.WNOHANG)
