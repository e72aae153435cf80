"""The noise floor from A/A, and what a known slowdown shows at it (synthetic runs)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scripts.analysis import stats
from scripts.analysis.calibration import MIN_FLOOR, calibrate, floor_for, noise_bound
from scripts.archive import calibration as calibration_file
from scripts.archive.folder import load_run
from scripts.errors import CalibrationFailed
from tests.harness.runfactory import Spec, make_run

SCENARIOS = {"weather": ("sync", "async"), "sleep": ("sync", "async")}


def slower_upstream(key: tuple) -> float:
    """weather calls the upstream: 25 % slower; sleep does not: unchanged."""
    return 0.8 if key[1] == "weather" else 1.0


def spec(**kw) -> Spec:
    """Servers with CPU to spare: a slower upstream moves their throughput too."""
    return Spec(scenarios=SCENARIOS, clients={"weather": ("httpx",)}, sd=40.0, p95_sd=0.6,
                cpu_pct=50.0, **kw)


@pytest.fixture
def runs(tmp_path: Path):
    a = load_run(make_run(tmp_path, "a", spec(), seed=1))
    a2 = load_run(make_run(tmp_path, "a2", spec(), seed=2))
    slow = load_run(make_run(tmp_path, "slow", spec(shift=slower_upstream), seed=3))
    return a, a2, slow


def test_floors_come_from_the_aa_differences_and_the_slowdown_is_seen(runs) -> None:
    result = calibrate(*runs, slowdown_pct=25)
    # A/A rows differ by a few % at most: each floor sits there, never under MIN_FLOOR
    for metric, floor in result.floors.items():
        biggest = max(result.aa_deltas[metric]) / 100
        assert MIN_FLOOR <= floor <= max(MIN_FLOOR, biggest) + 1e-9, (metric, floor)
        assert floor < 0.10
    assert result.false_calls.of == 8 * 4 and result.false_calls.rate <= 0.05
    # weather's 4 rows (2 servers x 2 flavors) move 25 %: called on every metric
    for metric, calls in result.detected.items():
        assert calls.of == 4 and calls.called == 4, (metric, calls)
    assert result.unaffected_called.of == 4 * 4 and result.unaffected_called.called == 0


def test_compare_uses_the_floor_of_its_results_folder_and_profile(runs, tmp_path) -> None:
    a = runs[0]
    # uncalibrated: the lab's A/A floors for rows with CPU to spare, the default 15 %
    # for saturated ones (which between runs are not called at all: analysis/trust.py)
    assumed = floor_for(a)
    assert assumed.source == stats.ASSUMED and not assumed.calibrated
    assert assumed.of("rps") == 0.05 and assumed.of("p95") == 0.10
    assert assumed.of("rps", saturated=True) == 0.15
    result = calibrate(*runs, slowdown_pct=25)
    calibration_file.write(tmp_path, result.to_json("2026-12-02T10:00:00+00:00", {}))
    floor = floor_for(a)
    assert "measured by loadlab calibrate" in floor.source and floor.calibrated
    assert floor.of("p99") == pytest.approx(result.floors["p99"], abs=1e-4)
    assert "noise floor" in stats.describe_method(floor) or floor.short in stats.describe_method(
        floor)
    # measured at another profile: not used, and the reason is said
    data = json.loads(calibration_file.path(tmp_path).read_text())
    calibration_file.write(tmp_path, {**data, "profile": "full"})
    other = floor_for(a)
    assert other.of("rps") == 0.05 and "profile full" in other.source and not other.calibrated


def test_an_unreadable_calibration_file_falls_back_to_the_default(runs, tmp_path) -> None:
    calibration_file.path(tmp_path).write_text("{not json")
    assert floor_for(runs[0]).source == stats.ASSUMED
    calibration_file.path(tmp_path).write_text(json.dumps({"profile": "smoke",
                                                           "floors": {"rps": "x"}}))
    assert "unreadable" in floor_for(runs[0]).source


def test_saturated_rows_get_their_own_floor_and_are_not_expected_to_move(
        tmp_path: Path) -> None:
    """At 95 % CPU a server's throughput is its CPU's and its latency its queue's: such
    rows swing far more between identical runs (here: 4x the noise), get a floor of
    their own, and a slower upstream is not a change calibrate expects them to show."""
    busy = {"scenarios": SCENARIOS, "clients": {"weather": ("httpx",)}, "cpu_pct": 95.0,
            "sd": 160.0, "p95_sd": 2.4}
    runs = [load_run(make_run(tmp_path, name, Spec(**busy, **kw), seed=seed))
            for name, kw, seed in (("a", {}, 1), ("a2", {}, 2),
                                   ("slow", {"shift": slower_upstream}, 3))]
    result = calibrate(*runs, slowdown_pct=25)
    assert result.floors == {} and set(result.busy_floors) == {"rps", "p50", "p95", "p99"}
    assert all(calls.of == 0 for calls in result.detected.values())
    floor = result.floor
    assert floor.of("rps", saturated=True) == result.busy_floors["rps"]
    assert "saturated server" in floor.short


def test_a_floor_per_class_calls_a_quiet_row_a_noisy_floor_would_hide() -> None:
    floor = stats.Floor(0.3, (("rps", 0.04),), (("rps", 0.34),), "measured")
    assert floor.of("rps") == 0.04 and floor.of("rps", saturated=True) == 0.34
    assert floor.of("p99") == 0.3  # a metric without a measured floor: the default
    assert stats.saturated(95.0, 20.0) and stats.saturated(85.0, None)
    assert not stats.saturated(79.9, None)  # CPU to spare, as load-bound counts it


def test_one_noisy_row_does_not_set_the_floor_of_its_class() -> None:
    """Eight quiet rows (+-1..3 %) and one that moved 25 %: the floor is the quiet
    rows' spread, not the outlier (which the empirical 95th percentile would be)."""
    quiet = [0.01, -0.02, 0.03, -0.01, 0.02, -0.03, 0.015, -0.005]
    bound = noise_bound([math.log1p(d) for d in [*quiet, 0.25]])
    assert 0.03 < bound < 0.08, bound
    # a class of few rows has nothing to model: its largest difference is the floor
    assert noise_bound([math.log1p(0.02), math.log1p(-0.25)]) == pytest.approx(1 / 0.75 - 1)


def test_a_machine_that_moved_between_the_runs_fails_the_calibration(tmp_path) -> None:
    """A floor taken while the VM's neighbours slowed one run would be their noise: the
    reference workload 23 % slower in A2 ends calibrate with one line (exit 1)."""
    def timed(seconds: float) -> dict:
        return {"machine": {"start": {"seconds": seconds, "steal_pct": 0.0},
                            "end": {"seconds": seconds, "steal_pct": 0.0}}}
    a = load_run(make_run(tmp_path, "a", Spec(manifest=timed(0.0100)), seed=1))
    a2 = load_run(make_run(tmp_path, "a2", Spec(manifest=timed(0.0123)), seed=2))
    slow = load_run(make_run(tmp_path, "slow", Spec(manifest=timed(0.0100)), seed=3))
    with pytest.raises(CalibrationFailed, match="23% slower during B") as err:
        calibrate(a, a2, slow, slowdown_pct=20)
    assert "calibrate again" in str(err.value) and err.value.exit_code == 1
