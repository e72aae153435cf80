"""The modes a person drives: `serve` (the app alone) and `ui` (Locust's web UI).

Both run in the foreground until Ctrl-C or SIGTERM, then stop every process they
started. `ui` archives the session's Locust reports as a run, one cell per flavor.
"""

from __future__ import annotations

import csv
import shutil
import signal
import sys
import time
from pathlib import Path

from app.scenarios import Scenario, class_name

from ..archive import manifest
from ..archive.writer import Archive, Outputs
from ..cells import CellKey
from ..config import Matrix, ServerSpec
from ..config.project import BUILTIN, Project
from ..errors import Interrupted, MeasurementError, NotReady, ServiceError
from ..paths import state_dir
from . import collect, loadgen, recover, services, supervise
from .database import Database
from .project import prepare
from .signals import Signals, interrupts

LOCUST_FILES = ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
                "locust_exceptions.csv", "locust_report.html", "locust.log")


def _say(text: str) -> None:
    print(text, flush=True)


def _wait(*procs: supervise.Process) -> supervise.Process | None:
    """Block until one process exits (returned) or we are interrupted (None)."""
    try:
        while all(p.alive for p in procs):
            time.sleep(0.2)
    except Interrupted:
        return None
    return next(p for p in procs if not p.alive)


def serve(matrix: Matrix, spec: ServerSpec, client: str, port: int, upstream_port: int,
          database: Database | None = None, project: Project = BUILTIN) -> str:
    """The app (and the upstream stand-in) in the foreground; Ctrl-C stops them.
    Returns "stopped" when stopped by the user, "failed" when something died."""
    database = database or Database.choose(matrix)
    logs = state_dir() / "serve"
    # The handlers stay until everything is stopped: a signal during cleanup is noted,
    # never raised, so it cannot orphan the upstream.
    with interrupts() as signals:
        try:
            watched = (_start_app(matrix, spec, client, port, upstream_port, database, logs)
                       if project.builtin else _start_project(matrix, spec, port, project, logs))
            _say("Ctrl-C to stop")
            ended = _wait(*watched)
            if ended is not None:
                _say(f"{ended.name} exited with code {ended.returncode}:\n{ended.log_tail()}")
                return "failed"
        except ServiceError as exc:
            print(f"loadlab serve: {exc}", file=sys.stderr)
            if isinstance(exc, NotReady) and exc.log_tail:
                print(exc.log_tail, file=sys.stderr)
            return "failed"
        except Interrupted:
            pass
        finally:
            signals.defer()
            supervise.stop_all()
            database.close()
    _say("stopped")
    return "stopped"  # by Ctrl-C or SIGTERM, the way these sessions end


def _start_project(matrix: Matrix, spec: ServerSpec, port: int, project: Project,
                   logs: Path) -> list[supervise.Process]:
    """A team's project alone, after its `prepare` commands (on loopback only)."""
    prepare(project, logs)
    server, url, _ = services.start_server(
        spec, port, services.project_env(project), logs / "server.log",
        matrix.pinning.resolved().cpus("server"), project=project)
    _say(f"{spec.name} ({spec.interface}) serving project {project.name} at {url}/")
    _say("try: " + "  ".join(f"{url}{f.path}" for s in project.scenarios for f in s.flavors))
    _say(f"logs in {logs}")
    return [server]


def _start_app(matrix: Matrix, spec: ServerSpec, client: str, port: int, upstream_port: int,
               database: Database, logs: Path) -> list[supervise.Process]:
    """loadlab's app, its database and the upstream stand-in."""
    pinning = matrix.pinning.resolved()
    database.open(logs)
    upstream, upstream_url = services.start_upstream(
        matrix.upstream, upstream_port, logs / "upstream.log", pinning.cpus("upstream"))
    server, url, _ = services.start_server(
        spec, port, services.app_env(matrix, upstream_url, client, database.env()),
        logs / "server.log", pinning.cpus("server"))
    _say(f"{spec.name} ({spec.interface}, client {client}) serving {url}/")
    if database.engine == "postgres":
        _say(f"database: PostgreSQL ({database.source})"
             f" {database.env(redact=True)['DATABASE_URL']}")
    _say(f"upstream stand-in at {upstream_url}/ ; logs in {logs}")
    _say("try: " + "  ".join(f"{url}{p}" for p in ("/hello/async/", "/weather/async/")))
    return [server, upstream]


def ui(matrix: Matrix, spec: ServerSpec, scenario: Scenario, client: str, port: int,
       web_port: int, results: Path, label: str | None, outputs: Outputs | None = None,
       database: Database | None = None, project: Project = BUILTIN) -> str:
    """Locust's web UI on 127.0.0.1 against one server; the session is archived on exit
    (with `outputs` written into the folder); a session with no test leaves no folder.
    Returns the run's status, "stopped" for a complete one ended by Ctrl-C or SIGTERM."""
    database = database or Database.choose(matrix)
    try:
        with interrupts() as signals:  # until archived: a late signal is noted, not raised
            return _ui(matrix, spec, scenario, client, port, web_port, results, label,
                       signals, outputs, database, project)
    finally:
        supervise.keep_ledger(None)


