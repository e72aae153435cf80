"""Signals during a run: Ctrl-C, SIGTERM, SIGHUP and SIGQUIT become `Interrupted`, once.

SIGHUP is a closed terminal or a dropped ssh session, SIGQUIT a Ctrl-\\: each means
"stop", and each gets the same clean stop as Ctrl-C (every child stopped, finished cells
kept, the run sealed `interrupted`). A hard stop that no handler sees (SIGKILL, the OOM
killer) is covered by launch.py (children die with us) and recover.py (the next loadlab
seals the folder).

Like uvicorn's supervisors, the handler only records the signal (and raises while
cells run); the run's main loop decides what to stop and how to seal the folder.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import Interrupted

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class Signals:
    """What `interrupts()` caught. After `defer()`, a signal is noted, never raised."""

    def __init__(self) -> None:
        self.hit: list[str] = []
        self.deferred = False

    def defer(self) -> None:
        self.deferred = True


@contextmanager
def interrupts() -> Iterator[Signals]:
    """Turn the HANDLED signals into Interrupted for the duration of the run.

    The first signal also makes the process ignore the next ones, so a second Ctrl-C
    cannot cut the cleanup short and leave orphans; they stay ignored until exit. Once
    `defer()` is called (cleanup and archiving, which must not be cut short), a signal is
    only noted in `hit`.
    """
    signals = Signals()
    hit = signals.hit

    def raise_interrupted(signum: int, frame: Any) -> None:
        ignore_interrupts()
        hit.append(signal.Signals(signum).name)
        if signals.deferred:
            return
        if _holding:  # raised as the held section ends (`held`)
            _pending.append(hit[0])
            return
        raise Interrupted(hit[0])

    old = {s: signal.getsignal(s) for s in HANDLED}
    for sig in old:
        signal.signal(sig, raise_interrupted)
    try:
        yield signals
    finally:
        if not hit:
            for sig, handler in old.items():
                signal.signal(sig, handler)


_holding = 0  # sections a signal must not cut in two, open now
_pending: list[str] = []  # a signal that came during one, raised as it ends


@contextmanager
def held() -> Iterator[None]:
    """A section a signal must not cut in two: a signal that comes meanwhile raises
    Interrupted as it ends. A child between its fork and its entry in supervise's
    ledger of live processes was one: cut there, it was never stopped, and a probe's
    Locust wrote into the run's old `.partial-` name after the seal. Only the main
    thread holds: signals interrupt nothing else (py-spy's watcher starts a sampler
    again from a thread of its own, and must not swallow the main thread's Ctrl-C)."""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        due = _pending[:1] if not _holding else []
        if not _holding:
            _pending.clear()
    if due:
        raise Interrupted(due[0])


def ignore_interrupts() -> None:
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_IGN)
