"""The noise floor, measured: what two identical runs differ by on this machine, and
whether a known slowdown is seen.

`loadlab calibrate` runs the same cells three times: A, A again (A/A), and A with the
upstream stand-in slowed by a known percentage. From A/A, per metric, the floor is the
difference this machine produces from nothing, at this profile, 1 time in 20: the
two-sided 95 % bound (FLOOR_Z robust standard deviations, plus the median shift) of a
normal model of the rows' A/A log ratios, the deviation estimated from their median
absolute deviation (at least MIN_FLOOR). With 8-12 rows a class, the empirical 95th
percentile it replaced was the largest row's difference: one noisy row set the floor
(A/A floors 2-25 % apart between calibrations); with fewer than MIN_ROWS rows it is
still used. That floor is the minimum detectable effect compare can honestly call. It
is measured apart for rows whose server had CPU to spare and rows with a saturated
server (stats.SATURATED_CPU_PCT):
measured, the first differ by 0-4 % between identical runs, the second by 20-100 %, and
one floor for both would hide every real difference of the first behind the second's.
Then, with those floors:
- false calls: the metric cells A/A called (should be <= 5 %);
- detection: of the rows the slowdown must move, how many were called, per metric. A
  row must move when its scenario calls the upstream and its server had CPU to spare:
  a saturated server's throughput is its CPU's and its latency its queue's.
The rows of scenarios that make no upstream call must not be called at all.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..archive import calibration as calibration_file
from ..archive.folder import Run
from ..errors import CalibrationFailed
from ..stories import SCENARIOS_BY_NAME
from . import stats, trust
from .compare import Between, between
from .fold import METRICS

MIN_FLOOR = 0.02  # never claim to see a 1 % difference on a shared 2-core machine
FLOOR_Z = 1.96  # two-sided 95 % of a normal model
MAD_TO_SD = 1.4826  # a normal distribution's standard deviation per median absolute deviation
MIN_ROWS = 5  # fewer A/A rows than this: the largest difference is the floor
FORMAT = 1


@dataclass(frozen=True)
class Calls:
    called: int
    of: int

    @property
    def rate(self) -> float | None:
        return self.called / self.of if self.of else None


@dataclass
class Calibration:
    """What calibrate measured, and the floor compare will use."""

    profile: str
    slowdown_pct: float
    floors: dict[str, float]  # metric -> floor (a fraction), servers with CPU to spare
    busy_floors: dict[str, float]  # the same for rows with a saturated server
    aa_deltas: dict[str, list[float]]  # metric -> |delta| % of each A/A row (to spare)
    false_calls: Calls
    detected: dict[str, Calls]  # metric -> affected rows called in A vs slow
    unaffected_called: Calls  # rows without upstream calls, called in A vs slow
    runs: dict[str, str] = field(default_factory=dict)  # a, a2, slow -> run names

    @property
    def floor(self) -> stats.Floor:
        return _floor(self.floors, self.busy_floors,
                      f"measured by loadlab calibrate (profile {self.profile})")

    def to_json(self, created: str, host: dict[str, Any]) -> dict[str, Any]:
        return {
            "format": FORMAT, "created": created, "host": host, "profile": self.profile,
            "slowdown_pct": self.slowdown_pct, "runs": self.runs,
            "floors": {m: round(v, 4) for m, v in self.floors.items()},
            "saturated_floors": {m: round(v, 4) for m, v in self.busy_floors.items()},
            "aa_deltas_pct": {m: [round(d, 2) for d in ds] for m, ds in self.aa_deltas.items()},
            "false_calls": {"called": self.false_calls.called, "of": self.false_calls.of},
            "detected": {m: {"called": c.called, "of": c.of} for m, c in self.detected.items()},
            "unaffected_called": {"called": self.unaffected_called.called,
                                  "of": self.unaffected_called.of},
        }


def calibrate(a: Run, a2: Run, slow: Run, slowdown_pct: float) -> Calibration:
    """Floors from A/A, per row class; false calls and detection at those floors. A
    machine that moved between the runs (their reference workloads, trust.py) would
    make a floor of the VM's neighbours: CalibrationFailed, calibrate again."""
    for other in (a2, slow):
        moved = trust.machine_moved(a.manifest, other.manifest)
        if moved:
            raise CalibrationFailed(f"loadlab calibrate: {moved.split(': no row')[0]}"
                                    f" ({a.name} against {other.name}); calibrate again")
    first = between(a, a2, 0.0)
    rows = [r for r in first.rows if not r.a.failed and not r.b.failed]
    spare = [r for r in rows if not _busy(r)]
    busy = [r for r in rows if _busy(r)]
    floors, deltas = _floors(spare)
    busy_floors, _ = _floors(busy)
    floor = _floor(floors, busy_floors, "A/A")
    aa = between(a, a2, floor)
    false = Calls(sum(r.verdicts[m].significant for r in aa.rows for m in METRICS),
                  len(aa.rows) * len(METRICS))
    ab = between(a, slow, floor)
    detected = {m: _detected(ab, m) for m in METRICS}
    still = [r for r in ab.rows if not _uses_upstream(r.key.scenario)]
    unaffected = Calls(sum(r.verdicts[m].significant for r in still for m in METRICS),
                       len(still) * len(METRICS))
    profile = str(a.manifest.get("profile", {}).get("name", "?"))
    return Calibration(profile, slowdown_pct, floors, busy_floors, deltas, false, detected,
                       unaffected, {"a": a.name, "a2": a2.name, "slow": slow.name})


