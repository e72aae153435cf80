"""Users that hold a connection for seconds: a Server-Sent Events stream, a slow upload,
and the Neighbour that measures what they cost a short view.

Locust's HTTP users time a response to its headers (`stream=True`) or to its whole body;
neither is what a stream's user waits for. These users speak HTTP/1.1 on a plain
gevent socket (geventhttpclient's parser decodes the chunked body) and fire Locust's
`request` event themselves, so Locust's stats and loadlab's recorder (base.py) both see:

- `<flavor>`: a stream's time to its FIRST event, from the request's start (with the
  open model also from its intended start); an upload's time from its first byte sent
  to the whole response. A wrong status, a malformed or error event, fewer events than
  asked, a wrong byte count or a socket error is a failure with its reason.
- `<flavor> lag`: streams only, one per event that arrived: its arrival minus its due
  time (the request's start + i x interval_ms), never negative. They are fired when the
  stream ends, beside its `<flavor>`, so any window holds the lags of the streams it
  counts: lags / (events x streams) is the share of events that arrived.
- `<flavor> spread`: streams only, one per stream that ended whole: from its first
  event to its last. (events - 1) x interval_ms when they came live; near 0 when the
  server held them back and sent them at once (buffered), whatever the stream waited.
- `<flavor> gone`: the streams and uploads this client abandoned halfway on purpose
  (LOADLAB_DISCONNECT_SHARE, 0..1): the time until it left. Neither failures nor lags.

One user holds one connection at a time in a closed loop (no wait), so N users are N
held connections. Parameters come from LOADLAB_QUERY (else the scenario's query): the
same string the view reads.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import gevent
import gevent.socket
from geventhttpclient.response import HTTPParseError, HTTPSocketResponse
from locust import FastHttpUser, User, constant, events, task

from app.scenarios import get as get_scenario
from locustfiles.base import recorder, schedule


def _share(raw: str) -> float:
    share = float(raw or 0)
    if not 0 <= share <= 1:
        raise ValueError(f"LOADLAB_DISCONNECT_SHARE={raw!r} is outside 0..1")
    return share


DISCONNECT_SHARE = _share(os.environ.get("LOADLAB_DISCONNECT_SHARE", "0"))
SLACK_S = 60.0  # a socket read may wait this long past the stream's own length
TICK_S = 0.1  # an upload sends rate/10 every 100 ms
SLICE = 1 << 20  # and never more than 1 MiB in one send


class Failure(Exception):
    """What was wrong with a stream or an upload, in words (Locust groups by it)."""


def fire(request_type: str, name: str, ms: float, length: int = 0,
         exception: BaseException | None = None) -> None:
    """One measurement, to Locust's stats and to the recorder (base._on_request)."""
    events.request.fire(request_type=request_type, name=name, response_time=ms,
                        response_length=length, exception=exception, context={})


def _ms(since: float, until: float) -> float:
    return max(0.0, (until - since) * 1000)


