"""The websocket story in this process: its registry entry, its cadence parameters and
the four Channels consumers through app.asgi's router (Channels' WebsocketCommunicator).
Real servers and Locust: tests/app/test_ws_servers.py."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.urls import Resolver404, resolve

from app import routing
from app.asgi import application
from app.scenarios import get
from app.stories import ws
from app.stories.cadence import cadence

STORY = get("websocket")
WAIT_S = 10  # how long a test waits for a message before it fails (not a bound)


def path(flavor: str, query: str = "") -> str:
    return STORY.flavor(flavor).path + (f"?{query}" if query else "")


def test_the_story_is_asgi_only_and_each_flavor_has_a_route():
    assert STORY.connection == "websocket" and STORY.interfaces == ("asgi",)
    assert {f.name: f.path for f in STORY.flavors} == {
        "sync": "/ws/echo/sync/", "async": "/ws/echo/async/",
        "sync-push": "/ws/push/sync/", "async-push": "/ws/push/async/"}
    assert cadence(STORY.query) == (20, 250)


def test_each_websocket_path_reaches_its_consumer_and_is_no_http_page():
    """Pinned to the classes themselves, not read back from the registry."""
    routes = {f"/{p.pattern}": p.callback.consumer_class for p in routing.websocket_urlpatterns}
    assert routes == {"/ws/echo/sync/": ws.EchoConsumer, "/ws/echo/async/": ws.AsyncEchoConsumer,
                      "/ws/push/sync/": ws.PushConsumer, "/ws/push/async/": ws.AsyncPushConsumer}
    with pytest.raises(Resolver404):
        resolve("/ws/echo/sync/")


@pytest.mark.parametrize(("query", "problem"), [
    ("messages=0", "messages=0 is outside 1..1000"),
    ("messages=1001", "messages=1001 is outside 1..1000"),
    ("interval_ms=0", "interval_ms=0 is outside 1..10000"),
    ("interval_ms=10001", "interval_ms=10001 is outside 1..10000"),
    ("messages=abc", "messages='abc' is not an integer"),
    ("interval_ms=-5", "interval_ms=-5 is outside 1..10000"),
])
def test_cadence_refuses_what_is_out_of_range(query, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        cadence(query)


def test_cadence_defaults_and_reads_bytes():
    assert cadence("") == (20, 250)
    assert cadence(b"messages=3&interval_ms=7") == (3, 7)
    assert cadence("messages=1000&interval_ms=10000") == (1000, 10000)


# --- the consumers, in this process ---------------------------------------------------
# Channels' consumers close stale database connections around every handler (its
# database_sync_to_async); here that runs on the test's own thread, whose connection
# pytest-django guards: the transactional_db mark lets them (Channels' testing docs do so).
CONSUMERS = pytest.mark.django_db(transaction=True)


def communicate(flavor: str, query: str = ""):
    """Run `talk(communicator)` against the app's router, connected; its result."""
    def run(talk):
        async def session():
            communicator = WebsocketCommunicator(application, path(flavor, query))
            connected, _ = await communicator.connect(WAIT_S)
            assert connected
            try:
                return await talk(communicator)
            finally:
                await communicator.disconnect(timeout=WAIT_S)
        return async_to_sync(session)()
    return run


@CONSUMERS
@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_echo_consumers_echo_text_and_bytes(flavor):
    async def talk(c):
        replies = []
        for message in ("hello", "second", json.dumps({"i": 3})):
            await c.send_to(text_data=message)
            replies.append(await c.receive_from(WAIT_S))
        await c.send_to(bytes_data=b"\x00\x01")
        replies.append(await c.receive_from(WAIT_S))
        return replies

    assert communicate(flavor)(talk) == ["hello", "second", '{"i": 3}', b"\x00\x01"]


@CONSUMERS
@pytest.mark.parametrize("flavor", ["sync-push", "async-push"])
def test_push_consumers_send_every_message_in_order_then_close(flavor):
    async def talk(c):
        got = [json.loads(await c.receive_from(WAIT_S)) for _ in range(5)]
        return got, await c.receive_output(WAIT_S)

    got, last = communicate(flavor, "messages=5&interval_ms=2")(talk)
    assert got == [{"i": i, "of": 5} for i in range(5)]
    assert last == {"type": "websocket.close"}  # a normal close (1000)


@CONSUMERS
@pytest.mark.parametrize("flavor", ["sync-push", "async-push"])
@pytest.mark.parametrize("query", ["messages=0", "interval_ms=20000", "messages=x"])
def test_a_bad_query_closes_with_4400_and_the_reason(flavor, query):
    async def talk(c):
        return await c.receive_output(WAIT_S)

    closed = communicate(flavor, query)(talk)
    assert closed["type"] == "websocket.close" and closed["code"] == 4400
    assert closed["reason"].startswith(query.split("=")[0] + "=")
