"""analysis/thresholds.py: a run's cells (and a capacity run's results) held to their
scenarios' thresholds, and two runs held to a regression gate. Records are built as
the other analysis tests build them (runfactory): a test knows the truth it checks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from scripts import cli
from scripts.analysis.compare import between
from scripts.analysis.thresholds import (
    check_between,
    check_run,
    failures,
    judged,
)
from scripts.archive.folder import load_run
from scripts.config.thresholds import Thresholds
from scripts.errors import EXIT_GATE
from scripts.render.thresholds import markdown, said
from tests.harness.runfactory import Spec, make_cells, make_run

# hello at p95 20 ms everywhere; sleep twice as slow on uvicorn
SPEC = Spec(shift=lambda key: 0.5 if key[:2] == ("uvicorn", "sleep") else 1.0)


def p95(cells, server, scenario, flavor):
    return next(c.latency_ms["p95"] for c in cells
                if (c.server, c.scenario, c.flavor) == (server, scenario, flavor))


def test_p95_fails_exactly_the_cells_over_it() -> None:
    cells = make_cells(SPEC, seed=1)
    limit = 30.0  # between hello's ~20 ms and uvicorn sleep's ~40 ms
    checks = check_run(cells, None, {"sleep": Thresholds(p95_ms=limit),
                                     "hello": Thresholds(p95_ms=limit)})
    assert len(checks) == len({c.key for c in cells}) == 8
    failed = [c for c in checks if not c.ok]
    assert {(c.cell, c.threshold) for c in failed} == {
        ("uvicorn sleep/sync u10", "p95_ms"), ("uvicorn sleep/async u10", "p95_ms")}
    measured = p95(cells, "uvicorn", "sleep", "async")
    assert any(c.measured == measured and c.limit == limit for c in failed)
    assert f"THRESHOLD uvicorn sleep/async u10: p95 {measured:.1f} ms > 30 ms" in failures(
        judged(cells, None, {"sleep": Thresholds(p95_ms=limit)}))


def test_only_the_gated_scenarios_and_measured_cells_are_judged() -> None:
    """No thresholds: nothing to judge. A cell that could not be measured is the run's
    status to say (exit 1), not a threshold's."""
    cells = make_cells(replace(SPEC, failed=lambda key: key[2] == "async"), seed=1)
    assert judged(cells, None, {}) is None
    checks = check_run(cells, None, {"sleep": Thresholds(p95_ms=1000.0)})
    assert {c.cell for c in checks} == {"gunicorn-sync sleep/sync u10", "uvicorn sleep/sync u10"}
    assert all(c.ok for c in checks)


def test_trials_are_folded_by_their_median() -> None:
    """Three trials at p95 10, 50 and 12 ms: the median 12 holds a 15 ms threshold where
    a mean (24) or the worst (50) would not."""
    spec = Spec(servers=("uvicorn",), scenarios={"hello": ("sync",)}, trials=3)
    cells = make_cells(spec, seed=1)
    for cell, value in zip(cells, (10.0, 50.0, 12.0), strict=True):
        cell.latency_ms["p95"] = value
    (check,) = check_run(cells, None, {"hello": Thresholds(p95_ms=15.0)})
    assert check.ok and check.measured == 12.0


def test_failure_ratio_over_the_measured_requests() -> None:
    spec = Spec(servers=("uvicorn",), scenarios={"hello": ("sync", "async")})
    cells = make_cells(spec, seed=1)
    cells[1].failures = cells[1].requests // 10  # async: 10 % failed
    checks = check_run(cells, None, {"hello": Thresholds(failure_ratio=0.05)})
    assert [(c.cell, c.ok) for c in checks] == [("uvicorn hello/sync u10", True),
                                                ("uvicorn hello/async u10", False)]
    assert failures({"checks": [c.describe() for c in checks]}) == [
        f"THRESHOLD uvicorn hello/async u10: failure ratio {checks[1].measured:.4f} > 0.05"]


CAPACITY = [
    {"server": "uvicorn", "scenario": "weather", "flavor": "async", "client": "httpx",
     "middleware": None, "connections": None, "capacity_rps": 120.0},
    {"server": "gunicorn-sync", "scenario": "weather", "flavor": "sync", "client": "httpx",
     "middleware": None, "connections": None, "capacity_rps": 7.5},
    {"server": "uvicorn", "scenario": "stream", "flavor": "async", "client": None,
     "held_connections": 512},  # a held story: connections, not a rate
]


