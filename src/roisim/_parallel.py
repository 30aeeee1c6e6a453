"""Independent pieces of the analyses, run on the run's threads; and numba's own threads.

The summary, the tornado tables and the value of information spend their
time in numpy's sorts, gathers and reductions, which release the GIL: a
thread pool over subjects or inputs keeps both cores busy without copying
the outcomes to other processes.

Their dot products are not handed to BLAS (:func:`dot`): OpenBLAS's threads
spin for a while after each call, on the core the other analysis thread
needs, and the analyses on two threads took as long as on one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import numba
import numpy as np

T = TypeVar("T")
R = TypeVar("R")


def each(work: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    """``[work(item) for item in items]``, on up to ``threads`` threads, in the items' order."""
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(work, items))


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """The dot product of two vectors, computed by numpy's own loop on this thread, not by BLAS."""
    return float(np.einsum("i,i->", a, b))


#: held while numba's parallel kernels run (see :func:`kernel_threads`)
_KERNELS = threading.RLock()


@contextmanager
def kernel_threads(threads: int) -> Iterator[None]:
    """Launch numba's parallel kernels on ``threads`` threads, one caller at a time.

    numba's workqueue threading layer, its fallback where neither OpenMP nor
    TBB is installed, ends the process ("Concurrent access has been
    detected") when two Python threads launch parallel kernels at once, as a
    notebook simulating scenarios in a thread pool does. Runs from several
    threads therefore take turns; each already uses every core it is given.
    """
    with _KERNELS:
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            yield
        finally:
            numba.set_num_threads(previous)
