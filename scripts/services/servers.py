"""Bringing the app's world up: the upstream stand-in and a server (the catalog
database is database.py's).

Every command line of a service is built here, from the matrix's data; `bench`,
`serve` and `ui` start services only through this module, and only the supervisor
(supervise.py) touches processes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..config import Matrix, ServerSpec, UpstreamSettings
from ..config.project import BUILTIN, Project
from ..errors import NotReady
from ..paths import LOOPBACK, ROOT
from ..proc import supervise
from ..stories import BASELINE, SCENARIOS_BY_NAME
from .database import sqlite_path

READY_TIMEOUT_S = 30.0
READY_PATH = SCENARIOS_BY_NAME["hello"].flavor("sync").path


def server_argv(spec: ServerSpec, port: int, host: str = LOOPBACK,
                project: Project = BUILTIN) -> list[str]:
    """The server's command line: its module run by our interpreter, args filled in,
    serving the project's application for the server's interface."""
    return supervise.python_module(
        spec.module, *spec.resolved_args(port, host, project.application(spec.interface)))


def ready_path(project: Project) -> str:
    """Where a fresh server is polled until it answers (any status counts)."""
    return READY_PATH if project.builtin else project.scenarios[0].flavors[0].path


def upstream_argv(port: int, host: str = LOOPBACK) -> list[str]:
    """The upstream stand-in: a raw ASGI app on uvicorn, quiet, no lifespan."""
    return supervise.python_module(
        "uvicorn", "app.upstream:app", "--host", host, "--port", str(port),
        "--no-access-log", "--lifespan", "off", "--log-level", "warning",
    )


def app_env(matrix: Matrix, upstream_url: str, client: str | None,
            database: Mapping[str, str] | None = None,
            middleware: str | None = None, project: Project = BUILTIN,
            redact: bool = False) -> dict[str, str]:
    """The environment every server gets: the app's switches (docs/DESIGN.md), recorded.
    `database` is the run's Database.env(); without it, the SQLite file. `middleware`
    names the stack (None: the baseline). A team's project gets its settings, its root
    first on the import path (its packages win over loadlab's) and its own `env`
    (`redact`: as the manifest keeps it)."""
    if not project.builtin:
        return project_env(project, redact)
    return {
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "LOADLAB_UPSTREAM_URL": upstream_url,
        "LOADLAB_CLIENT": client or "httpx",
        "LOADLAB_MIDDLEWARE": middleware or BASELINE,
        **(database if database is not None
           else {"DATABASE_URL": "", "LOADLAB_SQLITE_PATH": str(sqlite_path())}),
        **matrix.app.env(),
    }


def project_env(project: Project, redact: bool = False) -> dict[str, str]:
    """A team's project's environment: its settings module, import root and `env`."""
    paths = [str(project.root), str(ROOT),
             *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {"DJANGO_SETTINGS_MODULE": project.settings,
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
            **(project.recorded_env() if redact else project.env)}


class Running:
    """An app loadlab did not start (--target) in the place of a server process: it is
    never stopped, and it has no process here to sample and no log to tail."""

    name = "target"
    alive = True
    returncode = None

    def tree(self) -> list:
        return []

    def log_tail(self, lines: int = 15) -> str:
        return ""

    def stop(self, grace: float = 5.0, first: int | None = None) -> None:
        return None


def running(url: str) -> tuple[Running, str, None]:
    """A target in start_server's shape: the stand-in, its base URL, no start time."""
    return Running(), url, None


def start_upstream(settings: UpstreamSettings, port: int, log_path: Path,
                   cpus: tuple[int, ...] | None = None) -> tuple[supervise.Process, str]:
    """The upstream stand-in on loopback, ready; returns it and its base URL."""
    port = port or supervise.free_port()
    supervise.ensure_port_free(port)
    proc = supervise.Process("upstream", upstream_argv(port), log_path=log_path,
                             env=settings.env(), cpus=cpus).start()
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http_ready(f"{url}/health", READY_TIMEOUT_S)
    except NotReady:
        proc.stop()
        raise
    return proc, url


def start_server(spec: ServerSpec, port: int, env: dict[str, str], log_path: Path,
                 cpus: tuple[int, ...] | None = None, timeout: float | None = None,
                 project: Project = BUILTIN) -> tuple[supervise.Process, str, float]:
    """A server on loopback, answering; returns it, its base URL and seconds to ready.
    A team's project is served from its root folder, as its team would run it.

    The caller stops it; NotReady (with the log's tail) if it never answers within
    `timeout` (default: the server's `ready_timeout_s` in the matrix).
    """
    timeout = spec.ready_timeout_s if timeout is None else timeout
    port = port or supervise.free_port()
    supervise.ensure_port_free(port)
    proc = supervise.Process(f"server {spec.name}", server_argv(spec, port, project=project),
                             log_path=log_path, env=env, cpus=cpus,
                             cwd=project.root).start()
    url = f"http://127.0.0.1:{port}"
    try:
        ready = proc.wait_http_ready(url + ready_path(project), timeout)
    except NotReady:
        proc.stop()
        raise
    return proc, url, ready
