"""sleep: the release-notes example. `time.sleep` holds a worker (or thread) for the
whole delay; `await asyncio.sleep` hands the loop to other requests meanwhile."""

import asyncio
import time

from django.http import JsonResponse

from app.stories.params import int_param

MAX_MS = 10_000


def sleep_sync(request):
    ms = int_param(request, "ms", default=50, maximum=MAX_MS)
    time.sleep(ms / 1000)
    return JsonResponse({"slept_ms": ms, "flavor": "sync"})


async def sleep_async(request):
    ms = int_param(request, "ms", default=50, maximum=MAX_MS)
    await asyncio.sleep(ms / 1000)
    return JsonResponse({"slept_ms": ms, "flavor": "async"})
