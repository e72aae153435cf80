"""cpu: CPU-bound work of size `?n=`. The async view does the same work on the event
loop, blocking it: async cannot help here, and under WSGI it adds a loop per request."""

from django.http import JsonResponse

from app.stories.params import int_param

MAX_N = 5_000_000


def crunch(n: int) -> int:
    """Deterministic pure-Python work, linear in n (holds the GIL throughout)."""
    total = 0
    for i in range(n):
        total = (total * 31 + i * i) % 1_000_003
    return total


def cpu_sync(request):
    n = int_param(request, "n", default=20_000, maximum=MAX_N)
    return JsonResponse({"n": n, "result": crunch(n), "flavor": "sync"})


async def cpu_async(request):
    n = int_param(request, "n", default=20_000, maximum=MAX_N)
    return JsonResponse({"n": n, "result": crunch(n), "flavor": "async"})
