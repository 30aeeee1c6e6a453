"""The lockstep prototype (benchmarks/lockstep_prototype.py) computes what the kernel's stages do.

Its timing backs a design claim in benchmarks/README.md; this checks that the
two ways it times compute the same outcomes, so the comparison is fair.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
try:
    from benchmarks import lockstep_prototype as proto
finally:
    sys.path.remove(str(ROOT))


def test_lockstep_and_per_trial_give_the_same_outcomes():
    n = 1000  # not a multiple of the group: the last group is partial
    params = proto.inputs(n, seed=5)
    a, b = np.empty((n, 6)), np.empty((n, 6))
    proto.per_trial(params, *(np.empty(proto.HORIZON) for _ in range(4)), a)
    proto.lockstep(params, b)
    # present values and the NPV's derivatives: the same sums in another order
    np.testing.assert_allclose(b[:, [0, 1]], a[:, [0, 1]], rtol=1e-13)
    np.testing.assert_allclose(b[:, [4, 5]], a[:, [4, 5]], rtol=1e-9, atol=1e-6)
    # payback months: the same running sums, month by month
    np.testing.assert_array_equal(b[:, 2:4], a[:, 2:4])
    # the inputs cover paying back, paying back only undiscounted, and never
    assert (a[:, 2] >= 0).any() and (a[:, 3] == -1).any() and (a[:, 2] == -1).any()
