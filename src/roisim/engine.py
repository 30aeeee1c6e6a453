"""Run a scenario: compile it, simulate blocks of trials in parallel, collect outcomes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numba
import numpy as np

from roisim import _kernels
from roisim._parallel import kernel_threads
from roisim._random import seed_key
from roisim.distributions import number
from roisim.model import Model, compile_with_labels
from roisim.result import BAND_TRIALS, Outcomes, Profiles, SimulationResult, subject_scores
from roisim.sampling import DESIGN_BLOCK, SAMPLINGS, design
from roisim.scenario import Scenario, whole_at_least

__all__ = ["BAND_TRIALS", "BLOCK_TRIALS", "Outcomes", "Profiles", "SimulationResult",
           "block_trials", "run_blocks", "simulate", "subject_scores"]

#: trials per kernel call: the granularity of the progress bar.
BLOCK_TRIALS = 1 << 18

Progress = Callable[[int, int], None]


def simulate(
    scenario: Scenario,
    *,
    trials: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    sampling: str | None = None,
    irr: bool = True,
    until: str | None = None,
    within: float | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate every initiative and plan of a scenario on common random numbers.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario (:func:`roisim.load`).
    trials : int, optional
        Number of trials (with ``until``: the most to run); default: the
        scenario's ``trials``. A float with no fraction (``1e6``) is taken
        as the whole number it names, here and for ``seed``.
    seed : int, optional
        Non-negative seed; default: the scenario's ``seed``. The same seed
        gives bit-identical outcomes whatever the thread count.
    threads : int, optional
        Worker threads (default: all cores numba sees).
    sampling : {"random", "lhs", "sobol"}, optional
        Design for the inputs drawn once per trial (:mod:`roisim.sampling`);
        default: the scenario's ``sampling``.
    irr : bool
        Compute each trial's IRR (a root search; a fifth to a third of the time).
    until, within : str and float, optional
        Stop once the 95% interval half-width of the statistic ``until``
        (:func:`roisim.convergence.parse_target`) is at most ``within`` for
        every subject, checked after each block; ``trials`` is then the most
        to run. The outcomes equal a fixed run of the trials it ran.
    progress : callable, optional
        Called as ``progress(done, total)`` after each block of trials.

    Returns
    -------
    SimulationResult
    """
    from roisim.convergence import parse_target, precise_enough, target_problem

    if not isinstance(scenario, Scenario):
        raise TypeError(f"simulate takes a Scenario, from roisim.load(path) or roisim.parse(text); "
                        f"got {type(scenario).__name__} {scenario!r:.60}")
    n = whole_at_least(scenario.scenario.trials if trials is None else trials, 1, "trials")
    seed = whole_at_least(scenario.scenario.seed if seed is None else seed, 0, "seed")
    sampling = scenario.scenario.sampling if sampling is None else sampling
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    max_threads = numba.config.NUMBA_NUM_THREADS
    threads = max_threads if threads is None else whole_at_least(threads, 1, "threads")
    if not threads <= max_threads:
        raise ValueError(f"threads must be between 1 and {max_threads}, got {threads}")
    target = None
    if until is not None:
        target = parse_target(until)
        if within is None or not 0 < within < math.inf:
            raise ValueError(f"within must be a positive, finite number with until, got {within!r}")
        problem = target_problem(target, within, scenario.scenario.horizon_months)
        if problem:
            raise ValueError(problem)

    model, labels, ungated = compile_with_labels(scenario)
    out = Outcomes.empty(model.sb_ph0.size, int(n), model.horizon, until=target is not None)
    n_visible = len(scenario.subjects)
    reason: list[str] = [f"ran the {int(n):,} trials asked for"]
    reached, widest = [False], [math.nan]

    def stop(done: int) -> bool:
        assert target is not None and within is not None
        reached[0], widest[0] = precise_enough(target, within, out, done, n_visible)
        if reached[0]:
            reason[0] = (f"precision reached: the 95% half-width of {target.label} is at most "
                         f"{number(within)} for every subject ({widest[0]:.3g}) after {done:,} trials")
        return reached[0]

    elapsed, done = run_blocks(model, seed_key(seed), int(n), out, threads=threads, irr=irr,
                               progress=progress, sampling=sampling, seed=int(seed),
                               stop=stop if target is not None else None)
    if target is not None and not reached[0]:
        assert within is not None
        reason[0] = (f"reached the most trials allowed ({int(n):,}) before the precision asked for: "
                     f"the 95% half-width of {target.label} is {widest[0]:.3g} for the least "
                     f"precise subject, against {number(within)}")
    if done < n:
        out = out.head(done)
    result = SimulationResult(scenario, done, int(seed), threads, elapsed, out, labels, ungated,
                              model=model)
    result.sampling = sampling
    result.stop_reason = reason[0]
    result.target = target
    return result


def block_trials(sampling: str) -> int:
    """Trials per kernel call: a design block, or the progress granularity."""
    return BLOCK_TRIALS if sampling == "random" else DESIGN_BLOCK


def run_blocks(model: Model, key: np.uint64, n: int, out: Outcomes, *, threads: int,
               irr: bool = True, progress: Progress | None = None, first: int = 0,
               sampling: str = "random", seed: int = 0,
               stop: Callable[[int], bool] | None = None) -> tuple[float, int]:
    """Fill ``out`` with trials ``first .. first+n-1``, block by block.

    After each block ``stop(trials_done)`` may end the run early. Returns the
    seconds spent and the trials simulated.
    """
    size_of_block = block_trials(sampling)
    if first % size_of_block:
        raise ValueError(f"first must be a multiple of {size_of_block}")
    done = 0
    with kernel_threads(threads):
        began = time.perf_counter()  # not counting a wait for another thread's run
        for start in range(first, first + n, size_of_block):
            size = min(size_of_block, first + n - start)
            uniforms = design(sampling, seed, start // size_of_block, model.in_kind.size, size)
            # several chunks per thread even out trials of unequal cost
            chunks = max(1, min(size, 8 * threads))
            _kernels.simulate_trials(model, key, start, size, chunks, uniforms, out.pv_costs,
                                     out.pv_benefits, out.payback, out.dpayback, out.irr,
                                     out.started, out.failed, out.band_paths, irr)
            done = start + size - first
            if progress is not None:
                progress(done, n)
            # asked after the last block too: whether the precision was reached, and how near
            if stop is not None and stop(done):
                break
        elapsed = time.perf_counter() - began
    return elapsed, done
