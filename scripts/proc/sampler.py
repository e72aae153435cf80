"""Resource sampling: CPU, memory and threads of each role's whole process tree.

A background thread samples the server, the load generator and the upstream stand-in
about once a second into `resources.csv`. CPU % comes from CPU-time deltas per process
(psutil's cpu_percent() returns 0 on its first call, which would hide short-lived
workers), summed over the tree: 100 means one core busy. Each tick also writes a
`stolen` row: the CPU the hypervisor took from the whole machine meanwhile (steal time,
same unit), so a cell knows whether it ran on all of its core.
"""

from __future__ import annotations

import csv
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import psutil

from .machine import StealMeter

FIELDS = ("time", "role", "cpu_pct", "rss_mb", "threads", "processes")
STOLEN = "stolen"  # the role of the machine's steal-time rows


@dataclass
class Sample:
    time: float
    role: str
    cpu_pct: float
    rss_mb: float
    threads: int
    processes: int


class Periodic:
    """The shape of every sampler of a cell: for the body of a `with`, a background
    thread calls `tick()` every `interval` seconds; then `finish()` (in that thread)
    and `write()` (the CSV). `start()` runs once before the thread does."""

    def __init__(self, path: Path, interval: float, name: str) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def __enter__(self) -> Self:
        self.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.write()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
        self.finish()

    def start(self) -> None:
        """Before the thread starts (e.g. a baseline sample)."""

    def tick(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """In the thread, after its last tick (e.g. close a connection)."""

    def write(self) -> None:
        raise NotImplementedError


class Sampler(Periodic):
    """Samples each role's process tree every `interval` seconds until stopped."""

    def __init__(self, roles: dict[str, Callable[[], list[psutil.Process]]], path: Path,
                 interval: float = 1.0,
                 observe: Callable[[dict[str, Sample]], None] | None = None) -> None:
        super().__init__(path, interval, "loadlab-sampler")
        self.roles = roles
        self.observe = observe  # given each tick's samples by role (the web UI's live tab)
        self.samples: list[Sample] = []
        self._last: dict[tuple[str, int], tuple[float, float]] = {}
        self._steal = StealMeter()

    def start(self) -> None:
        self._sample(record=False)  # CPU times to take the first deltas from
        self._steal.read()

    def tick(self) -> None:
        seen = len(self.samples)
        self._sample(record=True)
        if self.observe is not None:
            try:
                self.observe({s.role: s for s in self.samples[seen:]})
            except Exception as exc:  # a live view must not stop the sampling
                print(f"loadlab: live view: {exc}", file=sys.stderr)

    def _sample(self, record: bool) -> None:
        now = time.time()
        for role, tree in self.roles.items():
            cpu = rss = 0.0
            threads = count = 0
            for proc in tree():
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        busy = times.user + times.system
                        rss += proc.memory_info().rss
                        threads += proc.num_threads()
                        created = proc.create_time()
                except psutil.Error:
                    continue
                count += 1
                key = (role, proc.pid)
                then, was = self._last.get(key, (max(created, now - self.interval), 0.0))
                if now > then:
                    cpu += (busy - was) / (now - then) * 100
                self._last[key] = (now, busy)
            if record and count:
                self.samples.append(Sample(now, role, round(cpu, 1), round(rss / 2**20, 1),
                                           threads, count))
        stolen = self._steal.read()
        if record:
            self.samples.append(Sample(now, STOLEN, stolen, 0.0, 0, 0))

    def write(self, path: Path | None = None,
              window: tuple[float, float] | None = None) -> None:
        """resources.csv: every sample, or (a web UI cell's) those inside `window`."""
        with open(path or self.path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(FIELDS)
            for s in self.samples:
                if window is not None and not _inside(s, *window):
                    continue
                writer.writerow([f"{s.time:.3f}", s.role, s.cpu_pct, s.rss_mb, s.threads,
                                 s.processes])

    def summary(self, role: str, start: float, end: float) -> dict[str, float] | None:
        """Mean CPU %, peak RSS and threads of one role inside [start, end]."""
        inside = [s for s in self.samples if s.role == role and _inside(s, start, end)]
        if not inside:
            inside = [s for s in self.samples if s.role == role]
        if not inside:
            return None
        return {
            "cpu_pct": round(sum(s.cpu_pct for s in inside) / len(inside), 1),
            "rss_mb": max(s.rss_mb for s in inside),
            "threads": max(s.threads for s in inside),
        }


def _inside(sample: Sample, start: float, end: float) -> bool:
    """A sample taken in [start, end], or within half an interval after: it covers the
    second before it, so the one just after a window's end is mostly the window's."""
    return start <= sample.time <= end + 0.5


@dataclass
class Snapshot:
    """A process tree at one moment: what a load left behind (or found)."""

    threads: int
    rss_mb: float
    cpu_pct: float  # over the snapshot's own interval
    connections: int  # established TCP connections on `port`


def snapshot(tree: Callable[[], list[psutil.Process]], port: int,
             interval: float = 0.5) -> Snapshot:
    """Threads, memory, CPU % over `interval` seconds and established connections on
    local `port`, summed over the tree (processes that vanish meanwhile count as 0)."""
    procs = tree()
    before = {p.pid: _cpu_s(p) for p in procs}
    time.sleep(interval)
    threads, rss, cpu, conns = 0, 0.0, 0.0, 0
    for p in procs:
        try:
            with p.oneshot():
                threads += p.num_threads()
                rss += p.memory_info().rss / 2**20
                cpu += max(0.0, _cpu_s(p) - before[p.pid])
            conns += sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                         for c in p.net_connections(kind="tcp"))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return Snapshot(threads, round(rss, 1), round(100 * cpu / interval, 1), conns)


def _cpu_s(p: psutil.Process) -> float:
    try:
        t = p.cpu_times()
        return t.user + t.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
