"""Both interfaces for real: gunicorn serves app.wsgi, uvicorn serves app.asgi, and each
answers every path of the registry (with its scenario's default query) with a 200.

Once per client kind, since that is where the interfaces differ most: under gunicorn's
sync worker every async view runs in an event loop of its own. Then once for each of
gunicorn's other workers (threads, each with loops of its own; uvicorn's worker;
gunicorn's native ASGI worker).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from app.scenarios import SCENARIOS
from scripts.config import load_matrix
from scripts.run import services, supervise

ROWS = 20
HOST = supervise.LOOPBACK


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> dict[str, str]:
    """A fresh SQLite file, migrated and seeded the way a run prepares it."""
    folder = tmp_path_factory.mktemp("servers")
    env = {"LOADLAB_SQLITE_PATH": str(folder / "db.sqlite3")}
    manage = [sys.executable, str(supervise.ROOT / "manage.py")]
    steps = {"migrate": ["migrate", "--noinput"], "seed": ["seed_catalog", "--rows", str(ROWS)]}
    for name, args in steps.items():
        log = folder / f"{name}.log"
        assert supervise.run(name, [*manage, *args], log_path=log, env=env) == 0, log.read_text()
    return env


def argvs(names: tuple[str, ...]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The matrix's own command lines for these servers, each on a free port."""
    matrix = load_matrix()
    ports = {name: supervise.free_port() for name in names}
    return {name: services.server_argv(matrix.server(name), ports[name]) for name in names}, ports


def serve_every_path(servers: dict[str, list[str]], ports: dict[str, int], env, logs: Path):
    procs = [
        supervise.Process(name, argv, log_path=logs / f"{name}.log", env=env)
        for name, argv in servers.items()
    ]
    with supervise.supervised(*procs):
        for proc in procs:
            proc.wait_http_ready(f"http://{HOST}:{ports[proc.name]}/")
        for proc in procs:
            base = f"http://{HOST}:{ports[proc.name]}"
            with httpx.Client(base_url=base, timeout=10, trust_env=False) as http:
                for scenario in SCENARIOS:
                    for flavor in scenario.flavors:
                        url = flavor.path + (f"?{scenario.query}" if scenario.query else "")
                        response = http.get(url)
                        where = f"{proc.name} {url} ({env.get('LOADLAB_CLIENT')})"
                        assert response.status_code == 200, f"{where}: {response.text[:300]}"
                        assert "data-degraded" not in response.text, where
                        assert response.headers["server-timing"].startswith("app;dur=")
    for proc in procs:
        log = proc.log_path.read_text()
        for trouble in ("Traceback", "Event loop is closed", "Unclosed", "Task was destroyed"):
            assert trouble not in log, f"{proc.name}: {log[-2000:]}"


@pytest.mark.parametrize("kind", ["httpx", "httpx-per-call", "aiohttp"])
def test_gunicorn_and_uvicorn_serve_every_path(tmp_path, database, upstream, kind):
    servers, ports = argvs(("gunicorn-sync", "uvicorn"))
    env = {**database, "LOADLAB_UPSTREAM_URL": upstream, "LOADLAB_CLIENT": kind}
    serve_every_path(servers, ports, env, tmp_path)


def test_gunicorns_other_workers_serve_every_path(tmp_path, database, upstream):
    servers, ports = argvs(("gunicorn-gthread", "gunicorn-uvicorn", "gunicorn-asgi"))
    env = {**database, "LOADLAB_UPSTREAM_URL": upstream, "LOADLAB_CLIENT": "aiohttp"}
    serve_every_path(servers, ports, env, tmp_path)
