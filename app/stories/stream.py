"""stream: Server-Sent Events, N events one every I ms (`?events=20&interval_ms=250`).

Event i (0-based) is due at the view's start + i x interval (event 0 at once) and reads
`id: i`, `data: {"i": i, "of": N}`. The flavors differ only in what yields the events:

- sync: a sync generator with time.sleep. Under WSGI it holds a worker (gunicorn sync)
  or a thread (gthread) for the whole stream. Under ASGI Django cannot step a sync
  iterator from the event loop: StreamingHttpResponse.__aiter__ warns "must consume
  synchronous iterators" and runs `sync_to_async(list)` over it, so the client gets
  nothing until the last event exists (django/http/response.py).
- async: an async generator with asyncio.sleep; under ASGI each event goes out when
  due. Under WSGI Django does the reverse: `async_to_sync` collects the whole async
  iterator before the first byte (StreamingHttpResponse.__iter__).
- sync-relay / async-relay: the case teams build most, a chat view relaying a language
  model's tokens. The generator streams the upstream stand-in's /tokens (one chunk
  every interval) and sends one event per chunk, through `httpx.Client.stream` or
  `httpx.AsyncClient.stream` (aiohttp's stream when LOADLAB_CLIENT=aiohttp): the
  client axis of app/clients.py, shared clients included.

Client disconnects, from Django's code (core/handlers/asgi.py, ASGIHandler.handle):
under ASGI a task listens for `http.disconnect` beside the view and the sending, in
one TaskGroup; the disconnect cancels the sending, so an async generator is closed at
its next await (a relay closes its upstream stream). A sync generator runs in a thread
that cannot be cancelled: asgiref's SyncToAsync waits for it, so it runs on to its
last event. Under WSGI nothing listens: a generator runs until a write to the gone
client fails (the server then closes it at its `yield`).

Errors after the headers are sent cannot change the status: a failed relay ends its
stream with an `event: error` whose data names the cause.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import aiohttp
import httpx
from django.http import HttpRequest, StreamingHttpResponse

from app.clients import _loop_client, _shared_sync_client, _timeout, kind, upstream_url
from app.stories.params import int_param

MAX_EVENTS = 1000
MAX_INTERVAL_MS = 10_000


def _params(request: HttpRequest) -> tuple[int, int]:
    """(events, interval_ms) from the query, checked before any byte is sent (400)."""
    events = int_param(request, "events", default=20, minimum=1, maximum=MAX_EVENTS)
    interval = int_param(request, "interval_ms", default=250, minimum=1,
                         maximum=MAX_INTERVAL_MS)
    return events, interval


def event(i: int, n: int) -> bytes:
    return f'id: {i}\ndata: {{"i": {i}, "of": {n}}}\n\n'.encode()


def error_event(message: str) -> bytes:
    return f"event: error\ndata: {json.dumps({'error': message})}\n\n".encode()


def sse(content: Iterator[bytes] | AsyncIterator[bytes]) -> StreamingHttpResponse:
    """An event stream no proxy or cache should hold back."""
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer this response
    return response


# --- a generator of its own -----------------------------------------------------------


def stream_sync(request):
    events, interval = _params(request)
    return sse(_ticks_sync(time.monotonic(), events, interval))


async def stream_async(request):
    events, interval = _params(request)
    return sse(_ticks_async(time.monotonic(), events, interval))


def _ticks_sync(start: float, n: int, interval_ms: int) -> Iterator[bytes]:
    for i in range(n):
        wait = start + i * interval_ms / 1000 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield event(i, n)


async def _ticks_async(start: float, n: int, interval_ms: int) -> AsyncIterator[bytes]:
    for i in range(n):
        wait = start + i * interval_ms / 1000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        yield event(i, n)


# --- relaying an upstream stream ------------------------------------------------------


def _tokens_url(n: int, interval_ms: int) -> str:
    return upstream_url(f"/tokens?n={n}&interval_ms={interval_ms}")


def _read_timeout(interval_ms: int) -> float:
    """A chunk may take one interval to come, plus the usual upstream timeout."""
    return _timeout() + interval_ms / 1000


class _Relay:
    """Turns upstream lines into events, checking their order and count."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.sent = 0

    def line(self, raw: str | bytes) -> bytes | None:
        """The event for one upstream line (None for a blank one); ValueError if wrong."""
        if not raw.strip():
            return None
        token = json.loads(raw)
        if token.get("i") != self.sent:
            raise ValueError(f"upstream chunk {token.get('i')!r} where {self.sent} was due")
        self.sent += 1
        return event(self.sent - 1, self.n)

    def end(self) -> bytes | None:
        if self.sent == self.n:
            return None
        return error_event(f"upstream ended after {self.sent} of {self.n} chunks")

    @staticmethod
    def failed(exc: Exception) -> bytes:
        return error_event(f"upstream: {type(exc).__name__}: {exc}")


def stream_sync_relay(request):
    events, interval = _params(request)
    client = None if kind() == "httpx-per-call" else _shared_sync_client()
    return sse(_relay_sync(client, events, interval))


def _relay_sync(client: httpx.Client | None, n: int, interval_ms: int) -> Iterator[bytes]:
    """`client=None`: the literature's `httpx.stream(...)`, a new client per stream."""
    relay = _Relay(n)
    url, timeout = _tokens_url(n, interval_ms), httpx.Timeout(_read_timeout(interval_ms))
    opener = httpx.stream if client is None else client.stream
    try:
        with opener("GET", url, timeout=timeout) as upstream:
            upstream.raise_for_status()
            for line in upstream.iter_lines():
                if (chunk := relay.line(line)) is not None:
                    yield chunk
    except (httpx.HTTPError, ValueError) as exc:
        yield relay.failed(exc)
        return
    if (tail := relay.end()) is not None:
        yield tail


async def stream_async_relay(request):
    events, interval = _params(request)
    return sse(_relay_async(kind(), events, interval))


async def _relay_async(name: str, n: int, interval_ms: int) -> AsyncIterator[bytes]:
    """The client is looked up here, not in the view: under WSGI Django iterates this
    generator in an event loop of its own, and a client belongs to one loop."""
    relay = _Relay(n)
    url = _tokens_url(n, interval_ms)
    try:
        # aclosing: a client gone (GeneratorExit here) closes the upstream stream now
        async with aclosing(_upstream_lines(name, url, _read_timeout(interval_ms))) as lines:
            async for line in lines:
                if (chunk := relay.line(line)) is not None:
                    yield chunk
    except (httpx.HTTPError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
        yield relay.failed(exc)
        return
    if (tail := relay.end()) is not None:
        yield tail


async def _upstream_lines(name: str, url: str, timeout: float) -> AsyncIterator[str | bytes]:
    if name == "aiohttp":
        session = _loop_client("aiohttp")
        limits = aiohttp.ClientTimeout(sock_connect=_timeout(), sock_read=timeout)
        async with session.get(url, timeout=limits) as upstream:
            upstream.raise_for_status()
            async for line in upstream.content:  # aiohttp's stream yields lines
                yield line
        return
    if name == "httpx-per-call":
        async with httpx.AsyncClient() as client:
            async for line in _httpx_lines(client, url, timeout):
                yield line
        return
    async for line in _httpx_lines(_loop_client("httpx"), url, timeout):
        yield line


async def _httpx_lines(client: httpx.AsyncClient, url: str,
                       timeout: float) -> AsyncIterator[str]:
    async with client.stream("GET", url, timeout=httpx.Timeout(timeout)) as upstream:
        upstream.raise_for_status()
        async for line in upstream.aiter_lines():
            yield line
