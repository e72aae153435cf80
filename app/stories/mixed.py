"""mixed: async views around blocking code.

`blocking_work` stands for a blocking library call (a legacy SDK, a file read): it
waits, then does a little CPU. The sync view calls it directly; the async view awaits it
through `sync_to_async` (a thread hop per call); the background view schedules it
fire-and-forget and answers at once.

Fire-and-forget needs two cares. The loop holds tasks only weakly, so `_tasks` keeps a
strong reference until each is done. And under WSGI the loop is the request's own: it
is closed, its tasks cancelled, as soon as the view returns. So there the job goes
straight to the thread pool, which outlives the request. Both paths run jobs on the
same bounded pool, so `pending` (scheduled, not yet done) means the same under either
interface, and shows a backlog when load outruns the pool.
"""

import asyncio
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse

from app.stories.params import int_param

MAX_MS = 10_000
BACKGROUND_THREADS = 8


def blocking_work(ms: int) -> str:
    """Block for `ms` milliseconds, then hash a little: a digest proves it ran."""
    time.sleep(ms / 1000)
    digest = f"loadlab-{ms}".encode()
    for _ in range(200):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


def mixed_sync(request):
    ms = int_param(request, "ms", default=20, maximum=MAX_MS)
    return JsonResponse({"ms": ms, "digest": blocking_work(ms), "flavor": "sync"})


async def mixed_async(request):
    ms = int_param(request, "ms", default=20, maximum=MAX_MS)
    digest = await sync_to_async(blocking_work)(ms)
    return JsonResponse({"ms": ms, "digest": digest, "flavor": "async"})


async def mixed_async_background(request):
    ms = int_param(request, "ms", default=20, maximum=MAX_MS)
    background.schedule(ms, loop_outlives_request=isinstance(request, ASGIRequest))
    return JsonResponse({"ms": ms, "scheduled": True, **background.counts()})


class Background:
    """Fire-and-forget jobs: scheduled from async views, run on a bounded thread pool."""

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="loadlab-background")
        self._tasks: set[asyncio.Task] = set()
        self._lock = threading.Lock()
        self.scheduled = 0
        self.done = 0

    def schedule(self, ms: int, *, loop_outlives_request: bool) -> None:
        with self._lock:
            self.scheduled += 1
        if loop_outlives_request:  # ASGI: the server's loop runs on after we answer
            task = asyncio.create_task(self._run_async(ms))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:  # WSGI: this loop dies with the request; the pool does not
            self._pool.submit(self._run, ms)

    async def _run_async(self, ms: int) -> None:
        await sync_to_async(self._run, thread_sensitive=False, executor=self._pool)(ms)

    def _run(self, ms: int) -> None:
        try:
            blocking_work(ms)
        finally:
            with self._lock:
                self.done += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"pending": self.scheduled - self.done, "done": self.done}


background = Background(BACKGROUND_THREADS)
