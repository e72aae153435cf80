"""The held-capacity search and what it reports, against answers given by an oracle."""

from __future__ import annotations

import pytest

from scripts.analysis.held import (
    MAX_HELD,
    HeldObjective,
    HeldSearch,
    neighbour_points,
    physics,
    result,
    rss_per_connection_kb,
)
from scripts.archive.records import CellRecord, neighbour_rows
from scripts.config import load_matrix

MATRIX = load_matrix(None)


def _search(spec_name: str, holds: int) -> HeldSearch:
    search = HeldSearch.for_server(MATRIX.servers[spec_name])
    while (users := search.next_users()) is not None:
        search.record(users, users <= holds)
    return search


@pytest.mark.parametrize(("server", "holds"), [
    ("gunicorn-sync", 2), ("gunicorn-sync", 5), ("gunicorn-sync", 1),
    ("gunicorn-gthread", 50), ("gunicorn-gthread", 37), ("uvicorn", 300),
    ("uvicorn", 3)])
def test_the_search_ends_on_the_answer_with_both_sides_measured(server, holds):
    search = _search(server, holds)
    lo, hi = search.bracket
    assert lo is not None and lo <= holds < hi
    assert hi - lo <= max(1, int(lo * 0.1))  # one connection, or 10 % of many
    assert (lo, True) in search.steps and (hi, False) in search.steps


def test_a_finite_server_starts_at_its_physics():
    assert physics(MATRIX.servers["gunicorn-sync"]) == 2
    assert physics(MATRIX.servers["gunicorn-gthread"]) == 50
    assert physics(MATRIX.servers["uvicorn"]) is None
    assert _search("gunicorn-sync", 2).steps[:3] == [(2, True), (4, False), (3, False)]


def test_nothing_held_and_the_ceiling_end_the_search():
    assert _search("gunicorn-sync", 0).bracket == (None, 1)
    assert _search("uvicorn", 10_000).bracket == (MAX_HELD, None)


def _record(users: int, p95: float, rss: float, lag: float | None = None,
            neighbours: int = 0, **kw) -> CellRecord:
    return CellRecord(server="gunicorn-sync", interface="wsgi", scenario="stream",
                      flavor="sync", client=None, users=users, trial=1, requests=10,
                      latency_ms={"p95": p95}, server_rss_mb=rss, neighbours=neighbours,
                      held={"lag_ms": {"p95": lag}} if lag is not None else {}, **kw)


def test_the_objective_names_each_miss():
    objective = HeldObjective(300, 300)
    assert objective.misses(_record(2, 10, 50, lag=5)) == []
    assert objective.misses(_record(3, 411, 50, lag=420)) == [
        "p95 411 ms > 300 ms", "event lag p95 420 ms > 300 ms"]
    assert objective.misses(_record(3, 10, 50, failures=5)) == ["failures 50.0% > 1%"]


def test_memory_per_connection_is_the_slope_over_the_steps():
    objective = HeldObjective(300, 300)
    steps = [_record(n, 1, 40 + n * 0.25) for n in (2, 4, 8)]
    assert rss_per_connection_kb(steps, objective) == pytest.approx(256, abs=0.5)
    assert rss_per_connection_kb(steps[:1], objective) is None  # one count says nothing
    failed = [*steps[:2], _record(8, 900, 10)]  # a step past the objective is left out
    assert rss_per_connection_kb(failed, objective) == pytest.approx(256, abs=0.5)
    flat = [_record(n, 1, 40 - n * 0.01) for n in (2, 4)]  # workers hold their own
    assert rss_per_connection_kb(flat, objective) is None


def test_the_result_carries_held_connections_physics_and_memory():
    search = _search("gunicorn-sync", 2)
    records = [_record(n, 10 if ok else 900, 40 + n) for n, ok in search.steps]
    out = result(MATRIX.servers["gunicorn-sync"], {"server": "gunicorn-sync"},
                 HeldObjective(300, 300), search, records)
    assert (out["held_connections"], out["bracket"], out["physics"]) == (2, [2, 3], 2)
    assert out["rss_per_connection_kb"] is None  # one count held: no slope
    assert out["limit"] == "p95 900 ms > 300 ms" and out["converged"]


def test_the_neighbour_is_measured_at_none_and_the_physics_or_the_capacity():
    assert neighbour_points(MATRIX.servers["gunicorn-sync"], 2) == [0, 2, 4]
    assert neighbour_points(MATRIX.servers["uvicorn"], 300) == [0, 150, 300]


def test_neighbour_rows_set_each_held_count_beside_none_held():
    def cell(held, p95, rps):
        return _record(held, 1, 40, neighbours=2, neighbour={
            "users": 2, "path": "/hello/sync/", "rps": rps, "failures": 0,
            "latency_ms": {"p95": p95}})
    rows = neighbour_rows([cell(0, 20, 150), cell(2, 2000, 1)])
    assert [(r["held"], r["p95_ms"], r["rps"], r["baseline_p95_ms"], r["baseline_rps"])
            for r in rows] == [(0, 20, 150, 20, 150), (2, 2000, 1, 20, 150)]
