"""A process that draws the command line's charts, started before the first simulation.

A run's charts need matplotlib, which takes about 0.3 s to import and more
to load its fonts, and none of it is needed to simulate. ``roisim run``
therefore forks this process first. On the second core it imports
matplotlib and draws a throwaway figure while the command line simulates;
then it draws each run's charts (sharing them out among forked helpers, as
:func:`roisim.charts.write_charts` does) while the command line writes the
tables and ``trials.parquet``.

A result reaches it pickled through a pipe, so only results up to
:data:`MAX_BYTES` go this way (the bakery's 10,000 trials are about 2 MB,
the e-commerce example's 250,000 about 60 MB, pickled and read back in
0.07 s). Larger ones are drawn as before, by forked copies of the command
line, which share its memory instead of copying it.

The process leads a process group of its own, with its helpers in it: Ctrl-C
at the terminal reaches only the command line, which ends the whole group
before it cleans up, so no helper writes into a folder being removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import pickle
import signal
import struct
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from roisim.result import SimulationResult

#: the largest pickled result sent to the process; larger ones are drawn in place.
MAX_BYTES = 128 << 20
#: bytes pickled per subject and trial: the outcomes (28) and the profiles' npv
#: and payback (10), which the charts read.
BYTES_PER_TRIAL = 38
#: what the charts read from a result's cache; what they do not (the analysis
#: trials' inputs, up to 200,000 rows of every input) stays behind.
CHART_CACHE = ("profiles", "sensitivity", "voi", "input_histograms")

_LENGTH = struct.Struct("<Q")


class ChartProcess:
    """Draws charts of results sent to it, one run at a time (:meth:`submit`, :meth:`collect`).

    Linux only (it forks). End it with :meth:`kill`, whether it is idle or
    drawing (interrupted). A chart that fails is reported by :meth:`collect` and the
    process takes the next run; once the process has ended (killed, or it
    could not start drawing), :meth:`submit` returns False so that the caller
    draws the charts itself.
    """

    def __init__(self) -> None:
        requests_in, requests_out = os.pipe()
        answers_in, answers_out = os.pipe()
        pid = fork()
        if pid == 0:  # the chart process: never returns
            os.close(requests_out)
            os.close(answers_in)
            _serve(requests_in, answers_out)
        os.close(requests_in)
        os.close(answers_out)
        try:  # also here, so that kill() reaches the group however soon it is called
            os.setpgid(pid, pid)
        except OSError:  # the child got there first (or has ended already)
            pass
        self.pid: int | None = pid
        self._requests: BinaryIO = os.fdopen(requests_out, "wb")
        self._answers: BinaryIO = os.fdopen(answers_in, "rb")
        self._pending = False

    def submit(self, result: SimulationResult, folder: Path) -> bool:
        """Start drawing ``result``'s charts into ``folder``; False where it cannot.

        It cannot when the result is too large to send (:data:`MAX_BYTES`) or
        the process has ended. The analyses the charts read are computed here
        first (:meth:`SimulationResult.analyses`): the copy sent holds them,
        and the chart process runs no kernel.
        """
        if self.pid is None or self._pending:
            return False
        size = len(result.subjects) * result.n_trials * BYTES_PER_TRIAL
        if size + result.outcomes.band_paths.nbytes > MAX_BYTES:
            return False
        result.analyses()
        copy = dataclasses.replace(result, model=None,
                                   _cache={k: result._cache[k] for k in CHART_CACHE})
        try:
            _send(self._requests, pickle.dumps((copy, str(folder)), pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:  # it ended (it could not import matplotlib, say)
            self.kill()
            return False
        self._pending = True
        return True

    @property
    def pending(self) -> bool:
        """A submitted result's charts are being drawn (until :meth:`collect` returns or raises)."""
        return self._pending

    def collect(self) -> list[str]:
        """The files written for the last :meth:`submit`; raises RuntimeError if drawing failed."""
        answer = _receive(self._answers)
        if answer is None:
            self.kill()
            raise RuntimeError("drawing charts failed: the chart process ended")
        self._pending = False
        ok, value = pickle.loads(answer)
        if not ok:
            raise RuntimeError(f"drawing charts failed: {value}")
        return value

    def kill(self) -> None:
        """End the process and its helpers now, and wait for them."""
        self._pending = False
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        # its helpers (its children, not ours) die a moment later: one may still be
        # finishing a chart in the folder the caller is about to remove
        wait_for_group(self.pid)
        self.pid = None
        for pipe in (self._requests, self._answers):
            try:
                pipe.close()
            except OSError:  # a request it never read: nothing left to flush it to
                pass


