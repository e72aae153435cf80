"""`loadlab fidelity`: does loadlab's generator see the throughput wrk sees?

The hello scenario's sync view, on one WSGI and one ASGI server, is driven to its peak
twice on the same pinned setup: by loadlab exactly as `loadlab bench` runs it (Locust
FastHttpUser through `Bench`, a fresh server per cell) and by wrk (a C load generator,
pinned to the generator's CPUs like Locust, a fresh server per measurement too). Each
tool's peak is the best of a few concurrency levels; the ratio loadlab/wrk says how much
of the server's real capacity loadlab can measure. Target: >= 0.95.

The bench is watched through an observer (its timing), like any other output.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from itertools import zip_longest
from pathlib import Path
from typing import Any

import psutil

from ..archive.records import CellRecord
from ..config import Matrix, Pinning
from ..errors import Interrupted
from ..observe import Observer
from ..plan import Cell, Choices, build_plan
from ..proc import supervise
from ..proc.sampler import Sampler
from ..proc.signals import interrupts
from ..run.bench import Bench, Options
from .model import (
    DEFAULT_CONNECTIONS,
    DEFAULT_DURATION_S,
    DEFAULT_SERVERS,
    DEFAULT_USERS,
    DEFAULT_WARMUP_S,
    FLAVOR,
    SCENARIO,
    Fidelity,
    Point,
    ServerFidelity,
)
from .report import describe_point
from .wrk import measure_wrk, wrk_path


class _Timing(Observer):
    """Notes when each cell starts, starts measuring and ends (wall clock)."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.done: dict[int, float] = {}
        self.measuring: dict[int, float] = {}
        self.run_dir: Path | None = None

    def cell_started(self, cell: Cell, total: int, left_s: float) -> None:
        self.started[cell.index] = time.time()

    def cell_done(self, cell: Cell, record: CellRecord) -> None:
        self.done[cell.index] = time.time()

    def cell_phase(self, cell: Cell, phase: str) -> None:
        if phase == "measuring":
            self.measuring[cell.index] = time.time()

    def run_done(self, path: Path, records: list[CellRecord], status: str) -> None:
        self.run_dir = path


def measure_loadlab(matrix: Matrix, server_name: str, users: int, duration_s: float,
                    warmup_s: float, processes: int, pin: bool, work: Path,
                    trial: int = 1) -> Point:
    """One hello sync cell of `loadlab bench` (a Bench of its own: a fresh server)."""
    plan = build_plan(matrix, Choices(
        profile="smoke", servers=(server_name,), scenarios=(SCENARIO,), flavors=(FLAVOR,),
        users=(users,), duration_s=duration_s, warmup_s=warmup_s, trials=1, pin=pin))
    timing = _Timing()
    bench = Bench(matrix, plan, Options(
        results=work / "loadlab", label=f"{server_name}-u{users}-t{trial}",
        command=["loadlab", "fidelity"], processes=processes, pin=pin), [timing])
    if bench.run() == "interrupted":
        raise Interrupted("signal")
    point = Point("loadlab", server_name, users, trial, status="failed",
                  error="the bench recorded no cell")
    if not bench.records:
        return point
    cell, record = plan.cells[0], bench.records[0]
    point.status, point.rps, point.requests = record.status, record.rps, record.requests
    point.errors, point.warnings = record.failures, list(record.warnings)
    point.server_cpu_pct, point.generator_cpu_pct = (record.server_cpu_pct,
                                                     record.generator_cpu_pct)
    point.ready_s = record.ready_s
    point.error = (record.error or "").splitlines()[0] if record.error else None
    window = _window(timing.run_dir, record)
    started, done = timing.started.get(cell.index), timing.done.get(cell.index)
    measuring = timing.measuring.get(cell.index)
    if window and "start" in window and "end" in window:
        point.window = (window["start"], window["end"])
    if window and measuring and "spawned" in window:
        point.generator_start_s = round(window["spawned"] - measuring, 3)
    if window and done and "end" in window:
        point.stop_s = round(done - window["end"], 3)
    if started and done:
        point.wall_s = round(done - started, 3)
    return point


