"""Servers as production runs them: each cell records its server's event loop (asked of
the running server) and HTTP parser, and the transport check flags a server whose
keep-alive answers wait for a delayed ACK.

uvicorn --workers 2 on asyncio pre-binds its socket without TCP_NODELAY (uvicorn issue
3149, see matrix.toml): sequential keep-alive requests then take ~40 ms each on loopback,
where the one-worker uvicorn answers in a millisecond or two. On uvloop (which sets
TCP_NODELAY itself) the same --workers 2 does not stall. The check must tell them apart.
"""

from __future__ import annotations

from scripts.load.transport import NAGLE_P50_MS

from ..conftest import loadlab, only_run, read_json


def test_each_cell_names_its_stack_and_the_nagle_stall_is_flagged(results):
    done = loadlab("bench", "--profile", "smoke",
                   "--servers", "uvicorn-h11,uvicorn-w2,uvicorn-h11-w2,gunicorn-gthread",
                   "--scenarios", "hello",
                   "--flavors", "sync", "--users", "1", "--duration", "1", "--warmup", "0",
                   "--results", str(results), "--quiet")
    assert done.code == 0, done.err
    cells = {c["server"]: c for c in read_json(only_run(results) / "summary.json")["cells"]}
    assert set(cells) == {"uvicorn-h11", "uvicorn-w2", "uvicorn-h11-w2", "gunicorn-gthread"}
    for c in cells.values():
        assert c["status"] == "ok" and c["transport_p50_ms"] is not None, c

    assert cells["uvicorn-w2"]["loop"].startswith("uvloop"), cells["uvicorn-w2"]["loop"]
    assert cells["uvicorn-w2"]["http"] == "httptools"
    assert cells["uvicorn-h11"]["loop"].startswith("asyncio"), cells["uvicorn-h11"]["loop"]
    assert cells["uvicorn-h11"]["http"] == "h11"
    assert cells["gunicorn-gthread"]["loop"] is None  # WSGI: no loop of the server's

    stalled, sound = cells["uvicorn-h11-w2"], cells["uvicorn-w2"]
    assert "nagle" in stalled["warnings"], stalled
    assert stalled["transport_p50_ms"] > NAGLE_P50_MS
    for name in ("uvicorn-h11", "uvicorn-w2", "gunicorn-gthread"):
        assert "nagle" not in cells[name]["warnings"], cells[name]
    # the same check, the same machine, two workers each: the loop makes the difference
    assert stalled["transport_p50_ms"] > 10 * sound["transport_p50_ms"], (stalled, sound)
