"""Error pages as JSON: the load generator and the tests read them, people rarely do."""

from django.http import JsonResponse
from django.urls import Resolver404


def bad_request(request, exception):
    return JsonResponse({"error": str(exception) or "bad request"}, status=400)


def not_found(request, exception):
    if isinstance(exception, Resolver404) or not str(exception):
        message = f"no such page: {request.path}"
    else:
        message = str(exception)
    return JsonResponse({"error": message}, status=404)


def server_error(request):
    return JsonResponse({"error": "server error"}, status=500)
