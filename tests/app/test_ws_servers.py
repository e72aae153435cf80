"""The websocket story for real: uvicorn as the matrix runs it, talked to over a socket
(every flavor, the sync consumers' one thread, HTTP beside it), and short headless Locust
runs of locustfiles/websocket.py. Starts servers and Locust: e2e."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import websocket

from app.scenarios import get
from scripts.config import load_matrix
from scripts.load import loadgen
from scripts.proc import supervise
from scripts.services import servers as services

pytestmark = pytest.mark.e2e
STORY = get("websocket")
WAIT_S = 10  # how long a test waits for a message before it fails (not a bound)


def path(flavor: str, query: str = "") -> str:
    return STORY.flavor(flavor).path + (f"?{query}" if query else "")


# --- for real: uvicorn, as the matrix runs it ---------------------------------------------


@pytest.fixture(scope="module")
def uvicorn(tmp_path_factory):
    """uvicorn serving app.asgi with the matrix's own arguments; its base URL and log."""
    folder = tmp_path_factory.mktemp("ws-uvicorn")
    port = supervise.free_port()
    argv = services.server_argv(load_matrix().server("uvicorn"), port)
    proc = supervise.Process("uvicorn-ws", argv, log_path=folder / "server.log",
                             env={"LOADLAB_SQLITE_PATH": str(folder / "db.sqlite3")})
    with supervise.supervised(proc):
        proc.wait_http_ready(f"http://127.0.0.1:{port}/", 30)
        yield f"http://127.0.0.1:{port}", proc.log_path


def ws(base: str, flavor: str, query: str = ""):
    return websocket.create_connection(base.replace("http://", "ws://") + path(flavor, query),
                                       timeout=WAIT_S)


def frames(conn, each=None) -> list:
    """Every message until the server's close frame, then ("close", code, reason);
    `each(message)` is called as each arrives."""
    got = []
    for _ in range(2000):  # bounded: at most 1000 messages and a close
        opcode, data = conn.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            got.append(("close", int.from_bytes(data[:2], "big"), data[2:].decode()))
            break
        got.append(json.loads(data))
        if each:
            each(got[-1])
    conn.shutdown()
    return got


def test_uvicorn_serves_every_flavor_over_a_real_socket(uvicorn):
    base, log = uvicorn
    for flavor in ("sync", "async"):
        conn = ws(base, flavor)
        for message in ("one", "two"):
            conn.send(message)
            assert conn.recv() == message
        conn.close()
    for flavor in ("sync-push", "async-push"):
        assert frames(ws(base, flavor, "messages=3&interval_ms=5")) == [
            {"i": 0, "of": 3}, {"i": 1, "of": 3}, {"i": 2, "of": 3}, ("close", 1000, "")]
        assert frames(ws(base, flavor, "messages=0")) == [
            ("close", 4400, "messages=0 is outside 1..1000")]
    # HTTP still goes to Django's own handler, untouched by the router in front of it
    response = httpx.get(f"{base}/hello/async/", trust_env=False)
    assert response.status_code == 200 and response.json()["message"] == "Hello, world!"
    assert response.headers["server-timing"].startswith("app;dur=")
    time.sleep(0.2)  # let the server log the sessions' ends
    assert "Traceback" not in log.read_text(), log.read_text()[-2000:]


def two_sessions_at_once(base: str, flavor: str) -> list[tuple[str, int]]:
    """Two 3-message push sessions, the second opened while the first runs: every
    message as (session, i), in the order they arrived."""
    arrivals: list[tuple[str, int]] = []
    lock = threading.Lock()

    def session(name: str) -> None:
        def arrived(message: dict) -> None:
            with lock:
                arrivals.append((name, message["i"]))

        frames(ws(base, flavor, "messages=3&interval_ms=150"), arrived)

    first = threading.Thread(target=session, args=("a",))
    first.start()
    for _ in range(500):  # bounded: until the first session's first message is in
        if arrivals:
            break
        time.sleep(0.01)
    second = threading.Thread(target=session, args=("b",))
    second.start()
    first.join(WAIT_S)
    second.join(WAIT_S)
    return arrivals


def test_sync_push_sessions_take_turns_on_one_thread_and_async_ones_do_not(uvicorn):
    """Channels runs every sync consumer's handlers on asgiref's one thread per process
    (app/stories/ws.py): the second sync session is not even accepted until the first
    is done. Async sessions interleave."""
    base, _ = uvicorn
    sync = two_sessions_at_once(base, "sync-push")
    assert sync == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    arrived = two_sessions_at_once(base, "async-push")
    assert sorted(arrived) == sorted(sync)
    assert arrived.index(("b", 0)) < arrived.index(("a", 2))  # b began while a ran