def _floors(rows: list[Any]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Per metric, the floor of a class of rows (>= MIN_FLOOR), and their |A/A
    difference| in %; no floor for a class without rows (the default then applies)."""
    logs = {m: [math.log1p(d / 100) for r in rows
                if (d := r.delta(m)) is not None and math.isfinite(d) and d > -100]
            for m in METRICS}
    floors = {m: max(MIN_FLOOR, noise_bound(ls)) for m, ls in logs.items() if ls}
    deltas = {m: sorted(abs(math.expm1(x)) * 100 for x in ls) for m, ls in logs.items()}
    return floors, deltas


def noise_bound(logs: list[float]) -> float:
    """The relative difference A/A exceeds 1 time in 20, from the rows' log ratios: a
    robust normal bound (median +- FLOOR_Z x MAD_TO_SD x MAD); with fewer than MIN_ROWS
    rows, the largest difference seen."""
    if len(logs) < MIN_ROWS:
        return max(math.expm1(abs(x)) for x in logs)
    center = statistics.median(logs)
    mad = statistics.median(abs(x - center) for x in logs)
    return math.expm1(abs(center) + FLOOR_Z * MAD_TO_SD * mad)


def _floor(floors: dict[str, float], busy: dict[str, float], source: str) -> stats.Floor:
    return stats.Floor(max([*floors.values(), *busy.values()],
                           default=stats.DEFAULT_MIN_EFFECT),
                       tuple(floors.items()), tuple(busy.items()), source, calibrated=True)


def _busy(row: Any) -> bool:
    return stats.saturated(row.a.cpu_pct, row.b.cpu_pct)


def _detected(ab: Between, metric: str) -> Calls:
    rows = [r for r in ab.rows if _must_move(r)]
    return Calls(sum(r.verdicts[metric].significant for r in rows), len(rows))


def _must_move(row: Any) -> bool:
    """Upstream time is a share of its latency, and of its throughput in a closed loop,
    only where the server had CPU to spare (in A: the slower upstream may push B's
    server toward saturation, which is part of what it does)."""
    if not _uses_upstream(row.key.scenario) or row.a.failed or row.b.failed:
        return False
    return not stats.saturated(row.a.cpu_pct)


def _uses_upstream(scenario: str) -> bool:
    spec = SCENARIOS_BY_NAME.get(scenario)
    return bool(spec and spec.uses_upstream)


def floor_from(data: dict[str, Any]) -> stats.Floor:
    """The floor a calibration file holds (archive/calibration.py reads the file)."""
    floors = {m: float(v) for m, v in data["floors"].items() if m in METRICS}
    busy = {m: float(v) for m, v in data.get("saturated_floors", {}).items() if m in METRICS}
    return _floor(floors, busy, f"measured by loadlab calibrate on {data.get('created', '?')}"
                                f" (profile {data.get('profile', '?')})")


def floor_for(run: Run) -> stats.Floor:
    """The floor compare uses for `run`: its results folder's calibration when that was
    measured at the run's profile; else the default, saying why."""
    return floor_in(run.path.parent, run.manifest)


def floor_in(results: Path, manifest: dict[str, Any]) -> stats.Floor:
    """floor_for a run by its results folder and manifest: what sealing uses (summary.md,
    report.html, the terminal's answer) before the run folder has its name."""
    data = calibration_file.read(results)
    if data is None:
        return stats.Floor()
    profile = manifest.get("profile", {}).get("name")
    if data.get("profile") != profile:
        where = calibration_file.path(results)
        return stats.Floor(source=f"this lab's A/A data: {where} was measured at profile"
                                  f" {data.get('profile')}, this run is {profile}")
    try:
        return floor_from(data)
    except (KeyError, TypeError, ValueError):
        return stats.Floor(source=f"this lab's A/A data: {calibration_file.path(results)}"
                                  " is unreadable")
