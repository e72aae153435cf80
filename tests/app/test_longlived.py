"""Streams and slow uploads on real servers: what Django does with each generator under
ASGI (uvicorn) and WSGI (gunicorn's sync worker), what happens to the view when its
client leaves, and short real Locust runs of locustfiles/stream.py and upload.py.

No wall-clock upper bounds: each claim compares two measurements of the same test.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.config import load_matrix
from scripts.proc import supervise
from scripts.services import servers as services

pytestmark = pytest.mark.e2e  # real servers and Locust: `make test`, not `make check`

HOST = supervise.LOOPBACK
EVENTS, INTERVAL_MS = 6, 100
SHORT = f"events={EVENTS}&interval_ms={INTERVAL_MS}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory, upstream) -> Iterator[dict[str, str]]:
    """uvicorn (ASGI) and gunicorn's sync worker (WSGI), as the matrix runs them."""
    matrix = load_matrix()
    logs = tmp_path_factory.mktemp("longlived")
    procs, urls = [], {}
    for name in ("uvicorn", "gunicorn-sync"):
        port = supervise.free_port()
        argv = services.server_argv(matrix.server(name), port)
        procs.append(supervise.Process(name, argv, log_path=logs / f"{name}.log",
                                       env={"LOADLAB_UPSTREAM_URL": upstream}))
        urls[name] = f"http://{HOST}:{port}"
    with supervise.supervised(*procs):
        for proc in procs:
            proc.wait_http_ready(urls[proc.name] + "/")
        yield urls


def arrivals(url: str) -> list[float]:
    """When each event of the stream at `url` arrived, in seconds from the request."""
    start = time.perf_counter()
    seen = []
    with httpx.stream("GET", url, timeout=30, trust_env=False) as response:
        assert response.status_code == 200, response.read()[:300]
        for line in response.iter_lines():
            if line.startswith("id: "):
                seen.append(time.perf_counter() - start)
    return seen


# (server, the pair it streams: (steps through, buffers whole)): under ASGI Django cannot
# step a sync iterator, under WSGI an async one.
PAIRS = [("uvicorn", "async", "sync"), ("uvicorn", "async-relay", "sync-relay"),
         ("gunicorn-sync", "sync", "async"), ("gunicorn-sync", "sync-relay", "async-relay")]


@pytest.mark.parametrize(("server", "stepped", "buffered"), PAIRS)
def test_the_generator_its_interface_cannot_step_comes_all_at_the_end(
        servers, server, stepped, buffered):
    for flavor in (stepped, buffered):  # a worker's first relay imports and connects
        arrivals(f"{servers[server]}/stream/{flavor}/?events=1&interval_ms=1")
    on_time = arrivals(f"{servers[server]}/stream/{stepped}/?{SHORT}")
    at_end = arrivals(f"{servers[server]}/stream/{buffered}/?{SHORT}")
    assert len(on_time) == len(at_end) == EVENTS
    # both streams really took their (EVENTS - 1) intervals (a lower bound: sleeps are)
    assert min(on_time[-1], at_end[-1]) >= (EVENTS - 1) * INTERVAL_MS / 1000 * 0.95
    # stepped: the first event within about one interval, as this stream measured it
    assert on_time[0] <= on_time[-1] / (EVENTS - 1), on_time
    # buffered: the first event comes with the last, near the end of the stream
    assert at_end[0] >= 0.8 * at_end[-1], at_end
    assert at_end[0] >= 0.8 * on_time[-1], (at_end, on_time)


def upstream_stats(upstream: str) -> dict[str, int]:
    return httpx.get(f"{upstream}/stats", trust_env=False).json()


# What the view does once its client is gone (the relays show it: each relayed chunk is
# counted by the upstream stand-in, which also sees the relay hang up).
LEAVING = [
    # ASGI: the disconnect cancels the task sending the response; an async generator
    # is closed at its next await, and closes its upstream stream.
    ("uvicorn", "async-relay", "stops"),
    # ASGI: a sync generator runs on a thread, consumed whole by sync_to_async(list);
    # no one can stop it, so it relays every chunk to a client long gone.
    ("uvicorn", "sync-relay", "runs on"),
    # WSGI: nothing listens for the client; the generator stops when the server's write
    # to the closed socket fails and the server closes the response (GeneratorExit).
    ("gunicorn-sync", "sync-relay", "stops"),
    # WSGI: an async generator is collected whole by async_to_sync before any write.
    ("gunicorn-sync", "async-relay", "runs on"),
]


