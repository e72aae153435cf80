"""The layer table and the attribution of folded stacks, on synthetic py-spy output."""

from __future__ import annotations

import pytest

from scripts.analysis import layers
from scripts.analysis.layers import Sample, Table
from scripts.analysis.why import moved, why_line
from scripts.archive.records import CellRecord

PROC = 'process 41:"python -m gunicorn app.wsgi:application"'
WORKER = 'process 42:"python -m gunicorn app.wsgi:application"'
GUNICORN = "SyncWorker.handle_request (gunicorn/workers/sync.py:184)"
HANDLER = "WSGIHandler.__call__ (django/core/handlers/wsgi.py:124)"
VIEW = "cpu_sync (app/stories/cpu.py:21)"


def stack(*frames: str, thread: str = "thread (42): MainThread", count: int = 1) -> str:
    return f"{';'.join((PROC, WORKER, thread, *frames))} {count}"


def sample(*frames: str, thread: str = "thread (42): MainThread") -> Sample:
    return layers.parse([stack(*frames, thread=thread)])[0]


def test_parse_takes_out_process_and_thread_frames():
    [s] = layers.parse([stack(GUNICORN, HANDLER, count=7)])
    assert s.frames == (GUNICORN, HANDLER)
    assert s.pid == "42"  # the innermost process: the one sampled
    assert s.thread == "thread (42): MainThread"
    assert s.count == 7
    assert layers.parse(["", "garbage", "a;b notanumber"]) == []
    # `python -c` code with newlines in the process frame: the stack spans lines
    [s] = layers.parse(['process 9:"python -c ', "while 1:", '  pass";<module> (<string>:2) 3'])
    assert s.pid == "9" and s.frames == ("<module> (<string>:2)",) and s.count == 3


@pytest.mark.parametrize(("frame", "module"), [
    ("f (django/http/response.py:12)", "django.http.response"),
    ("<module> (gunicorn/__main__.py:10)", "gunicorn.__main__"),
    ("f (app/stories/__init__.py:3)", "app.stories"),
    ("_run_code (<frozen runpy>:88)", "runpy"),
    ("Condition.wait (threading.py:359)", "threading"),
    ('process 1:"python"', ""),
])
def test_module_of_a_frame(frame, module):
    assert layers.module(frame) == module


@pytest.mark.parametrize(("module", "layer"), [
    ("gunicorn.workers.sync", "server"),
    ("uvicorn.protocols.http.httptools_impl", "server"),
    ("asyncio.base_events", "event loop"),
    ("django.core.handlers.base", "django request handling"),
    ("django.middleware.common", "middleware"),
    ("app.middleware", "middleware"),
    ("asgiref.sync", "thread hops"),
    ("concurrent.futures.thread", "thread hops"),
    ("app.stories.weather", "view code"),
    ("django.db.models.query", "ORM"),
    ("django.db.backends.sqlite3.base", "database driver"),
    ("psycopg.cursor", "database driver"),
    ("django.template.base", "templates"),
    ("httpcore._async.connection_pool", "HTTP client"),
    ("json.encoder", None),
    ("djangox", None),  # a prefix matches whole names only
])
def test_the_table_names_layers_by_longest_prefix(module, layer):
    assert Table().named(module) == layer


def test_a_sample_goes_to_its_leaf_most_named_frame():
    table = Table()
    assert table.layer(sample(GUNICORN, HANDLER, VIEW, "crunch (app/stories/cpu.py:15)")) \
        == "view code"
    assert table.layer(sample(GUNICORN, HANDLER)) == "django request handling"


def test_unnamed_modules_take_their_callers_layer():
    encode = "JSONEncoder.encode (json/encoder.py:200)"
    assert Table().layer(sample(GUNICORN, HANDLER, VIEW, encode)) == "view code"
    response = "JsonResponse.__init__ (django/http/response.py:772)"
    assert Table().layer(sample(GUNICORN, HANDLER, response, encode)) == \
        "django request handling"
    assert Table().layer(sample("main (runpy.py:1)", encode)) == "other"