def test_a_capacity_run_is_judged_on_capacity_alone() -> None:
    """Its search steps overload the server on purpose: their p95 gates nothing."""
    cells = make_cells(SPEC, seed=1)
    gates = {"weather": Thresholds(min_capacity_rps=50.0, p95_ms=0.001),
             "stream": Thresholds(min_capacity_rps=1.0), "hello": Thresholds(p95_ms=0.001)}
    checks = check_run(cells, CAPACITY, gates)
    assert [(c.cell, c.threshold, c.measured, c.ok) for c in checks] == [
        ("uvicorn weather/async [httpx]", "min_capacity_rps", 120.0, True),
        ("gunicorn-sync weather/sync [httpx]", "min_capacity_rps", 7.5, False)]
    assert checks[1].line == ("THRESHOLD gunicorn-sync weather/sync [httpx]: capacity 7.5 rps"
                              " < 50 rps")
    assert check_run(cells, CAPACITY, {"hello": Thresholds(min_capacity_rps=1.0)}) == []


def test_summary_lines_and_markdown_say_each_check() -> None:
    cells = make_cells(SPEC, seed=1)
    record = judged(cells, None, {"sleep": Thresholds(p95_ms=30.0)})
    assert record is not None and record["set"] == {"sleep": {"p95_ms": 30.0}}
    lines = said("bench", record)
    assert lines[0] == ("loadlab bench: 2 of 4 threshold check(s) failed (summary.json's"
                        " `thresholds` has each):")
    assert lines[1:] == [f"  {line}" for line in failures(record)]
    assert said("bench", judged(cells, None, {"sleep": Thresholds(p95_ms=1e6)})) == [
        "loadlab bench: all 4 threshold check(s) held"]
    text = markdown(record)
    assert "## Thresholds" in text and text.count("**FAIL**") == 2 and text.count("| pass |") == 2
    assert "nothing here to hold them to" in markdown(
        judged(cells, None, {"sleep": Thresholds(min_capacity_rps=1.0)}))


def slower_uvicorn_sleep(key: tuple) -> float:
    return 0.7 if key[:2] == ("uvicorn", "sleep") else 1.0


def test_regressions_beyond_each_scenario_s_own_percent(tmp_path: Path) -> None:
    """uvicorn's sleep lost 30 % of its rps in B: called beyond a 10 % gate, not beyond a
    50 % one; hello, unchanged, is never called; a scenario without its own percent
    takes the default, and with neither it is not gated."""
    a = load_run(make_run(tmp_path, "A", Spec(), seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(shift=slower_uvicorn_sleep), seed=2))
    comparison = between(a, b)
    ten = check_between(comparison, {"sleep": Thresholds(max_regression_pct=10.0)})
    assert len(ten) == 2 and all(line.startswith("REGRESSION uvicorn sleep/") for line in ten)
    assert ten[0].endswith(", significantly worse, beyond 10%") and " rps -" in ten[0]
    assert check_between(comparison, {"sleep": Thresholds(max_regression_pct=50.0)}) == []
    assert check_between(comparison, {}) == []
    assert check_between(comparison, {}, default_pct=10.0) == ten
    assert check_between(comparison, {"sleep": Thresholds(max_regression_pct=50.0)},
                         default_pct=10.0) == []  # the scenario's own percent wins
    assert len(check_between(comparison, {"sleep": Thresholds(max_regression_pct=10.0)},
                             metric="p95")) == 2


def test_a_cell_that_failed_only_in_b_fails_the_gate(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path, "A", Spec(), seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(failed=lambda key: key[:3] == (
        "uvicorn", "hello", "async")), seed=2))
    lines = check_between(between(a, b), {"hello": Thresholds(max_regression_pct=10.0)})
    assert lines == ["REGRESSION uvicorn hello/async u10: failed in B, measured in A"]


def test_compare_gates_on_what_b_was_run_with(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """compare --fail-on-regression 10 on uvicorn sleep's -30 %: exit 3 (EXIT_GATE, not
    1) naming its rows; with B's recorded max_regression_pct of 50 for sleep, exit 0."""
    a = make_run(tmp_path, "A", Spec(), seed=1)
    b = make_run(tmp_path, "B", Spec(shift=slower_uvicorn_sleep), seed=2)
    argv = ["compare", str(a), str(b), "--fail-on-regression", "10"]
    assert cli.main(argv) == EXIT_GATE
    err = capsys.readouterr().err
    assert err.count("  REGRESSION uvicorn sleep/") == 2, err
    summary = json.loads((b / "summary.json").read_text())
    summary["thresholds"] = {"set": {"sleep": {"max_regression_pct": 50}}, "checks": []}
    (b / "summary.json").write_text(json.dumps(summary))
    assert cli.main(argv) == 0
    assert ("no rps regression beyond 10% (or its scenario's max_regression_pct)"
            in capsys.readouterr().err)
