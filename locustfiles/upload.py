"""upload: a slow client's POST, paced by the client (longlived.py); a sync view under
WSGI waits for every byte, ASGI spools the body first."""

from locustfiles.longlived import Neighbour, UploadUser

__all__ = ["Async", "Neighbour", "Sync"]


class Sync(UploadUser):
    flavor = "sync"


class Async(UploadUser):
    flavor = "async"
