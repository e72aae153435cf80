"""analysis/verdict.py: the end-of-run rows, each async flavor against its sync twin.

Expected ratios are worked out by hand from the numbers each test sets.
"""

from __future__ import annotations

from scripts.analysis.fold import fold
from scripts.analysis.verdict import rows
from scripts.archive.records import CellRecord
from scripts.cells import CellKey


def cell(server="uvicorn", scenario="weather", flavor="sync", client="httpx", users=20,
         rps=100.0, trial=1, status="ok", warnings=(), rate=None, p95=50.0) -> CellRecord:
    return CellRecord(server=server, interface="asgi", scenario=scenario, flavor=flavor,
                      client=client, users=users, trial=trial, status=status,
                      rps=rps if status == "ok" else 0.0, requests=1000, rate=rate,
                      latency_ms={"p95": p95} if status == "ok" else {},
                      warnings=list(warnings))


def by_key(records: list[CellRecord]) -> dict[CellKey, object]:
    return {r.key: r for r in rows(records)}


def test_vs_sync_is_against_the_same_server_client_and_users():
    records = [
        cell(flavor="sync", users=20, rps=100.0), cell(flavor="async", users=20, rps=150.0),
        cell(flavor="sync", users=100, rps=300.0), cell(flavor="async", users=100, rps=150.0),
        cell(server="gunicorn-sync", flavor="sync", users=20, rps=50.0),
        cell(server="gunicorn-sync", flavor="async", users=20, rps=10.0),
        cell(flavor="sync", client="httpx-per-call", users=20, rps=40.0),
        cell(flavor="async", client="httpx-per-call", users=20, rps=80.0),
    ]
    r = by_key(records)
    assert r[CellKey("uvicorn", "weather", "async", "httpx", 20)].vs_sync == 1.5
    assert r[CellKey("uvicorn", "weather", "async", "httpx", 100)].vs_sync == 0.5
    assert r[CellKey("gunicorn-sync", "weather", "async", "httpx", 20)].vs_sync == 0.2
    assert r[CellKey("uvicorn", "weather", "async", "httpx-per-call", 20)].vs_sync == 2.0
    assert all(row.vs_sync is None for k, row in r.items() if k.flavor == "sync")


def test_async_list_pairs_with_sync_list_and_others_with_sync():
    records = [cell(scenario="catalog", client=None, flavor=f, rps=rps) for f, rps in
               [("sync", 100.0), ("async", 120.0), ("sync-list", 50.0), ("async-list", 75.0)]]
    records += [cell(scenario="home", flavor=f, rps=rps) for f, rps in
                [("sync", 40.0), ("async-sequential", 30.0), ("async", 80.0)]]
    r = {(row.key.scenario, row.key.flavor): row.vs_sync for row in rows(records)}
    assert r[("catalog", "async")] == 1.2
    assert r[("catalog", "async-list")] == 1.5  # not 75 / 100
    assert r[("catalog", "sync-list")] is None
    assert r[("home", "async-sequential")] == 0.75 and r[("home", "async")] == 2.0


def test_a_client_without_a_sync_api_compares_with_any_clients_sync():
    records = [
        cell(flavor="sync", client="httpx", users=100, rps=400.0),  # other users: not this
        cell(flavor="sync", client="httpx", users=20, rps=100.0),
        cell(flavor="async", client="aiohttp", users=20, rps=250.0),
        cell(flavor="async", client="aiohttp", users=100, rps=200.0),
    ]
    r = by_key(records)
    assert r[CellKey("uvicorn", "weather", "async", "aiohttp", 20)].vs_sync == 2.5
    assert r[CellKey("uvicorn", "weather", "async", "aiohttp", 100)].vs_sync == 0.5


def test_no_sync_cell_no_ratio():
    r = rows([cell(flavor="async", client="aiohttp", rps=250.0),
              cell(server="gunicorn-sync", flavor="sync", rps=100.0)])
    assert [row.vs_sync for row in r] == [None, None]


