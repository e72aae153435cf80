"""The run: upstream up, then for each cell a fresh server, Locust, collect, stop.

A fresh server per cell means requests queued by one cell can never be served in the
next (FIELD-NOTES). The run folder is written under `.partial-<name>` and renamed when
the run ends; Ctrl-C or SIGTERM stops every child, keeps the finished cells, marks the
run `interrupted` and exits 130.
"""

from __future__ import annotations

import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.scenarios import SCENARIOS_BY_NAME

from . import loadgen, services, supervise
from .archive import Archive
from .config import Matrix, Pinning
from .plan import Cell, Plan
from .progress import Progress
from .resources import Sampler
from .runfolder import CellRecord, write_json

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
STOP_GRACE_S = 5.0


@dataclass
class Options:
    """How this run is carried out (beyond what is measured)."""

    results: Path
    label: str | None = None
    command: list[str] = field(default_factory=lambda: list(sys.argv))
    port: int = 0  # 0: a free port per cell
    upstream_port: int = 0
    processes: int = 1
    pin: bool = True
    cell_hook: Any = None  # tests: called with (phase, cell) at each phase


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop everything, keep what is finished."""


class Signals:
    """What `interrupts()` caught. After `defer()`, a signal is noted, never raised."""

    def __init__(self) -> None:
        self.hit: list[str] = []
        self.deferred = False

    def defer(self) -> None:
        self.deferred = True


@contextmanager
def interrupts() -> Iterator[Signals]:
    """Turn SIGINT and SIGTERM into Interrupted for the duration of the run.

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
        if not signals.deferred:
            raise Interrupted(hit[0])

    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig in old:
        signal.signal(sig, raise_interrupted)
    try:
        yield signals
    finally:
        if not hit:
            for sig, handler in old.items():
                signal.signal(sig, handler)


def ignore_interrupts() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


