"""hello: no I/O at all, so any difference is what the flavor and server cost."""

from django.http import JsonResponse


def hello_sync(request):
    return JsonResponse({"message": "Hello, world!", "flavor": "sync"})


async def hello_async(request):
    return JsonResponse({"message": "Hello, world!", "flavor": "async"})
