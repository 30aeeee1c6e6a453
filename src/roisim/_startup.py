"""Importing roisim's dependencies without the garbage collector scanning them as they load."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, then move what was made to its oldest generation.

    Importing numba, scipy, pandas and pydantic makes about 200,000 objects
    that live as long as the process. With the collector on, each
    collection of the young generations scans those made since the last, and
    each full one all of them again: about 0.1 s of CPU while roisim imports
    and as much at the first collections after. Paused, none is scanned.
    ``freeze`` then ``unfreeze`` moves them to the oldest generation at once
    (where a user has frozen objects, they stay frozen and these stay young).
    Nothing is left uncollected: the next full collection looks at all of
    them, as at any time. Where the collector was off, it stays off.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if collecting:
            gc.enable()

