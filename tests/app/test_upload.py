"""upload: both flavors count the body through Django's WSGI and ASGI handlers, check it
against size_kb, refuse GET and bad parameters, and need no CSRF token.

A slow client on a real server: tests/app/test_longlived.py."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from app.middleware import STARTPROJECT, TIMING
from app.scenarios import get

UPLOAD = get("upload")
FLAVORS = UPLOAD.flavor_names


def post_both(client, path: str, data: bytes):
    """The same POST through the WSGI handler and through the ASGI handler."""
    kind = "application/octet-stream"
    yield "wsgi", client.post(path, data, content_type=kind)
    yield "asgi", async_to_sync(AsyncClient().post)(path, data, content_type=kind)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_view_counts_every_byte_of_a_body_larger_than_its_chunks(client, flavor):
    size_kb = 300  # past one 64 KiB read and past nothing round
    data = bytes(size_kb * 1024)
    for handler, response in post_both(client, f"/upload/{flavor}/?size_kb={size_kb}", data):
        assert response.status_code == 200, (handler, response.content[:200])
        body = response.json()
        assert (body["bytes"], body["flavor"]) == (size_kb * 1024, flavor), handler
        assert "elapsed" in body  # the timing middleware saw a JSON answer


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_body_of_the_wrong_size_is_a_400_with_the_count(client, flavor):
    for handler, response in post_both(client, f"/upload/{flavor}/?size_kb=2", bytes(1000)):
        assert response.status_code == 400, handler
        assert response.json()["bytes"] == 1000
        assert "expected 2048" in response.json()["error"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_without_size_kb_any_body_is_counted(client, flavor):
    for handler, response in post_both(client, f"/upload/{flavor}/", b"x" * 777):
        assert response.json()["bytes"] == 777, handler


@pytest.mark.parametrize("query", ["size_kb=0", "size_kb=-1", "size_kb=big", "rate_kbps=0",
                                   "rate_kbps=-3", "rate_kbps=fast"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_bad_parameters_are_a_400(client, flavor, query):
    for handler, response in post_both(client, f"/upload/{flavor}/?{query}", b"x"):
        assert response.status_code == 400, (handler, query)
        assert query.split("=")[0] in response.json()["error"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_get_is_not_allowed(client, flavor):
    response = client.get(f"/upload/{flavor}/?{UPLOAD.query}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert async_to_sync(AsyncClient().get)(f"/upload/{flavor}/").status_code == 405


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_client_without_a_csrf_token_may_post(settings, flavor):
    """A phone's upload carries no CSRF cookie; startproject's stack checks for one."""
    csrf = "django.middleware.csrf.CsrfViewMiddleware"
    assert csrf in STARTPROJECT
    settings.MIDDLEWARE = [TIMING, csrf]
    client = Client(enforce_csrf_checks=True)
    kind = "application/octet-stream"
    response = client.post(f"/upload/{flavor}/?size_kb=1", bytes(1024), content_type=kind)
    assert response.status_code == 200, response.content[:300]
    assert client.post("/hello/sync/", b"x", content_type=kind).status_code == 403  # control
