"""When a call between two runs cannot be trusted: the row says why instead of calling.

A test on each run's seconds answers "do these two runs' seconds differ?". Between
two runs the honest question is "would another run differ?", and the seconds cannot
answer it: the level of a whole run moves (issue 26 measured one identical quick run
against another: 13 of 64 metric cells called, 30 of 64 an hour later, rps -20..-48 %
on 8 rows whose server got less of the VM). So between runs, three guards hold a call
back and name their reason:

1. The machine moved: the runs' reference workloads (proc/machine.py, timed at each
   run's start and end) differ by MACHINE_MOVED or more. No row is called; the note says
   how much slower and how much steal.
2. A side was `stolen`: the hypervisor took a few percent of its core during the cell.
3. A saturated side with one run's seconds only: such rows moved 20-100 % between
   identical runs; without trials (Welch on trial means sees run-to-run noise) or a
   calibrated floor for saturated rows, no difference there is evidence. The row says
   "needs --trials 3 or calibrate".

A row that passes them is called with the run as the unit (`run_level`): with one run
a side its difference must reach the floor, the difference identical runs exceed 1 time
in 20; the seconds' permutation test is not asked (issue 26's "p = 0.008" on 5 seconds
against 5 was the seconds differing, not the runs).

Within one run the cells ran minutes apart on the same machine: these guards are for
run-to-run claims (compare A B, ab's sides) only.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

from . import stats
from .rows import Row

# A run's two reference timings spread up to 13 % (six runs, 13.6-15.8 ms, 2026-12-06);
# the six runs' means within 9 % (14.4-15.7 ms)
MACHINE_MOVED = 0.15
RUN_LEVEL = "run as the unit: |difference| against the run-to-run floor"
RUN_LEVEL_METHOD = ("Between runs with fewer than 3 trials a side the run is the unit: a"
                    " difference is called when it reaches the floor, the seconds' test"
                    " is not asked.")
NEEDS_TRIALS = (f"saturated server, one run's seconds a side: needs --trials"
                f" {stats.MIN_TRIALS} or calibrate")


def machine_speed(manifest: dict[str, Any]) -> dict[str, float] | None:
    """The run's reference workload: the median seconds over its start and end timings
    and the samples between its cells (`during`, runs longer than proc/machine.py's
    SPREAD_EVERY_S), the most steal at start or end; None for a run recorded before
    they were kept, or one that could not time them."""
    machine = manifest.get("machine") or {}
    timed = [t for when, t in machine.items() if when != "during"
             and isinstance(t, dict) and t.get("seconds")]
    during = machine.get("during") or {}
    samples = [t["seconds"] for t in timed] + [s for s in during.get("seconds") or [] if s]
    if not samples:
        return None
    return {"seconds": statistics.median(samples),
            "steal_pct": max((t.get("steal_pct") or 0.0 for t in timed), default=0.0)}


def machine_moved(manifest_a: dict[str, Any], manifest_b: dict[str, Any]) -> str | None:
    """Why the two runs' machines cannot be compared, or None when they can (or when a
    run does not say)."""
    a, b = machine_speed(manifest_a), machine_speed(manifest_b)
    if a is None or b is None:
        return None
    moved = b["seconds"] / a["seconds"] - 1.0
    if abs(moved) < MACHINE_MOVED:
        return None
    side, other = ("B", "A") if moved > 0 else ("A", "B")
    slower = abs(moved) if moved > 0 else a["seconds"] / b["seconds"] - 1.0
    steal = b["steal_pct"] if moved > 0 else a["steal_pct"]
    return (f"the machine was {slower:.0%} slower during {side} than during {other}"
            f" (reference workload {a['seconds'] * 1e3:.1f} -> {b['seconds'] * 1e3:.1f} ms;"
            f" steal {steal:.0f} %): no row is called")


def guard(row: Row, floor: stats.Floor, moved: str | None) -> Row:
    """The row with every call the guards hold back turned into a reason, and every
    other call made with the run as the unit."""
    reason = moved or _row_reason(row, floor)
    if reason is not None:
        verdicts = {m: replace(v, significant=False, reason=reason)
                    for m, v in row.verdicts.items()}
        return replace(row, verdicts=verdicts, held=reason)
    busy = stats.saturated(row.a.cpu_pct, row.b.cpu_pct)
    return replace(row, verdicts={m: run_level(v, floor.of(m, busy))
                                  for m, v in row.verdicts.items()})


def run_level(v: stats.Verdict, floor: float) -> stats.Verdict:
    """One run (or two) a side: the run is the unit. A test on the runs' seconds asks
    whether those seconds differ, which between runs they do from nothing; what says
    whether another run would differ is the floor, the difference identical runs exceed
    1 time in 20 (measured by this lab, or by calibrate on this machine). So the call
    is |difference| >= floor; the seconds' p stays in the verdict, for reading. With 3+
    trials a side (Welch on trial means, already the run's level) nothing changes."""
    if (v.level != stats.LEVEL_SECONDS or v.ratio is None or v.delta_pct is None
            or min(v.n_a, v.n_b) < stats.MIN_SAMPLES):
        return v
    if abs(v.ratio - 1.0) >= floor:
        return replace(v, significant=True, test=RUN_LEVEL, reason="")
    return replace(v, significant=False, test=RUN_LEVEL,
                   reason=f"|{v.delta_pct:+.1f}%| below the {floor * 100:.3g}% run-to-run floor")


def _row_reason(row: Row, floor: stats.Floor) -> str | None:
    for side, folded in (("A", row.a), ("B", row.b)):
        if "stolen" in folded.warnings:
            return f"{side} ran with steal time (stolen): the machine moved under it"
    seconds = any(v.level == stats.LEVEL_SECONDS for v in row.verdicts.values())
    if seconds and not floor.calibrated and stats.saturated(row.a.cpu_pct, row.b.cpu_pct):
        return NEEDS_TRIALS
    return None
