"""`ui`: Locust's web UI on 127.0.0.1 against one server, every test archived exactly.

The session runs in the foreground until Ctrl-C or SIGTERM, then stops every process
it started and archives the session: one cell per test and user class (run/uitests.py),
with the resources the sampler took all along. While it runs, the sampler also writes
`live.json` each second for the loadlab tab (locustfiles/session.py).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..archive import manifest
from ..archive.folder import write_json
from ..archive.writer import Archive, Outputs
from ..config import Matrix, ServerSpec
from ..config.project import BUILTIN, Project
from ..errors import Interrupted, ServiceError
from ..load import loadgen, probe, profile
from ..proc import supervise
from ..proc.sampler import Sampler
from ..proc.signals import Signals, interrupts
from ..services import servers as services
from ..services.database import Database
from ..services.project import prepare
from ..stories import Scenario, class_name
from . import recover, uitests, why
from .serve import say, wait_any


def web_ui_argv(*, scenario: str, host: str, web_port: int, classes: list[str],
                project: Project = BUILTIN) -> list[str]:
    """Locust's web UI on loopback, with the scenario's user classes to pick from, and
    the session module first (it archives each test and adds the loadlab tab)."""
    files = f"{loadgen.LOCUSTFILES / 'session.py'},{loadgen.locustfiles(project, scenario)}"
    return [*supervise.python_module(
        "locust", "-f", files, "--host", host, "--web-host", "127.0.0.1",
        "--web-port", str(web_port), "--exit-code-on-error", "0", "--class-picker",
    ), *classes]


def session_env(folder: Path, warmup_s: float, catalog_rows: int,
                project_scenario: str) -> dict[str, str]:
    """What locustfiles/session.py reads beside the base's settings: the session folder,
    each test's warmup and the server's log (each test keeps its own slice of it)."""
    return {**loadgen.env(cell_dir=folder, warmup_s=warmup_s, duration_s=0,
                          catalog_rows=catalog_rows, project_scenario=project_scenario),
            "LOADLAB_CELL_DIR": "",  # the base writes no session-wide file
            "LOADLAB_SESSION_DIR": str(folder),
            "LOADLAB_SERVER_LOG": str(folder / "server.log")}


@dataclass(frozen=True)
class UiOptions:
    """What `loadlab ui` was asked for, checked and built once by the CLI."""

    spec: ServerSpec
    scenario: Scenario
    client: str
    results: Path
    command: list[str]
    port: int = 0
    web_port: int = 8089
    label: str | None = None
    database: Database | None = None
    project: Project = BUILTIN
    warmup_s: float = 0.0
    probe_first: bool = True
    why: int = 0  # --why: py-spy's rate (Hz) over the whole session; 0: not profiled


def ui(matrix: Matrix, options: UiOptions, outputs: Outputs | None = None) -> str:
    """Locust's web UI on 127.0.0.1 against one server; the session is archived on exit
    (with `outputs` written into the folder); a session with no test leaves no folder.
    Returns the run's status, "stopped" for a complete one ended by Ctrl-C or SIGTERM."""
    database = options.database or Database.choose(matrix)
    try:
        with interrupts() as signals:  # until archived: a late signal is noted, not raised
            return _ui(matrix, options, signals, outputs, database)
    finally:
        supervise.keep_ledger(None)


