"""`loadlab calibrate`: measure this machine's noise instead of assuming it.

Three runs of the same plan: A, A again, and A with the upstream stand-in slowed by a
known percentage. analysis/calibration.py turns them into per-metric noise floors (the
minimum detectable effect at this profile), the false-call rate and the detection of
the slowdown; the floors go to `<results>/calibration.json`, which `compare` uses for
runs of that folder and profile. The three runs stay in the results folder, so every
number can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ..analysis.calibration import Calibration, calibrate
from ..archive import calibration as calibration_file
from ..archive.folder import load_run
from ..config import Matrix
from ..errors import CalibrationFailed, Interrupted, UsageError
from ..observe import Observer
from ..plan import Choices, Plan, build_plan
from .bench import Bench, Options

RUNS = (("calib-a", 0.0), ("calib-a2", 0.0), ("calib-slow", 1.0))  # label, x slowdown


@dataclass
class Calibrated:
    result: Calibration
    file: Path


def run_calibration(matrix: Matrix, plan: Plan, options: Options, slowdown_pct: float,
                    observers: list[Observer]) -> Calibrated:
    """The three runs in turn; a run that does not complete ends the calibration
    (Interrupted on Ctrl-C, CalibrationFailed naming the run otherwise)."""
    latency = plan.upstream.latency_ms
    paths = []
    for label, factor in RUNS:
        slowed = replace(plan.upstream, latency_ms=latency * (1 + factor * slowdown_pct / 100))
        bench = Bench(matrix, replace(plan, upstream=slowed), replace(options, label=label),
                      observers)
        status = bench.run()
        if status == "interrupted":
            raise Interrupted("a signal, during the calibration's run " + label)
        if status != "complete":
            raise CalibrationFailed(f"loadlab calibrate: run {bench.archive.final} ended"
                                    f" {status}; calibrate needs three complete runs")
        paths.append(bench.archive.final)
    runs = [load_run(p) for p in paths]
    result = calibrate(*runs, slowdown_pct=slowdown_pct)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    file = calibration_file.write(options.results,
                                  result.to_json(created, runs[0].manifest.get("host", {})))
    return Calibrated(result, file)


DEFAULT_SERVERS = ("gunicorn-gthread", "uvicorn")
DEFAULT_SCENARIOS = ("weather", "home", "sleep")


def plan_for(matrix: Matrix, choices: Choices) -> Plan:
    """The calibration's plan from the user's choices (the default servers and stories
    where none are given), checked: bad input raises before anything runs."""
    plan = build_plan(matrix, replace(
        choices, servers=choices.servers or DEFAULT_SERVERS,
        scenarios=choices.scenarios or DEFAULT_SCENARIOS, trials=1))
    if not any(c.scenario.uses_upstream for c in plan.cells):
        raise UsageError("loadlab calibrate: the slowdown is the upstream's: choose a"
                         " scenario that calls it (weather, home)")
    return plan