class LongLivedUser(User):
    """One flavor of a long-lived story; subclasses define `hold` (one connection)."""

    abstract = True
    scenario = ""
    flavor = ""
    request_type = "GET"
    wait_time = constant(0)

    def on_start(self) -> None:
        story = get_scenario(self.scenario)
        query = os.environ.get("LOADLAB_QUERY", story.query)
        self.params = {k: int(v) for k, v in parse_qsl(query)}
        self.target = story.flavor(self.flavor).path + (f"?{query}" if query else "")
        parts = urlsplit(self.host or "")
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{self.host!r}: a long-lived user needs an http://host:port")
        self.address = (parts.hostname, parts.port or 80)
        self.host_header = parts.netloc
        self.rng = random.Random()

    @task
    def one(self) -> None:
        intended = schedule.take() if schedule.active else None
        leave = DISCONNECT_SHARE > 0 and self.rng.random() < DISCONNECT_SHARE
        sock = None
        try:
            sock = gevent.socket.create_connection(self.address, timeout=SLACK_S)
            self.hold(sock, intended, leave)
        except OSError as exc:  # the connection itself failed
            self.failed(intended, time.time(), exc)
        finally:
            if sock is not None:
                sock.close()

    def hold(self, sock: Any, intended: float | None, leave: bool) -> None:
        raise NotImplementedError

    def head(self, method: str, extra: str = "") -> bytes:
        return (f"{method} {self.target} HTTP/1.1\r\nHost: {self.host_header}\r\n"
                f"User-Agent: loadlab\r\nConnection: close\r\n{extra}\r\n").encode()

    def done(self, intended: float | None, started: float, ended: float, length: int,
             exception: BaseException | None = None) -> None:
        """`<flavor>`: from `started` to `ended`; also from the intended start."""
        fire(self.request_type, self.flavor, _ms(started, ended), length, exception)
        if intended is not None:
            recorder.record_open(self.flavor, intended, started, ended,
                                 failed=exception is not None)

    def failed(self, intended: float | None, started: float, exc: BaseException) -> None:
        error = exc if isinstance(exc, Failure) else Failure(f"{type(exc).__name__}: {exc}")
        self.done(intended, started, time.time(), 0, error)

    def gone(self, started: float, length: int) -> None:
        fire(self.request_type, f"{self.flavor} gone", _ms(started, time.time()), length)


# --- Server-Sent Events -----------------------------------------------------------------


def next_event(response: HTTPSocketResponse) -> tuple[dict[str, str], int] | None:
    """The next event's fields and its size in bytes; None at the end of the body."""
    fields: dict[str, str] = {}
    size = 0
    while True:
        line = response.readline(b"\n")
        if not line:
            return None  # an event cut off by the end is no event
        size += len(line)
        line = line.rstrip(b"\r\n")
        if not line:
            if fields:
                return fields, size
            continue
        if line.startswith(b":"):  # a comment (a keep-alive ping)
            continue
        name, _, value = line.decode().partition(":")
        fields[name] = value.removeprefix(" ")


def check_event(fields: dict[str, str], i: int, n: int) -> None:
    if fields.get("event") == "error":
        raise Failure(f"error event after {i} of {n}: {fields.get('data', '')}")
    try:
        data = json.loads(fields["data"])
        ok = fields.get("id") == str(i) and data == {"i": i, "of": n}
    except (KeyError, ValueError):
        ok = False
    if not ok:
        raise Failure(f"event {i} of {n} malformed: {fields}")


class StreamUser(LongLivedUser):
    """Reads one stream of `events` events to its end, then opens the next."""

    abstract = True
    scenario = "stream"

    def hold(self, sock: Any, intended: float | None, leave: bool) -> None:
        n = self.params.get("events", 20)
        interval = self.params.get("interval_ms", 250) / 1000
        sock.settimeout(SLACK_S + 2 * n * interval)  # per read: a buffered stream is late
        started = time.time()
        arrived = length = 0
        first = last = None
        lags: list[float] = []
        try:
            sock.sendall(self.head("GET", "Accept: text/event-stream\r\n"))
            response = HTTPSocketResponse(sock)
            if response.status_code != 200:
                raise Failure(f"HTTP {response.status_code}: {response.read()[:200]!r}")
            kind = response.get("content-type") or ""
            if not str(kind).startswith("text/event-stream"):
                raise Failure(f"content type {kind!r}, not text/event-stream")
            while arrived < n:
                if leave and arrived >= n // 2:  # halfway (1 event: after the headers)
                    return self.gone(started, length)
                got = next_event(response)
                now = time.time()
                if got is None:
                    raise Failure(f"{arrived} of {n} events, then the stream ended")
                fields, size = got
                check_event(fields, arrived, n)
                length += size
                first, last = (now if first is None else first), now
                lags.append(_ms(started + arrived * interval, now))
                arrived += 1
            response.read()  # the end of the body: the server finished cleanly
        except (OSError, HTTPParseError, Failure) as exc:
            self.lags(lags)
            return self.failed(intended, started, exc)
        self.lags(lags)
        if first is not None and last is not None:  # how far apart its events came
            fire("SSE", f"{self.flavor} spread", _ms(first, last))
        self.done(intended, started, first if first is not None else time.time(), length)

    def lags(self, lags: list[float]) -> None:
        for ms in lags:
            fire("SSE", f"{self.flavor} lag", ms)


