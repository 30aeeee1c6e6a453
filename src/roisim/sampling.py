"""Sampling designs for the inputs drawn once per trial.

- ``random``: the counter-based hash of (seed, trial, input): each trial's
  draws depend on nothing else.
- ``lhs``: a Latin hypercube per block of ``DESIGN_BLOCK`` trials: in every
  block, each input's range is cut into that many equally likely strata and
  each stratum is hit exactly once (McKay, Beckman & Conover 1979).
- ``sobol``: a scrambled Sobol sequence per block (Owen scrambling), whose
  2^k-point prefixes are balanced in every input.

Designs come from scipy.stats.qmc, seeded by (seed, block) alone, so a run is
reproducible whatever the thread count. Inputs resampled monthly always use
the hash. Blocks start at trial 0 and are ``DESIGN_BLOCK`` trials long; the
last block of a run uses the first rows of a full design.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Sampling = Literal["random", "lhs", "sobol"]
SAMPLINGS: tuple[str, ...] = ("random", "lhs", "sobol")
#: trials per design block (a power of two, which Sobol balance needs).
DESIGN_BLOCK = 1 << 16


def design(sampling: str, seed: int, block: int, n_inputs: int, rows: int) -> np.ndarray:
    """Uniforms of the first ``rows`` trials of ``block``, shape (rows, n_inputs).

    Empty (no rows) for ``random``: the kernel then uses its own hash.
    """
    if sampling == "random" or n_inputs == 0:
        return np.zeros((0, max(n_inputs, 1)))
    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(block)]))
    engine: qmc.QMCEngine = (qmc.LatinHypercube(d=n_inputs, rng=rng) if sampling == "lhs"
                             else qmc.Sobol(d=n_inputs, scramble=True, rng=rng))
    points = engine.random(DESIGN_BLOCK)[:rows]
    # keep every uniform inside the open interval the quantile functions expect
    return np.ascontiguousarray(np.clip(points, 2.0**-54, 1.0 - 2.0**-53))
