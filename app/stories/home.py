"""home: a page built from a promotions service and a recommendations service.

Three flavors: sync calls one service after the other; async-sequential awaits one
after the other too, so it takes the sum of both latencies, like sync (async with no
gain); async gathers both and takes the longer of the two. A service that fails or times
out does not fail the page: its section says it is unavailable, the page is marked
`data-degraded="..."` (and the X-Loadlab-Degraded header) and still answers 200.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from django.shortcuts import render

from app import clients
from app.clients import UpstreamError, async_upstream, sync_upstream

SERVICES = ("promotions", "recommendations")


@dataclass(frozen=True)
class Section:
    """What one service gave the page: its items, or why there are none."""

    name: str
    items: list[Any] | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.items is not None

    @classmethod
    def from_body(cls, name: str, body: Any) -> "Section":
        items = body.get(name) if isinstance(body, dict) else None
        if not isinstance(items, list):
            return cls(name, None, f"no {name!r} list in the answer")
        return cls(name, items)

    @classmethod
    def unavailable(cls, name: str, exc: Exception) -> "Section":
        return cls(name, None, str(exc))


def _fetch(upstream, name: str) -> Section:
    try:
        return Section.from_body(name, upstream.get_json(f"/{name}"))
    except UpstreamError as exc:
        return Section.unavailable(name, exc)


async def _afetch(upstream, name: str) -> Section:
    try:
        return Section.from_body(name, await upstream.get_json(f"/{name}"))
    except UpstreamError as exc:
        return Section.unavailable(name, exc)


def _page(request, flavor: str, promotions: Section, recommendations: Section):
    degraded = [s.name for s in (promotions, recommendations) if not s.ok]
    context = {
        "flavor": flavor,
        "client": clients.kind(),
        "promotions": promotions,
        "recommendations": recommendations,
        "degraded": degraded,
    }
    response = render(request, "home.html", context)
    if degraded:
        response["X-Loadlab-Degraded"] = ",".join(degraded)
    return response


def home_sync(request):
    with sync_upstream() as upstream:
        promotions = _fetch(upstream, "promotions")
        recommendations = _fetch(upstream, "recommendations")
    return _page(request, "sync", promotions, recommendations)


async def home_async_sequential(request):
    async with async_upstream() as upstream:
        promotions = await _afetch(upstream, "promotions")
        recommendations = await _afetch(upstream, "recommendations")
    return _page(request, "async-sequential", promotions, recommendations)


async def home_async(request):
    async with async_upstream() as upstream:
        promotions, recommendations = await asyncio.gather(
            _afetch(upstream, "promotions"), _afetch(upstream, "recommendations")
        )
    return _page(request, "async", promotions, recommendations)
