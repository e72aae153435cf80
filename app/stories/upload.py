"""upload: a slow client POSTs size_kb KiB at rate_kbps KiB/s (a phone on a poor network).

The two views are the same loop; what differs is when Django lets them run:

- Under WSGI (django/core/handlers/wsgi.py) the request wraps the server's input stream
  in a LimitedStream of Content-Length bytes and calls the view as soon as the headers
  are parsed; each `request.read(64 KiB)` waits for the client's bytes. gunicorn's sync
  worker is held for the whole upload, however slowly it trickles in (gunicorn's docs
  ask for a buffering proxy in front for this reason); gthread holds a thread. An async
  view under WSGI blocks on the same reads in its own event loop.
- Under ASGI (django/core/handlers/asgi.py, ASGIHandler.read_body) the handler awaits
  every `http.request` message into a SpooledTemporaryFile (in memory up to
  FILE_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, then on disk) before it builds the request: no
  thread and no view exist while the client sends. The view then reads a local file.
  A client that leaves mid-body (`http.disconnect`) ends the request there
  (RequestAborted): the view never runs.

Both read in 64 KiB chunks, so a 100 MB body never sits in memory at once.
The query carries the client's parameters: with `size_kb` the view checks it got
exactly size_kb x 1024 bytes (else 400 with the count); `rate_kbps` is only checked
for range (the client paces itself). A GET answers 405.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from app.stories.params import int_param

CHUNK = 64 * 1024
MAX_SIZE_KB = 102_400  # 100 MiB
MAX_RATE_KBPS = 1_000_000


def _expected(request: HttpRequest) -> int | None:
    """The byte count the client says it sends (None: not said); 400 if out of range."""
    int_param(request, "rate_kbps", default=128, minimum=1, maximum=MAX_RATE_KBPS)
    if "size_kb" not in request.GET:
        return None
    return 1024 * int_param(request, "size_kb", default=256, minimum=1, maximum=MAX_SIZE_KB)


def _answer(received: int, expected: int | None, flavor: str) -> JsonResponse:
    if expected is not None and received != expected:
        return JsonResponse({"error": f"got {received} bytes, expected {expected}",
                             "bytes": received, "flavor": flavor}, status=400)
    return JsonResponse({"bytes": received, "flavor": flavor})


@csrf_exempt
@require_POST
def upload_sync(request):
    expected = _expected(request)
    received = 0
    while chunk := request.read(CHUNK):
        received += len(chunk)
    return _answer(received, expected, "sync")


@csrf_exempt
@require_POST
async def upload_async(request):
    expected = _expected(request)
    received = 0
    while chunk := request.read(CHUNK):  # the spooled body under ASGI: a local file
        received += len(chunk)
    return _answer(received, expected, "async")
