"""Concurrency semantics at a fixed upstream latency: behaviour, not speed.

No test bounds a time from above by a constant (the machine is noisy and shared).
Lower bounds are exact by construction: n calls one after another cannot take less
than n latencies, calls at once not less than one. Gathering is then shown by
comparing two measurements of the same test: the gathered flavor against the flavor
that makes the same calls one after another, with a wide margin (1/5 or 1/2 expected,
0.6 or 0.75 asserted; one after another would give 1).
Each measurement follows a warm-up request in the same event loop, as under ASGI.
"""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from tests.app.support import SLOW_MS

LATENCY = SLOW_MS / 1000


@pytest.fixture(autouse=True)
def _slow(settings, slow_upstream):
    settings.LOADLAB_UPSTREAM_URL = slow_upstream


def _asgi_seconds(path: str) -> float:
    async def warm_then_time():
        client = AsyncClient()
        assert (await client.get(path)).status_code == 200
        start = time.perf_counter()
        response = await client.get(path)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200
        assert "data-degraded" not in response.content.decode()
        return elapsed

    return async_to_sync(warm_then_time)()


def _wsgi_seconds(path: str) -> float:
    client = Client()
    assert client.get(path).status_code == 200
    start = time.perf_counter()
    assert client.get(path).status_code == 200
    return time.perf_counter() - start


def test_weather_gathers_the_five_cities_and_sync_waits_for_each(client_kind):
    """Under ASGI and under WSGI (a loop per request still gathers): about one latency,
    against about five for the sync view. (aiohttp has no sync API: sync uses httpx.)"""
    sequential = _wsgi_seconds("/weather/sync/")
    gathered_asgi = _asgi_seconds("/weather/async/")
    gathered_wsgi = _wsgi_seconds("/weather/async/")
    times = {"sequential": sequential, "asgi": gathered_asgi, "wsgi": gathered_wsgi}
    assert sequential >= 5 * LATENCY, times
    assert gathered_asgi >= LATENCY and gathered_wsgi >= LATENCY, times
    assert gathered_asgi < 0.6 * sequential, times
    assert gathered_wsgi < 0.6 * sequential, times


def test_home_async_gathers_the_two_services_and_the_others_take_the_sum(client_kind):
    sequential_sync = _wsgi_seconds("/home/sync/")
    sequential_async = _asgi_seconds("/home/async-sequential/")
    gathered = _asgi_seconds("/home/async/")
    times = {"sync": sequential_sync, "async-sequential": sequential_async,
             "async": gathered}
    assert sequential_sync >= 2 * LATENCY and sequential_async >= 2 * LATENCY, times
    assert gathered >= LATENCY, times
    # async-sequential is async with no gain: it waits like the sync view, and
    # gathering is what halves the wait
    assert gathered < 0.75 * sequential_async, times
    assert gathered < 0.75 * sequential_sync, times
