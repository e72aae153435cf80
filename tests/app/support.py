"""Helpers the app's tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.test import AsyncClient

SLOW_MS = 150  # the slow upstream's latency: large against Django's own overhead
HANG_MS = 3000  # the hanging upstream's wait: far past any client timeout in the tests


def aget(path: str, **extra):
    """GET through Django's AsyncClient: the ASGI handler, in an event loop of its own."""
    return async_to_sync(AsyncClient().get)(path, **extra)