# --- slow uploads -----------------------------------------------------------------------


class UploadUser(LongLivedUser):
    """POSTs size_kb KiB at rate_kbps KiB/s (KiB, so the default 256 at 128 takes 2 s):
    the headers at once, then rate/10 at the end of every 100 ms on a plain socket.

    A body smaller than the kernel's socket buffers is taken in by them whether or not a
    worker reads it: on gunicorn's sync worker such an upload completes on time, and
    what it holds shows in the Neighbour's latency instead."""

    abstract = True
    scenario = "upload"
    request_type = "POST"

    def hold(self, sock: Any, intended: float | None, leave: bool) -> None:
        size = self.params.get("size_kb", 256) * 1024
        rate = self.params.get("rate_kbps", 128) * 1024  # bytes per second
        sock.settimeout(SLACK_S + 2 * size / rate)
        limit = size // 2 if leave else size
        zeros = memoryview(bytes(min(SLICE, max(1, int(rate * TICK_S)), size)))
        started = time.time()
        sent = ticks = 0
        try:
            sock.sendall(self.head("POST", f"Content-Type: application/octet-stream\r\n"
                                           f"Content-Length: {size}\r\n"))
            while sent < limit:  # by the end of tick k, k x rate/10 bytes: size/rate in all
                ticks += 1
                gevent.sleep(max(0.0, started + ticks * TICK_S - time.time()))
                goal = min(limit, int(rate * ticks * TICK_S))
                while sent < goal:
                    piece = min(len(zeros), goal - sent)
                    sock.sendall(zeros[:piece])
                    sent += piece
            if leave:
                return self.gone(started, sent)
            response = HTTPSocketResponse(sock)
            body = response.read()
            ended = time.time()
            if response.status_code != 200:
                raise Failure(f"HTTP {response.status_code}: {body[:200]!r}")
            try:
                got = json.loads(body)["bytes"]
            except (KeyError, TypeError, ValueError):
                raise Failure(f"no byte count in {body[:200]!r}") from None
            if got != size:
                raise Failure(f"the view read {got} bytes of {size}")
        except (OSError, HTTPParseError, Failure) as exc:
            return self.failed(intended, started, self._answer_instead(sock, exc))
        self.done(intended, started, ended, sent)

    @staticmethod
    def _answer_instead(sock: Any, exc: BaseException) -> BaseException:
        """A send refused mid-body: the server may have answered (and closed) early."""
        if not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
            return exc
        try:
            sock.settimeout(1.0)
            response = HTTPSocketResponse(sock)
            return Failure(f"HTTP {response.status_code} before the whole body was sent:"
                           f" {response.read()[:200]!r}")
        except (OSError, HTTPParseError):
            return exc


# --- the neighbour ----------------------------------------------------------------------


NEIGHBOURS = int(os.environ.get("LOADLAB_NEIGHBOUR_USERS", "0") or 0)


class Neighbour(FastHttpUser):
    """A short view, requested in a closed loop beside the held connections: its p95 and
    rps are what a team adding streams or uploads to an existing app must know.

    LOADLAB_NEIGHBOUR_USERS (K) of them, by Locust's fixed_count, spawned first: run
    `locust -f stream.py Sync Neighbour -u N+K` for N streams and K neighbours. With
    K = 0 its weight is 0 too, so Locust drops it instead of giving it a share of -u.
    """

    fixed_count = NEIGHBOURS
    weight = 1 if NEIGHBOURS else 0
    wait_time = constant(0)
    path = os.environ.get("LOADLAB_NEIGHBOUR_PATH", "/hello/sync/")

    @task
    def visit(self) -> None:
        with self.client.get(self.path, name="neighbour", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
