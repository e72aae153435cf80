"""Routes, built from the scenario registry: app/scenarios.py is the only place that
spells a scenario path. `/` lists them, for people poking at a running app."""

from django.http import JsonResponse
from django.urls import path
from django.utils.module_loading import import_string

from app.scenarios import SCENARIOS


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


urlpatterns = [
    path("", index, name="index"),
    *(
        path(flavor.path.lstrip("/"), import_string(flavor.view), name=f"{s.name}-{flavor.name}")
        for s in SCENARIOS
        for flavor in s.flavors
    ),
]

handler400 = "app.errors.bad_request"
handler404 = "app.errors.not_found"
handler500 = "app.errors.server_error"