def test_shared_modules_join_their_owner():
    pool = "ConnectionPool.handle_request (httpcore/_sync/connection_pool.py:200)"
    h11 = "Connection.next_event (h11/_connection.py:450)"
    assert Table().layer(sample(GUNICORN, HANDLER, VIEW, pool, h11)) == "HTTP client"
    # h11 as uvicorn's parser is the server's
    assert Table().layer(sample("H11Protocol.data_received (uvicorn/protocols/http/"
                                "h11_impl.py:200)", h11)) == "server"
    loop = "BaseEventLoop.run_until_complete (asyncio/base_events.py:700)"
    hop = "AsyncToSync.__call__ (asgiref/sync.py:254)"
    # an async view under WSGI: the loop asgiref starts per request is event-loop setup
    assert Table().layer(sample(GUNICORN, HANDLER, hop, loop)) == "event loop"
    assert Table().layer(sample(GUNICORN, HANDLER, hop)) == "thread hops"


def test_a_stack_without_python_frames_goes_by_its_thread():
    table = Table()
    assert table.layer(sample(thread="thread (0)")) == "thread hops"  # being born
    assert table.layer(sample(thread="thread (7): ThreadPoolExecutor-3_0")) == "thread hops"
    assert table.layer(sample(thread="thread (7): MainThread")) == "other"


def test_a_teams_packages_are_view_code():
    frame = "checkout (shop/views.py:40)"
    assert Table().layer(sample(GUNICORN, HANDLER, frame)) == "django request handling"
    assert Table(("shop",)).layer(sample(GUNICORN, HANDLER, frame)) == "view code"


def folded(view: int, server: int, idle: int = 0) -> tuple[list[Sample], list[Sample]]:
    cpu = layers.parse([stack(GUNICORN, HANDLER, VIEW, count=view),
                        stack(GUNICORN, count=server)])
    wait = "Arbiter.sleep (gunicorn/arbiter.py:400)"
    wall = cpu + layers.parse([stack(wait, count=idle)] if idle else [])
    return cpu, wall


def test_summary_cpu_per_request_sums_to_the_servers_cpu():
    cpu, wall = folded(view=300, server=100, idle=400)
    p = layers.summarise(cpu, wall, rate=100, duration_s=4.0, cpu_s=2.0, requests=1000,
                         table=Table())
    assert p["samples"] == 400 and p["sampled_cpu_s"] == 4.0
    assert p["layers"]["view code"] == {"share": 0.75, "cpu_us_per_request": 1500.0}
    assert p["layers"]["server"] == {"share": 0.25, "cpu_us_per_request": 500.0}
    total_s = sum(v["cpu_us_per_request"] for v in p["layers"].values()) * 1000 / 1e6
    assert total_s == pytest.approx(2.0)
    assert p["wall"]["idle_share"] == 0.5
    assert p["wall"]["waiting"]["server"] == 0.5  # the wall's server samples beyond on-CPU
    assert p["gil"]["held_share"] == {"42": 1.0}  # 400 samples of 400 intervals
    assert p["top"][0] == {"frame": VIEW, "layer": "view code", "share": 0.75}
    assert why_line(p) == "view code: 75% of the server's CPU, 1,500 us/request"


def test_too_few_samples_say_so_instead_of_a_table():
    cpu, wall = folded(view=100, server=50)
    p = layers.summarise(cpu, wall, rate=100, duration_s=2.0, cpu_s=1.0, requests=10,
                         table=Table())
    assert p["layers"] == {} and p["top"] == []
    assert p["wall"]["samples"] == 150  # the wall view needs no busy CPU
    assert "too few samples (150 on-CPU < 200)" in p["note"]
    assert why_line(p) == p["note"]


def record(**layers_us: float) -> CellRecord:
    return CellRecord(server="s", interface="asgi", scenario="hello", flavor="async",
                      client=None, users=1, trial=1, layers=dict(layers_us))


def test_layers_moved_names_the_largest_moves_first():
    a = [record(view=100.0, hops=50.0), record(view=120.0, hops=50.0)]
    b = [record(view=110.0, hops=360.0, loop=40.0)]
    got = moved(a, b)
    assert [m["layer"] for m in got] == ["hops", "loop"]  # view moved 0 us: left out
    assert got[0]["text"] == "+310 us/request in hops"
    assert moved(a, [record()]) == [] and moved([], b) == []