@pytest.mark.parametrize(("server", "flavor", "then"), LEAVING)
def test_what_the_view_does_when_its_client_leaves(servers, upstream, server, flavor, then):
    n = 12
    before = upstream_stats(upstream)
    with socket.create_connection((HOST, int(servers[server].rsplit(":", 1)[1]))) as sock:
        sock.sendall(f"GET /stream/{flavor}/?events={n}&interval_ms={INTERVAL_MS} HTTP/1.1"
                     f"\r\nHost: {HOST}\r\n\r\n".encode())
        time.sleep(2.5 * INTERVAL_MS / 1000)  # about three of twelve chunks, then hang up
    deadline = time.monotonic() + n * INTERVAL_MS / 1000 + 10
    while time.monotonic() < deadline:  # until the relay's upstream stream has ended
        after = upstream_stats(upstream)
        if after["streams"] > before["streams"] and after["inflight"] == before["inflight"]:
            break
        time.sleep(0.05)
    relayed = after["chunks"] - before["chunks"]
    hung_up = after["disconnects"] - before["disconnects"]
    assert after["streams"] - before["streams"] == 1
    if then == "stops":
        assert (hung_up, relayed < n) == (1, True), relayed
    else:
        assert (hung_up, relayed) == (0, n)


# --- real Locust runs -------------------------------------------------------------------


def run_locust(tmp_path: Path, locustfile: str, host: str, classes: list[str],
               users: int, **env: str) -> dict[str, list[int]]:
    """Locust headless for ~3 s; each request name's [ok, failed] from latency-*.json."""
    cell = tmp_path / "cell"
    argv = supervise.python_module(
        "locust", "-f", f"locustfiles/{locustfile}", "--headless", "--host", host,
        "-u", str(users), "-r", "50", "--run-time", "3s", "--stop-timeout", "0",
        "--only-summary", *classes)
    log = tmp_path / "locust.log"
    rc = supervise.run("locust", argv, log_path=log, timeout=60,
                       env={"LOADLAB_CELL_DIR": str(cell), **env})
    assert rc == 0, log.read_text()[-3000:]  # Locust exits 1 when any request failed
    counts: dict[str, list[int]] = {}
    files = list(cell.glob("latency-*.json"))
    assert files, log.read_text()[-3000:]
    for path in files:
        for name, seconds in json.loads(path.read_text())["names"].items():
            slot = counts.setdefault(name, [0, 0])
            for second in seconds.values():
                slot[0] += second["ok"]
                slot[1] += second["failed"]
    return counts


def test_locust_streams_record_first_events_lags_and_the_clients_that_left(
        tmp_path, servers):
    events = 4
    counts = run_locust(
        tmp_path, "stream.py", servers["uvicorn"], ["Async", "Neighbour"], users=3,
        LOADLAB_QUERY=f"events={events}&interval_ms=50", LOADLAB_DISCONNECT_SHARE="0.5",
        LOADLAB_NEIGHBOUR_USERS="1")
    assert set(counts) == {"async", "async lag", "async spread", "async gone",
                           "neighbour"}, counts
    streams, lags = counts["async"], counts["async lag"]
    assert streams[0] > 0 and streams[1] == 0
    assert lags == [events * streams[0], 0]  # every event of every whole stream arrived
    assert counts["async spread"] == streams  # one first-to-last span per whole stream
    assert counts["async gone"][0] > 0  # the other half left halfway: not failures
    assert counts["neighbour"][0] > 0 and counts["neighbour"][1] == 0


def test_locust_uploads_pace_the_body_and_count_the_view_s_bytes(tmp_path, servers):
    counts = run_locust(
        tmp_path, "upload.py", servers["gunicorn-sync"], ["Sync"], users=2,
        LOADLAB_QUERY="size_kb=32&rate_kbps=256", LOADLAB_DISCONNECT_SHARE="0.5")
    assert set(counts) == {"sync", "sync gone"}, counts
    assert counts["sync"][0] > 0 and counts["sync"][1] == 0  # the view read every byte
    assert counts["sync gone"][0] > 0
