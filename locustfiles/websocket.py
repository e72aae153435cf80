"""websocket: Django Channels consumers, one connection per user at a time (closed loop).

Locust has no websocket user: this one uses websocket-client, whose plain sockets
gevent's monkey-patching (applied by Locust) turns into greenlet I/O. Every sample is
fired as a Locust request (type WS), so base.py's recorder gets it like any response:

- `<flavor> handshake`: from the connect call to the accepted upgrade.
- echo (`sync`, `async`): `<flavor>` is each message's round trip; the user sends
  `messages` messages, one every `interval_ms` (on a schedule from the accept).
- push (`sync-push`, `async-push`): `<flavor>` is the time from the connect call to the
  first message (handshake included, like a stream's first event); `<flavor> lag` is
  each message's arrival behind its due time, accept + i x interval (the accept as the
  client sees it: the upgrade's answer).
- `<flavor> gone`: a session abandoned halfway (LOADLAB_DISCONNECT_SHARE of them, 0..1,
  default 0): the socket closed without a close frame, as a phone leaving a tunnel.
  Its time is the session's until then.

A timeout, a wrong message or a connection closed early is a failure that says so, and
ends the session; the user then reconnects. LOADLAB_QUERY overrides the story's query
(`messages=20&interval_ms=250`). Under the open model (LOADLAB_RATE) each session starts
at an arrival; the handshake is also recorded from its intended start.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys
import time
from types import ModuleType
from typing import Any

import gevent
from locust import User, constant, task
from locust.exception import StopUser

from app.scenarios import get as get_scenario
from app.stories.cadence import cadence
from locustfiles.base import recorder, schedule
from locustfiles.longlived import Neighbour  # the short view beside the sessions


def _websocket_client() -> ModuleType:
    """websocket-client's package, `websocket`. Locust imports this file (the story is
    called websocket) as the module `websocket`, its folder first on sys.path: both hide
    the package, so it is imported past them, and then owns its name again."""
    if __name__ != "websocket":  # imported as locustfiles.websocket: no clash
        return importlib.import_module("websocket")
    here = os.path.dirname(os.path.abspath(__file__))
    saved = list(sys.path)
    del sys.modules["websocket"]
    sys.path[:] = [p for p in saved if os.path.abspath(p or os.curdir) != here]
    try:
        return importlib.import_module("websocket")
    finally:
        sys.path[:] = saved


websocket = _websocket_client()
TIMEOUT_S = 10.0  # for the handshake, an echo, or a push message past its due time
CLOSE = websocket.ABNF.OPCODE_CLOSE


def disconnect_share() -> float:
    raw = os.environ.get("LOADLAB_DISCONNECT_SHARE", "") or "0"
    share = float(raw)
    if not 0 <= share <= 1:
        raise ValueError(f"LOADLAB_DISCONNECT_SHARE={raw} is outside 0..1")
    return share


def _close(ws: Any) -> None:
    """The closing handshake as `ws.close(timeout=1)` does it, but a kill gets through:
    websocket-client's close() swallows every exception, GreenletExit too, so a user
    that Locust's quit killed while it waited for the server's close frame went on to
    its next session, and the quit waited for it forever (seen past ~128 sessions)."""
    try:
        ws.send_close()
        ws.settimeout(1)
        ws.recv_data()  # the server's close frame (or whatever comes first)
    except (websocket.WebSocketException, OSError):
        pass
    finally:
        ws.shutdown()


def ws_url(host: str, path: str, query: str) -> str:
    """ws:// (wss://) on the user's http:// (https://) host."""
    scheme, _, rest = host.rstrip("/").partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}" + (f"?{query}" if query else "")


def _closed(frame: Any) -> str:
    """The server's close frame, as a reader wants it: `1000`, `4400 (reason)`."""
    data = frame.data if hasattr(frame, "data") else frame
    if len(data) < 2:
        return "no code"
    code = int.from_bytes(data[:2], "big")
    reason = data[2:].decode("utf-8", "replace")
    return f"{code} ({reason})" if reason else str(code)


