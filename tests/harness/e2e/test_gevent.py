"""The third way, for real: sync views on gunicorn's gevent worker beside its sync worker.

Weather's sync view makes five 50 ms upstream calls one after another. With 20 users,
gunicorn's 2 sync workers serve 2 requests at once, so a request waits for ~10 others:
about 20 / 2 x 5 latencies. On gevent the calls of different requests overlap (the
shared httpx.Client's sockets yield to the other greenlets): a request takes about five
latencies. Checked as a ratio of the two cells of one run, and against physics (no
request can beat five sequential calls). The async view runs on gevent too: its cell is
measured to the end, and whatever failed is named from the server's own log.
"""

from __future__ import annotations

from ..conftest import loadlab, only_run, read_json, require
from ..services.test_database import have_postgres

UPSTREAM_MS = 50  # matrix.toml's [upstream] latency_ms
CALLS = 5


def test_weather_sync_overlaps_on_gevent_and_async_is_measured(results):
    done = loadlab("bench", "--profile", "smoke", "--servers", "gunicorn-sync,gunicorn-gevent",
                   "--scenarios", "weather", "--users", "20", "--duration", "2",
                   "--warmup", "0.5", "--results", str(results))
    assert done.code == 0, done.err
    run = only_run(results)
    cells = {(c["server"], c["flavor"]): c for c in read_json(run / "summary.json")["cells"]}
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
    if on_gevent["failures"]:  # then the server said why, and the run shows it
        assert on_gevent["server_errors"], on_gevent
        assert on_gevent["server_errors"][0][0] in (run / "summary.md").read_text()
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
