"""The timing middleware in both modes, and the switches that add adapted middleware."""

from __future__ import annotations

import json
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from app.middleware import (
    ASYNC_ONLY,
    STARTPROJECT,
    STARTPROJECT_APPS,
    SYNC_ONLY,
    TIMING,
    _with_elapsed,
    apps_from_env,
    middleware_from_env,
)
from tests.app.support import aget


@pytest.mark.parametrize("path", ["/hello/sync/", "/hello/async/"])
def test_timing_adds_elapsed_and_server_timing_in_both_handlers(client, path):
    for get in (client.get, aget):
        start = time.perf_counter()
        response = get(path)
        seen_ms = (time.perf_counter() - start) * 1000
        body = response.json()
        assert body["message"] == "Hello, world!"
        # timed inside the request: some of what the caller saw, never more (in ms;
        # test_views' sleep test shows it is not seconds either)
        assert 0 < body["elapsed"] <= seen_ms, (body["elapsed"], seen_ms)
        duration = float(response["Server-Timing"].removeprefix("app;dur="))
        assert duration == body["elapsed"]


def test_timing_leaves_html_alone_but_adds_the_header(client):
    response = client.get("/home/async/")
    assert response["Server-Timing"].startswith("app;dur=")
    assert b"elapsed" not in response.content


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{}", {"elapsed": 1.5}),
        (b'{"a": [1, {"b": 2}]}\n', {"a": [1, {"b": 2}], "elapsed": 1.5}),
        (b"[1, 2]", None),
        (b'"text"', None),
    ],
)
def test_elapsed_is_spliced_into_json_objects_only(body, expected):
    spliced = _with_elapsed(body, 1.5)
    assert (json.loads(spliced) if spliced is not None else None) == expected


def test_default_stack_is_the_timing_middleware_alone():
    assert middleware_from_env({}) == [TIMING]
    assert apps_from_env({}) == []


def test_named_stacks_sit_under_the_timing_middleware_with_the_apps_they_need():
    default = {"LOADLAB_MIDDLEWARE": "default"}
    assert middleware_from_env(default) == [TIMING, *STARTPROJECT]
    assert len(STARTPROJECT) == 7 and apps_from_env(default) == list(STARTPROJECT_APPS)
    sync_only = {"LOADLAB_MIDDLEWARE": "default+sync-only", "LOADLAB_SYNC_MIDDLEWARE": "1"}
    assert middleware_from_env(sync_only) == [TIMING, *STARTPROJECT, SYNC_ONLY]
    assert middleware_from_env({"LOADLAB_MIDDLEWARE": "none"}) == [TIMING]
    with pytest.raises(ImproperlyConfigured, match="LOADLAB_MIDDLEWARE='defualt'"):
        middleware_from_env({"LOADLAB_MIDDLEWARE": "defualt"})


@pytest.mark.parametrize(
    ("env", "stack"),
    [
        ({"LOADLAB_TIMING_MIDDLEWARE": "0"}, []),
        ({"LOADLAB_SYNC_MIDDLEWARE": "1"}, [TIMING, SYNC_ONLY]),
        ({"LOADLAB_ASYNC_MIDDLEWARE": "yes"}, [TIMING, ASYNC_ONLY]),
        (
            {"LOADLAB_TIMING_MIDDLEWARE": "off", "LOADLAB_SYNC_MIDDLEWARE": "1",
             "LOADLAB_ASYNC_MIDDLEWARE": "1"},
            [SYNC_ONLY, ASYNC_ONLY],
        ),
    ],
)  # fmt: skip
def test_switches(env, stack):
    assert middleware_from_env(env) == stack


@pytest.mark.parametrize("path", ["/hello/sync/", "/hello/async/", "/weather/async/"])
def test_adapted_middleware_works_under_both_handlers(path):
    with override_settings(MIDDLEWARE=[TIMING, SYNC_ONLY, ASYNC_ONLY]):
        wsgi, asgi = Client().get(path), aget(path)
    for response, handler in ((wsgi, "wsgi"), (asgi, "asgi")):
        assert response.status_code == 200
        assert response["X-Loadlab-Sync-Middleware"] == "1"
        assert response["X-Loadlab-Handler"] == handler
        assert "elapsed" in response.json()


def test_timing_off_means_no_elapsed():
    with override_settings(MIDDLEWARE=[]):
        response = Client().get("/hello/sync/")
    assert "elapsed" not in response.json()
    assert "Server-Timing" not in response
