"""Fixtures for the app's tests: real upstream stand-ins on free loopback ports.

Each flavor of upstream is its own uvicorn process, started once per session, with its
behaviour in its environment (the views never forward fault parameters):
`upstream` answers fast, `slow_upstream` after a fixed latency (for the concurrency
tests), `failing_upstream` always 503, `hanging_upstream` never within a client timeout.
Every test points the app at `upstream` unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command

from scripts.proc import supervise
from scripts.services import servers as services
from tests.app.support import HANG_MS, SLOW_MS


def _upstream(tmp_path_factory, name: str, **env: str) -> Iterator[str]:
    port = supervise.free_port()
    argv = services.upstream_argv(port)
    log = tmp_path_factory.mktemp("upstream") / f"{name}.log"
    proc = supervise.Process(name, argv, log_path=log, env={"UPSTREAM_SEED": "1", **env})
    proc.start()
    try:
        url = f"http://{supervise.LOOPBACK}:{port}"
        proc.wait_http_ready(f"{url}/health")
        yield url
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def upstream(tmp_path_factory) -> Iterator[str]:
    yield from _upstream(tmp_path_factory, "upstream", UPSTREAM_LATENCY_MS="5")


@pytest.fixture(scope="session")
def slow_upstream(tmp_path_factory) -> Iterator[str]:
    yield from _upstream(tmp_path_factory, "slow-upstream", UPSTREAM_LATENCY_MS=str(SLOW_MS))


@pytest.fixture(scope="session")
def failing_upstream(tmp_path_factory) -> Iterator[str]:
    yield from _upstream(
        tmp_path_factory, "failing-upstream", UPSTREAM_LATENCY_MS="0", UPSTREAM_ERROR_RATE="1"
    )


@pytest.fixture(scope="session")
def one_city_down_upstream(tmp_path_factory) -> Iterator[str]:
    """Berlin answers 503 at once; every other call hangs until its client leaves."""
    yield from _upstream(
        tmp_path_factory, "one-city-down", UPSTREAM_DOWN="/weather/berlin",
        UPSTREAM_HANG_RATE="1", UPSTREAM_HANG_MS=str(HANG_MS)
    )


@pytest.fixture(scope="session")
def hanging_upstream(tmp_path_factory) -> Iterator[str]:
    yield from _upstream(
        tmp_path_factory, "hanging-upstream", UPSTREAM_HANG_RATE="1", UPSTREAM_HANG_MS=str(HANG_MS)
    )


@pytest.fixture(autouse=True)
def _use_upstream(settings, upstream) -> None:
    settings.LOADLAB_UPSTREAM_URL = upstream


@pytest.fixture(params=["httpx", "httpx-per-call", "aiohttp"])
def client_kind(request, settings) -> str:
    settings.LOADLAB_CLIENT = request.param
    return request.param


@pytest.fixture
def products(db) -> int:
    """50 seeded products; ids 1..50."""
    call_command("seed_catalog", rows=50, verbosity=0)
    return 50
