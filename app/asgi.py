"""ASGI entry point: `uvicorn app.asgi:application` (or gunicorn with an ASGI worker).

HTTP goes to Django's own ASGI handler, as before; websocket scopes go to the Channels
consumers of app/routing.py (Django core refuses them). Every other scope type (e.g.
lifespan) is refused, as Django's handler refused it. No channel layer: no groups.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")

django_asgi_app = get_asgi_application()  # sets Django up before the consumers import

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from app.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": URLRouter(websocket_urlpatterns),
})

# Import every view (httpx, aiohttp, the ORM) at boot, not on the first request.
import app.urls  # noqa: E402, F401
