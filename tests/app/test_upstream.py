"""The upstream stand-in, over HTTP as the views see it: bodies, delays, faults, 400s."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from app.upstream import CITIES, Faults


@pytest.fixture(scope="module")
def http(upstream):
    with httpx.Client(base_url=upstream, timeout=5) as client:
        yield client


def test_health_and_stats(http):
    assert http.get("/health").json() == {"ok": True}
    stats = http.get("/stats").json()
    assert {"requests", "errors", "hangs", "inflight", "max_inflight"} <= set(stats)


@pytest.mark.parametrize("slug", list(CITIES))
def test_weather_bodies_are_deterministic_and_capitalised(http, slug):
    first, second = http.get(f"/weather/{slug}"), http.get(f"/weather/{slug}?latency_ms=0")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.content == second.content
    assert first.json()["location"]["city"] == slug.capitalize()
    assert "temp_c" in first.json()["current"]


def test_promotions_and_recommendations(http):
    assert len(http.get("/promotions").json()["promotions"]) == 3
    assert len(http.get("/recommendations").json()["recommendations"]) == 4


def _seconds(http, query: str) -> float:
    start = time.perf_counter()
    assert http.get(f"/promotions?{query}").status_code == 200
    return time.perf_counter() - start


def test_latency_delays_the_answer_by_what_is_asked(http):
    short = _seconds(http, "latency_ms=80&jitter_ms=20")
    long = _seconds(http, "latency_ms=400&jitter_ms=20")
    assert short >= 0.08 and long >= 0.4  # by construction: never less than asked
    assert short < 0.5 * long, (short, long)  # and it scales: 80-100 ms against 400-420


def test_the_tail_delays_only_the_share_it_is_given(http):
    tails = http.get("/stats").json()["tails"]
    tail = _seconds(http, "latency_ms=0&tail_rate=1&tail_ms=300")
    assert http.get("/stats").json()["tails"] == tails + 1
    no_tail = _seconds(http, "latency_ms=0&tail_rate=0&tail_ms=300")
    assert http.get("/stats").json()["tails"] == tails + 1
    assert tail >= 0.3  # by construction
    assert no_tail < 0.5 * tail, (no_tail, tail)


def test_error_rate_answers_503(http):
    response = http.get("/promotions?latency_ms=0&error_rate=1")
    assert response.status_code == 503
    assert http.get("/promotions?latency_ms=0&error_rate=0").status_code == 200


def test_a_hang_outlasts_the_client_and_ends_when_it_leaves(http):
    before = http.get("/stats").json()
    with pytest.raises(httpx.ReadTimeout):
        http.get("/promotions?hang_rate=1&hang_ms=5000", timeout=0.2)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        stats = http.get("/stats").json()
        if stats["disconnects"] > before["disconnects"]:
            break
        time.sleep(0.05)
    assert stats["hangs"] == before["hangs"] + 1
    assert stats["disconnects"] == before["disconnects"] + 1
    assert stats["inflight"] == 0  # no work left behind


def test_a_short_hang_answers(http):
    start = time.perf_counter()
    assert http.get("/promotions?hang_rate=1&hang_ms=100").status_code == 200
    assert time.perf_counter() - start >= 0.1


@pytest.mark.parametrize(
    "query", ["latency_ms=abc", "error_rate=1.5", "hang_rate=-0.1", "tail_ms=99999999"]
)
def test_bad_parameters_are_400(http, query):
    response = http.get(f"/promotions?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]


def test_unknown_paths_and_methods(http):
    assert http.get("/weather/atlantis").status_code == 404
    assert http.post("/promotions").status_code == 405


def test_defaults_come_from_the_environment():
    faults = Faults.from_env({"UPSTREAM_LATENCY_MS": "7", "UPSTREAM_ERROR_RATE": "0.5"})
    assert (faults.latency_ms, faults.error_rate, faults.hang_ms) == (7, 0.5, 5000)
    with pytest.raises(ValueError, match="hang_rate"):
        Faults.from_env({"UPSTREAM_HANG_RATE": "2"})


# --- /tokens: a language model's stream ------------------------------------------------


def test_tokens_stream_n_json_lines_on_a_schedule(http):
    arrivals, lines = [], []
    start = time.perf_counter()
    with http.stream("GET", "/tokens?n=4&interval_ms=100") as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        assert "content-length" not in response.headers  # chunked: one chunk per token
        for line in response.iter_lines():
            arrivals.append(time.perf_counter() - start)
            lines.append(json.loads(line))
    assert [token["i"] for token in lines] == [0, 1, 2, 3]
    assert all(isinstance(token["token"], str) for token in lines)
    # the first at once, the last three intervals later: the gaps are the schedule
    assert arrivals[-1] - arrivals[0] >= 0.3 - 0.01
    assert arrivals[0] < arrivals[-1] - arrivals[0]


def test_tokens_stop_when_their_client_leaves(http):
    before = http.get("/stats").json()
    with http.stream("GET", "/tokens?n=50&interval_ms=100") as response:
        next(response.iter_lines())  # one token, then hang up
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stats = http.get("/stats").json()
        if stats["disconnects"] > before["disconnects"]:
            break
        time.sleep(0.05)
    assert stats["streams"] == before["streams"] + 1
    assert stats["disconnects"] == before["disconnects"] + 1
    assert stats["chunks"] - before["chunks"] < 50  # it stopped sending
    assert stats["inflight"] == 0


@pytest.mark.parametrize("query", ["n=0", "n=abc", "n=100001", "interval_ms=-1",
                                   "interval_ms=600001"])
def test_tokens_bad_parameters_are_400(http, query):
    response = http.get(f"/tokens?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]
