"""Bringing the app's world up: the catalog database, the upstream stand-in, a server.

`bench`, `serve` and `ui` all start these the same way, through this module; only the
supervisor (supervise.py) touches processes.
"""

from __future__ import annotations

from pathlib import Path

from app.scenarios import SCENARIOS_BY_NAME

from . import supervise
from .config import Matrix, ServerSpec, UpstreamSettings

READY_TIMEOUT_S = 30.0
READY_PATH = SCENARIOS_BY_NAME["hello"].flavor("sync").path
SQLITE_PATH = supervise.ROOT / ".loadlab" / "bench.sqlite3"


class PrepareFailed(Exception):
    """The catalog database could not be migrated or seeded."""


def app_env(matrix: Matrix, upstream_url: str, client: str | None) -> dict[str, str]:
    """The environment every server gets: the app's switches (DESIGN §4), recorded."""
    return {
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "LOADLAB_UPSTREAM_URL": upstream_url,
        "LOADLAB_CLIENT": client or "httpx",
        "LOADLAB_SQLITE_PATH": str(SQLITE_PATH),
        **matrix.app.env(),
    }


def prepare_db(matrix: Matrix, log_path: Path) -> None:
    """Migrate and seed the catalog (idempotent), before any server starts."""
    env = app_env(matrix, "http://127.0.0.1:9", None)
    for step in (["migrate", "--noinput"],
                 ["seed_catalog", "--rows", str(matrix.app.catalog_rows)]):
        code = supervise.run(f"django {step[0]}", supervise.python_module("django", *step),
                             log_path=log_path, env=env)
        if code != 0:
            raise PrepareFailed(f"django {step[0]} failed (exit {code}); see {log_path}")


def start_upstream(settings: UpstreamSettings, port: int, log_path: Path,
                   cpus: tuple[int, ...] | None = None) -> tuple[supervise.Process, str]:
    """The upstream stand-in on loopback, ready; returns it and its base URL."""
    port = port or supervise.free_port()
    supervise.ensure_port_free(port)
    proc = supervise.Process("upstream", settings.argv(port), log_path=log_path,
                             env=settings.env(), cpus=cpus).start()
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http_ready(f"{url}/health", READY_TIMEOUT_S)
    except supervise.NotReady:
        proc.stop()
        raise
    return proc, url


def start_server(spec: ServerSpec, port: int, env: dict[str, str], log_path: Path,
                 cpus: tuple[int, ...] | None = None,
                 timeout: float | None = None) -> tuple[supervise.Process, str, float]:
    """A server on loopback, answering; returns it, its base URL and seconds to ready.

    The caller stops it; NotReady (with the log's tail) if it never answers within
    `timeout` (default: the server's `ready_timeout_s` in the matrix).
    """
    timeout = spec.ready_timeout_s if timeout is None else timeout
    port = port or supervise.free_port()
    supervise.ensure_port_free(port)
    proc = supervise.Process(f"server {spec.name}", spec.argv(port), log_path=log_path,
                             env=env, cpus=cpus).start()
    url = f"http://127.0.0.1:{port}"
    try:
        ready = proc.wait_http_ready(url + READY_PATH, timeout)
    except supervise.NotReady:
        proc.stop()
        raise
    return proc, url, ready
