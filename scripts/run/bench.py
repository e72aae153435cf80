"""The run: upstream up, then for each cell a fresh server, Locust, collect, stop.

A fresh server per cell means requests queued by one cell can never be served in the
next (docs/FIELD-NOTES.md). The run folder is written under `.partial-<name>` and
renamed when the run ends; Ctrl-C or SIGTERM stops every child, keeps the finished
cells and marks the run `interrupted`. Progress and outputs go to observers; `run()`
returns the run's status, which the CLI maps to an exit code.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.search import concurrency
from ..analysis.thresholds import Thresholds, judged
from ..archive import manifest
from ..archive.records import CellRecord
from ..archive.writer import Archive
from ..cells import CellKey
from ..config import Matrix, Pinning
from ..errors import CellError, Interrupted, NotReady, PortInUse, ServiceError
from ..load import collect, loadgen, longlived, probe, worker
from ..load.generator import Generator
from ..observe import Observer, Observers
from ..paths import LOOPBACK
from ..plan import Cell, Plan
from ..proc import machine, supervise
from ..proc.sampler import Sampler
from ..proc.sampler import snapshot as sampler_snapshot
from ..proc.signals import Signals, ignore_interrupts, interrupts
from ..services import pgstat, serverlog
from ..services import project as project_run
from ..services import servers as services
from ..services.database import Database
from . import recover
from .firsts import FirstInstance
from .why import Why

STOP_GRACE_S = 5.0
PROBE_HOLD_S = 30.0  # the 1-user probe's own Locust runs while the cell's Locust waits


@dataclass
class Options:
    """How this run is carried out (beyond what is measured)."""

    results: Path
    label: str | None = None
    command: list[str] = field(default_factory=list)  # as given to the CLI (recorded)
    port: int = 0  # 0: a free port per cell
    upstream_port: int = 0
    processes: int = 1  # Locust's own forks (--processes)
    workers: int = 0  # a master and this many worker processes of loadlab's (--workers)
    remote_workers: int = 0  # and this many joining from other hosts (loadlab worker)
    master_bind: str = LOOPBACK  # where the master listens for them
    master_port: int = worker.DEFAULT_PORT  # fixed: remote workers rejoin each cell
    pin: bool = True
    database: Database | None = None  # chosen and checked by the CLI; else the matrix's
    why: int = 0  # --why: py-spy's rate (Hz) on each cell's server; 0: not profiled
    thresholds: dict[str, Thresholds] = field(default_factory=dict)  # judged before the seal


class Bench:
    """One invocation of `loadlab bench`: owns its run folder and its processes."""

    def __init__(self, matrix: Matrix, plan: Plan, options: Options,
                 observers: list[Observer] | None = None, mode: str = "bench") -> None:
        self.matrix = matrix
        self.plan = plan
        self.options = options
        self.progress = Observers(observers or [])
        self.pinning: Pinning = matrix.pinning.resolved() if options.pin else Pinning(False)
        self.database = options.database or Database.choose(matrix)
        self.project = plan.project
        label = self.project.run_label(options.label)
        self.archive = Archive(options.results, label, manifest.build(
            mode=mode, command=options.command, matrix=matrix,
            profile=plan.profile.describe(), plan=plan.describe(), upstream=plan.upstream,
            pinning=self.pinning, processes=options.workers or options.processes,
            app_env=self._recorded_env(), database=self.database.describe(),
            project=self.project))
        self.tmp = self.archive.tmp
        self.why = Why(options.why, plan, self.pinning, self.archive.manifest)
        self.upstream: supervise.Process | None = None
        self.upstream_url = ""
        # (R0, S) per configuration at 1 user, measured once per run
        self.unloaded: dict[CellKey, tuple[float | None, float | None]] = {}
        self.firsts = FirstInstance(plan, self.progress)  # per server, once per run
        self._stopping = supervise.Stopping()  # servers of cells already measured
        self.speed = machine.Spread()  # the reference between cells (trust.py)

    # --- the run ---------------------------------------------------------------------------

    @property
    def records(self) -> list[CellRecord]:
        return self.archive.records

    def run(self) -> str:
        """Run every cell; return the run's status (complete, partial, failed,
        interrupted)."""
        # The handlers stay until the folder is sealed: a signal after the last cell
        # (while stopping or archiving) must not leave a half-written folder or orphans.
        supervise.keep_ledger(self.tmp / recover.LEDGER)  # for a hard stop's survivors
        try:
            with interrupts() as signals:
                return self._run(signals)
        finally:
            supervise.keep_ledger(None)

    def _run(self, signals: Signals) -> str:
        status, error = "complete", None
        try:
            try:
                self.progress.plan(self._total(), self.plan.estimate_s(self._total()),
                                   self.plan.skipped)
                for line in worker.invitation(self.options.remote_workers,
                                              self.options.master_bind,
                                              self.options.master_port):
                    if self.options.remote_workers:
                        self.progress.note(line)
                self.archive.manifest.machine_at("start", machine.timed())
                self._prepare()
                self._measure_all()
                self._stopping.wait()  # the end's timing meets no server shutting down
                self.archive.manifest.machine_at("end", machine.timed())
                self.archive.manifest.machine_at("during", self.speed.to_json())
            finally:
                signals.defer()  # from here on nothing is cut short; a signal is noted
            failed = [r for r in self.records if r.status != "ok"]
            if failed:  # some cells measured: partial; none: the run failed
                status = "failed" if len(failed) == len(self.records) else "partial"
        except Interrupted as exc:
            status, error = "interrupted", f"interrupted by {exc}"
            self.progress.note(f"interrupted ({exc}): stopping every process, keeping"
                               f" {len(self.records)} finished cell(s)")
        except ServiceError as exc:
            status, error = "failed", str(exc)
            self.progress.note(f"run failed: {exc}", style="red")
            if isinstance(exc, NotReady) and exc.log_tail:
                self.progress.note(exc.log_tail)
        except Exception as exc:  # a bug in loadlab: keep everything, leave the tmp name
            ignore_interrupts()
            supervise.stop_all()
            (self.tmp / "crash.log").write_text(traceback.format_exc())
            path = self.archive.finish("failed", f"{type(exc).__name__}: {exc} (see"
                                       " crash.log)", self._outputs, rename=False)
            self.progress.note(f"loadlab failed: {type(exc).__name__}: {exc}; the"
                               f" run stays in {path} (crash.log has the traceback)", style="red")
            return "failed"
        finally:
            self._stopping.wait()
            supervise.stop_all()
            self.database.close()
        for log in self.tmp.glob("cells/*/*/server.log"):  # every server has stopped
            serverlog.cap(log)
        if signals.hit and status != "interrupted":  # came while stopping or archiving
            status = "interrupted"
            error = f"interrupted by {signals.hit[0]} after the last cell"
        if status == "complete" and not self.records:
            status = "failed"
        self.archive.thresholds = judged(self.records, self.archive.capacity,
                                         self.options.thresholds)  # summary.json keeps it
        path = self.archive.finish(status, error, self._outputs)
        if self.archive.report_error:
            self.progress.note(self.archive.report_error)
        self.progress.run_done(path, self.records, status)
        if signals.hit and status != "interrupted":  # came while sealing the folder
            self.progress.note(f"{signals.hit[0]} came after the run was sealed {status}")
        return status

    def _measure_all(self) -> None:
        """Every cell of the plan, in order (a capacity search decides as it goes)."""
        for cell in self.plan.cells:
            self._measure(cell)

    def _measure(self, cell: Cell) -> CellRecord:
        """One cell, start to finish: told to the observers and kept in the archive."""
        self.progress.cell_started(cell, self._total(),
                                   self.plan.estimate_s(self._total() - cell.index))
        record = self._run_cell(cell)
        self.archive.add(record)
        self.progress.cell_done(cell, record)
        return record

    def _total(self) -> int:
        """How many cells the run will measure (at most, for a search)."""
        return len(self.plan.cells)

    def _outputs(self, run_dir: Path) -> str | None:
        return self.progress.run_sealing(run_dir, self.archive.manifest.to_json(), self.records)

    def _prepare(self) -> None:
        logs = self.tmp / "logs"
        if self.plan.target:
            self.progress.note(f"measuring {self.plan.target.url}, an app already running:"
                               " every cell meets the same server (not a fresh one), its"
                               " resources are unknown; nothing is started or prepared",
                               style="yellow")
            return
        if not self.project.builtin:
            self._prepare_project(logs)
            return
        if any(c.scenario.uses_db for c in self.plan.cells):
            self.progress.note(f"preparing the catalog database ({self.database.engine},"
                               f" {self.database.source}: migrate + seed)")
            self.database.open(logs)
            self.archive.manifest.database_opened(self.database.describe(),
                                                  self._recorded_env())  # the URL is known
        self.upstream, self.upstream_url = services.start_upstream(
            self.plan.upstream, self.options.upstream_port, logs / "upstream.log",
            self.pinning.cpus("upstream"))
        self.archive.manifest.upstream_at(self.upstream_url)
        self.archive.save_manifest()

    def _prepare_project(self, logs: Path) -> None:
        """A team's project: its own `prepare` commands; no upstream stand-in or catalog
        (its scenarios call neither)."""
        if self.project.prepare:
            self.progress.note(f"preparing project {self.project.name}:"
                               f" {len(self.project.prepare)} command(s)")
            seconds = project_run.prepare(self.project, logs)
            self.archive.manifest.prepared(seconds)
        self.archive.save_manifest()

    def _recorded_env(self) -> dict[str, str]:
        """The environment every server gets, as the manifest keeps it: placeholders
        where it varies per cell, no database password."""
        stacks = {c.key.middleware for c in self.plan.cells}
        return services.app_env(self.matrix, "<upstream url>", "<cell client>",
                                self.database.env(redact=True),
                                "<cell middleware>" if stacks != {None} else None,
                                self.project, redact=True)

    def _run_cell(self, cell: Cell) -> CellRecord:
        if self.speed.due():  # quiet: the last cell's server gone, this one's not started
            self._stopping.wait()
            self.speed.sample()
        cell_dir = self.tmp / cell.path
        cell_dir.mkdir(parents=True)
        record = collect.new_record(cell.key, cell.server, cell.trial, cell.users)
        server: supervise.Process | None = None
        locust: supervise.Process | None = None
        prober: probe.Probe | None = None
        long_lived = cell.scenario.connection != "request"
        try:
            port = self.options.port or supervise.free_port()
            target = self.plan.target.url if self.plan.target else None
            url = target or f"http://127.0.0.1:{port}"
            go = cell_dir / "go"  # Locust boots beside the server and waits for this
            locust = self._locust(cell, url, cell_dir, go,
                                  hold_s=cell.server.ready_timeout_s + PROBE_HOLD_S)
            if cell.probed and cell.key_one not in self.unloaded:
                prober = self._probe(cell, url, cell_dir, cell.server.ready_timeout_s)
            if self.options.port:  # the stopping server still holds that port
                self._stopping.wait()
            self.progress.cell_phase(cell, "server-starting")
            server, base_url, ready_s = (services.running(target) if target else
                                         services.start_server(
                cell.server, port,
                services.app_env(self.matrix, self.upstream_url, cell.client,
                                 self.database.env(connections=cell.connections),
                                 cell.middleware, self.project),
                cell_dir / "server.log", self.pinning.cpus("server"), project=self.project))
            record.ready_s = round(ready_s, 3) if ready_s is not None else None
            self._stopping.wait()  # the last cell's server is gone before any load starts
            self.progress.cell_phase(cell, "server-ready")
            self.firsts.check(cell, port, base_url)
            if prober is not None:  # (R0, S) on the fresh server, before its load
                self.unloaded[cell.key_one] = prober.measure(lambda: server.alive)
            before = sampler_snapshot(server.tree, port) if long_lived else None
            go.touch()
            self.why.start(cell, server, cell_dir)
            roles = {"server": server.tree, "generator": locust.tree,
                     "upstream": self.upstream.tree if self.upstream else list}
            counting = self.database.counted and cell.scenario.uses_db
            connections = (pgstat.ConnectionSampler(self.database.url, self.database.name,
                                                    cell_dir / "connections.csv")
                           if counting else contextlib.nullcontext())
            with Sampler(roles, cell_dir / "resources.csv") as sampler, connections:
                self.progress.cell_phase(cell, "measuring")
                profile = self.plan.profile
                locust.wait(server, cell.server.name, loadgen.run_bound_s(
                    cell.users, profile.spawn_rate, profile.warmup_s,
                    max(profile.duration_s, profile.max_duration_s or 0.0)) + 15)
            if counting:  # with the server still up: what it keeps open after the load
                record.db_idle_after_load = pgstat.left_after_load(
                    self.database.url, self.database.name, since=time.time())
            left = None
            if before is not None:  # the clients have gone: what does the server keep?
                time.sleep(longlived.settle_s(self.plan.query(cell.scenario)))
                left = sampler_snapshot(server.tree, port)
            self._stopping.start(server, STOP_GRACE_S)  # while this cell is read, the next boots
            server = None
            if long_lived:  # its extra names first: the cell's own read removes the files
                longlived.collect(record, cell_dir, cell.scenario.connection,
                                  self.plan.query(cell.scenario),
                                  longlived.neighbour_path(cell.flavor) if cell.neighbours
                                  else None)
            measurement = loadgen.read_measurement(
                cell_dir, name=cell.flavor if long_lived else None)
            collect.fill(record, measurement, cell_dir, self.matrix.rules, sampler, min(
                self.options.workers or self.options.processes, self.pinning.cores("generator")))
            longlived.finish(record, self.matrix.rules.min_requests, before, left)
            self.why.read(record, cell_dir)
            collect.stack(record, cell.server, self.firsts.transport[cell.server.name])
            if counting:
                for key, value in connections.summary(measurement.window).items():
                    setattr(record, key, value)
            if cell.rate is None and cell.users == 1:  # the cell is its own probe
                self.unloaded.setdefault(cell.key_one, measurement.unloaded())
            r0, service = self.unloaded.get(cell.key_one, (None, None))
            finite = cell.server.interface == "wsgi"
            if not long_lived:  # a held connection is not a request of R0
                collect.bounds(record, r0, service, concurrency(cell.server) if finite else None,
                               self.matrix.rules)
        except (NotReady, PortInUse, CellError) as exc:
            record.status = "failed"
            record.error = str(exc)
            if tail := getattr(exc, "log_tail", "") or (server.log_tail() if server else ""):
                record.error += "\n--- server.log (tail) ---\n" + tail
        finally:
            self.why.stop()
            for proc in (prober, locust, server):
                if proc is not None:
                    proc.stop(STOP_GRACE_S)
            (cell_dir / "go").unlink(missing_ok=True)  # a signal, not part of the record
        return record

    def _locust(self, cell: Cell, base_url: str, out: Path, go: Path,
                hold_s: float) -> Generator:
        """The cell's Locust against its server, writing into `out`, started; it sends
        nothing until `go` exists (for at most `hold_s` seconds)."""
        profile = self.plan.profile
        warmup_s, duration_s = profile.warmup_s, profile.duration_s
        max_duration_s = profile.max_duration_s
        local, remote = self.options.workers, self.options.remote_workers
        distributed = local + remote  # workers of a master; 0: --processes or one
        processes = distributed or self.options.processes
        port = (self.options.master_port if remote else supervise.free_port() if local
                else 0)
        scenario, wait = cell.scenario.name, (worker.WAIT_S if remote else 0.0)
        env = loadgen.env(cell_dir=out, warmup_s=warmup_s, duration_s=duration_s,
                          catalog_rows=self.matrix.app.catalog_rows, rate=cell.rate,
                          arrival=profile.arrival, processes=processes, go_file=go,
                          max_duration_s=max_duration_s,
                          project_scenario=loadgen.project_scenario(self.project, scenario),
                          **longlived.locust_env(cell, self.plan))
        served = out / "locustfile.py"  # what the master hands its workers (-f -)
        if distributed:
            served.write_text(loadgen.cell_locustfile(self.project, scenario, env))
        return Generator.start(
            loadgen.headless_argv(
                scenario=scenario, flavor=cell.flavor, host=base_url,
                users=cell.users, spawn_rate=profile.spawn_rate, warmup_s=warmup_s,
                duration_s=max(duration_s, max_duration_s or 0.0), cell_dir=out,
                processes=processes, hold_s=hold_s + wait,
                project=self.project, master_port=port,
                master_bind=self.options.master_bind, wait_workers_s=wait,
                locustfile=str(served) if distributed else None,
                neighbour_users=cell.neighbours),
            env, out / "locust.log", self.pinning.cpus("generator"),
            loadgen.worker_argv(LOOPBACK, port), local)

    def _probe(self, cell: Cell, base_url: str, cell_dir: Path, hold_s: float) -> probe.Probe:
        """The 1-user probe's Locust, started beside the cell's server: it measures
        (R0, S) once the server is up and before the cell's load (no queue)."""
        return probe.Probe.start(
            scenario=cell.scenario.name, flavor=cell.flavor, base_url=base_url,
            out=cell_dir / "probe", catalog_rows=self.matrix.app.catalog_rows,
            spawn_rate=self.plan.profile.spawn_rate, cpus=self.pinning.cpus("generator"),
            project=self.project, hold_s=hold_s)
