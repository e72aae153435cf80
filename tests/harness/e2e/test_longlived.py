"""Long-lived connections against answers physics and Django's code give, with real
servers, real Locust and the real upstream stand-in:

- a sync generator under uvicorn is `buffered` (Django consumes a sync iterator whole
  under ASGI): its first event comes near the stream's end; the async one's within
  about one interval;
- gunicorn-sync holds exactly `workers` streams at once (the next one waits for a
  worker), and a one-worker gthread server holds exactly its threads;
- a websocket story under a WSGI server is one line and exit 2;
- two slow uploads hold both gunicorn-sync workers, so the neighbour (hello) waits;
  uvicorn reads bodies on its event loop, so its neighbour does not.
"""

from __future__ import annotations

from ..conftest import gthread_server, loadlab, matrix_with, only_run, read_json

STREAM = ("--events", "5", "--interval-ms", "100")  # half-second streams: two a user in 1 s
LENGTH_MS = 500

GTHREAD_1X3 = gthread_server(3)


def _cells(results) -> list[dict]:
    return read_json(only_run(results) / "summary.json")["cells"]


def test_a_sync_stream_under_asgi_is_buffered_and_the_async_one_is_not(results):
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                   "stream", "--flavors", "sync,async", "--users", "2", *STREAM,
                   "--duration", "1", "--results", str(results), "--quiet")
    assert done.code == 0, done.err
    cells = {c["flavor"]: c for c in _cells(results)}
    sync, async_ = cells["sync"], cells["async"]
    assert sync["status"] == async_["status"] == "ok", (sync["error"], async_["error"])
    assert "buffered" in sync["warnings"] and "buffered" not in async_["warnings"]
    # the sync stream's first event comes after the view's last sleep; the async one's
    # comes at once: the two first events are a stream apart, measured in one run
    assert sync["latency_ms"]["p50"] > 0.6 * LENGTH_MS, sync["latency_ms"]
    assert async_["latency_ms"]["p50"] < 100, async_["latency_ms"]  # within an interval
    for cell in (sync, async_):  # every event of every stream arrived
        held = cell["held"]
        assert held["events"] == 5 * held["sessions"] > 0, held
        assert held["after_load"]["connections"] == 0, held["after_load"]


def test_held_capacity_is_the_workers_on_gunicorn_sync_and_the_threads_on_gthread(
        tmp_path, results):
    matrix = matrix_with(tmp_path, append=GTHREAD_1X3)
    done = loadlab("capacity", "--matrix", str(matrix), "--servers",
                   "gunicorn-sync,gthread-1x3", "--scenarios", "stream", "--flavors",
                   "sync", *STREAM, "--duration", "1", "--warmup", "0.3",
                   "--results", str(results), "--quiet", timeout=400)
    assert done.code == 0, done.err
    assert "held capacity" in done.out and "physics" in done.out
    summary = read_json(only_run(results) / "summary.json")
    found = {c["server"]: c for c in summary["capacity"]}
    sync, gthread = found["gunicorn-sync"], found["gthread-1x3"]
    # exactly the physics, each measured on both sides: the bound held, one more failed
    assert (sync["held_connections"], sync["bracket"]) == (2, [2, 3]), sync["steps"]
    assert (gthread["held_connections"], gthread["bracket"]) == (3, [3, 4]), gthread["steps"]
    assert sync["physics"] == 2 and gthread["physics"] == 3
    served = next(s for s in sync["steps"] if s["users"] == 2)
    waited = next(s for s in sync["steps"] if s["users"] == 3)
    # the third stream waits for a worker to finish one: more than an interval, where
    # two streams on two workers got their first event at once
    assert waited["p95_ms"] > max(100, 10 * served["p95_ms"]), (served, waited)
    assert sync["objective"]["p95_ms"] == 300  # three intervals
    queued = next(c for c in summary["cells"] if c["server"] == "gunicorn-sync"
                  and c["users"] == 3 and not c["neighbours"])
    assert "buffered" not in queued["warnings"]  # it waited, then streamed live
    # the neighbour at 0, 1x and 2x the physics: held streams stop gunicorn-sync's hello
    near = {(n["server"], n["held"]): n for n in summary["neighbour"]}
    assert {held for server, held in near if server == "gunicorn-sync"} == {0, 2, 4}
    base, full = near["gunicorn-sync", 0], near["gunicorn-sync", 4]
    assert full["rps"] < 0.5 * base["rps"], (base, full)


def test_a_websocket_story_under_wsgi_is_one_line(results):
    done = loadlab("bench", "--servers", "gunicorn-sync", "--scenarios", "websocket",
                   "--results", str(results))
    assert done.code == 2
    assert done.err.strip().count("\n") == 0
    assert "WSGI has no websockets" in done.err
    assert not any(results.iterdir())


def test_slow_uploads_stop_gunicorn_syncs_neighbour_and_not_uvicorns(results):
    done = loadlab("bench", "--profile", "smoke", "--servers", "gunicorn-sync,uvicorn",
                   "--scenarios", "upload", "--flavors", "sync", "--users", "2",
                   "--neighbour-users", "2", "--size-kb", "12", "--rate-kbps", "8",
                   "--duration", "2", "--results", str(results), "--quiet")
    assert done.code == 0, done.err
    near = {(n["server"], n["held"]): n for n in
            read_json(only_run(results) / "summary.json")["neighbour"]}
    assert set(near) == {("gunicorn-sync", 0), ("gunicorn-sync", 2), ("uvicorn", 0),
                         ("uvicorn", 2)}
    sync_slowed = near["gunicorn-sync", 2]["p95_ms"] / near["gunicorn-sync", 0]["p95_ms"]
    uvicorn_slowed = near["uvicorn", 2]["p95_ms"] / near["uvicorn", 0]["p95_ms"]
    # both workers hold a 1.5 s upload from the spawn on: hello waits for one to finish,
    # at 1.5 s, in the middle of the window (0.5 s of warmup, then 2 s: the window counts
    # whole seconds, and 1.5 measured [0.5, 1.5) and saw none)
    assert near["gunicorn-sync", 2]["p95_ms"] > 1000, near
    assert sync_slowed > 10 * uvicorn_slowed, near


def test_websocket_sessions_have_their_neighbour_and_their_numbers(results):
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                   "websocket", "--flavors", "async,async-push", "--users", "2",
                   "--neighbour-users", "1", "--events", "4", "--interval-ms", "100",
                   "--duration", "1", "--warmup", "0", "--results", str(results), "--quiet")
    assert done.code == 0, done.err
    cells = {(c["flavor"], c["users"]): c for c in _cells(results)}
    assert set(cells) == {("async", 0), ("async", 2), ("async-push", 0), ("async-push", 2)}
    assert all(c["status"] == "ok" for c in cells.values()), [c["error"] for c in cells.values()]
    echo, push = cells["async", 2], cells["async-push", 2]
    assert echo["requests"] > 0 and echo["held"]["handshake_ms"]["p50"] > 0
    assert push["held"]["events"] > 0 and "lag_ms" in push["held"]
    near = read_json(only_run(results) / "summary.json")["neighbour"]
    assert {n["path"] for n in near} == {"/hello/async/"}
    assert all(n["rps"] > 0 for n in near), near
