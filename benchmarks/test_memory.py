"""Peak memory of whole runs (simulate + summary), measured in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.conftest import CANONICAL, ROOT, trials

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
