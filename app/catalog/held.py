"""held: a connection held across a slow await. One query (a product by id), then a
slow upstream call (`?ms=`, default 200, at most 2000): Django gives a request's
database connection back (closes it, or returns it to the pool) only when the request
finishes, so a view that queries and then waits keeps its connection through the wait.
With a pool of N per process, N such requests at once hold every connection and the
next one waits for the pool (psycopg_pool's timeout, then an error): throughput is at
most N / the wait per process, however many threads or coroutines there are. Without a
pool every request in flight holds a connection of its own (max_connections).

The `-release` flavors give the connection back before the call (`connection.close()`
returns it to the pool, or closes it), and hold it only for the query.

The async flavors run the ORM through sync_to_async (thread-sensitive, as aget does),
so the connection belongs to the request's ORM thread; closing it goes there too.
"""

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import Http404, JsonResponse

from app.catalog.models import Product
from app.clients import UpstreamError, async_upstream, sync_upstream
from app.stories.params import int_param
from app.stories.weather import upstream_failed

MAX_MS = 2000


def _call(request) -> str:
    """The slow call: promotions, answered after `ms`."""
    return f"/promotions?latency_ms={int_param(request, 'ms', default=200, maximum=MAX_MS)}"


def _answer(product: Product, promotions, released: bool) -> JsonResponse:
    return JsonResponse({"product": product.as_json(), "promotions": promotions,
                         "released": released})


def _product() -> Product:
    try:
        return Product.objects.get(pk=1)
    except Product.DoesNotExist:
        raise Http404("no product 1: seed the catalog") from None


def _give_back() -> None:
    """Close this thread's connection (with the pool: return it). A function, not
    `connection.close` itself: that would be looked up on the caller's thread."""
    connection.close()


def _held_sync(request, release: bool) -> JsonResponse:
    call = _call(request)
    product = _product()
    if release:
        _give_back()
    try:
        with sync_upstream() as upstream:
            promotions = upstream.get_json(call)
    except UpstreamError as exc:
        return upstream_failed(exc)
    return _answer(product, promotions, release)


async def _held_async(request, release: bool) -> JsonResponse:
    call = _call(request)
    product = await sync_to_async(_product)()
    if release:
        await sync_to_async(_give_back)()
    try:
        async with async_upstream() as upstream:
            promotions = await upstream.get_json(call)
    except UpstreamError as exc:
        return upstream_failed(exc)
    return _answer(product, promotions, release)


def held_sync(request):
    return _held_sync(request, release=False)


def held_sync_release(request):
    return _held_sync(request, release=True)


async def held_async(request):
    return await _held_async(request, release=False)


async def held_async_release(request):
    return await _held_async(request, release=True)
