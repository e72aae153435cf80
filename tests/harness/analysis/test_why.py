"""What a profile's wall clock says limited a step (why.wall_limit), on profile.json
dicts shaped like real ones: built by layers.summarise from synthetic py-spy stacks of
gthread's pool threads, uvicorn's per-request executors and a lock."""

from __future__ import annotations

from scripts.analysis import layers
from scripts.analysis.why import wall_limit

W1 = 'process 42:"python -m gunicorn app.wsgi:application"'
W2 = 'process 43:"python -m gunicorn app.wsgi:application"'
BOOT = ("Thread._bootstrap (threading.py:1012)", "Thread._bootstrap_inner (threading.py:1041)",
        "Thread.run (threading.py:992)")
WAITING = (*BOOT, "_worker (concurrent/futures/thread.py:89)")  # a pool thread, no work
SERVING = (*BOOT, "_worker (concurrent/futures/thread.py:93)",
           "_WorkItem.run (concurrent/futures/thread.py:59)",
           "ThreadWorker.handle (gunicorn/workers/gthread.py:282)",
           "WSGIHandler.__call__ (django/core/handlers/wsgi.py:124)",
           "home_sync (app/stories/home.py:78)")
UPSTREAM = (*SERVING, "Client.get (httpx/_client.py:1053)",
            "SyncStream.read (httpcore/_backends/sync.py:128)")
LOCKED = (*SERVING, "Client.get (httpx/_client.py:1053)",
          "ThreadLock.__enter__ (httpcore/_synchronization.py:268)")
RENDER = (*SERVING, "Template.render (django/template/base.py:175)")


def stacks(proc: str, thread: str, frames: tuple[str, ...], count: int) -> str:
    return f"{';'.join((proc, f'thread (7): {thread}', *frames))} {count}"


def profile(wall: list[str], cpu: list[str] = (), rate: int = 100,
            duration_s: float = 2.0) -> dict:
    return layers.summarise(layers.parse(cpu), layers.parse(wall), rate=rate,
                            duration_s=duration_s, cpu_s=0.5, requests=100,
                            table=layers.Table())


def pool(proc: str, threads: int, busy: int, frames=UPSTREAM, intervals: int = 200
         ) -> list[str]:
    """`threads` pool threads alive all the window, `busy` of them serving throughout."""
    return [stacks(proc, f"ThreadPoolExecutor-0_{i}", frames if i < busy else WAITING,
                   intervals) for i in range(threads)]


def test_pools_count_threads_and_how_many_were_busy():
    master = stacks(W1, "MainThread", ("Arbiter.run (gunicorn/arbiter.py:1)",), 200)
    p = profile([*pool(W1, 25, 10), master])
    [seen] = p["wall"]["pools"]
    assert (seen["pid"], seen["name"], seen["threads"]) == ("42", "ThreadPoolExecutor-0", 25)
    assert (seen["alive"], seen["busy"], seen["busy_share"]) == (25.0, 10.0, 0.4)
    # py-spy behind with many threads: each thread sampled in a fifth of the intervals
    [behind] = profile(pool(W1, 25, 10, intervals=40))["wall"]["pools"]
    assert (behind["alive"], behind["busy"], behind["busy_share"]) == (5.0, 2.0, 0.4)
    assert seen["layers"] == {"HTTP client": 1.0}
    # a thread per request (asgiref's executors under ASGI) is no pool
    per_request = [stacks(W1, f"ThreadPoolExecutor-{n}_0", UPSTREAM, 5) for n in range(50)]
    assert profile(per_request)["wall"]["pools"] == []


def test_a_full_pool_is_the_limit_and_says_where_its_threads_sat():
    full = pool(W1, 25, 25) + pool(W2, 25, 24)
    assert wall_limit(profile(full)) == (
        "a thread pool's size (25 threads in each of 2 processes, busy 100% of the time,"
        " 100% of their time in HTTP client)")


def test_one_process_holding_its_gil_nearly_all_the_window_is_the_gil():
    """One thread of W1 holds the GIL in 194 of 200 intervals (on-CPU samples)."""
    cpu = [stacks(W1, "MainThread", RENDER, 194)]
    wall = pool(W1, 4, 1, RENDER)
    assert wall_limit(profile(wall, cpu)) == (
        "GIL (one process held its GIL 97% of the window: its threads take turns)")
    assert wall_limit(profile(wall, [stacks(W1, "MainThread", RENDER, 120)])) is None


def test_threads_queued_on_a_lock():
    """Three of 12 busy threads wait on httpcore's pool lock; the pool is not full."""
    wall = [stacks(W1, f"ThreadPoolExecutor-0_{i}",
                   LOCKED if i < 3 else UPSTREAM if i < 12 else WAITING, 200)
            for i in range(25)]
    assert wall_limit(profile(wall)) == (
        "a lock (HTTP client: serving threads waited in ThreadLock.__enter__"
        " (httpcore/_synchronization.py:268) 25% of the time)")
    # asgiref's thread waiting for the loop is the hop, not a lock
    hop = (*BOOT, "AsyncToSync.__call__ (asgiref/sync.py:342)",
           "CurrentThreadExecutor.run_until_future (asgiref/current_thread_executor.py:70)",
           "Condition.wait (threading.py:359)")
    assert wall_limit(profile(pool(W1, 25, 8, hop))) is None


def test_busy_threads_waiting_in_the_http_client_are_waiting_on_the_upstream():
    assert wall_limit(profile(pool(W1, 25, 12))) == (
        "waiting on the upstream (the HTTP client: 100% of the busy threads' time; 25"
        " threads, busy 48% of the time)")
    # no pool (a thread per request): most of the serving threads' time in the client
    per_request = [stacks(W1, f"ThreadPoolExecutor-{n}_0", UPSTREAM, 5) for n in range(50)]
    assert wall_limit(profile(per_request)).startswith(
        "waiting on the upstream (serving threads sat in the HTTP client 100% of the time")
    # an idle pool, nothing held: the wall clock names nothing
    assert wall_limit(profile(pool(W1, 25, 1, RENDER))) is None
    assert wall_limit({"samples": 0, "wall": {}, "gil": {}}) is None
