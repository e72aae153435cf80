"""queries: the parallel-ORM trap. Three independent queries that each take `ms` on the
database server (`SELECT pg_sleep(s)`; SQLite gets a pg_sleep of its own, see
app/catalog/apps.py), written three ways:

- sync: one after another, ~3 x ms.
- async: `asyncio.gather` over three awaits of the async ORM's way in (sync_to_async,
  thread-sensitive, as QuerySet.aget is): they still run one after another, on the
  request's one thread and its one connection, ~3 x ms. The trap: it looks parallel.
- async-threads: one `sync_to_async(thread_sensitive=False)` call per query: each runs
  on a pool thread with a connection of its own, really in parallel (~ms), at the cost
  of three connections per request. Each thread closes its connection when its query is
  done: Django only closes the request thread's connection, so without this every pool
  thread would keep one open (a leak the connection counts would show).

Query: `?ms=` (default 50, at most 2000).
"""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse

from app.stories.params import int_param

QUERIES = 3
MAX_MS = 2000


def _ms(request) -> int:
    return int_param(request, "ms", default=50, maximum=MAX_MS)


def _query(ms: int) -> float:
    """One query that takes `ms` on the server; returns the seconds it took here."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [ms / 1000])
        cursor.fetchone()
    return time.perf_counter() - started


def _query_on_own_connection(ms: int) -> float:
    try:
        return _query(ms)
    finally:
        connection.close()  # a pool thread's connection: Django would never close it


def _answer(flavor: str, ms: int, took: list[float], started: float) -> JsonResponse:
    return JsonResponse({"flavor": flavor, "queries": len(took), "ms": ms,
                         "sum_ms": round(sum(took) * 1000, 1),
                         "wall_ms": round((time.perf_counter() - started) * 1000, 1)})


def queries_sync(request):
    ms, started = _ms(request), time.perf_counter()
    took = [_query(ms) for _ in range(QUERIES)]
    return _answer("sync", ms, took, started)


async def queries_async(request):
    ms, started = _ms(request), time.perf_counter()
    took = await asyncio.gather(*(sync_to_async(_query)(ms) for _ in range(QUERIES)))
    return _answer("async", ms, list(took), started)


async def queries_async_threads(request):
    ms, started = _ms(request), time.perf_counter()
    run = sync_to_async(_query_on_own_connection, thread_sensitive=False)
    took = await asyncio.gather(*(run(ms) for _ in range(QUERIES)))
    return _answer("async-threads", ms, list(took), started)
