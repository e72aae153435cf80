"""Every view in every flavor, through Django's Client (WSGI handler) and AsyncClient
(ASGI handler), against the real upstream stand-in."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.test import AsyncClient, Client, RequestFactory
from django.urls import resolve
from django.utils.module_loading import import_string

from app.catalog import held, queries
from app.catalog import views as catalog
from app.scenarios import SCENARIOS
from app.stories import cpu, hello, home, mixed, params, sleep, stream, upload, weather
from app.stories.cpu import crunch
from app.stories.mixed import background
from tests.app.support import aget

# HTTP views only: a websocket story's flavors are Channels consumers (tests/app/test_ws.py)
FLAVORS = [(s, f) for s in SCENARIOS if s.connection != "websocket" for f in s.flavors]


def _url(scenario, flavor) -> str:
    return flavor.path + (f"?{scenario.query}" if scenario.query else "")


# The public URLs (the docs, the locustfiles' users, people's bookmarks) and the view
# each must reach, imported from the code itself: not read back from the registry the
# routes are built from, so a registry entry naming the wrong view fails here.
PUBLIC = {
    "/hello/sync/": hello.hello_sync,
    "/hello/async/": hello.hello_async,
    "/sleep/sync/": sleep.sleep_sync,
    "/sleep/async/": sleep.sleep_async,
    "/weather/sync/": weather.weather_sync,
    "/weather/async/": weather.weather_async,
    "/weather/async-taskgroup/": weather.weather_async_taskgroup,
    "/home/sync/": home.home_sync,
    "/home/async-sequential/": home.home_async_sequential,
    "/home/async/": home.home_async,
    "/catalog/sync/": catalog.catalog_sync,
    "/catalog/async/": catalog.catalog_async,
    "/catalog/sync-list/": catalog.catalog_sync_list,
    "/catalog/async-list/": catalog.catalog_async_list,
    "/queries/sync/": queries.queries_sync,
    "/queries/async/": queries.queries_async,
    "/queries/async-threads/": queries.queries_async_threads,
    "/held/sync/": held.held_sync,
    "/held/sync-release/": held.held_sync_release,
    "/held/async/": held.held_async,
    "/held/async-release/": held.held_async_release,
    "/mixed/sync/": mixed.mixed_sync,
    "/mixed/async/": mixed.mixed_async,
    "/mixed/async-background/": mixed.mixed_async_background,
    "/cpu/sync/": cpu.cpu_sync,
    "/cpu/async/": cpu.cpu_async,
    "/stream/sync/": stream.stream_sync,
    "/stream/async/": stream.stream_async,
    "/stream/sync-relay/": stream.stream_sync_relay,
    "/stream/async-relay/": stream.stream_async_relay,
    "/upload/sync/": upload.upload_sync,
    "/upload/async/": upload.upload_async,
}


@pytest.mark.parametrize(("path", "view"), PUBLIC.items(), ids=list(PUBLIC))
def test_every_public_url_reaches_its_view(path, view):
    assert resolve(path).func is view


def test_the_public_urls_are_every_registry_path():
    """A flavor added to the registry must be added above, and none may go missing."""
    assert sorted(f.path for _, f in FLAVORS) == sorted(PUBLIC)


# Request/response views: streams and uploads answer otherwise (test_stream.py, test_upload.py)
ANSWERS = [(s, f) for s, f in FLAVORS if s.connection == "request"]


@pytest.mark.parametrize(("scenario", "flavor"), ANSWERS,
                         ids=[f"{s.name}-{f.name}" for s, f in ANSWERS])
def test_every_flavor_answers_under_wsgi_and_asgi(scenario, flavor, client, products):
    for response in (client.get(_url(scenario, flavor)), aget(_url(scenario, flavor))):
        assert response.status_code == 200, response.content[:300]
        assert response["Server-Timing"].startswith("app;dur=")
        if scenario.name != "home":
            assert "elapsed" in response.json()


def test_async_views_are_coroutines_and_sync_views_are_not():
    for _, flavor in FLAVORS:
        assert iscoroutinefunction(import_string(flavor.view)) is flavor.is_async, flavor.view


def test_index_lists_every_scenario_with_its_urls(client):
    body = client.get("/").json()
    listed = {s["name"]: s for s in body["scenarios"]}
    assert list(listed)[:9] == ["hello", "sleep", "weather", "home", "catalog", "queries",
                                "held", "mixed", "cpu"]
    # the websocket story is listed too (for people poking), though it has no HTTP view
    assert listed["websocket"]["flavors"]["sync"] == "/ws/echo/sync/"
    assert listed["home"]["flavors"] == {"sync": "/home/sync/",
                                         "async-sequential": "/home/async-sequential/",
                                         "async": "/home/async/"}
    assert (listed["sleep"]["query"], listed["cpu"]["query"]) == ("ms=50", "n=20000")
    http = [p for name, s in listed.items() if name != "websocket"
            for p in s["flavors"].values()]
    assert sorted(http) == sorted(PUBLIC)


def test_unknown_path_is_a_json_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response.json()["error"] == "no such page: /no/such/page/"


# --- hello, sleep, cpu ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hello/sync/", "/hello/async/"])
def test_hello(client, path):
    start = time.perf_counter()
    response = client.get(path)
    round_trip_ms = (time.perf_counter() - start) * 1000
    body = response.json()
    elapsed = body.pop("elapsed")
    assert body == {"message": "Hello, world!", "flavor": path.split("/")[2]}
    # spliced in by the timing middleware: the same number as its header, and the time
    # it measured around the view, inside the client's own measure of the whole call
    assert isinstance(elapsed, float)
    assert response["Server-Timing"] == f"app;dur={elapsed}"
    assert 0 < elapsed <= round_trip_ms, (elapsed, round_trip_ms)


@pytest.mark.parametrize("path", ["/sleep/sync/", "/sleep/async/"])
def test_sleep_waits_ms(client, path):
    start = time.perf_counter()
    body = client.get(path, {"ms": 60}).json()
    round_trip_ms = (time.perf_counter() - start) * 1000
    assert body["slept_ms"] == 60
    # the middleware timed the sleep, inside the client's own measure of the call
    assert 60 <= body["elapsed"] <= round_trip_ms, (body["elapsed"], round_trip_ms)


@pytest.mark.parametrize("path", ["/sleep/sync/", "/sleep/async/", "/cpu/sync/", "/cpu/async/"])
@pytest.mark.parametrize("bad", ["abc", "-1", "1.5"])
def test_bad_sizes_are_400(client, path, bad):
    key = "ms" if path.startswith("/sleep") else "n"
    response = client.get(path, {key: bad})
    assert response.status_code == 400
    assert key in response.json()["error"]


def test_int_param_defaults_and_clamps():
    factory = RequestFactory()
    assert params.int_param(factory.get("/"), "ms", default=50, maximum=100) == 50
    assert params.int_param(factory.get("/", {"ms": ""}), "ms", default=50, maximum=100) == 50
    assert params.int_param(factory.get("/", {"ms": "7"}), "ms", default=50, maximum=100) == 7
    assert params.int_param(factory.get("/", {"ms": "999"}), "ms", default=1, maximum=5) == 5


def test_cpu_flavors_do_the_same_work(client):
    sync = client.get("/cpu/sync/", {"n": 1234}).json()
    asyn = aget("/cpu/async/?n=1234").json()
    assert sync["result"] == asyn["result"] == crunch(1234)
    assert crunch(0) == 0


# --- weather ----------------------------------------------------------------------------


def test_weather_async_the_literatures_test(client_kind):
    """The literature's own test, with Django's AsyncClient."""

    async def test_weather():
        client = AsyncClient()
        response = await client.get("/weather/async/")
        assert response.json()["responses"][0]["location"]["city"] == "Portland"

    async_to_sync(test_weather)()


@pytest.mark.parametrize("path", ["/weather/sync/", "/weather/async/", "/weather/async-taskgroup/"])
def test_weather_has_the_five_cities_in_order(client, client_kind, path):
    body = client.get(path).json()
    cities = [r["location"]["city"] for r in body["responses"]]
    assert cities == ["Portland", "Berlin", "Chicago", "Madrid", "Sidney"]
    assert all("temp_c" in r["current"] for r in body["responses"])


@pytest.mark.parametrize("path", ["/weather/sync/", "/weather/async/", "/weather/async-taskgroup/"])
def test_weather_fails_with_502_when_upstream_fails(client, settings, failing_upstream, path):
    settings.LOADLAB_UPSTREAM_URL = failing_upstream
    response = client.get(path)
    assert response.status_code == 502
    assert "503" in response.json()["error"]


# --- home -------------------------------------------------------------------------------

HOME = ["/home/sync/", "/home/async-sequential/", "/home/async/"]


@pytest.mark.parametrize("path", HOME)
def test_home_renders_both_services(client, client_kind, path):
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Spring sale" in html and "Ceramic teapot" in html
    assert "data-degraded" not in html and "X-Loadlab-Degraded" not in response
    assert html.rstrip().endswith("</html>")


@pytest.mark.parametrize("path", HOME)
def test_home_degrades_when_upstream_errors(settings, failing_upstream, client_kind, path):
    settings.LOADLAB_UPSTREAM_URL = failing_upstream
    for response in (_client().get(path), aget(path)):
        _assert_degraded(response)


def test_home_degrades_when_upstream_hangs(settings, hanging_upstream, client_kind):
    """Each call gives up at the client timeout (the upstream would answer, whole, only
    after HANG_MS): the sequential flavors wait for two timeouts, the gathered one for
    one, and every page comes back degraded."""
    timeout = 0.4
    settings.LOADLAB_UPSTREAM_URL = hanging_upstream
    settings.LOADLAB_UPSTREAM_TIMEOUT = timeout
    seconds = {}
    for path in HOME:
        start = time.perf_counter()
        response = aget(path)
        seconds[path] = time.perf_counter() - start
        _assert_degraded(response)
    # lower bounds by construction: a call that hangs ends at its timeout, not before
    assert seconds["/home/sync/"] >= 2 * timeout, seconds
    assert seconds["/home/async-sequential/"] >= 2 * timeout, seconds
    assert seconds["/home/async/"] >= timeout, seconds
    # gathered: both timeouts run at once (about half of one after the other)
    assert seconds["/home/async/"] < 0.75 * seconds["/home/async-sequential/"], seconds


def _client():
    return Client()


def _assert_degraded(response):
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-degraded="promotions recommendations"' in html
    assert "Promotions are unavailable" in html and "Recommendations are unavailable" in html
    assert response["X-Loadlab-Degraded"] == "promotions,recommendations"
    assert html.rstrip().endswith("</html>")


# --- catalog ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/catalog/sync/", "/catalog/async/"])
def test_catalog_gets_by_id(client, products, path):
    for response in (client.get(path, {"id": 7}), aget(f"{path}?id=7")):
        body = response.json()
        assert (body["id"], body["sku"]) == (7, "SKU-0000007")
    assert client.get(path).json()["id"] == 1  # the default


@pytest.mark.parametrize("path", ["/catalog/sync/", "/catalog/async/"])
def test_catalog_missing_or_bad_id(client, products, path):
    missing = client.get(path, {"id": 999_999})
    assert missing.status_code == 404
    assert missing.json()["error"] == "no such product"
    assert client.get(path, {"id": "x"}).status_code == 400


@pytest.mark.parametrize("path", ["/catalog/sync-list/", "/catalog/async-list/"])
def test_catalog_lists_filter_and_limit(client, products, path):
    body = client.get(path, {"category": "books", "limit": 4}).json()
    assert body["count"] == 4
    assert {p["category"] for p in body["products"]} == {"books"}
    assert [p["id"] for p in body["products"]] == sorted(p["id"] for p in body["products"])
    assert client.get(path).json()["count"] == 10  # default: tea, 50 rows / 5 categories
    assert client.get(path, {"category": "nope"}).status_code == 400


# --- queries: the parallel-ORM trap --------------------------------------------------------


def test_the_trap_gather_is_as_slow_as_sync_and_threads_are_parallel(transactional_db):
    """Three 100 ms queries (SQLite's pg_sleep here; PostgreSQL's in e2e/test_postgres).
    Physics: no flavor beats one query; sync and the gathered async ORM run them one
    after another (>= 3 x 100 ms); a thread per query overlaps them, so its wall time
    is well under the gathered one's, in the same test."""
    ms = 100
    wall = {}
    for flavor in ("sync", "async", "async-threads"):
        path = f"/queries/{flavor}/?ms={ms}"
        response = aget(path) if flavor.startswith("async") else Client().get(path)
        body = response.json()
        assert response.status_code == 200 and body["queries"] == 3, body
        assert body["wall_ms"] >= ms and body["sum_ms"] >= 3 * ms, body
        wall[flavor] = body["wall_ms"]
    assert wall["sync"] >= 3 * ms and wall["async"] >= 3 * ms, wall  # the trap
    assert wall["async"] >= 2 * wall["async-threads"], wall  # really parallel


