"""Routes, built from the scenario registry: app/scenarios.py is the only place that
spells a scenario path. `/` lists them, for people poking at a running app."""

import asyncio

from django.http import JsonResponse
from django.urls import path
from django.utils.module_loading import import_string

from app.scenarios import RUNTIME_PATH, SCENARIOS


def index(request):
    return JsonResponse(
        {
            "scenarios": [
                {
                    "name": s.name,
                    "summary": s.summary,
                    "query": s.query,
                    "flavors": {f.name: f.path for f in s.flavors},
                }
                for s in SCENARIOS
            ]
        }
    )


async def runtime(request):
    """The event loop this server runs async views on, as its process sees it: under
    ASGI the server's own (uvloop, asyncio, ...), under WSGI one asgiref made for it."""
    loop = asyncio.get_running_loop()
    return JsonResponse({"loop": f"{type(loop).__module__}.{type(loop).__qualname__}"})


urlpatterns = [
    path("", index, name="index"),
    path(RUNTIME_PATH.lstrip("/"), runtime, name="runtime"),
    *(
        path(flavor.path.lstrip("/"), import_string(flavor.view), name=f"{s.name}-{flavor.name}")
        for s in SCENARIOS
        if s.connection != "websocket"  # Channels consumers: app/routing.py
        for flavor in s.flavors
    ),
]

handler400 = "app.errors.bad_request"
handler404 = "app.errors.not_found"
handler500 = "app.errors.server_error"
