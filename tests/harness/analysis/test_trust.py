"""The guards on run-to-run calls (analysis/trust.py), on synthetic runs whose truth
is known: a saturated row with one run a side, a stolen cell, a machine that moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.analysis import stats, trust
from scripts.analysis.compare import between, within
from scripts.archive.folder import load_run
from tests.harness.runfactory import Spec, make_run


def slower_uvicorn(key: tuple) -> float:
    return 0.7 if key[0] == "uvicorn" else 1.0


def reference(seconds: float, steal: float = 0.0) -> dict:
    return {"start": {"seconds": seconds, "steal_pct": steal, "repeats": 15, "loops": 1},
            "end": {"seconds": seconds, "steal_pct": steal, "repeats": 15, "loops": 1}}


def test_a_saturated_row_with_one_run_a_side_is_not_called_and_says_why(tmp_path: Path):
    busy = Spec(cpu_pct=95.0)
    a = load_run(make_run(tmp_path, "A", busy, seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(cpu_pct=95.0, shift=slower_uvicorn), seed=2))
    c = between(a, b)
    assert all(not v.significant for r in c.rows for v in r.verdicts.values())
    assert all(r.held == trust.NEEDS_TRIALS for r in c.rows)
    assert set(c.held) == {trust.NEEDS_TRIALS} and len(c.held[trust.NEEDS_TRIALS]) == len(c.rows)
    # the delta is still shown: the row says what it saw and why it does not call it
    uvicorn = [r for r in c.rows if r.key.server == "uvicorn"]
    assert all(r.delta("rps") < -20 for r in uvicorn)


def test_the_same_shift_with_cpu_to_spare_is_called(tmp_path: Path):
    a = load_run(make_run(tmp_path, "A", Spec(cpu_pct=50.0), seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(cpu_pct=50.0, shift=slower_uvicorn), seed=2))
    c = between(a, b)
    assert all(r.worse("rps") for r in c.rows if r.key.server == "uvicorn")
    assert not c.held


def test_trials_or_a_measured_floor_for_saturated_rows_lift_the_guard(tmp_path: Path):
    spec = Spec(cpu_pct=95.0, trials=3, trial_sd=0.02)
    a = load_run(make_run(tmp_path, "A", spec, seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(cpu_pct=95.0, trials=3, trial_sd=0.02,
                                              shift=slower_uvicorn), seed=2))
    assert all(r.worse("rps") for r in between(a, b).rows if r.key.server == "uvicorn")
    one_a = load_run(make_run(tmp_path, "A1", Spec(cpu_pct=95.0), seed=1))
    one_b = load_run(make_run(tmp_path, "B1", Spec(cpu_pct=95.0, shift=slower_uvicorn),
                              seed=2))
    calibrated = stats.Floor(0.15, (("rps", 0.05),), (("rps", 0.2),), "measured", True)
    c = between(one_a, one_b, calibrated)
    assert all(r.worse("rps") for r in c.rows if r.key.server == "uvicorn")


def test_a_stolen_side_is_not_called(tmp_path: Path):
    a = load_run(make_run(tmp_path, "A", Spec(cpu_pct=50.0), seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(
        cpu_pct=50.0, shift=slower_uvicorn,
        warnings=lambda key: ["stolen"] if key[0] == "uvicorn" else []), seed=2))
    c = between(a, b)
    for r in c.rows:
        if r.key.server == "uvicorn":
            assert not r.worse("rps") and "B ran with steal time" in r.held
        else:
            assert not r.held


def test_a_machine_that_moved_holds_every_row_and_says_how_much(tmp_path: Path):
    a = load_run(make_run(tmp_path, "A", Spec(cpu_pct=50.0, manifest={
        "machine": reference(0.0100)}), seed=1))
    b = load_run(make_run(tmp_path, "B", Spec(cpu_pct=50.0, shift=slower_uvicorn, manifest={
        "machine": reference(0.0123, steal=18.0)}), seed=2))
    c = between(a, b)
    assert not any(v.significant for r in c.rows for v in r.verdicts.values())
    [note] = [n for n in c.notes if n.startswith("the machine")]
    assert note.startswith("the machine was 23% slower during B than during A")
    assert "steal 18 %" in note
    assert not c.held  # every row held for one reason: a note, not a list


def test_a_machine_within_the_reference_noise_is_compared(tmp_path: Path):
    assert trust.machine_moved({"machine": reference(0.0100)},
                               {"machine": reference(0.0105)}) is None
    assert trust.machine_moved({}, {"machine": reference(0.02)}) is None  # an older run
    untimed = {"machine": {"start": None, "end": None}}  # the child could not time it
    assert trust.machine_moved(untimed, {"machine": reference(0.02)}) is None
    half = {"machine": {"start": None, "end": reference(0.0150)["start"]}}
    assert "50% slower during A" in trust.machine_moved(half, {"machine": reference(0.0100)})
    faster = trust.machine_moved({"machine": reference(0.0150)},
                                 {"machine": reference(0.0100)})
    assert faster is not None and "50% slower during A than during B" in faster


def test_samples_between_cells_outvote_a_start_in_a_slow_spell():
    """A's start fell in a slow spell (27 ms against 15): its mean read A 40 % slower
    and held every row; the median with the samples between its cells reads 15."""
    spell = {"start": {"seconds": 0.027, "steal_pct": 0.0}, "end": {"seconds": 0.015}}
    a = {"machine": {**spell, "during": {"seconds": [0.015, 0.0152, 0.0148, 0.015]}}}
    b = {"machine": reference(0.0150)}
    assert trust.machine_speed(a)["seconds"] == pytest.approx(0.015)
    assert trust.machine_moved(a, b) is None
    assert trust.machine_moved({"machine": spell}, b) is not None  # start and end alone
    slow = {"machine": {**spell, "during": {"seconds": [0.027, 0.028, 0.026]}}}
    assert "slower during A" in trust.machine_moved(slow, b)  # slow throughout: held


def test_within_one_run_the_guards_do_not_apply(tmp_path: Path):
    """Sync against async in one run ran minutes apart on one machine: a saturated
    server's 0.3x is called there as before."""
    run = load_run(make_run(tmp_path, "A", Spec(
        cpu_pct=95.0, shift=lambda key: 0.5 if key[2] == "async" else 1.0), seed=1))
    rows = [p.row for sc in within(run).scenarios for p in sc.sync_async]
    assert rows and all(r.verdicts["rps"].significant and not r.held for r in rows)


def test_between_runs_the_run_is_the_unit():
    """One run a side: the call is |difference| >= the floor, whatever the seconds' p
    says (5 seconds against 5 differ from nothing at p = 0.008); trial-level verdicts
    (3+ trials a side, Welch) are left as they were."""
    def seconds(delta_pct: float, p: float, level: str = stats.LEVEL_SECONDS):
        ratio = 1 + delta_pct / 100
        return stats.Verdict(ratio, delta_pct, p, p < 0.05, stats.PERMUTATION, level, 5, 5)
    called = trust.run_level(seconds(-8.0, p=0.30), floor=0.05)
    assert called.significant and called.test == trust.RUN_LEVEL and called.p_value == 0.30
    quiet = trust.run_level(seconds(+3.0, p=0.008), floor=0.05)
    assert not quiet.significant and "below the 5% run-to-run floor" in quiet.reason
    welch = seconds(-8.0, p=0.30, level=stats.LEVEL_TRIALS)
    assert trust.run_level(welch, floor=0.05) == welch
