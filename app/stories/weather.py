"""weather: the round trip through five cities. The sync view waits for each city in
turn (about 5 upstream latencies); the async view gathers them (about one)."""

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


def upstream_failed(exc: UpstreamError) -> JsonResponse:
    """A failed city fails the page: 502, with the reason."""
    return JsonResponse({"error": str(exc)}, status=502)