def _ui(matrix: Matrix, spec: ServerSpec, scenario: Scenario, client: str, port: int,
        web_port: int, results: Path, label: str | None, signals: Signals,
        outputs: Outputs | None, database: Database, project: Project) -> str:
    pinning = matrix.pinning.resolved()
    named = project.run_label(label or f"ui-{spec.name}-{scenario.name}")
    archive = Archive(results, named, manifest.build(
        mode="ui", command=["loadlab", *sys.argv[1:]], matrix=matrix,
        profile={"name": "ui", "summary": "driven by hand in Locust's web UI; no warmup"
                 " is excluded", "warmup_s": 0, "trials": 1},
        plan={"servers": [spec.describe()], "scenario": scenario.name, "client": client},
        upstream=matrix.upstream, pinning=pinning,
        app_env=services.app_env(matrix, "<upstream url>", client,
                                 database.env(redact=True), project=project, redact=True),
        database=database.describe(), project=project))
    supervise.keep_ledger(archive.tmp / recover.LEDGER)  # for a hard stop's survivors
    session = archive.tmp / "session"
    status, error, by_signal = "complete", None, True
    try:
        supervise.ensure_port_free(web_port)
        if not project.builtin:
            archive.manifest["project"]["prepare_s"] = round(
                prepare(project, archive.tmp / "logs"), 3)
        if scenario.uses_db:
            database.open(archive.tmp / "logs")
            archive.manifest["database"] = database.describe()
            archive.manifest["app"]["env"] = services.app_env(
                matrix, "<upstream url>", client, database.env(redact=True))
        upstream, upstream_url = services.start_upstream(
            matrix.upstream, 0, archive.tmp / "logs" / "upstream.log",
            pinning.cpus("upstream"))
        archive.manifest["upstream"]["url"] = upstream_url
        server, url, _ = services.start_server(
            spec, port, services.app_env(matrix, upstream_url, client, database.env(),
                                         project=project),
            session / "server.log", pinning.cpus("server"), project=project)
        classes = [class_name(f) for f in scenario.flavor_names]
        locust = supervise.Process(
            "locust", loadgen.web_ui_argv(scenario=scenario.name, host=url,
                                          web_port=web_port, cell_dir=session,
                                          classes=classes, project=project),
            log_path=session / "locust.log",
            env=loadgen.env(cell_dir=session, warmup_s=0, duration_s=0,
                            catalog_rows=matrix.app.catalog_rows,
                            project_scenario=loadgen.project_scenario(project,
                                                                      scenario.name)),
            cpus=pinning.cpus("generator"),
        ).start()
        locust.wait_http_ready(f"http://127.0.0.1:{web_port}/", 30)
        _say(f"Locust web UI: http://127.0.0.1:{web_port}/  ({scenario.name} on"
             f" {spec.name}, user classes: {', '.join(classes)})")
        _say("start a test there; Ctrl-C here stops everything and archives the session")
        ended = _wait(server, locust, upstream)
        by_signal = ended is None
        if ended is not None and ended is not locust:
            status, error = "failed", f"{ended.name} exited with code {ended.returncode}"
    except ServiceError as exc:
        status, error, by_signal = "failed", str(exc), False
        print(f"loadlab ui: {exc}", file=sys.stderr)
    except Interrupted:
        pass
    finally:
        signals.defer()
        # SIGINT first: on SIGTERM Locust skips writing its HTML report.
        for proc in supervise.live():
            if proc.name == "locust":
                proc.stop(10, first=signal.SIGINT)
        supervise.stop_all()
        database.close()
    _archive_session(archive, matrix, spec, scenario, client, session)
    if not archive.records and status == "complete":
        archive.discard()
        _say("no test ran in the session: nothing archived")
        return "stopped"
    path = archive.finish(status, error, outputs)
    if archive.report_error:
        _say(archive.report_error)
    _say(f"session archived: {path}")
    return "stopped" if status == "complete" and by_signal else status


def _archive_session(archive: Archive, matrix: Matrix, spec: ServerSpec, scenario: Scenario,
                     client: str, session: Path) -> None:
    """One cell per flavor the session exercised, each with Locust's files beside it."""
    names = loadgen.measured_names(session) if session.exists() else []
    users = _peak_users(session / "locust_stats_history.csv")
    for flavor in names:
        if flavor not in scenario.flavor_names:
            continue
        key = CellKey(spec.name, scenario.name, flavor,
                      client if scenario.uses_upstream else None, users)
        record = collect.new_record(key, spec, trial=1)
        cell_dir = archive.tmp / record.path
        cell_dir.mkdir(parents=True)
        for name in LOCUST_FILES:
            if (session / name).exists():
                shutil.copy2(session / name, cell_dir / name)
        try:
            m = loadgen.read_measurement(session, name=flavor, keep_raw=True)
        except MeasurementError as exc:
            record.status, record.error = "failed", str(exc)
        else:
            collect.fill(record, m, cell_dir, matrix.rules)
        archive.add(record)


def _peak_users(history: Path) -> int:
    """The most users the session ran at once, from Locust's own history file."""
    try:
        with open(history, newline="") as f:
            return max((int(row.get("User Count") or 0) for row in csv.DictReader(f)),
                       default=0)
    except (OSError, ValueError):
        return 0
