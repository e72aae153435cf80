"""The middleware stack, and the switches that shape it (environment, read at startup).

- LOADLAB_MIDDLEWARE (default `none`): the stack under test, by name (STACKS):
  `none`; `default`, the seven middleware `django-admin startproject` writes into a new
  project's settings (they pull in the auth, sessions, messages and contenttypes apps);
  `default+sync-only`, the same and one sync-only middleware at the bottom, as a team's
  own or a third-party one often is.
- LOADLAB_TIMING_MIDDLEWARE (default 1): `timing_middleware`, built with
  `sync_and_async_middleware` as in the literature, outermost: it runs in whichever
  mode the handler runs, so it costs no adaptation, and it times everything below it
  (the stack and the view): it adds `elapsed` (ms) to JSON object bodies and a
  `Server-Timing: app;dur=<ms>` header to every response. It is the harness's probe,
  not part of a stack.
- LOADLAB_SYNC_MIDDLEWARE (default 0): adds `SyncOnlyMiddleware`. Under ASGI, Django
  must wrap it (and everything below it) in `sync_to_async`: the adaptation penalty.
- LOADLAB_ASYNC_MIDDLEWARE (default 0): adds `AsyncOnlyMiddleware`, a class-based
  async-only middleware. Under WSGI, Django must run it through `async_to_sync`, which
  starts an event loop (and a thread) for every request, sync views included: the
  penalty in the other direction. It is off by default so that the baseline stack has
  no adapter under either interface.

With every switch at its default the stack is the timing middleware alone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.utils.decorators import sync_and_async_middleware

TIMING = "app.middleware.timing_middleware"
SYNC_ONLY = "app.middleware.SyncOnlyMiddleware"
ASYNC_ONLY = "app.middleware.AsyncOnlyMiddleware"

STARTPROJECT = (  # django-admin startproject's MIDDLEWARE (Django 5.x), in its order
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
STARTPROJECT_APPS = (  # what those middleware import models from
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
)
STACKS: dict[str, tuple[str, ...]] = {
    "none": (),
    "default": STARTPROJECT,
    "default+sync-only": (*STARTPROJECT, SYNC_ONLY),
}
BASELINE = "none"


def stack_name(env: Mapping[str, str]) -> str:
    name = env.get("LOADLAB_MIDDLEWARE", "").strip() or BASELINE
    if name not in STACKS:
        raise ImproperlyConfigured(f"LOADLAB_MIDDLEWARE={name!r}: must be one of"
                                   f" {', '.join(STACKS)}")
    return name


def middleware_from_env(env: Mapping[str, str]) -> list[str]:
    """settings.MIDDLEWARE for these switches; timing outermost, so it times the rest."""

    def on(name: str, default: str) -> bool:
        return env.get(name, default).strip().lower() in {"1", "true", "yes", "on"}

    stack = []
    if on("LOADLAB_TIMING_MIDDLEWARE", "1"):
        stack.append(TIMING)
    stack.extend(STACKS[stack_name(env)])
    if on("LOADLAB_SYNC_MIDDLEWARE", "0") and SYNC_ONLY not in stack:
        stack.append(SYNC_ONLY)
    if on("LOADLAB_ASYNC_MIDDLEWARE", "0"):
        stack.append(ASYNC_ONLY)
    return stack


def apps_from_env(env: Mapping[str, str]) -> list[str]:
    """The contrib apps the chosen stack needs installed (none for the baseline)."""
    return list(STARTPROJECT_APPS) if STACKS[stack_name(env)] else []


@sync_and_async_middleware
def timing_middleware(get_response):
    """Time the rest of the stack and the view, in the handler's own mode."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            start = time.perf_counter()
            response = await get_response(request)
            return _stamp(response, start)

    else:

        def middleware(request):
            start = time.perf_counter()
            response = get_response(request)
            return _stamp(response, start)

    return middleware


def _stamp(response, start: float):
    elapsed_ms = round((time.perf_counter() - start) * 1000, 3)
    response["Server-Timing"] = f"app;dur={elapsed_ms}"
    if response.streaming or not response.get("Content-Type", "").startswith("application/json"):
        return response
    body = _with_elapsed(response.content, elapsed_ms)
    if body is not None:
        response.content = body
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(body))
    return response


def _with_elapsed(body: bytes, elapsed_ms: float) -> bytes | None:
    """`body` with "elapsed" added if it is a JSON object (spliced, not re-encoded)."""
    body = body.strip()
    if not (body.startswith(b"{") and body.endswith(b"}")):
        return None
    inner = body[1:-1].strip()
    field = b'"elapsed":' + str(elapsed_ms).encode()
    return b"{" + inner + (b"," if inner else b"") + field + b"}"


class SyncOnlyMiddleware:
    """A sync-only middleware: under ASGI it forces Django to adapt the stack."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Loadlab-Sync-Middleware"] = "1"
        return response


class AsyncOnlyMiddleware:
    """A class-based async-only middleware: says which handler served the request."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        response = await self.get_response(request)
        response["X-Loadlab-Handler"] = "asgi" if hasattr(request, "scope") else "wsgi"
        return response
