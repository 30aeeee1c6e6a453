"""Peak memory of whole runs, measured in fresh processes.

``test_peak_memory``: simulate + summary, the targets of issues 2 and 6.
``test_run_memory``: ``roisim run`` with its tables, Parquet and charts, all
processes together, against the estimate it checks before starting.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numba
import pytest

import roisim
from benchmarks.conftest import CANONICAL, ROOT, trials
from roisim.output import run_memory

# VmHWM (peak resident memory of this address space) rather than ru_maxrss, which on
# Linux keeps the peak of the parent that forked the process across exec.
PROBE = """
import json, sys, time
import roisim


def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

scenario = roisim.load(sys.argv[1])
began = time.perf_counter()
result = roisim.simulate(scenario, trials=int(sys.argv[2]), seed=1, threads=2)
result.summary()
print(json.dumps({"seconds": time.perf_counter() - began,
                  "peak_mb": peak_mb()}))
"""


def _measure(n: int) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(CANONICAL), str(n)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.benchmark(group="memory")
@pytest.mark.parametrize("n", [1e7, 1e8], ids=lambda n: f"{n:.0e}")
def test_peak_memory(benchmark, n):
    size = trials(n)
    seen: dict[str, float] = {}

    def run() -> None:
        seen.update(_measure(size))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(trials=size, **seen)


def _tree_pss(root: int) -> int:
    """Proportional set size of a process and its descendants, in bytes.

    PSS shares each page among the processes mapping it, so forked chart
    drawers that share the command line's pages are not counted twice.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) * 1024  # type: ignore[union-attr]
        todo += children.get(pid, [])
    return total


@pytest.mark.benchmark(group="memory")
@pytest.mark.parametrize("n", [1e6, 3e6], ids=lambda n: f"{n:.0e}")
def test_run_memory(benchmark, tmp_path, n):
    """``roisim run`` of the e-commerce example (6 simulated subjects), sampled every 20 ms."""
    size = trials(n)
    scenario = ROOT / "scenarios" / "ecommerce_pick_automation.toml"
    seen: dict[str, float] = {}

    def run() -> None:
        began, peak = time.perf_counter(), 0
        proc = subprocess.Popen([sys.executable, "-m", "roisim", "run", str(scenario), "--trials",
                                 str(size), "--out", str(tmp_path)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            peak = max(peak, _tree_pss(proc.pid))
            time.sleep(0.02)
        assert proc.returncode == 0
        seen.update(seconds=time.perf_counter() - began, peak_mb=peak / 1e6)

    benchmark.pedantic(run, rounds=1, iterations=1)
    per_trial, base = run_memory(roisim.load(scenario), charts=True,
                                 threads=numba.config.NUMBA_NUM_THREADS)
    benchmark.extra_info.update(trials=size, **seen, estimate_mb=(base + per_trial * size) / 1e6)
