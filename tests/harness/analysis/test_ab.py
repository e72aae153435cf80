"""ab's paired call (analysis/ab.py) on numbers whose truth is known: the paired t on
per-round log ratios, its false-call rate and power against the figures docs/ab.md
states, and the point of pairing: a drift that falls on both sides of each round
cancels, where an unpaired test on the same trials drowns in it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from scripts.analysis import ab, compare
from scripts.analysis.stats import Floor
from scripts.archive.folder import load_run
from scripts.archive.records import CellRecord

from ..runfactory import Spec, make_cells, make_run

FLOOR = Floor(0.05, source="given")


def test_paired_p_is_the_one_sample_t_on_the_logs():
    logs = [0.1, 0.15, 0.05, 0.2, 0.12]
    assert ab.paired_p(logs) == pytest.approx(scipy_stats.ttest_1samp(logs, 0).pvalue)


def test_identical_differences_have_no_spread():
    assert ab.paired_p([0.2, 0.2, 0.2]) == 0.0
    assert ab.paired_p([0.0, 0.0]) == 1.0
    assert ab.paired_p([0.3]) == 1.0  # one round: no test


def test_a_consistent_slowdown_is_called_and_one_below_the_floor_is_not():
    slower = ab.Pairs((1, 2, 3, 4), (100.0, 90.0, 110.0, 95.0), (80.0, 72.5, 88.0, 76.5))
    v = ab.paired_verdict(slower, floor=0.05)
    assert v.significant and v.delta_pct == pytest.approx(-19.7, abs=0.2)
    assert v.test == ab.PAIRED_T and v.level == ab.LEVEL_ROUNDS and v.n_a == 4
    tiny = ab.Pairs((1, 2, 3), (100.0, 100.0, 100.0), (98.0, 98.1, 97.9))
    v = ab.paired_verdict(tiny, floor=0.05)
    assert not v.significant and "noise floor" in v.reason
    v = ab.paired_verdict(ab.Pairs((1,), (100.0,), (50.0,)), floor=0.05)
    assert not v.significant and "too few rounds" in v.reason


def simulate(rounds: int, change: float, sd: float, n: int, seed: int = 1) -> float:
    """The share of n simulated ab rows called slower (base/head = `change`, per-round
    log noise `sd`, a common drift per round that both sides share)."""
    rng = np.random.default_rng(seed)
    called = 0
    for _ in range(n):
        drift = rng.normal(0, 0.3, rounds)  # a 30 % swing of the machine: both sides
        base = np.exp(drift + rng.normal(0, sd / math.sqrt(2), rounds)) * 100
        head = np.exp(drift + rng.normal(0, sd / math.sqrt(2), rounds)) * 100 * change
        v = ab.paired_verdict(ab.Pairs(tuple(range(rounds)), tuple(base), tuple(head)), 0.05)
        called += v.significant and v.ratio < 1
    return called / n


def test_with_nothing_changed_a_slower_call_stays_under_alpha_over_two():
    assert simulate(6, 1.0, 0.05, 2000) <= 0.025 + 0.01


def test_six_rounds_have_the_power_docs_ab_states():
    """docs/ab.md: at a per-round spread of 10 %, 6 rounds call a 20 % change with power
    0.94 (a 20 % rps drop is x0.8), and 4 rounds only 0.68."""
    assert simulate(6, 1 / 1.2, 0.10, 1000) == pytest.approx(0.94, abs=0.04)
    assert simulate(4, 1 / 1.2, 0.10, 1000) == pytest.approx(0.68, abs=0.05)


def drifting(root, name: str, change: float):
    """A side of six rounds whose level swings with the machine: x1.0, 0.7, 1.3, 0.8,
    1.2, 0.9 in rounds 1-6, the same swing on both sides; `change` on rps and latency."""
    cells = []
    for trial, level in enumerate((1.0, 0.7, 1.3, 0.8, 1.2, 0.9), 1):
        (cell,) = make_cells(Spec(servers=("uvicorn",), scenarios={"orders": ("sync",)},
                                  rps=1000 * level * change, sd=10,
                                  p95=20 / (level * change), p95_sd=0.2), seed=trial)
        cells.append(CellRecord.from_dict({**cell.to_dict(), "trial": trial,
                                           "path": cell.key.path(trial)}))
    return load_run(make_run(root, name, cells=cells))


def test_pairing_cancels_a_drift_that_an_unpaired_test_drowns_in(tmp_path):
    base, head = drifting(tmp_path, "base", 1.0), drifting(tmp_path, "head", 0.8)
    paired, evidence = ab.between_rounds(base, head, FLOOR)
    (row,) = paired.rows
    assert row.worse("rps") and row.worse("p95") and row.worse("p50")
    assert row.verdicts["rps"].delta_pct == pytest.approx(-20, abs=1.5)
    assert evidence[row.label]["rps"]["rounds"] == [1, 2, 3, 4, 5, 6]
    assert all(d == pytest.approx(-20, abs=3)
               for d in evidence[row.label]["rps"]["round_delta_pct"])
    unpaired = compare.between(base, head, FLOOR)  # Welch on the six trial values
    assert not unpaired.rows[0].verdicts["rps"].significant
    assert ab.slower(paired) == [(row, "rps"), (row, "p50"), (row, "p95")]
    assert ab.slower(paired, 30.0) == []  # rps -20 %, latency +25 %: under a 30 % gate
    data = ab.rows_json(paired, evidence)
    assert data[0]["metrics"]["rps"]["slower"] and data[0]["metrics"]["rps"]["p_value"] < 0.05


def test_a_round_where_a_side_was_stolen_is_no_pair():
    """Steal during one side only is the machine moving under that side, which the
    round cannot cancel: the pair is dropped, and too few pairs call nothing."""
    def cell(side: str, trial: int, rps: float, stolen: bool = False) -> CellRecord:
        return CellRecord(server="uvicorn", interface="asgi", scenario="hello",
                          flavor="sync", client=None, users=1, trial=trial, status="ok",
                          rps=rps, warnings=["stolen"] if stolen else [],
                          path=f"{side}/{trial}")
    base = [cell("a", 1, 100.0), cell("a", 2, 100.0), cell("a", 3, 100.0)]
    head = [cell("b", 1, 80.0), cell("b", 2, 60.0, stolen=True), cell("b", 3, 81.0)]
    found = ab.pairs(base, head, "rps")
    assert found.rounds == (1, 3) and found.head == (80.0, 81.0)
    head[0].warnings = ["stolen"]
    assert "too few rounds" in ab.paired_verdict(ab.pairs(base, head, "rps"), 0.05).reason
