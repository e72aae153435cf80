"""The machine under the lab: how much CPU the hypervisor took (steal time), and how
fast a fixed piece of work runs right now.

On a shared VM the level of every number moves with its neighbours: an identical run
an hour later lost 20-48 % rps on 8 rows while its server's CPU fell with it (issue
26). The server did not work less; it got less of the machine. Steal time says so
where the kernel sees it (/proc/stat, psutil's cpu_times().steal); the reference
workload says so where it does not (a neighbour on the same core, a throttled host).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psutil

from ..paths import ROOT

REFERENCE_LOOPS = 200_000  # ~20 ms of pure Python on this machine: cheap, GIL-bound
REFERENCE_REPEATS = 15
SPREAD_EVERY_S = 20.0  # between cells, a short sample this often at most
SPREAD_REPEATS = 5  # ~0.13 s with the child's start: 0.7 % of a run


class StealMeter:
    """Steal between two readings, as CPU % summed over the cores (100 = one core),
    the unit of every other CPU number in resources.csv."""

    def __init__(self) -> None:
        self._then = (time.monotonic(), _steal_s())

    def read(self) -> float:
        """Stolen CPU % since the last read (or since creation)."""
        now, steal = time.monotonic(), _steal_s()
        then, before = self._then
        self._then = (now, steal)
        if now <= then:
            return 0.0
        return round(max(0.0, steal - before) / (now - then) * 100, 1)


def _steal_s() -> float:
    # Linux only; elsewhere the field is absent and nothing is ever stolen
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Reference:
    """A fixed piece of pure-Python work, timed: its median seconds per repeat, and the
    steal seen meanwhile (% of each core, averaged over the cores)."""

    seconds: float
    steal_pct: float
    repeats: int
    loops: int

    def to_json(self) -> dict:
        return asdict(self)

    def slower_than(self, other: Reference) -> float:
        """How much slower this one ran than `other`, as a fraction (0.23 = 23 %)."""
        return self.seconds / other.seconds - 1.0


def reference(repeats: int = REFERENCE_REPEATS,
              loops: int = REFERENCE_LOOPS) -> Reference | None:
    """Time the fixed work `repeats` times in a child of its own; the median resists
    one interruption, while a machine slower throughout moves it. Not in this process:
    loadlab's own threads (a server being stopped, the observers) share its GIL, and
    timed here a calibrate's second run read 19-29 ms against the first's 15 on an idle
    machine, and refused it as a machine that moved. None when the child could not
    time it: the run goes on untimed, and compare then does not check the machine."""
    meter = StealMeter()
    code = (f"import json, sys; from {__name__} import timings;"
            f" json.dump(timings({int(repeats)}, {int(loops)}), sys.stdout)")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=60, cwd=ROOT, check=True)
        times = [float(t) for t in json.loads(done.stdout)]
    except (OSError, subprocess.SubprocessError, ValueError, TypeError):
        return None
    if len(times) != repeats or not all(t > 0 for t in times):
        return None
    stolen = meter.read() / cores()
    return Reference(round(statistics.median(times), 6), round(stolen, 1), repeats, loops)


class Spread:
    """Short reference samples between a run's cells, one each `every_s` at most. The
    start and end timings are 0.2 s each, and this VM's speed halves for seconds at a
    time (6 of 20 timings on an idle machine read 27-28 ms against 14-16), so either
    could fall in a slow spell and make a whole run read 1.5x slow; the median over
    samples spread across its minutes reads the machine its cells had (trust.py)."""

    def __init__(self, every_s: float = SPREAD_EVERY_S, repeats: int = SPREAD_REPEATS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s, self.repeats, self.clock = every_s, repeats, clock
        self.seconds: list[float] = []
        self._last = clock()

    def due(self) -> bool:
        return self.clock() - self._last >= self.every_s

    def sample(self) -> None:
        """Time the work now (call at a quiet moment, when `due`)."""
        ref = reference(self.repeats)
        self._last = self.clock()
        if ref is not None:
            self.seconds.append(ref.seconds)

    def to_json(self) -> dict | None:
        """The manifest's `machine.during`; None when no sample was due (a short run)."""
        if not self.seconds:
            return None
        return {"seconds": self.seconds, "repeats": self.repeats, "loops": REFERENCE_LOOPS,
                "every_s": self.every_s}


def timed() -> dict | None:
    """The reference now, as the manifest keeps it; None (kept as null) when it could
    not be timed: the run goes on, and compare does not check its machine."""
    ref = reference()
    return ref.to_json() if ref else None


def timings(repeats: int, loops: int) -> list[float]:
    """Seconds of each of `repeats` runs of the fixed work, in the calling process."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _work(loops)
        times.append(time.perf_counter() - start)
    return times


def _work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total = (total * 31 + i * i) % 1_000_003
    return total