class Bench:
    """One invocation of `loadlab bench`: owns its run folder and its processes."""

    def __init__(self, matrix: Matrix, plan: Plan, options: Options,
                 progress: Progress | None = None) -> None:
        self.matrix = matrix
        self.plan = plan
        self.options = options
        self.progress = progress or Progress()
        self.pinning: Pinning = matrix.pinning.resolved() if options.pin else Pinning(False)
        self.archive = Archive(options.results, options.label, self._manifest())
        self.tmp = self.archive.tmp
        self.upstream: supervise.Process | None = None
        self.upstream_url = ""

    # --- the run ---------------------------------------------------------------------------

    @property
    def records(self) -> list[CellRecord]:
        return self.archive.records

    def run(self) -> int:
        # The handlers stay until the folder is sealed: a signal after the last cell
        # (while stopping or archiving) must not leave a half-written folder or orphans.
        with interrupts() as signals:
            return self._run(signals)

    def _run(self, signals: Signals) -> int:
        status, code, error = "complete", EXIT_OK, None
        try:
            try:
                self._prepare()
                for cell in self.plan.cells:
                    self.progress.cell_started(cell, len(self.plan.cells), self._time_left(cell))
                    record = self._run_cell(cell)
                    self.archive.add(record)
                    self.progress.cell_done(cell, record)
            finally:
                signals.defer()  # from here on nothing is cut short; a signal is noted
            failed = [r for r in self.records if r.status != "ok"]
            if failed:  # some cells measured: partial; none: the run failed
                status = "failed" if len(failed) == len(self.records) else "partial"
                code = EXIT_FAILED
        except Interrupted as exc:
            status, code, error = "interrupted", EXIT_INTERRUPTED, f"interrupted by {exc}"
            self.progress.note(f"interrupted ({exc}): stopping every process, keeping"
                               f" {len(self.records)} finished cell(s)")
        except (services.PrepareFailed, supervise.NotReady, supervise.PortInUse) as exc:
            status, code, error = "failed", EXIT_FAILED, str(exc)
            self.progress.note(f"run failed: {exc}", style="red")
            if isinstance(exc, supervise.NotReady) and exc.log_tail:
                self.progress.note(exc.log_tail)
        except Exception as exc:  # a bug in loadlab: keep everything, leave the tmp name
            ignore_interrupts()
            supervise.stop_all()
            (self.tmp / "crash.log").write_text(traceback.format_exc())
            path = self.archive.finish("failed", f"{type(exc).__name__}: {exc} (see"
                                       " crash.log)", rename=False)
            self.progress.note(f"loadlab failed: {type(exc).__name__}: {exc}; the"
                               f" run stays in {path} (crash.log has the traceback)", style="red")
            return EXIT_FAILED
        finally:
            supervise.stop_all()
        if signals.hit and status != "interrupted":  # came while stopping or archiving
            status, code = "interrupted", EXIT_INTERRUPTED
            error = f"interrupted by {signals.hit[0]} after the last cell"
        if status == "complete" and not self.records:
            status, code = "failed", EXIT_FAILED
        path = self.archive.finish(status, error)
        if self.archive.report_error:
            self.progress.note(self.archive.report_error)
        self.progress.run_done(path, self.records, status)
        if signals.hit and code != EXIT_INTERRUPTED:  # came while sealing the folder
            self.progress.note(f"{signals.hit[0]} came after the run was sealed {status}")
        return code

    def _prepare(self) -> None:
        logs = self.tmp / "logs"
        if any(c.scenario.uses_db for c in self.plan.cells):
            self.progress.note("preparing the catalog database (migrate + seed)")
            services.prepare_db(self.matrix, logs / "prepare.log")
        self.upstream, self.upstream_url = services.start_upstream(
            self.plan.upstream, self.options.upstream_port, logs / "upstream.log",
            self.pinning.cpus("upstream"))
        self.archive.manifest["upstream"]["url"] = self.upstream_url
        self.archive.save_manifest()

    def _run_cell(self, cell: Cell) -> CellRecord:
        cell_dir = self.tmp / cell.path
        cell_dir.mkdir(parents=True)
        record = CellRecord(
            server=cell.server.name, interface=cell.server.interface,
            scenario=cell.scenario.name, flavor=cell.flavor, client=cell.client,
            users=cell.users, trial=cell.trial, path=cell.path,
        )
        server: supervise.Process | None = None
        locust: supervise.Process | None = None
        try:
            self._hook("server-starting", cell)
            server, base_url, ready_s = services.start_server(
                cell.server, self.options.port,
                services.app_env(self.matrix, self.upstream_url, cell.client),
                cell_dir / "server.log", self.pinning.cpus("server"))
            record.ready_s = round(ready_s, 3)
            self._hook("server-ready", cell)
            profile = self.plan.profile
            locust = supervise.Process(
                "locust", loadgen.headless_argv(
                    scenario=cell.scenario.name, flavor=cell.flavor, host=base_url,
                    users=cell.users, spawn_rate=profile.spawn_rate,
                    warmup_s=profile.warmup_s, duration_s=profile.duration_s,
                    cell_dir=cell_dir, processes=self.options.processes,
                ),
                log_path=cell_dir / "locust.log",
                env=loadgen.env(cell_dir=cell_dir, warmup_s=profile.warmup_s,
                                duration_s=profile.duration_s,
                                catalog_rows=self.matrix.app.catalog_rows),
                cpus=self.pinning.cpus("generator"),
            ).start()
            roles = {"server": server.tree, "generator": locust.tree,
                     "upstream": self.upstream.tree if self.upstream else list}
            with Sampler(roles, cell_dir / "resources.csv") as sampler:
                self._hook("measuring", cell)
                self._wait_locust(cell, server, locust)
            server.stop(STOP_GRACE_S)
            measurement = loadgen.read_measurement(cell_dir)
            self._fill(record, measurement, sampler)
        except (supervise.NotReady, supervise.PortInUse, loadgen.MeasurementError,
                CellFailed) as exc:
            record.status = "failed"
            record.error = str(exc)
            tail = getattr(exc, "log_tail", "") or (server.log_tail() if server else "")
            if tail:
                record.error += "\n--- server.log (tail) ---\n" + tail
        finally:
            for proc in (locust, server):
                if proc is not None:
                    proc.stop(STOP_GRACE_S)
        return record

    def _wait_locust(self, cell: Cell, server: supervise.Process,
                     locust: supervise.Process) -> None:
        profile = self.plan.profile
        deadline = time.monotonic() + loadgen.run_bound_s(
            cell.users, profile.spawn_rate, profile.warmup_s, profile.duration_s) + 15
        while locust.alive:
            if not server.alive:
                raise CellFailed(f"server {cell.server.name} exited with code"
                                 f" {server.returncode} in the middle of the cell")
            if time.monotonic() > deadline:
                raise CellFailed("Locust did not finish in time")
            time.sleep(0.2)
        if locust.returncode not in (0, None):
            raise CellFailed(f"Locust exited with code {locust.returncode}; see locust.log:\n"
                             + locust.log_tail())

    def _fill(self, record: CellRecord, m: loadgen.Measurement, sampler: Sampler) -> None:
        record.requests = m.requests + m.failures
        record.failures = m.failures
        record.rps = round(m.requests / m.duration_s, 2) if m.duration_s else 0.0
        record.latency_ms = m.latency_ms
        record.rps_per_second = m.rps_per_second
        record.p95_ms_per_second = m.p95_ms_per_second
        record.duration_s = m.duration_s
        write_json(self.tmp / record.path / "latency.json", m.to_json())
        rules = self.matrix.rules
        server = sampler.summary("server", *m.window)
        generator = sampler.summary("generator", *m.window)
        upstream = sampler.summary("upstream", *m.window)
        if server:
            record.server_cpu_pct = server["cpu_pct"]
            record.server_rss_mb = server["rss_mb"]
            record.server_threads = int(server["threads"])
        if generator:
            record.generator_cpu_pct = generator["cpu_pct"]
            if generator["cpu_pct"] >= rules.hot_cpu_pct * self.options.processes:
                record.warnings.append("generator-hot")
        if upstream and record.scenario in _UPSTREAM_SCENARIOS:
            record.upstream_cpu_pct = upstream["cpu_pct"]
            if upstream["cpu_pct"] >= rules.hot_cpu_pct:
                record.warnings.append("upstream-hot")
        if record.requests and record.failure_ratio > rules.high_failure_ratio:
            record.warnings.append("high-failure-ratio")
        if record.requests < rules.min_requests:
            record.warnings.append("few-requests")

    def _hook(self, phase: str, cell: Cell) -> None:
        if self.options.cell_hook:
            self.options.cell_hook(phase, cell)

    def _time_left(self, cell: Cell) -> float:
        return self.plan.estimate_s(len(self.plan.cells) - cell.index)

    # --- the manifest ------------------------------------------------------------------------

    def _manifest(self) -> dict[str, Any]:
        return {
            "mode": "bench",
            "command": self.options.command,
            "matrix": str(self.matrix.path),
            "profile": self.plan.profile.describe(),
            "plan": self.plan.describe(),
            "upstream": {**self.plan.upstream.__dict__, "url": None},
            "app": {**self.matrix.app.__dict__,
                    "env": services.app_env(self.matrix, "<upstream url>", "<cell client>")},
            "pinning": self.pinning.describe(),
            "generator": {"tool": "locust", "user_class": "FastHttpUser",
                          "processes": self.options.processes},
            "rules": {**self.matrix.rules.__dict__,
                      "latency": "harness HdrHistogram, successful requests, whole seconds"
                                 " of the measured window"},
        }


class CellFailed(Exception):
    """The cell could not be measured; the message says why."""


_UPSTREAM_SCENARIOS = {s.name for s in SCENARIOS_BY_NAME.values() if s.uses_upstream}
