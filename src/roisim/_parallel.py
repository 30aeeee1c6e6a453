"""Independent pieces of the analyses, run on the run's threads.

The summary, the tornado tables and the value of information spend their
time in numpy's sorts, gathers and reductions, which release the GIL: a
thread pool over subjects or inputs keeps both cores busy without copying
the outcomes to other processes.

Their dot products are not handed to BLAS (:func:`dot`): OpenBLAS's threads
spin for a while after each call, on the core the other analysis thread
needs, and the analyses on two threads took as long as on one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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
