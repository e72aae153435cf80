"""collect.bounds: the closed-loop bounds of a cell and the load-bound flag, and the
verdict's warning when it compares a load-bound cell with one that is not."""

from __future__ import annotations

from scripts.analysis.verdict import rows
from scripts.archive.records import CellRecord
from scripts.config import Rules
from scripts.load.collect import bounds


def cell(flavor="sync", users=20, rps=380.0, cpu=30.0, **kw) -> CellRecord:
    return CellRecord(server="uvicorn", interface="asgi", scenario="sleep", flavor=flavor,
                      client=None, users=users, trial=1, rps=rps, server_cpu_pct=cpu,
                      requests=1000, **kw)


def test_users_over_r0_is_the_bound_and_a_cell_at_it_is_load_bound():
    r = cell(rps=370.0)
    bounds(r, unloaded_ms=50.0, service_ms=49.0, concurrency=None, rules=Rules())
    assert r.bound_users_rps == 400.0 and r.bound_concurrency_rps is None
    assert r.warnings == ["load-bound"]  # 370 >= 0.9 x 400 with the CPU at 30 %


def test_a_busy_server_or_a_slow_cell_is_not_load_bound():
    busy = cell(rps=390.0, cpu=97.0)
    bounds(busy, 50.0, 49.0, None, Rules())
    slow = cell(rps=200.0)
    bounds(slow, 50.0, 49.0, None, Rules())
    assert busy.warnings == [] and slow.warnings == []


def test_an_unknown_server_cpu_makes_no_load_bound_call():
    """A --target's CPU is not visible: at users / R0 it may be idle or saturated."""
    r = cell(rps=390.0, cpu=None)
    bounds(r, 50.0, 49.0, None, Rules())
    assert r.bound_users_rps == 400.0 and r.warnings == []


def test_the_server_concurrency_bound_binds_first():
    """2 sync workers, 50 ms views: C / S = 40 rps; 2 users: users / R0 = 38."""
    r = cell(users=2, rps=38.0, cpu=5.0)
    bounds(r, unloaded_ms=52.0, service_ms=50.0, concurrency=2, rules=Rules())
    assert r.bound_concurrency_rps == 40.0 and r.bound_users_rps == 38.5
    assert r.warnings == []  # the workers, not the users, are the limit


def test_open_model_cells_have_no_closed_loop_bounds():
    r = cell(rate=100.0)
    bounds(r, 50.0, 49.0, None, Rules())
    assert r.bound_users_rps is None and r.warnings == []


def test_the_verdict_marks_a_ratio_of_latency_to_capacity():
    sync = cell(rps=38.0, cpu=5.0, bound_users_rps=400.0, bound_concurrency_rps=40.0)
    async_ = cell(flavor="async", rps=380.0, cpu=20.0, warnings=["load-bound"],
                  bound_users_rps=400.0)
    by_flavor = {r.key.flavor: r for r in rows([sync, async_])}
    assert by_flavor["sync"].bound_rps == 40.0 and by_flavor["async"].bound_rps == 400.0
    assert by_flavor["async"].vs_sync == 10.0 and by_flavor["async"].mixed
    both = [cell(rps=100.0), cell(flavor="async", rps=120.0)]
    assert not any(r.mixed for r in rows(both))


def test_a_cell_that_beats_its_bound_beyond_noise_says_so():
    """Bounds of 80 rps (4 users / 50 ms) over a 2 s window: 86 is within the window's
    edge (2 rps) and the tolerance; 90 is not: R0 was not the unloaded time."""
    within = cell(users=4, rps=86.0, duration_s=2.0)
    bounds(within, unloaded_ms=50.0, service_ms=None, concurrency=None, rules=Rules())
    beaten = cell(users=4, rps=90.0, duration_s=2.0)
    bounds(beaten, unloaded_ms=50.0, service_ms=None, concurrency=None, rules=Rules())
    assert "bound-beaten" not in within.warnings
    assert beaten.warnings == ["load-bound", "bound-beaten"]


def test_the_server_concurrency_bound_can_be_beaten_too():
    """2 sync workers, S 285 ms (warm-up's cold answers in it): C / S = 7.0 rps; 9 rps
    over 2 s passes it by more than 2 slots' edge (1 rps) and 5 %."""
    r = cell(users=4, rps=9.0, duration_s=2.0, cpu=5.0)
    bounds(r, unloaded_ms=260.0, service_ms=285.0, concurrency=2, rules=Rules())
    assert r.bound_concurrency_rps == 7.0 and r.bound_users_rps == 15.4
    assert r.warnings == ["bound-beaten"]
    ok = cell(users=4, rps=8.0, duration_s=2.0, cpu=5.0)  # the smoke run's 8.0: the edge
    bounds(ok, unloaded_ms=260.0, service_ms=285.0, concurrency=2, rules=Rules())
    assert ok.warnings == []
