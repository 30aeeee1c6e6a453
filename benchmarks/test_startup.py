"""Compilation happens once per installation: a batch recompiles nothing, and a small
run is quick as a whole process with a warm cache."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.conftest import ROOT


def _roisim(*args: str, debug_cache: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1" if debug_cache else "0"}
    return subprocess.run([sys.executable, "-m", "roisim", *args], capture_output=True,
                          text=True, env=env, check=True, cwd=ROOT)


def test_a_batch_compiles_nothing_after_the_first_run(tmp_path):
    _roisim("run", "scenarios", "--trials", "2000", "--out", str(tmp_path / "a"))
    second = _roisim("run", "scenarios", "--trials", "2000", "--out", str(tmp_path / "b"),
                     debug_cache=True)
    saved = [line for line in (second.stdout + second.stderr).splitlines()
             if "data saved" in line or "index saved" in line]
    assert saved == [], saved


@pytest.mark.benchmark(group="startup")
def test_small_run_as_a_whole_process(benchmark, tmp_path):
    _roisim("run", "scenarios/bakery_catering_crm.toml", "--trials", "10000",
            "--out", str(tmp_path))
    benchmark.extra_info["trials"] = 10_000
    benchmark.pedantic(_roisim, args=("run", "scenarios/bakery_catering_crm.toml", "--trials",
                                      "10000", "--out", str(tmp_path)), rounds=3, iterations=1)


@pytest.mark.benchmark(group="startup")
def test_small_run_without_charts(benchmark, tmp_path):
    args = ("run", "scenarios/bakery_catering_crm.toml", "--trials", "10000", "--no-charts",
            "--out", str(tmp_path))
    _roisim(*args)
    benchmark.extra_info["trials"] = 10_000
    benchmark.pedantic(_roisim, args=args, rounds=3, iterations=1)
