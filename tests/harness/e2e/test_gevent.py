"""The third way, for real: sync views on gunicorn's gevent worker beside its sync worker.

Weather's sync view makes five 50 ms upstream calls one after another. With 20 users,
gunicorn's 2 sync workers serve 2 requests at once, so a request waits for ~10 others:
about 20 / 2 x 5 latencies. On gevent the calls of different requests overlap (the
shared httpx.Client's sockets yield to the other greenlets): a request takes about five
latencies. Checked as a ratio of the two cells of one run, and against physics (no
request can beat five sequential calls).

The async view on gevent, in the smoke profile's pair of a temporary matrix that leaves
out only gunicorn-sync's async view (a cell nothing here reads, ~4 s of this test); a
profile that left gevent's out would fail the lookup of its cell, never skip the check.
asgiref refuses it (an AsyncToSync finds another greenlet's event loop running on the
same OS thread), so nearly every request fails (99.5 % measured here, 98-100 % in a quick
run). Its cell is measured to the end, the server's own log names the refusal in the
record and summary.md, and the default run, which leaves the pair out, gives that
refusal as its reason.
"""

from __future__ import annotations

from scripts.config import load_matrix
from scripts.plan import Choices, build_plan

from ..conftest import loadlab, matrix_with, only_run, read_json, require
from ..services.test_database import have_postgres

UPSTREAM_MS = 50  # matrix.toml's [upstream] latency_ms
CALLS = 5
REFUSED = "You cannot use AsyncToSync in the same thread as an async event loop"
SMOKE_WITHOUT_SYNC_ASYNC = ('[profiles.smoke]\nleave_out = [{ servers = ["gunicorn-sync"],'
                            ' flavors = ["async"], why = "not read by test_gevent" }]')


def test_weather_sync_overlaps_on_gevent_and_async_is_measured(tmp_path, results):
    matrix = matrix_with(tmp_path, replace={r"^\[profiles\.smoke\]$": SMOKE_WITHOUT_SYNC_ASYNC})
    done = loadlab("bench", "--matrix", str(matrix), "--profile", "smoke",
                   "--servers", "gunicorn-sync,gunicorn-gevent", "--scenarios", "weather",
                   "--users", "20", "--duration", "2", "--warmup", "0.5",
                   "--results", str(results))
    assert done.code == 0, done.err
    run = only_run(results)
    cells = {(c["server"], c["flavor"]): c for c in read_json(run / "summary.json")["cells"]}
    assert set(cells) == {("gunicorn-sync", "sync"), ("gunicorn-gevent", "sync"),
                          ("gunicorn-gevent", "async")}, set(cells)
    sync, gevent = cells["gunicorn-sync", "sync"], cells["gunicorn-gevent", "sync"]
    for c in (sync, gevent):
        assert c["status"] == "ok" and c["failures"] == 0, c
    assert (gevent["interface"], gevent["model"]) == ("wsgi", "greenlets")
    assert gevent["latency_ms"]["p50"] >= CALLS * UPSTREAM_MS  # physics: five in a row
    # 20 users on 2 workers queue ~10 deep; on greenlets they do not queue at all
    assert sync["latency_ms"]["p50"] >= 4 * gevent["latency_ms"]["p50"], (sync, gevent)
    assert gevent["rps"] >= 4 * sync["rps"], (sync["rps"], gevent["rps"])

    on_gevent = cells["gunicorn-gevent", "async"]
    assert on_gevent["status"] == "ok", on_gevent["error"]  # measured, not crashed
    assert on_gevent["requests"] > 0, on_gevent
    assert on_gevent["failures"] >= 0.9 * on_gevent["requests"], on_gevent  # refused
    (why, count), *_ = on_gevent["server_errors"]  # the server's log says why
    assert why.startswith(f"RuntimeError: {REFUSED}") and count > 0, on_gevent
    assert why in (run / "summary.md").read_text()
    # the default run leaves the pair out, with that refusal as its reason
    quick = build_plan(load_matrix(), Choices(servers=("gunicorn-gevent",),
                                              scenarios=("weather",)))
    assert {c.flavor for c in quick.cells} == {"sync"}, [c.path for c in quick.cells]
    assert any(REFUSED in reason for reason in quick.skipped), quick.skipped
    # the ways side by side: processes and greenlets both measured weather's sync view
    assert "the ways side by side" in done.out and "greenlets" in done.out


def test_postgresql_queries_yield_to_other_greenlets(results):
    """psycopg 3 (>= 3.1.14) waits on its socket through gevent's patched select when
    the worker monkey-patched it: a query does not block the other greenlets. The
    queries story's sync view runs three 50 ms `pg_sleep`s in a row; with 20 users on
    2 sync workers a request queues behind ~10 others, on gevent it does not queue."""
    require(have_postgres(), "PostgreSQL's server binaries are not installed")
    done = loadlab("bench", "--db", "postgres", "--profile", "smoke",
                   "--servers", "gunicorn-sync,gunicorn-gevent", "--scenarios", "queries",
                   "--flavors", "sync", "--users", "20", "--duration", "2", "--warmup", "0.5",
                   "--results", str(results), "--quiet")
    assert done.code == 0, done.err
    cells = {c["server"]: c for c in read_json(only_run(results) / "summary.json")["cells"]}
    sync, gevent = cells["gunicorn-sync"], cells["gunicorn-gevent"]
    for c in (sync, gevent):
        assert c["status"] == "ok" and c["failures"] == 0, c
    assert gevent["latency_ms"]["p50"] >= 3 * 50  # physics: three sleeps in a row
    assert sync["latency_ms"]["p50"] >= 4 * gevent["latency_ms"]["p50"], (sync, gevent)
