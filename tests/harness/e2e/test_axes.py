"""The middleware axis, for real: a bench with two stacks on an ASGI server measures
each cell under its own stack, keys and labels them apart, and sets their cost side by
side (summary.md, summary.json)."""

from __future__ import annotations

from ..conftest import loadlab, only_run, read_json


def test_two_middleware_stacks_are_two_cells_and_their_cost_is_set_side_by_side(results):
    """An async view under uvicorn with a sync-only middleware in its stack: Django
    runs that middleware in a thread (sync_to_async) and the view back on the loop
    (async_to_sync), for every request: two thread hops the none stack does not make.
    Measured: 777 against 1,077 us of server CPU per request (+39 %), so the sign of
    the difference tells the stacks apart with room to spare. (Thread counts do not:
    Django's ASGI handler already sends its request signals through a thread per
    request in flight, 17 threads at 8 users with no middleware at all.)"""
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn",
                   "--scenarios", "hello", "--flavors", "async",
                   "--middleware", "none,default+sync-only", "--users", "8",
                   "--duration", "2", "--warmup", "0.5", "--results", str(results), "--quiet")
    assert done.code == 0, done.err
    run = only_run(results)
    cells = {c["middleware"]: c for c in read_json(run / "summary.json")["cells"]}
    assert set(cells) == {None, "default+sync-only"}, cells
    base, adapted = cells[None], cells["default+sync-only"]
    assert adapted["path"] == "cells/uvicorn/hello-async-mw-default+sync-only-u8-t1"
    assert base["failures"] == adapted["failures"] == 0
    cpu_us = {k: c["server_cpu_pct"] / 100 * 1e6 / c["rps"] for k, c in cells.items()}
    assert cpu_us["default+sync-only"] > cpu_us[None], cpu_us
    summary = (run / "summary.md").read_text()
    assert "## Middleware:" in summary and "| default+sync-only |" in summary
    manifest = read_json(run / "manifest.json")
    assert manifest["app"]["env"]["LOADLAB_MIDDLEWARE"] == "<cell middleware>"
    assert manifest["profile"]["middleware"] == ["none", "default+sync-only"]
