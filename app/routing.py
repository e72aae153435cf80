"""Websocket routes, built from the scenario registry as app/urls.py builds the HTTP
ones: every flavor of a scenario whose connection is "websocket" is a Channels consumer
(its `view` names the class) at its path."""

from django.urls import path
from django.utils.module_loading import import_string

from app.scenarios import SCENARIOS

websocket_urlpatterns = [
    path(flavor.path.lstrip("/"), import_string(flavor.view).as_asgi(),
         name=f"{s.name}-{flavor.name}")
    for s in SCENARIOS
    if s.connection == "websocket"
    for flavor in s.flavors
]
