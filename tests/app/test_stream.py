"""stream: every flavor's events and headers through Django's WSGI and ASGI handlers (the
relays against the real upstream stand-in), and its bad parameters.

What the handlers do with the generators' timing needs real servers:
tests/app/test_stream_servers.py.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from app.scenarios import get
from app.stories.stream import event

STREAM = get("stream")
FLAVORS = STREAM.flavor_names
RELAYS = [f for f in FLAVORS if f.endswith("relay")]


def expected(n: int) -> bytes:
    return b"".join(f'id: {i}\ndata: {{"i": {i}, "of": {n}}}\n\n'.encode() for i in range(n))


def body(response) -> bytes:
    """A streaming response's whole body, read the way its iterator wants."""
    if response.is_async:
        async def collect() -> bytes:
            return b"".join([part async for part in response.streaming_content])
        return async_to_sync(collect)()
    return b"".join(response.streaming_content)


def both(client, path: str):
    """The same GET through the WSGI handler and through the ASGI handler."""
    yield "wsgi", client.get(path)
    yield "asgi", async_to_sync(AsyncClient().get)(path)


def test_an_event_reads_as_the_contract_says():
    assert event(3, 20) == b'id: 3\ndata: {"i": 3, "of": 20}\n\n'


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_flavor_streams_its_events_in_order(client, flavor):
    for handler, response in both(client, f"/stream/{flavor}/?events=4&interval_ms=5"):
        assert response.status_code == 200, handler
        assert response.streaming
        assert response["Content-Type"] == "text/event-stream"
        assert response["Cache-Control"] == "no-cache"
        assert response["X-Accel-Buffering"] == "no"
        assert response["Server-Timing"].startswith("app;dur=")
        assert body(response) == expected(4), (handler, flavor)


def test_the_default_query_is_the_views_default(client):
    assert STREAM.query == "events=20&interval_ms=250"
    response = client.get("/stream/async/?interval_ms=1")
    assert body(response) == expected(20)


@pytest.mark.parametrize("flavor", RELAYS)
def test_relays_pass_each_upstream_token_on_with_every_client(client, client_kind, flavor):
    for handler, response in both(client, f"/stream/{flavor}/?events=5&interval_ms=2"):
        assert body(response) == expected(5), (handler, flavor, client_kind)


@pytest.mark.parametrize("flavor", RELAYS)
def test_a_relay_whose_upstream_is_gone_ends_with_an_error_event(client, settings, flavor):
    settings.LOADLAB_UPSTREAM_URL = "http://127.0.0.1:1"  # nothing listens on port 1
    for handler, response in both(client, f"/stream/{flavor}/?events=3&interval_ms=1"):
        assert response.status_code == 200  # the headers were promised before the call
        text = body(response).decode()
        assert text.startswith("event: error\ndata: "), (handler, text)
        assert "ConnectError" in text or "ClientConnectorError" in text, text


@pytest.mark.parametrize("query", ["events=0", "interval_ms=0", "interval_ms=-5",
                                   "events=-1", "events=many", "interval_ms=1.5"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_bad_parameters_are_a_400_before_any_event(client, flavor, query):
    for handler, response in both(client, f"/stream/{flavor}/?{query}"):
        assert response.status_code == 400, (handler, query)
        assert not response.streaming
        assert query.split("=")[0] in response.json()["error"]


def test_parameters_past_their_bound_are_clamped(client):
    """Like every story's parameters (app/stories/params.py): the harness refuses them."""
    text = body(client.get("/stream/async/?events=1001&interval_ms=1")).decode()
    assert text.count("id: ") == 1000
