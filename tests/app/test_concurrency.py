"""Concurrency semantics at a fixed upstream latency: behaviour, not speed.

The margins are generous (the machine is noisy): lower bounds are exact by
construction (n calls one after another cannot take less than n latencies), upper
bounds leave most of a latency for Django, the client and the scheduler.
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


def test_async_weather_takes_about_one_latency(client_kind):
    assert LATENCY <= _asgi_seconds("/weather/async/") < 2 * LATENCY


@pytest.mark.parametrize("kind", ["httpx", "httpx-per-call"])  # aiohttp: sync uses httpx
def test_sync_weather_takes_about_five_latencies(settings, kind):
    settings.LOADLAB_CLIENT = kind
    # httpx-per-call adds a client (an SSL context) per call: ~25 ms each, on top.
    assert 5 * LATENCY <= _wsgi_seconds("/weather/sync/") < 8 * LATENCY


def test_home_async_sequential_takes_the_sum(client_kind):
    assert 2 * LATENCY <= _asgi_seconds("/home/async-sequential/") < 3 * LATENCY


def test_home_async_takes_the_max(client_kind):
    assert LATENCY <= _asgi_seconds("/home/async/") < 1.7 * LATENCY


def test_home_sync_takes_the_sum():
    assert 2 * LATENCY <= _wsgi_seconds("/home/sync/") < 3 * LATENCY


def test_async_weather_gathers_under_wsgi_too():
    """A loop per request still gathers: async wins per request even under WSGI."""
    assert LATENCY <= _wsgi_seconds("/weather/async/") < 2 * LATENCY