def _ui(matrix: Matrix, options: UiOptions, signals: Signals, outputs: Outputs | None,
        database: Database) -> str:
    spec, scenario, client, project = (options.spec, options.scenario, options.client,
                                       options.project)
    port, web_port, warmup_s = options.port, options.web_port, options.warmup_s
    pinning = matrix.pinning.resolved()
    named = project.run_label(options.label or f"ui-{spec.name}-{scenario.name}")
    warmup = (f"each test's first {warmup_s:g} s after its users are spawned" if warmup_s
              else "none: each test's window starts when its users are spawned")
    archive = Archive(options.results, named, manifest.build(
        mode="ui", command=options.command, matrix=matrix,
        profile={"name": "ui", "summary": "driven by hand in Locust's web UI; one cell per"
                 " test (start or edit to stop or reset) and user class; warmup: "
                 + warmup + "; two tests of one class at one user count are two trials",
                 "warmup_s": warmup_s, "trials": None},
        plan={"servers": [spec.describe()], "scenario": scenario.name, "client": client},
        upstream=matrix.upstream, pinning=pinning,
        app_env=services.app_env(matrix, "<upstream url>", client,
                                 database.env(redact=True), project=project, redact=True),
        database=database.describe(), project=project))
    supervise.keep_ledger(archive.tmp / recover.LEDGER)  # for a hard stop's survivors
    session = uitests.Session(archive.tmp / "session", spec, scenario, client)
    sampler: Sampler | None = None
    spy = None
    status, error, by_signal = "complete", None, True
    try:
        supervise.ensure_port_free(web_port)
        if not project.builtin:
            archive.manifest.prepared(prepare(project, archive.tmp / "logs"))
        if scenario.uses_db:
            database.open(archive.tmp / "logs")
            archive.manifest.database_opened(database.describe(), services.app_env(
                matrix, "<upstream url>", client, database.env(redact=True)))
        upstream, upstream_url = services.start_upstream(
            matrix.upstream, 0, archive.tmp / "logs" / "upstream.log",
            pinning.cpus("upstream"))
        archive.manifest.upstream_at(upstream_url)
        server, url, _ = services.start_server(
            spec, port, services.app_env(matrix, upstream_url, client, database.env(),
                                         project=project),
            session.folder / "server.log", pinning.cpus("server"), project=project)
        spy = why.session_start(options.why, server.pid, session.folder, pinning,
                                archive.manifest)
        if options.probe_first:
            _probe(session, url, matrix, project, pinning.cpus("generator"), server)
        else:
            say("no one-user probe (--no-probe): the cells get no bounds, no load-bound flag")
        archive.manifest.probed({f: {"r0_ms": r0, "service_ms": s}
                                 for f, (r0, s) in session.unloaded.items()})
        classes = [class_name(f) for f in scenario.flavor_names]
        locust = supervise.Process(
            "locust", web_ui_argv(scenario=scenario.name, host=url, web_port=web_port,
                                  classes=classes, project=project),
            log_path=session.folder / "locust.log",
            env=session_env(session.folder, warmup_s, matrix.app.catalog_rows,
                            loadgen.project_scenario(project, scenario.name)),
            cpus=pinning.cpus("generator"),
        ).start()
        locust.wait_http_ready(f"http://127.0.0.1:{web_port}/", 30)
        say(f"Locust web UI: http://127.0.0.1:{web_port}/  ({scenario.name} on"
            f" {spec.name}, user classes: {', '.join(classes)})")
        say("start a test there (its loadlab tab shows exact percentiles and the server);"
            " each test is archived as its own cell; Ctrl-C here stops everything")
        sampler = Sampler(
            {"server": server.tree, "generator": locust.tree, "upstream": upstream.tree},
            session.folder / "resources.csv",
            observe=lambda latest: write_json(session.folder / "live.json", uitests.live(
                session, matrix.rules, latest)))
        with sampler:
            ended = wait_any(server, locust, upstream)
            by_signal = ended is None
            if ended is not None and ended is not locust:
                status, error = "failed", f"{ended.name} exited with code {ended.returncode}"
            _stop_locust()  # inside the sampler: the last test's end is sampled too
    except ServiceError as exc:
        status, error, by_signal = "failed", str(exc), False
        print(f"loadlab ui: {exc}", file=sys.stderr)
    except Interrupted:
        pass
    finally:
        signals.defer()
        _stop_locust()
        supervise.stop_all()
        database.close()
    notes = (uitests.archive_tests(archive, session, matrix.rules, sampler)
             if sampler is not None else [])
    if spy is not None and sampler is not None and archive.records:
        span = (sampler.samples[-1].time - sampler.samples[0].time) if sampler.samples else 0
        say(why.session_read(spy, session.folder, archive.records, _cpu_s(sampler), span,
                             profile.view_packages(project)))
    session.tidy()
    for line in notes:
        say(line)
    if not archive.records and status == "complete":
        archive.discard()
        say("no test measured a window: nothing archived" if notes
            else "no test ran in the session: nothing archived")
        return "stopped"
    path = archive.finish(status, error, outputs)
    if archive.report_error:
        say(archive.report_error)
    say(f"session archived: {path} ({len(archive.records)} cell(s))")
    return "stopped" if status == "complete" and by_signal else status


def _probe(session: uitests.Session, url: str, matrix: Matrix, project: Project,
           cpus: Sequence[int] | None, server: supervise.Process) -> None:
    """Each flavor at one user on the fresh server, as bench does before a cell: R0
    bounds a test at users / R0 and flags it `load-bound` when it sat there."""
    say(f"probing {len(session.scenario.flavor_names)} flavor(s) at one user (R0, the"
        " load-bound flag's bound) ...")
    for flavor in session.scenario.flavor_names:
        session.unloaded[flavor] = probe.unloaded(
            scenario=session.scenario.name, flavor=flavor, base_url=url,
            out=session.folder / "probe" / flavor, catalog_rows=matrix.app.catalog_rows,
            spawn_rate=10, cpus=cpus, project=project, server_alive=lambda: server.alive)
    say("R0 at one user: " + ", ".join(
        f"{f} {r0:.3g} ms" if r0 else f"{f} not measured"
        for f, (r0, _) in session.unloaded.items()))


def _stop_locust() -> None:
    """SIGINT: Locust ends the running test (its files are written) and quits."""
    for proc in supervise.live():
        if proc.name == "locust":
            proc.stop(10, first=signal.SIGINT)


def _cpu_s(sampler: Sampler) -> float:
    """The server's CPU seconds over the session, from the sampler's seconds."""
    server = [s for s in sampler.samples if s.role == "server"]
    return sum(s.cpu_pct for s in server) / 100 * sampler.interval