# --- held: a connection held across a slow await ---------------------------------------


@pytest.mark.parametrize("flavor", ["sync", "sync-release", "async", "async-release"])
def test_held_queries_then_calls_and_says_whether_it_gave_the_connection_back(
        settings, upstream, products, flavor):
    """Each flavor reads product 1, then waits on promotions for `ms`; the connection
    counts that show what is held are PostgreSQL's (e2e/test_postgres.py)."""
    settings.LOADLAB_UPSTREAM_URL = upstream  # 5 ms, unless a request asks for more
    path = f"/held/{flavor}/?ms=30"
    started = time.perf_counter()
    response = aget(path) if flavor.startswith("async") else Client().get(path)
    took_ms = (time.perf_counter() - started) * 1000
    body = response.json()
    assert response.status_code == 200, body
    assert body["product"]["id"] == 1 and body["promotions"]
    assert body["released"] is flavor.endswith("release")
    assert took_ms >= 30  # the upstream's answer waited for the asked latency


def test_held_refuses_a_bad_ms(client, db):
    assert client.get("/held/sync/?ms=-1").status_code == 400


def test_the_trap_refuses_a_bad_ms(client, db):
    assert client.get("/queries/sync/?ms=x").status_code == 400


def test_catalog_flavors_agree(client, products):
    assert (
        client.get("/catalog/sync/?id=3").json()["name"]
        == aget("/catalog/async/?id=3").json()["name"]
    )
    sync = client.get("/catalog/sync-list/", {"category": "gifts"}).json()["products"]
    asyn = aget("/catalog/async-list/?category=gifts").json()["products"]
    assert sync == asyn


