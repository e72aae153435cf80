"""Query parameters the stories accept; a bad one is the client's fault: 400."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import HttpRequest


def int_param(request: HttpRequest, name: str, *, default: int, maximum: int,
              minimum: int = 0) -> int:
    """`?name=` as an int in minimum..maximum (larger values are clamped), or `default`.

    Raises BadRequest (Django answers 400) when it is not an integer, or is below
    `minimum` (a stream of 0 events is a mistake, not a request to clamp).
    """
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}={raw!r} is not an integer") from None
    if value < 0:
        raise BadRequest(f"{name}={raw!r} must not be negative")
    if value < minimum:
        raise BadRequest(f"{name}={raw!r} must be at least {minimum}")
    return min(value, maximum)
