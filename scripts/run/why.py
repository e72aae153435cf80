"""`--why` in a run: py-spy on each cell's server during its measured window, then the
cell's profile.json and its record's `layers` and `why` (load/profile.py).

A cell whose samplers fail keeps its numbers: its profile says what went wrong. The
samplers run on the generator's cores, never on the server's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from ..archive.manifest import Manifest
from ..archive.records import CellRecord
from ..config import Pinning
from ..load import profile
from ..plan import Cell, Plan
from ..proc import profiler


class Why:
    """The samplers of the cell being measured, if the run was asked why (rate > 0)."""

    def __init__(self, rate: int, plan: Plan, pinning: Pinning, manifest: Manifest) -> None:
        self.rate, self.plan = rate, plan
        self.cpus = pinning.cpus("generator")
        self.packages = profile.view_packages(plan.project)
        self.current: profiler.Profiler | None = None
        self.error: str | None = None  # the samplers could not start: said per cell
        if rate:
            manifest.profiled(rate, version(), {n: " ".join((*profiler.COMMON, *f))
                                                for n, f in profiler.SAMPLERS.items()})

    def start(self, cell: Cell, server: Any, cell_dir: Path) -> None:
        """Call when the go file is touched: the samplers wait for the window's start."""
        self.current, self.error = None, None
        pid = getattr(server, "pid", None)  # a --target has no process of ours
        if not self.rate or pid is None or cell.scenario.connection != "request":
            return
        p = self.plan.profile
        try:
            self.current = profiler.Profiler.start(
                pid, cell_dir, self.rate, p.duration_s,
                profile.start_delay_s(cell.users, p.spawn_rate, p.warmup_s), self.cpus)
        except OSError as exc:
            self.error = f"profiler not started: {exc}"

    def read(self, record: CellRecord, cell_dir: Path) -> None:
        """After the cell's record is filled: its profile from the samples."""
        if self.current is None:
            if self.error:
                record.why = self.error
            return
        problems = self.current.finish()
        spy, self.current = self.current, None
        profile.read(record, cell_dir, self.rate, self.plan.profile.duration_s, problems,
                     self.packages, spy.errors(), spy.retried)

    def stop(self) -> None:
        """Whatever happened to the cell: no sampler outlives it."""
        if self.current is not None:
            self.current.stop()
            self.current = None


def session_start(rate: int, pid: int | None, folder: Path, pinning: Pinning,
                  manifest: Manifest) -> profiler.Profiler | None:
    """The web UI: its tests start and stop by hand, so the samplers cover the whole
    session (stopped with everything else); its profile is the session's, not a test's."""
    if not rate or pid is None:
        return None
    manifest.profiled(rate, version(), {n: " ".join((*profiler.COMMON, *f))
                                        for n, f in profiler.SAMPLERS.items()})
    try:
        return profiler.Profiler.start(pid, folder, rate, None, cpus=pinning.cpus("generator"))
    except OSError as exc:
        print(f"loadlab ui: profiler not started: {exc}")
        return None


def session_read(spy: profiler.Profiler, folder: Path, records: list[CellRecord],
                 cpu_s: float | None, seconds: float, packages: tuple[str, ...]) -> str:
    """session/profile.json over every test's requests; its one line."""
    problems, errors = spy.stop(), spy.errors()
    whole = CellRecord(server="", interface="", scenario="", flavor="", client=None,
                       users=0, trial=0, requests=sum(r.requests for r in records),
                       duration_s=seconds,
                       server_cpu_pct=cpu_s * 100 / seconds if cpu_s and seconds else None)
    profile.read(whole, folder, spy.rate, seconds, problems, packages, errors, spy.retried)
    return f"why (the whole session, {folder.name}/{profile.PROFILE}): {whole.why}"


def version() -> str | None:
    """py-spy's version, as the manifest records it."""
    spy = profiler.executable()
    if spy is None:
        return None
    try:
        done = subprocess.run([spy, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().removeprefix("py-spy ") or None
