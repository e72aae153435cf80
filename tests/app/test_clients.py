"""Every client kind, under WSGI-style execution (Django runs each async view in an event
loop of its own) and ASGI-style (one loop serves many requests): never "Event loop is
closed", no client left open, no "Unclosed client session" (see app/clients.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from app import clients

ASYNC_PATHS = ["/weather/async/", "/home/async-sequential/", "/home/async/"]
TROUBLE = ("Event loop is closed", "Unclosed", "Task was destroyed", "unclosed")


@contextlib.contextmanager
def no_loop_trouble(caplog):
    """Fail if anything complains about loops, sessions or transports meanwhile."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        yield
        gc.collect()
    complaints = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [c for c in complaints if any(t in c for t in TROUBLE)], complaints


def _assert_served(response):
    assert response.status_code == 200, response.content[:300]
    assert b"data-degraded" not in response.content


def test_the_trap_a_module_level_async_client_dies_with_its_first_loop(upstream):
    """docs/FIELD-NOTES.md: why per-loop clients. The second loop reuses a dead connection."""
    shared = {"client": httpx.AsyncClient()}  # as if at module level

    async def status():
        return (await shared["client"].get(f"{upstream}/health")).status_code

    assert asyncio.run(status()) == 200
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        asyncio.run(status())
    shared.clear()  # its connection died with the first loop: let it go quietly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_wsgi_style_a_loop_per_request(client_kind, caplog):
    with no_loop_trouble(caplog):
        client = Client()
        for _ in range(3):
            for path in ASYNC_PATHS:
                _assert_served(client.get(path))
        # Each request's loop closed its own client on the way out.
        assert clients.open_loop_clients() == 0


def test_wsgi_style_threads_each_with_their_own_loops(client_kind, caplog):
    """gthread: several threads, each running loops per request, at the same time."""
    with no_loop_trouble(caplog), ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: Client().get("/weather/async/"), range(12)))
        for response in responses:
            _assert_served(response)
    assert clients.open_loop_clients() == 0


def test_asgi_style_one_client_per_loop_for_its_whole_life(client_kind, caplog):
    async def serve_many():
        client = AsyncClient()
        for _ in range(3):
            for path in ASYNC_PATHS:
                _assert_served(await client.get(path))
        return clients.open_loop_clients()

    with no_loop_trouble(caplog):
        alive_while_serving = async_to_sync(serve_many)()
        # httpx-per-call closes its client with each request; the others keep one.
        assert alive_while_serving == (0 if client_kind == "httpx-per-call" else 1)
        assert clients.open_loop_clients() == 0  # closed when the loop ended


def test_asgi_style_concurrent_requests_share_the_loops_client(client_kind, caplog):
    async def serve_concurrently():
        client = AsyncClient()
        responses = await asyncio.gather(*(client.get("/weather/async/") for _ in range(10)))
        return responses, clients.open_loop_clients()

    with no_loop_trouble(caplog):
        responses, alive = async_to_sync(serve_concurrently)()
        for response in responses:
            _assert_served(response)
        assert alive == (0 if client_kind == "httpx-per-call" else 1)


def test_a_loop_closed_without_cleanup_is_swept(caplog):
    """Not every runner cancels tasks before closing its loop; the entry must still go."""
    loop = asyncio.new_event_loop()

    async def make_client():
        clients._loop_client("httpx")

    loop.run_until_complete(make_client())
    assert clients.open_loop_clients() == 1
    guard = clients._loop_clients[(loop, "httpx")][1]
    loop.close()  # the guard never ran: no cancellation
    assert clients.open_loop_clients() == 0
    guard._log_destroy_pending = False  # we know: that is the point of this test
    del guard, loop
    gc.collect()


def test_unknown_client_kind_is_a_configuration_error(settings, client):
    from django.core.exceptions import ImproperlyConfigured

    settings.LOADLAB_CLIENT = "requests"
    with pytest.raises(ImproperlyConfigured, match="LOADLAB_CLIENT='requests'"):
        clients.kind()