class MachineLoad:
    """CPU the whole machine spends against CPU our own processes spend, over time.

    Other work on the machine (another bench, a build) shares the pinned cores and
    moves both tools' numbers; the difference, per measured window, shows it.
    """

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        me = psutil.Process()
        self.ours = Sampler(
            {"ours": lambda: [me, *(p for proc in supervise.live() for p in proc.tree())]},
            path, interval)
        self.interval = interval
        self.machine: list[tuple[float, float]] = []  # (time, busy % of one core)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loadlab-machine",
                                        daemon=True)

    def __enter__(self) -> MachineLoad:
        self.ours.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.ours.__exit__(*exc)

    def _loop(self) -> None:
        then, was = time.time(), _busy()
        while not self._stop.wait(self.interval):
            now, busy = time.time(), _busy()
            self.machine.append((now, (busy - was) / (now - then) * 100))
            then, was = now, busy

    def other_cpu_pct(self, start: float, end: float) -> float | None:
        """Mean CPU % (100 = one core) used by others inside [start, end]."""
        machine = [v for t, v in self.machine if start + 1 <= t <= end]
        ours = [s.cpu_pct for s in self.ours.samples if start + 1 <= s.time <= end]
        if not machine or not ours:
            return None
        return round(max(0.0, sum(machine) / len(machine) - sum(ours) / len(ours)), 1)


def _busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


def _window(run_dir: Path | None, record: CellRecord) -> dict[str, float] | None:
    if run_dir is None:
        return None
    try:
        return json.loads((run_dir / record.path / "window.json").read_text())
    except (OSError, ValueError):
        return None


def run_fidelity(matrix: Matrix, *, servers: tuple[str, ...] = DEFAULT_SERVERS,
                 users: tuple[int, ...] = DEFAULT_USERS,
                 connections: tuple[int, ...] = DEFAULT_CONNECTIONS,
                 duration_s: float = DEFAULT_DURATION_S, warmup_s: float = DEFAULT_WARMUP_S,
                 trials: int = 1, processes: int = 1, pin: bool = True,
                 keep: Path | None = None, note: Any = None) -> Fidelity:
    """Measure every server with both tools, interleaved: wrk and loadlab take turns at
    each concurrency level, so drift and neighbours hit both alike."""
    wrk_path()
    note = note or (lambda text: None)
    specs = [matrix.server(name) for name in servers]
    pinning = matrix.pinning.resolved() if pin else Pinning(False)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="loadlab-fidelity-"))
    work.mkdir(parents=True, exist_ok=True)
    cpus = len(pinning.generator) if pinning.enabled else (os.cpu_count() or 1)
    results = {spec.name: ServerFidelity(spec.name, spec.interface, generator_cpus=cpus)
               for spec in specs}
    steps = [(tool, n) for c, u in zip_longest(connections, users)
             for tool, n in (("wrk", c), ("loadlab", u)) if n is not None]
    try:
        with interrupts(), MachineLoad(work / "machine.csv") as machine:
            for trial in range(1, trials + 1):
                for spec in specs:
                    for tool, n in steps:
                        if tool == "wrk":
                            point = measure_wrk(matrix, pinning, spec.name, n, duration_s,
                                                warmup_s, work, trial)
                        else:
                            point = measure_loadlab(matrix, spec.name, n, duration_s,
                                                    warmup_s, processes, pin, work, trial)
                        time.sleep(machine.interval)  # the window's last sample
                        if point.window:
                            point.other_cpu_pct = machine.other_cpu_pct(*point.window)
                        results[spec.name].points.append(point)
                        note(describe_point(point))
    finally:
        supervise.stop_all()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return Fidelity(list(results.values()), {
        "servers": list(servers), "users": list(users), "connections": list(connections),
        "duration_s": duration_s, "warmup_s": warmup_s, "trials": trials,
        "processes": processes, "pinning": pinning.describe(),
        "wrk": "wrk -t1 -c<connections> --latency, after a warmup run",
        "loadlab": "Locust FastHttpUser, one loadlab bench cell (fresh server) per point",
    })