def test_open_model_fallback_compares_at_the_same_rate():
    records = [cell(flavor="sync", client="httpx", rate=10.0, rps=10.0),
               cell(flavor="sync", client="httpx", rate=40.0, rps=40.0),
               cell(flavor="async", client="aiohttp", rate=40.0, rps=40.0)]
    r = by_key(records)
    assert r[CellKey("uvicorn", "weather", "async", "aiohttp", rate=40.0)].vs_sync == 1.0


def test_open_model_twins_pair_by_rate():
    records = [cell(flavor="sync", rate=10.0, rps=10.0), cell(flavor="sync", rate=40.0,
                                                              rps=32.0),
               cell(flavor="async", rate=40.0, rps=40.0)]
    assert by_key(records)[CellKey("uvicorn", "weather", "async", "httpx",
                                   rate=40.0)].vs_sync == 1.25


def test_a_failed_cell_has_no_numbers_and_says_failed():
    records = [cell(flavor="sync", status="failed"), cell(flavor="async", rps=150.0),
               cell(server="gunicorn-sync", flavor="sync", rps=100.0),
               cell(server="gunicorn-sync", flavor="async", status="failed")]
    r = by_key(records)
    failed_sync = r[CellKey("uvicorn", "weather", "sync", "httpx", 20)]
    assert failed_sync.rps is None and failed_sync.p95_ms is None
    assert failed_sync.vs_sync is None and "failed" in failed_sync.flags
    # an async cell whose sync twin failed has nothing to be compared with
    assert r[CellKey("uvicorn", "weather", "async", "httpx", 20)].vs_sync is None
    failed_async = r[CellKey("gunicorn-sync", "weather", "async", "httpx", 20)]
    assert failed_async.rps is None and failed_async.vs_sync is None
    assert failed_async.flags == ["failed"]


def test_rows_follow_the_literatures_stories_then_the_runs_server_order():
    """Stories in the literature's order (home before hello, though hello ran first);
    inside a story, servers in the order the run measured them."""
    records = [cell(scenario="hello", server="gunicorn-sync", client=None),
               cell(scenario="home", server="uvicorn"),
               cell(scenario="home", server="gunicorn-sync"),
               cell(scenario="hello", server="gunicorn-sync", client=None, flavor="async"),
               cell(scenario="home", server="uvicorn", flavor="async")]
    order = [(r.scenario, r.server, r.key.flavor) for r in rows(records)]
    assert order == [("home", "uvicorn", "sync"), ("home", "uvicorn", "async"),
                     ("home", "gunicorn-sync", "sync"),
                     ("hello", "gunicorn-sync", "sync"), ("hello", "gunicorn-sync", "async")]


def test_trials_fold_by_the_same_median_as_fold():
    async_trials = [cell(flavor="async", rps=v, trial=i, p95=p)
                    for i, (v, p) in enumerate([(100.0, 80.0), (110.0, 60.0), (300.0, 70.0)],
                                               start=1)]
    sync_trials = [cell(flavor="sync", rps=v, trial=i)
                   for i, v in enumerate([50.0, 500.0, 55.0], start=1)]
    r = by_key(sync_trials + async_trials)
    row = r[CellKey("uvicorn", "weather", "async", "httpx", 20)]
    assert row.rps == fold(async_trials).values["rps"] == 110.0
    assert row.p95_ms == fold(async_trials).values["p95"] == 70.0
    assert row.trials == 3
    assert row.vs_sync == 110.0 / 55.0  # medians on both sides


def test_a_partly_failed_cell_keeps_its_ok_trials_and_is_flagged():
    trials = [cell(rps=100.0, trial=1), cell(status="failed", trial=2),
              cell(rps=120.0, trial=3, warnings=["few-requests"])]
    (row,) = rows(trials)
    assert row.rps == 110.0
    assert row.flags == ["failed", "few-requests"]
