"""The HTTP client axis: how views call the upstream stand-in (docs/DESIGN.md,
"Scenarios"; docs/FIELD-NOTES.md, "HTTP clients decide the async story").

`settings.LOADLAB_CLIENT` (env LOADLAB_CLIENT) picks the client, read on every call so
tests can override it:

- "httpx" (default): shared clients. Sync views share one `httpx.Client` per process
  (it is thread-safe); async views share one `httpx.AsyncClient` per running event loop.
- "httpx-per-call": the literature's code. Sync views call `httpx.get()` (a new client,
  and a new connection, per call); async views open `async with httpx.AsyncClient()` per
  request and share it among that request's gathered calls.
- "aiohttp": async views share one `aiohttp.ClientSession` per running loop. aiohttp has
  no sync API, so sync views use the shared `httpx.Client`, exactly as with "httpx".

Why per loop: a connection belongs to the loop that opened it. Under ASGI each worker
has one long-lived loop, so its client lives as long as the worker. Under WSGI Django
runs an async view in a new loop per request (asgiref's `async_to_sync` ->
`asyncio.run`); a module-level AsyncClient would then reuse connections of a closed
loop and fail with "Event loop is closed". So under WSGI "httpx" and "aiohttp" make a
client per request, by necessity (the shared SSL context keeps that cheap).

Lifetime: each per-loop client comes with a guard task on its loop. Whoever ends a
loop the standard way (asyncio.run, asgiref, uvicorn) cancels the remaining tasks
first; the guard then closes its client while the loop still runs, and forgets it. A
loop per request thus closes its client with the request: no leak, no "Unclosed client
session". A loop closed without cancelling its tasks leaves a dead entry, swept on the
next lookup.
"""

from __future__ import annotations

import asyncio
import contextvars
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KINDS = ("httpx", "httpx-per-call", "aiohttp")


class UpstreamError(Exception):
    """An upstream call failed: connection error, timeout, error status or bad body."""


def kind() -> str:
    name = settings.LOADLAB_CLIENT
    if name not in KINDS:
        raise ImproperlyConfigured(f"LOADLAB_CLIENT={name!r}: use one of {', '.join(KINDS)}")
    return name


def upstream_url(path: str) -> str:
    return f"{settings.LOADLAB_UPSTREAM_URL.rstrip('/')}{path}"


def _timeout() -> float:
    return float(settings.LOADLAB_UPSTREAM_TIMEOUT)


def _max_connections() -> int:
    return int(settings.LOADLAB_UPSTREAM_MAX_CONNECTIONS)


def _limits() -> httpx.Limits:
    n = _max_connections()
    return httpx.Limits(max_connections=n, max_keepalive_connections=n)


_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None
_sync_client: httpx.Client | None = None


def _shared_ssl_context() -> ssl.SSLContext:
    """One SSL context for every shared client: building one costs milliseconds."""
    global _ssl_context
    with _lock:
        if _ssl_context is None:
            _ssl_context = httpx.create_ssl_context()
        return _ssl_context


def _shared_sync_client() -> httpx.Client:
    global _sync_client
    if _sync_client is None:
        context = _shared_ssl_context()
        with _lock:
            if _sync_client is None:
                _sync_client = httpx.Client(limits=_limits(), verify=context, trust_env=False)
    return _sync_client


# --- sync views ---------------------------------------------------------------------


class SyncUpstream:
    """Upstream calls for a sync view; `client=None` means a new client per call."""

    def __init__(self, client: httpx.Client | None) -> None:
        self._client = client

    def get_json(self, path: str) -> Any:
        try:
            if self._client is None:
                response = httpx.get(upstream_url(path), timeout=_timeout())
            else:
                response = self._client.get(upstream_url(path), timeout=_timeout())
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(f"GET {path}: {type(exc).__name__}: {exc}") from exc


@contextmanager
def sync_upstream() -> Iterator[SyncUpstream]:
    """The upstream as the configured client sees it, for one sync request."""
    yield SyncUpstream(None if kind() == "httpx-per-call" else _shared_sync_client())


# --- async views --------------------------------------------------------------------


class AsyncUpstream:
    """Upstream calls for an async view, over httpx or aiohttp."""

    def __init__(self, client: httpx.AsyncClient | aiohttp.ClientSession) -> None:
        self._client = client

    async def get_json(self, path: str) -> Any:
        try:
            if isinstance(self._client, aiohttp.ClientSession):
                timeout = aiohttp.ClientTimeout(total=_timeout())
                async with self._client.get(upstream_url(path), timeout=timeout) as response:
                    response.raise_for_status()
                    return await response.json()
            response = await self._client.get(upstream_url(path), timeout=_timeout())
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise UpstreamError(f"GET {path}: {type(exc).__name__}: {exc}") from exc


@asynccontextmanager
async def async_upstream() -> AsyncIterator[AsyncUpstream]:
    """The upstream as the configured client sees it, for one async request."""
    name = kind()
    if name == "httpx-per-call":
        async with httpx.AsyncClient() as client:
            yield AsyncUpstream(client)
    else:
        yield AsyncUpstream(_loop_client(name))


# The per-loop clients: (loop, kind) -> (client, guard task). The guard is kept here
# too: the loop itself holds tasks only weakly.
_loop_clients: dict[tuple[asyncio.AbstractEventLoop, str], tuple[Any, asyncio.Task]] = {}


def _loop_client(name: str) -> httpx.AsyncClient | aiohttp.ClientSession:
    """This loop's client of kind `name`, made (with its guard) on first use."""
    loop = asyncio.get_running_loop()
    key = (loop, name)
    entry = _loop_clients.get(key)
    if entry is not None:
        return entry[0]
    _sweep_closed_loops()
    # No await between the lookup and the insert: no other task of this loop can race
    # us, and other threads run other loops, hence other keys.
    client = _new_async_client(name)
    guard = loop.create_task(_close_with_loop(key, client), context=contextvars.Context())
    with _lock:
        _loop_clients[key] = (client, guard)
    return client


def _new_async_client(name: str) -> httpx.AsyncClient | aiohttp.ClientSession:
    if name == "aiohttp":
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=_max_connections()))
    return httpx.AsyncClient(limits=_limits(), verify=_shared_ssl_context(), trust_env=False)


async def _close_with_loop(key: tuple[asyncio.AbstractEventLoop, str], client: Any) -> None:
    """Wait for the loop's end (cancellation); then close the client, on its loop.

    Only on cancellation: a guard garbage-collected with its dead loop has no loop left
    to close anything on (the sweep forgets it instead).
    """
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        with _lock:
            _loop_clients.pop(key, None)
        if isinstance(client, aiohttp.ClientSession):
            await client.close()
        else:
            await client.aclose()
        raise


def _sweep_closed_loops() -> None:
    with _lock:
        for key in [k for k in _loop_clients if k[0].is_closed()]:
            del _loop_clients[key]


def open_loop_clients() -> int:
    """How many per-loop clients are alive now (for tests and diagnostics)."""
    _sweep_closed_loops()
    return len(_loop_clients)