class Failed(Exception):
    """A session's failure, with the sample name it is recorded under."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(why)
        self.name = name


class WebsocketUser(User):
    """One websocket session after another: connect, talk, close (or abandon)."""

    abstract = True
    scenario = "websocket"
    flavor = ""
    push = False
    wait_time = constant(0)

    def on_start(self) -> None:
        story = get_scenario(self.scenario)
        query = os.environ.get("LOADLAB_QUERY", story.query)
        try:
            self.messages, self.interval_ms = cadence(query)
            self.share = disconnect_share()
        except ValueError as error:
            self.fire(f"{self.flavor} handshake", 0, error=f"bad settings: {error}")
            raise StopUser() from None
        self.url = ws_url(self.host or "", story.flavor(self.flavor).path, query)

    def fire(self, name: str, ms: float, length: int = 0, error: str | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=ms, response_length=length,
            exception=Failed(name, error) if error else None, context={}, response=None,
            url=self.url if hasattr(self, "url") else "", start_time=time.time())

    @task
    def session(self) -> None:
        intended = schedule.take() if schedule.active else None
        gone_at = self.messages // 2 if random.random() < self.share else None
        wall, started = time.time(), time.perf_counter()
        try:
            ws = websocket.create_connection(self.url, timeout=TIMEOUT_S,
                                             skip_utf8_validation=True)
        except (websocket.WebSocketException, OSError) as error:
            self.fire(f"{self.flavor} handshake", _ms(started), error=_why("handshake", error))
            if intended is not None:
                recorder.record_open(f"{self.flavor} handshake", intended, wall, time.time(),
                                     failed=True)
            return
        accepted = time.perf_counter()
        self.fire(f"{self.flavor} handshake", _ms(started))
        if intended is not None:
            recorder.record_open(f"{self.flavor} handshake", intended, wall, time.time(),
                                 failed=False)
        close = False
        try:
            talk = self.receive_pushes if self.push else self.echo
            close = talk(ws, started, accepted, gone_at)
        except Failed as failure:
            self.fire(failure.name, 0, error=str(failure))
        finally:
            if close:
                _close(ws)  # a close frame, then the server's answer
            else:  # closed by the server, abandoned, failed, or the test is over
                ws.shutdown()

    def echo(self, ws: Any, started: float, accepted: float, gone_at: int | None) -> bool:
        """`messages` round trips, one every interval; True: the client closes it."""
        interval = self.interval_ms / 1000
        for i in range(self.messages):
            _sleep_until(accepted + i * interval)
            if i == gone_at:
                self.fire(f"{self.flavor} gone", _ms(started))
                return False
            payload = f"{i} of {self.messages}"
            sent = time.perf_counter()
            try:
                ws.send(payload)
                opcode, data = ws.recv_data()
            except (websocket.WebSocketException, OSError) as error:
                raise Failed(self.flavor, _why(f"echo {i + 1} of {self.messages}", error)) from None
            if opcode == CLOSE:
                raise Failed(self.flavor, f"closed by the server with {_closed(data)} after "
                                          f"{i} of {self.messages} echoes")
            if data.decode("utf-8", "replace") != payload:
                raise Failed(self.flavor, f"echo mismatch: sent {payload!r}, got {data[:60]!r}")
            self.fire(self.flavor, _ms(sent), len(data))
        return True

    def receive_pushes(self, ws: Any, started: float, accepted: float,
                       gone_at: int | None) -> bool:
        """`messages` pushes, each timed against its due time; then the server closes
        (recv_data answers its close frame), so the client sends none: False."""
        interval = self.interval_ms / 1000
        ws.settimeout(interval + TIMEOUT_S)
        lag = f"{self.flavor} lag"
        for i in range(self.messages):
            if i == gone_at:
                self.fire(f"{self.flavor} gone", _ms(started))
                return False
            name = self.flavor if i == 0 else lag
            try:
                opcode, data = ws.recv_data()
            except (websocket.WebSocketException, OSError) as error:
                raise Failed(name, _why(f"message {i + 1} of {self.messages}", error)) from None
            arrived = time.perf_counter()
            if opcode == CLOSE:
                raise Failed(name, f"closed by the server with {_closed(data)} after "
                                   f"{i} of {self.messages} messages")
            try:
                message = json.loads(data)
            except ValueError:
                raise Failed(name, f"message {i + 1} is not JSON: {data[:60]!r}") from None
            if message != {"i": i, "of": self.messages}:
                raise Failed(name, f"expected message {i} of {self.messages}, got {message}")
            if i == 0:
                self.fire(self.flavor, (arrived - started) * 1000, len(data))
            due = accepted + i * interval
            self.fire(lag, max(0.0, arrived - due) * 1000, len(data))
        try:  # the server closes when it is done: its close frame ends the session
            opcode, data = ws.recv_data()
        except (websocket.WebSocketException, OSError):
            return False
        if opcode != CLOSE:
            self.fire(lag, 0, error=f"a message after the last of {self.messages}")
        return False


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _sleep_until(moment: float) -> None:
    while (left := moment - time.perf_counter()) > 0:
        gevent.sleep(left)


def _why(what: str, error: BaseException) -> str:
    if isinstance(error, websocket.WebSocketTimeoutException):
        return f"{what}: timed out ({TIMEOUT_S:g} s past due)"
    if isinstance(error, websocket.WebSocketConnectionClosedException):
        return f"{what}: connection closed"
    if isinstance(error, websocket.WebSocketBadStatusException):
        return f"{what}: HTTP {error.status_code} instead of an upgrade"
    return f"{what}: {type(error).__name__}: {error}"


__all__ = ["Async", "AsyncPush", "Neighbour", "Sync", "SyncPush"]


class Sync(WebsocketUser):
    flavor = "sync"


class Async(WebsocketUser):
    flavor = "async"


class SyncPush(WebsocketUser):
    flavor = "sync-push"
    push = True


class AsyncPush(WebsocketUser):
    flavor = "async-push"
    push = True
