"""WSGI entry point: `gunicorn app.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")

application = get_wsgi_application()

# Import every view (httpx, aiohttp, the ORM) at boot, not on the first request.
import app.urls  # noqa: E402, F401
