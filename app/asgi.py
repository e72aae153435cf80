"""ASGI entry point: `uvicorn app.asgi:application` (or gunicorn with an ASGI worker)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")

application = get_asgi_application()

# Import every view (httpx, aiohttp, the ORM) at boot, not on the first request.
import app.urls  # noqa: E402, F401