def wait_for_group(group: int, timeout: float = 5.0) -> None:
    """Until no live process is left in process group ``group`` (at most ``timeout`` s).

    Read from /proc: zombies, which write nothing, do not count (a
    container's first process may never reap them). Without /proc, at once.
    """
    deadline = time.monotonic() + timeout
    while _group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.002)


def _group_alive(group: int) -> bool:
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return False
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/stat", "rb") as stat:
                # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
                state, _, pgrp = stat.read().rsplit(b")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # it ended meanwhile
        if int(pgrp) == group and state not in (b"Z", b"X"):
            return True
    return False


def fork() -> int:
    """``os.fork()``, without the warning Python 3.12+ gives when other threads are alive.

    They are numba's (after a run) or OpenBLAS's: a forked copy only draws with
    matplotlib, whose locks they never take.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                                category=DeprecationWarning)
        return os.fork()


#: the signals that end a run (Ctrl-C, kill)
ENDING = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then take them.

    Around a fork, so that the parent has noted its child (to end it when
    interrupted) before an interrupt can unwind it: a child forked and not
    yet noted would go on writing charts into a folder being removed. A
    forked child inherits the hold and lifts it itself (:func:`release_signals`).

    Held twice. The signal mask holds them in this thread; but a process's
    signal then goes to another thread that takes it (numba's or arrow's,
    after a run), and Python still runs its handler here. So Python's
    handlers are also replaced by one that notes the signal, and a signal
    noted is raised again once the block ends. Only the main thread runs
    Python's handlers: elsewhere nothing can interrupt the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    handlers: dict[int, Any] = {}
    mask = None
    try:  # set up inside: a signal between two of these steps undoes those taken
        for sig in ENDING:  # (None: a handler not set from Python)
            handlers[sig] = signal.signal(sig, lambda signum, frame: noted.append(signum)) \
                or signal.SIG_DFL
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, ENDING)
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one held in the mask is taken here
        if noted:
            signal.raise_signal(noted[0])


def release_signals() -> None:
    """In a child forked under :func:`signals_held`, once its own handlers are set: take them again."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, ENDING)


def _send(pipe: BinaryIO, data: bytes) -> None:
    pipe.write(_LENGTH.pack(len(data)))
    pipe.write(data)
    pipe.flush()


def _receive(pipe: BinaryIO) -> bytes | None:
    """One message; None at the end of the pipe."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = pipe.read(length)
    return data if len(data) == length else None


def _serve(requests: int, answers: int) -> NoReturn:
    """The chart process: draw each result received, answer, and end with the requests."""
    try:
        os.setpgid(0, 0)
        # Ctrl-C at the terminal goes to the command line's group only; the
        # command line ends this one with SIGKILL, and SIGTERM ends it at once
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from roisim import charts

        charts.warm_up()
        gc.freeze()  # matplotlib, imported and warmed up, lives until os._exit
        with os.fdopen(requests, "rb") as inbox, os.fdopen(answers, "wb") as outbox:
            while (request := _receive(inbox)) is not None:
                result, folder = pickle.loads(request)
                try:
                    answer = (True, charts.write_charts(result, Path(folder),
                                                        workers=result.threads))
                except Exception as exc:  # reported by the command line
                    answer = (False, f"{type(exc).__name__}: {exc}")
                _send(outbox, pickle.dumps(answer))
    finally:  # no exit handlers: they belong to the command line
        os._exit(0)