# --- a real headless Locust run -----------------------------------------------------------


def locust_names(base: str, cell: Path, classes: list[str], **env: str) -> dict[str, list]:
    """A 2 s headless Locust run of these user classes; name -> [ok, failed]."""
    cell.mkdir(parents=True)
    argv = loadgen.headless_argv(scenario="websocket", flavor="sync", host=base,
                                 users=len(classes), spawn_rate=100, warmup_s=0.2,
                                 duration_s=2, cell_dir=cell)
    argv = [*argv[:-1], *classes]  # one user of each class
    settings = {**loadgen.env(cell_dir=cell, warmup_s=0.2, duration_s=2, catalog_rows=0),
                "LOADLAB_QUERY": "messages=4&interval_ms=50", **env}
    log = cell / "locust.log"
    assert supervise.run("locust", argv, log_path=log, env=settings, timeout=60) == 0, \
        log.read_text()[-2000:]
    names: dict[str, list] = {}
    for latency in cell.glob("latency-*.json"):
        for name, seconds in json.loads(latency.read_text())["names"].items():
            slot = names.setdefault(name, [0, 0])
            slot[0] += sum(s["ok"] for s in seconds.values())
            slot[1] += sum(s["failed"] for s in seconds.values())
    return names


def test_locust_records_handshakes_round_trips_first_messages_and_lag(uvicorn, tmp_path):
    base, _ = uvicorn
    names = locust_names(base, tmp_path / "cell", ["Sync", "AsyncPush"])
    assert set(names) == {"sync", "sync handshake", "async-push", "async-push handshake",
                          "async-push lag"}, names
    assert all(failed == 0 for _, failed in names.values()), names
    assert names["sync"][0] >= 4 and names["async-push lag"][0] >= 4  # whole sessions
    assert names["async-push"][0] == names["async-push handshake"][0]  # one first each


def test_locust_abandons_the_share_of_sessions_it_is_told_to(uvicorn, tmp_path):
    """LOADLAB_DISCONNECT_SHARE=1: every session is dropped halfway, without a close
    frame; the server takes it without a traceback."""
    base, log = uvicorn
    names = locust_names(base, tmp_path / "cell", ["Async", "SyncPush"],
                         LOADLAB_DISCONNECT_SHARE="1")
    assert names["async gone"][0] >= 1 and names["sync-push gone"][0] >= 1, names
    assert names["async"][0] >= 2  # the echoes before the halfway mark
    assert "sync-push lag" in names  # the pushes before it
    assert all(failed == 0 for _, failed in names.values()), names
    time.sleep(0.3)
    assert "Traceback" not in log.read_text(), log.read_text()[-2000:]


# --- every ASGI server of the matrix -------------------------------------------------------


def probe(base: str) -> str:
    """'served' when an async echo and a sync push both work, else what went wrong."""
    try:
        conn = ws(base, "async")
        conn.send("ping")
        assert conn.recv() == "ping"
        conn.close()
        got = frames(ws(base, "sync-push", "messages=2&interval_ms=5"))
    except (websocket.WebSocketException, OSError, AssertionError) as error:
        return f"{type(error).__name__}: {str(error)[:120]}"
    expected = [{"i": 0, "of": 2}, {"i": 1, "of": 2}, ("close", 1000, "")]
    return "served" if got == expected else f"pushed {got}"


def test_each_asgi_server_serves_websockets_as_the_matrix_says(tmp_path):
    """Each ASGI server as the matrix runs it serves the story exactly when the matrix
    says it can (`websocket`, and no `--no-ws` in its args: granian's flag leaves the
    upgrade to Django as plain HTTP, a 404)."""
    matrix = load_matrix()
    specs = [s for s in matrix.servers.values() if s.interface == "asgi" and s.available]
    assert {"uvicorn", "hypercorn", "daphne"} <= {s.name for s in specs}
    env = {"LOADLAB_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    outcome = {}
    for batch in (specs[i:i + 3] for i in range(0, len(specs), 3)):  # 2 cores: 3 at once
        ports = {s.name: supervise.free_port() for s in batch}
        procs = [supervise.Process(s.name, services.server_argv(s, ports[s.name]),
                                   log_path=tmp_path / f"{s.name}.log", env=env)
                 for s in batch]
        with supervise.supervised(*procs):
            for proc in procs:
                base = f"http://127.0.0.1:{ports[proc.name]}"
                proc.wait_http_ready(f"{base}/", 60)
                outcome[proc.name] = probe(base)
    # `websocket` (the matrix's word that a server can) is new in the matrix reader
    claimed = {s.name: getattr(s, "websocket", True) and "--no-ws" not in s.args
               for s in specs}
    assert {n: o == "served" for n, o in outcome.items()} == claimed, outcome