# --- mixed ------------------------------------------------------------------------------


def test_mixed_flavors_compute_the_same_digest(client):
    sync = client.get("/mixed/sync/", {"ms": 5}).json()
    asyn = aget("/mixed/async/?ms=5").json()
    assert sync["digest"] == asyn["digest"]
    assert sync["ms"] == asyn["ms"] == 5


def test_mixed_background_under_wsgi_answers_at_once_and_the_work_completes(client):
    before = background.counts()
    done_before = before["done"]
    body = client.get("/mixed/async-background/?ms=300").json()
    assert body["scheduled"] is True
    # counted as the view answered: the 300 ms job was still pending, not done
    assert (body["done"], body["pending"]) == (done_before, before["pending"] + 1), body
    deadline = time.monotonic() + 5
    while background.counts()["done"] == done_before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert background.counts()["done"] == done_before + 1


def test_mixed_background_under_asgi_runs_as_a_task_on_the_servers_loop():
    async def serve_then_idle():
        before = background.counts()
        done_before = before["done"]
        response = await AsyncClient().get("/mixed/async-background/?ms=300")
        body = response.json()
        assert body["scheduled"] is True
        # counted as the view answered: the 300 ms job was still pending, not done
        assert (body["done"], body["pending"]) == (done_before, before["pending"] + 1), body
        assert len(background._tasks) == 1  # held strongly while it runs
        deadline = time.monotonic() + 5
        while background._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert background.counts()["done"] == done_before + 1
        assert not background._tasks  # and released when done

    async_to_sync(serve_then_idle)()
