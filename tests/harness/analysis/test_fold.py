"""analysis/fold.py: trials -> one value per metric, the median over the ok trials."""

from __future__ import annotations

import pytest

from scripts.analysis.fold import METRICS, fold, median, metric_value
from scripts.archive.records import CellRecord


def trial(rps=100.0, p95=20.0, status="ok", warnings=(), cpu=None, requests=1000,
          failures=0, error=None, trial=1) -> CellRecord:
    return CellRecord(server="uvicorn", interface="asgi", scenario="hello", flavor="sync",
                      client=None, users=10, trial=trial, status=status, rps=rps,
                      latency_ms={"p50": p95 / 2, "p95": p95, "p99": p95 * 1.5},
                      warnings=list(warnings), server_cpu_pct=cpu, requests=requests,
                      failures=failures, error=error)


def test_the_median_not_the_mean():
    folded = fold([trial(rps=100.0, p95=30.0), trial(rps=110.0, p95=10.0),
                   trial(rps=300.0, p95=20.0)])
    assert folded.values["rps"] == 110.0  # the mean would be 170
    assert folded.values["p95"] == 20.0
    assert folded.values["p50"] == 10.0 and folded.values["p99"] == 30.0
    assert set(folded.values) == set(METRICS)


def test_two_trials_fold_to_their_mean_and_one_to_itself():
    assert fold([trial(rps=100.0), trial(rps=120.0)]).values["rps"] == 110.0
    assert fold([trial(rps=42.0)]).values["rps"] == 42.0


def test_failed_trials_give_no_values():
    folded = fold([trial(rps=100.0), trial(rps=0.0, status="failed", p95=9999.0),
                   trial(rps=120.0)])
    assert folded.values["rps"] == 110.0  # not the median of 0, 100, 120
    assert folded.values["p95"] == 20.0
    assert folded.trials == 3 and folded.failed_trials == 1 and not folded.failed


def test_one_failed_trial_of_one_is_failed():
    folded = fold([trial(status="failed", error="server exited with code 1")])
    assert folded.flags == ["failed"]
    assert folded.failed and folded.values == dict.fromkeys(METRICS)
    assert folded.error == "server exited with code 1"


def test_failed_trials_of_several_say_how_many():
    folded = fold([trial(), trial(status="failed"), trial()])
    assert folded.flags == ["failed 1/3"] and not folded.failed
    all_failed = fold([trial(status="failed"), trial(status="failed")])
    assert all_failed.flags == ["failed 2/2"] and all_failed.failed


def test_warnings_first_seen_order_without_duplicates_then_failure():
    folded = fold([trial(warnings=["generator-hot", "few-requests"]),
                   trial(warnings=["few-requests", "upstream-hot"], status="failed"),
                   trial(warnings=["generator-hot", "high-failure-ratio"])])
    assert folded.flags == ["generator-hot", "few-requests", "upstream-hot",
                            "high-failure-ratio", "failed 1/3"]
    assert folded.warnings == folded.flags[:-1]


def test_requests_and_failure_ratio_over_the_ok_trials():
    folded = fold([trial(requests=1000, failures=10), trial(requests=3000, failures=50),
                   trial(requests=7, failures=7, status="failed")])
    assert folded.requests == 4000 and folded.failures == 60
    assert folded.failure_ratio == pytest.approx(60 / 4000)
    assert fold([trial(status="failed", requests=0)]).failure_ratio == 0.0


def test_cpu_is_the_median_of_the_trials_that_have_it():
    assert fold([trial(cpu=50.0), trial(cpu=90.0), trial(cpu=60.0)]).cpu_pct == 60.0
    assert fold([trial(cpu=None), trial(cpu=80.0)]).cpu_pct == 80.0
    assert fold([trial(cpu=None)]).cpu_pct is None
    assert fold([trial(cpu=10.0), trial(cpu=99.0, status="failed")]).cpu_pct == 10.0


def test_the_first_error_is_kept():
    folded = fold([trial(), trial(status="failed", error="first"),
                   trial(status="failed", error="second")])
    assert folded.error == "first"


def test_no_trials_fold_to_nothing():
    folded = fold([])
    assert folded.trials == 0 and not folded.failed and folded.flags == []
    assert folded.values == dict.fromkeys(METRICS)


def test_a_missing_percentile_is_none_not_zero():
    cell = trial()
    cell.latency_ms = {}
    assert metric_value(cell, "p95") is None and metric_value(cell, "rps") == 100.0
    assert fold([cell, trial(p95=40.0)]).values["p95"] == 40.0


def test_median_skips_missing_values():
    assert median([None, 3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None and median([]) is None
