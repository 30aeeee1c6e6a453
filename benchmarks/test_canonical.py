"""The canonical workload: roisim against the plain-numpy reference, in one session.

The ratio (reference median / roisim median) is what the README reports; wall
times alone mean little on a shared machine.
"""

from __future__ import annotations

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
