"""weather: the round trip through five cities. The sync view waits for each city in
turn (about 5 upstream latencies); the async view gathers them (about one).

The TaskGroup flavor does what gather does when every city answers; when one fails,
TaskGroup cancels the other calls at once. gather leaves them running after the view
has already answered 502, holding the client's connections for as long as the client
lives (a shared per-loop client under ASGI); a client closed with the request cuts
them off instead, their errors never looked at (tests/app/test_cancellation.py)."""

import asyncio

from django.http import JsonResponse

from app.clients import UpstreamError, async_upstream, sync_upstream

CITIES = ("portland", "berlin", "chicago", "madrid", "sidney")


def weather_sync(request):
    try:
        with sync_upstream() as upstream:
            responses = [upstream.get_json(f"/weather/{city}") for city in CITIES]
    except UpstreamError as exc:
        return upstream_failed(exc)
    return JsonResponse({"responses": responses})


async def weather_async(request):
    try:
        async with async_upstream() as upstream:
            responses = await asyncio.gather(
                *(upstream.get_json(f"/weather/{city}") for city in CITIES)
            )
    except UpstreamError as exc:
        return upstream_failed(exc)
    return JsonResponse({"responses": responses})


async def weather_async_taskgroup(request):
    failure: UpstreamError | None = None
    try:
        async with async_upstream() as upstream, asyncio.TaskGroup() as group:
            tasks = [group.create_task(upstream.get_json(f"/weather/{city}"))
                     for city in CITIES]
    except* UpstreamError as failed:  # the siblings were cancelled on the first failure
        failure = failed.exceptions[0]
    if failure is not None:
        return upstream_failed(failure)
    return JsonResponse({"responses": [task.result() for task in tasks]})


def upstream_failed(exc: UpstreamError) -> JsonResponse:
    """A failed city fails the page: 502, with the reason."""
    return JsonResponse({"error": str(exc)}, status=502)
