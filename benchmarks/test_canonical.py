"""The canonical workload: roisim against the plain-numpy reference, in one session.

The ratio (reference / roisim) is what the README reports; wall times alone
mean little on a shared machine. The separate benchmarks give each side's
median; ``test_paired_ratio`` also runs them in turn, pair by pair, so that a
change in the machine's load between the two sides does not bias the ratio.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import roisim
from benchmarks import reference_numpy
from benchmarks.conftest import trials

N = trials(10_000_000)


@pytest.mark.benchmark(group="canonical")
def test_numpy_reference(benchmark):
    benchmark.extra_info["trials"] = N
    benchmark.pedantic(reference_numpy.simulate, args=(N,), rounds=3, iterations=1)


@pytest.mark.benchmark(group="canonical")
@pytest.mark.parametrize("irr", [True, False], ids=["with_irr", "without_irr"])
def test_roisim(benchmark, canonical, irr):
    benchmark.extra_info["trials"] = N
    benchmark.pedantic(roisim.simulate, args=(canonical,),
                       kwargs={"trials": N, "seed": 1, "threads": 2, "irr": irr},
                       rounds=3, iterations=1)


@pytest.mark.benchmark(group="canonical-paired")
def test_paired_ratio(benchmark, canonical):
    times: dict[str, list[float]] = {"numpy": [], "with_irr": [], "without_irr": []}

    def pair() -> None:
        for name, run in (("numpy", lambda: reference_numpy.simulate(N)),
                          ("with_irr", lambda: roisim.simulate(canonical, trials=N, seed=1,
                                                               threads=2, irr=True)),
                          ("without_irr", lambda: roisim.simulate(canonical, trials=N, seed=1,
                                                                  threads=2, irr=False))):
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)

    benchmark.pedantic(pair, rounds=3, iterations=1)
    reference = np.array(times["numpy"])
    benchmark.extra_info["trials"] = N
    for name in ("with_irr", "without_irr"):
        ratios = reference / np.array(times[name])
        benchmark.extra_info[f"ratio_{name}"] = float(np.median(ratios))
        benchmark.extra_info[f"ratios_{name}"] = [round(float(r), 2) for r in ratios]
        benchmark.extra_info[f"seconds_{name}"] = [round(t, 3) for t in times[name]]
    benchmark.extra_info["seconds_numpy"] = [round(t, 3) for t in times["numpy"]]
