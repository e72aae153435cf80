"""What a failed call leaves behind: asyncio.gather against TaskGroup, with a real
upstream where one city is down (503 at once) and the other four hang until their
client goes away. The view answers 502 either way; the upstream's own count of open
requests says whether the four other calls were still held after that answer.

One event loop serves the requests, as in an ASGI worker, and keeps running after the
answer. Measured: gather leaves the four calls open for as long as the client lives
(a shared per-loop client: httpx, aiohttp); a client closed with the request
(httpx-per-call) cuts them off, their errors unobserved; TaskGroup cancels them on
the first failure with every client."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from django.test import AsyncClient

pytestmark = pytest.mark.django_db(transaction=False)

AFTER_S, EVERY_S = 0.5, 0.05  # how long, how often the upstream is asked after the 502


def _inflight(upstream: str) -> int:
    with urllib.request.urlopen(f"{upstream}/stats", timeout=5) as r:
        return json.load(r)["inflight"]


async def _open_after_502(path: str, upstream: str) -> list[int]:
    """The upstream's open requests, polled while the loop runs on after the answer."""
    response = await AsyncClient().get(path)
    assert response.status_code == 502, response.content
    assert "503" in response.json()["error"]
    seen = []
    for _ in range(round(AFTER_S / EVERY_S)):
        await asyncio.sleep(EVERY_S)
        seen.append(await asyncio.to_thread(_inflight, upstream))
    return seen


def test_gather_leaves_the_other_calls_open_while_the_client_lives(
        settings, one_city_down_upstream, client_kind):
    settings.LOADLAB_UPSTREAM_URL = one_city_down_upstream
    seen = asyncio.run(_open_after_502("/weather/async/", one_city_down_upstream))
    if client_kind == "httpx-per-call":  # the client closed with the request
        assert seen[-1] == 0, seen
    else:
        assert seen == [4] * len(seen), seen  # all four, the whole time


def test_taskgroup_cancels_the_other_calls_with_every_client(
        settings, one_city_down_upstream, client_kind):
    settings.LOADLAB_UPSTREAM_URL = one_city_down_upstream
    seen = asyncio.run(_open_after_502("/weather/async-taskgroup/", one_city_down_upstream))
    assert seen[-1] == 0, seen
