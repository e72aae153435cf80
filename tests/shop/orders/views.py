"""The same order list as a sync and an async view."""

from django.http import JsonResponse

from .models import Order

LIMIT = 20


def order_list(request):
    rows = [{"customer": o.customer, "total": o.total_cents}
            for o in Order.objects.order_by("id")[:LIMIT]]
    return JsonResponse({"orders": rows})


async def order_list_async(request):
    rows = [{"customer": o.customer, "total": o.total_cents}
            async for o in Order.objects.order_by("id")[:LIMIT]]
    return JsonResponse({"orders": rows})
