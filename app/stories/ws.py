"""websocket: Django Channels consumers, written as a sync/async pair like the views.

Django's own ASGI handler refuses websocket scopes; Channels is the Django way
(app/asgi.py routes `websocket` scopes here through app/routing.py).

What a sync consumer costs (read in channels 4.3 and asgiref 3.x, and measured in
tests/app/test_ws.py): `SyncConsumer.dispatch` is `database_sync_to_async`, which is
thread-sensitive. A websocket scope has no ThreadSensitiveContext (Django's HTTP handler
makes one per request; Channels makes none), so asgiref runs every sync consumer's
handlers on its one process-wide thread (`SyncToAsync.single_thread_executor`), one
handler at a time; every `self.send` from there is an async_to_sync hop back to the loop.
Async consumers use that thread too: `AsyncConsumer.dispatch` awaits
`aclose_old_connections()`, a thread-sensitive sync_to_async, before each handler.
So PushConsumer's `time.sleep` loop holds the process's one sync thread for the whole
session: sync sessions go one at a time per process, and while one is held every other
consumer's next message (async ones included) waits for it (channels#2132, asgiref#218).
That is what the honest sync code costs; the async push holds nothing but a task.

The push loop runs inside `connect()`, the same shape in both flavors: while it runs
the consumer reads no message, so it learns of a client gone only when a send fails
(uvicorn raises ClientDisconnected there, which ends the consumer quietly).
"""

from __future__ import annotations

import asyncio
import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer

from app.stories.cadence import cadence

BAD_PARAMS = 4400  # the close code for a bad query (4000-4999: the application's own)


def _message(i: int, of: int) -> str:
    return json.dumps({"i": i, "of": of})


class EchoConsumer(WebsocketConsumer):
    """Echoes each message back, text as text and bytes as bytes."""

    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data=text_data, bytes_data=bytes_data)


class AsyncEchoConsumer(AsyncWebsocketConsumer):
    """The same echo, on the event loop."""

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


class PushConsumer(WebsocketConsumer):
    """After accept, `messages` messages `{"i", "of"}`, one every `interval_ms` (due at
    accept + i x interval, so a late one does not push the rest later), then close.
    A bad query is accepted and closed with 4400 and the reason, which a client sees."""

    def connect(self):
        self.accept()
        try:
            messages, interval_ms = cadence(self.scope["query_string"])
        except ValueError as error:
            self.close(code=BAD_PARAMS, reason=str(error))
            return
        start = time.monotonic()
        for i in range(messages):
            pause = start + i * interval_ms / 1000 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self.send(text_data=_message(i, messages))
        self.close()


class AsyncPushConsumer(AsyncWebsocketConsumer):
    """The same push with `await asyncio.sleep`: the loop serves others meanwhile."""

    async def connect(self):
        await self.accept()
        try:
            messages, interval_ms = cadence(self.scope["query_string"])
        except ValueError as error:
            await self.close(code=BAD_PARAMS, reason=str(error))
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(messages):
            pause = start + i * interval_ms / 1000 - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            await self.send(text_data=_message(i, messages))
        await self.close()
