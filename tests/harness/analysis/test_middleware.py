"""The middleware stacks' cost: cells that differ only in their stack, set beside the
baseline, with CPU per request as the cost (pure logic)."""

from __future__ import annotations

from scripts.analysis.middleware import cpu_us_per_request, stack_sets
from scripts.archive.records import CellRecord
from scripts.cells import CellKey
from scripts.render import middleware as render


def cell(stack: str | None, rps: float, cpu: float | None, trial: int = 1,
         server: str = "uvicorn", flavor: str = "sync", status: str = "ok") -> CellRecord:
    return CellRecord(server=server, interface="asgi", scenario="hello", flavor=flavor,
                      client=None, users=20, trial=trial, rps=rps, server_cpu_pct=cpu,
                      latency_ms={"p50": 20 / rps * 1000 if rps else 0.0}, middleware=stack,
                      status=status)


def test_cpu_per_request_is_the_servers_cpu_share_over_the_rate():
    assert cpu_us_per_request(cell(None, rps=2000.0, cpu=100.0)) == 500.0
    assert cpu_us_per_request(cell(None, rps=0.0, cpu=100.0)) is None
    assert cpu_us_per_request(cell(None, rps=10.0, cpu=None)) is None


def test_each_stack_beside_the_baseline_with_its_extra_microseconds():
    records = [
        cell("default", 1600.0, 100.0), cell(None, 2000.0, 100.0),
        cell("default+sync-only", 1000.0, 100.0),
        cell("default", 1500.0, 99.0, trial=2), cell(None, 2100.0, 100.0, trial=2),
        cell("default+sync-only", 1100.0, 101.0, trial=2),
        cell(None, 900.0, 50.0, flavor="async"),  # one stack only: nothing to compare
    ]
    (found,) = stack_sets(records)
    assert found.key == CellKey("uvicorn", "hello", "sync", None, 20)
    assert [c.stack for c in found.costs] == ["none", "default", "default+sync-only"]
    none, default, sync_only = found.costs
    assert none.extra_us is None and none.vs_baseline is None
    assert round(none.cpu_us, 6) == round((500 + 1e6 / 2100) / 2, 6)  # median of two
    assert default.rps == 1550.0 and round(default.vs_baseline, 3) == round(1550 / 2050, 3)
    assert round(default.extra_us) == round(default.cpu_us - none.cpu_us) > 100
    assert sync_only.extra_us > default.extra_us


def test_a_set_without_the_baseline_has_no_extra_and_the_table_says_so():
    (found,) = stack_sets([cell("default", 1600.0, 100.0),
                           cell("default+sync-only", 1000.0, 100.0)])
    assert [c.extra_us for c in found.costs] == [None, None]
    text = render.text([found])
    assert "uvicorn hello/sync mw=default u20" not in text  # the key without its stack
    assert "uvicorn hello/sync u20" in text and "default+sync-only" in text
    assert render.markdown([found]).startswith("## Middleware:")
    assert render.text([]) == render.markdown([]) == ""


def test_a_failed_trial_is_flagged_not_folded_in():
    (found,) = stack_sets([cell(None, 2000.0, 100.0), cell("default", 1600.0, 100.0),
                           cell("default", 10.0, 100.0, trial=2, status="failed")])
    default = found.costs[1]
    assert default.rps == 1600.0 and "failed 1/2" in default.flags


def test_the_verdict_names_each_rows_stack():
    """A run over three stacks has three rows per flavor: each must say which it is."""
    from scripts.render.verdict import markdown

    records = [cell(None, 2000.0, 100.0), cell("default", 1600.0, 100.0),
               cell("default+sync-only", 1000.0, 100.0)]
    text = markdown({"profile": {"name": "middleware"}}, records)
    rows = [line for line in text.splitlines() if line.startswith("| hello | uvicorn |")]
    assert [row.split("|")[3].strip() for row in rows] == [
        "sync", "sync mw=default", "sync mw=default+sync-only"]
