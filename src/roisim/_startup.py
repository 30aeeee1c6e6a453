"""Importing roisim's dependencies.

Without the garbage collector scanning them as they load; and, in the
``roisim`` command, ending quietly where Ctrl-C comes while they load.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: the command's exit code for Ctrl-C (:mod:`roisim.cli`'s too)
INTERRUPTED = 130


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


def caused_by(exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]
              ) -> BaseException | None:
    """``exc`` or the first exception of ``kinds`` behind it (its cause, or what it was raised in).

    An interrupt can come inside code that wraps it: Python 3.11 turns one
    raised while a class is created (``__set_name__``, as in an import of
    matplotlib) into a RuntimeError caused by it, which is still an interrupt.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, kinds):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


def is_the_command() -> bool:
    """Whether this process is the ``roisim`` command (its console script, or ``python -m roisim``)."""
    argv = sys.orig_argv  # python's own options may come first: python -X importtime -m roisim
    as_module = any(option == "-m" and name == "roisim"
                    for option, name in zip(argv, argv[1:], strict=False))
    return as_module or os.path.basename(sys.argv[0]) in ("roisim", "roisim.exe")


@contextmanager
def quiet_interrupt() -> Iterator[None]:
    """In the ``roisim`` command, end as interrupted (130) where Ctrl-C comes while roisim imports.

    The command imports numba, pandas and scipy (most of a second) before its
    own handling of Ctrl-C begins, and an interrupt there printed Python's
    traceback. Imported as a library (a notebook), the KeyboardInterrupt is
    raised as usual. An interrupt that an import wraps (Python 3.11 wraps one
    raised while a class is created) counts too.
    """
    try:
        yield
    except BaseException as exc:
        if caused_by(exc, KeyboardInterrupt) is None or not is_the_command():
            raise
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED)  # nothing imported needs tearing down, nothing was written
