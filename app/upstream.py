"""The stand-in for the external services the stories call: weather, promotions, recos.

A plain ASGI app, no framework, so that it stays far from being the bottleneck:

    uvicorn app.upstream:app --host 127.0.0.1 --port 9000 --no-access-log --lifespan off

Routes (GET): /weather/<city> (portland, berlin, chicago, madrid, sidney),
/promotions, /recommendations, /health (no delay, no faults) and /stats (counters).
Bodies are deterministic; only delays and faults are random.

/tokens?n=20&interval_ms=250 streams like a language model's API: n chunks, each one
JSON line (`{"i": 0, "token": "lorem"}` and a newline), the first at once and then one
every interval_ms (on a fixed schedule: a late chunk does not push the others back),
as `more_body` messages of one response. It takes no latency or faults (the stream
stories measure the relay, not the dice); n in 1..100000 and interval_ms in 0..600000,
else 400. A stream stops as soon as its client goes away (counted in `disconnects`);
/stats also counts `streams` started and `chunks` sent.

Each request may set, as query parameters (defaults from this process's environment):

    latency_ms  UPSTREAM_LATENCY_MS  (50)    base delay before answering
    jitter_ms   UPSTREAM_JITTER_MS   (0)     plus uniform(0, jitter_ms)
    error_rate  UPSTREAM_ERROR_RATE  (0)     share of requests answered 503 (after the delay)
    hang_rate   UPSTREAM_HANG_RATE   (0)     share that wait hang_ms instead (past a
    hang_ms     UPSTREAM_HANG_MS     (5000)  client's timeout), then answer 200
    tail_rate   UPSTREAM_TAIL_RATE   (0)     share that wait tail_ms more: a slow tail
    tail_ms     UPSTREAM_TAIL_MS     (500)

UPSTREAM_DOWN (comma-separated paths, e.g. /weather/berlin) answers those 503 at once,
with no delay and no dice: one service down while the others are slow or hang.

UPSTREAM_SEED seeds the fault dice. A bad parameter answers 400. A hanging request
stops waiting when its client disconnects, so timed-out callers leave no work behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_MS = 600_000

CITIES: dict[str, dict[str, Any]] = {
    "portland": {"city": "Portland", "country": "US", "lat": 45.52, "lon": -122.68},
    "berlin": {"city": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.40},
    "chicago": {"city": "Chicago", "country": "US", "lat": 41.88, "lon": -87.63},
    "madrid": {"city": "Madrid", "country": "ES", "lat": 40.42, "lon": -3.70},
    "sidney": {"city": "Sidney", "country": "AU", "lat": -33.87, "lon": 151.21},
}


def _weather(slug: str, location: dict[str, Any]) -> dict[str, Any]:
    """Made-up but stable weather: the same city always gets the same report."""
    seed = sum(slug.encode())
    return {
        "location": location,
        "current": {
            "temp_c": round(5 + seed % 25 + (seed % 10) / 10, 1),
            "humidity": 30 + seed % 60,
            "wind_kph": seed % 40,
            "condition": ("Sunny", "Cloudy", "Rain", "Windy")[seed % 4],
        },
    }


def _encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


BODIES: dict[str, bytes] = {
    **{f"/weather/{slug}": _encode(_weather(slug, loc)) for slug, loc in CITIES.items()},
    "/promotions": _encode(
        {
            "promotions": [
                {"id": 1, "title": "Spring sale", "discount_pct": 20},
                {"id": 2, "title": "Free shipping over $50", "discount_pct": 0},
                {"id": 3, "title": "Two for one on tea", "discount_pct": 50},
            ]
        }
    ),
    "/recommendations": _encode(
        {
            "recommendations": [
                {"id": 101, "name": "Ceramic teapot", "price": "34.00"},
                {"id": 102, "name": "Oolong sampler", "price": "19.00"},
                {"id": 103, "name": "Bamboo whisk", "price": "12.00"},
                {"id": 104, "name": "Travel mug", "price": "25.00"},
            ]
        }
    ),
}


@dataclass(frozen=True)
class Faults:
    """How one request is delayed and failed."""

    latency_ms: float = 50
    jitter_ms: float = 0
    error_rate: float = 0
    hang_rate: float = 0
    hang_ms: float = 5000
    tail_rate: float = 0
    tail_ms: float = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Faults:
        return cls().updated(
            {
                name: env[f"UPSTREAM_{name.upper()}"]
                for name in cls.__dataclass_fields__
                if f"UPSTREAM_{name.upper()}" in env
            }
        )

    def updated(self, params: Mapping[str, str]) -> Faults:
        """These faults with `params` applied; ValueError names a bad one."""
        changes: dict[str, float] = {}
        for name, raw in params.items():
            if name not in self.__dataclass_fields__:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number") from None
            limit = 1.0 if name.endswith("_rate") else MAX_MS
            if not 0 <= value <= limit:
                raise ValueError(f"{name}={raw!r} is outside 0..{limit:g}")
            changes[name] = value
        return replace(self, **changes) if changes else self


@dataclass
class Stats:
    requests: int = 0
    errors: int = 0
    hangs: int = 0
    tails: int = 0
    disconnects: int = 0
    streams: int = 0
    chunks: int = 0
    inflight: int = 0
    max_inflight: int = 0


DEFAULTS = Faults.from_env(os.environ)
DOWN = frozenset(p.strip().rstrip("/") for p in os.environ.get("UPSTREAM_DOWN", "").split(",")
                 if p.strip())
STATS = Stats()
_dice = random.Random(os.environ.get("UPSTREAM_SEED"))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":  # lifespan, websocket: not served
        return
    path = scope["path"]
    if scope["method"] != "GET":
        return await _respond(send, 405, {"error": "GET only"})
    if path == "/health":
        return await _respond(send, 200, {"ok": True})
    if path == "/stats":
        return await _respond(send, 200, vars(STATS))
    if path.rstrip("/") == "/tokens":
        return await _tokens(scope["query_string"], receive, send)
    body = BODIES.get(path.rstrip("/") or path)
    if body is None:
        return await _respond(send, 404, {"error": f"no such resource: {path}"})
    query = scope["query_string"]
    try:
        faults = DEFAULTS.updated(dict(parse_qsl(query.decode("latin-1")))) if query else DEFAULTS
    except ValueError as exc:
        return await _respond(send, 400, {"error": str(exc)})

    STATS.requests += 1
    if path.rstrip("/") in DOWN:
        STATS.errors += 1
        return await _respond(send, 503, {"error": "service down"})
    STATS.inflight += 1
    STATS.max_inflight = max(STATS.max_inflight, STATS.inflight)
    try:
        await _serve(faults, body, receive, send)
    finally:
        STATS.inflight -= 1


async def _serve(faults: Faults, body: bytes, receive: Receive, send: Send) -> None:
    if faults.hang_rate and _dice.random() < faults.hang_rate:
        STATS.hangs += 1
        if await _disconnected_within(receive, faults.hang_ms / 1000):
            STATS.disconnects += 1
            return
        return await _send(send, 200, body)
    delay = faults.latency_ms
    if faults.jitter_ms:
        delay += _dice.uniform(0, faults.jitter_ms)
    if faults.tail_rate and _dice.random() < faults.tail_rate:
        STATS.tails += 1
        delay += faults.tail_ms
    if delay > 0:
        await asyncio.sleep(delay / 1000)
    if faults.error_rate and _dice.random() < faults.error_rate:
        STATS.errors += 1
        return await _respond(send, 503, {"error": "injected failure"})
    await _send(send, 200, body)


MAX_TOKENS = 100_000
WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")


async def _tokens(query: bytes, receive: Receive, send: Send) -> None:
    """n JSON lines, one every interval_ms, the first at once; stop if the client leaves."""
    params = dict(parse_qsl(query.decode("latin-1")))
    try:
        n = _bounded(params, "n", 20, 1, MAX_TOKENS)
        interval = _bounded(params, "interval_ms", 250, 0, MAX_MS) / 1000
    except ValueError as exc:
        return await _respond(send, 400, {"error": str(exc)})
    STATS.requests += 1
    STATS.streams += 1
    STATS.inflight += 1
    STATS.max_inflight = max(STATS.max_inflight, STATS.inflight)
    try:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-ndjson"),
                                (b"cache-control", b"no-cache")]})
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(n):
            wait = start + i * interval - loop.time()
            if wait > 0 and await _disconnected_within(receive, wait):
                STATS.disconnects += 1
                return
            line = _encode({"i": i, "token": WORDS[i % len(WORDS)]}) + b"\n"
            await send({"type": "http.response.body", "body": line, "more_body": True})
            STATS.chunks += 1
        await send({"type": "http.response.body", "body": b""})
    finally:
        STATS.inflight -= 1


def _bounded(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name}={raw!r} is outside {lo}..{hi}")
    return value


async def _disconnected_within(receive: Receive, seconds: float) -> bool:
    """Wait up to `seconds`; True as soon as the client goes away."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return True
    except TimeoutError:
        return False


async def _respond(send: Send, status: int, payload: Any) -> None:
    await _send(send, status, _encode(payload))


async def _send(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
