"""`serve`: the app (and the upstream stand-in) alone, in the foreground, for poking.

It runs until Ctrl-C or SIGTERM, then stops every process it started. Its sibling
`ui` (Locust's web UI, archived) is run/ui.py; both share `wait_any` and `say`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..config import Matrix, ServerSpec
from ..config.project import BUILTIN, Project
from ..errors import Interrupted, NotReady, ServiceError
from ..paths import state_dir
from ..proc import supervise
from ..proc.signals import interrupts
from ..services import servers as services
from ..services.database import Database
from ..services.project import prepare


def say(text: str) -> None:
    print(text, flush=True)


def wait_any(*procs: supervise.Process) -> supervise.Process | None:
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
            say("Ctrl-C to stop")
            ended = wait_any(*watched)
            if ended is not None:
                say(f"{ended.name} exited with code {ended.returncode}:\n{ended.log_tail()}")
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
    say("stopped")
    return "stopped"  # by Ctrl-C or SIGTERM, the way these sessions end


def _start_project(matrix: Matrix, spec: ServerSpec, port: int, project: Project,
                   logs: Path) -> list[supervise.Process]:
    """A team's project alone, after its `prepare` commands (on loopback only)."""
    prepare(project, logs)
    server, url, _ = services.start_server(
        spec, port, services.project_env(project), logs / "server.log",
        matrix.pinning.resolved().cpus("server"), project=project)
    say(f"{spec.name} ({spec.interface}) serving project {project.name} at {url}/")
    say("try: " + "  ".join(f"{url}{f.path}" for s in project.scenarios for f in s.flavors))
    say(f"logs in {logs}")
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
    say(f"{spec.name} ({spec.interface}, client {client}) serving {url}/")
    if database.engine == "postgres":
        say(f"database: PostgreSQL ({database.source})"
             f" {database.env(redact=True)['DATABASE_URL']}")
    say(f"upstream stand-in at {upstream_url}/ ; logs in {logs}")
    say("try: " + "  ".join(f"{url}{p}" for p in ("/hello/async/", "/weather/async/")))
    return [server, upstream]
