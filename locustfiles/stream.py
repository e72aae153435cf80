"""stream: Server-Sent Events from a sync or async generator, or relayed from upstream;
each user holds one stream at a time (the machinery is in longlived.py)."""

from locustfiles.longlived import Neighbour, StreamUser

__all__ = ["Async", "AsyncRelay", "Neighbour", "Sync", "SyncRelay"]


class Sync(StreamUser):
    flavor = "sync"


class Async(StreamUser):
    flavor = "async"


class SyncRelay(StreamUser):
    flavor = "sync-relay"


class AsyncRelay(StreamUser):
    flavor = "async-relay"
