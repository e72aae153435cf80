"""catalog views: one product by id (get vs aget), and a filtered list (a list
comprehension over the queryset vs `async for`). JSON in both flavors.

Query: `?id=` (default 1) for the single product; `?category=` (default "tea") and
`?limit=` (default 20, at most 200) for the lists. A missing product is a 404.
"""

from django.core.exceptions import BadRequest
from django.http import Http404, JsonResponse

from app.catalog.models import CATEGORIES, Product
from app.stories.params import int_param

MAX_LIMIT = 200


def _product_id(request) -> int:
    return int_param(request, "id", default=1, maximum=2**62)


def _list_query(request):
    category = request.GET.get("category", CATEGORIES[0])
    if category not in CATEGORIES:
        raise BadRequest(f"category={category!r}: use one of {', '.join(CATEGORIES)}")
    limit = int_param(request, "limit", default=20, maximum=MAX_LIMIT)
    return Product.objects.filter(category=category).order_by("id")[:limit]


def catalog_sync(request):
    try:
        product = Product.objects.get(pk=_product_id(request))
    except Product.DoesNotExist:
        raise Http404("no such product") from None
    return JsonResponse(product.as_json())


async def catalog_async(request):
    try:
        product = await Product.objects.aget(pk=_product_id(request))
    except Product.DoesNotExist:
        raise Http404("no such product") from None
    return JsonResponse(product.as_json())


def catalog_sync_list(request):
    products = [p.as_json() for p in _list_query(request)]
    return JsonResponse({"count": len(products), "products": products})


async def catalog_async_list(request):
    products = [p.as_json() async for p in _list_query(request)]
    return JsonResponse({"count": len(products), "products": products})
