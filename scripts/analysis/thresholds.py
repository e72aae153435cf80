"""Judging a run against its scenarios' thresholds (config/thresholds.py): pure logic.

A bench run is judged cell by cell (trials folded by fold.py, the one policy): p95 and
the failure ratio. A capacity run is judged on each configuration's capacity only: its
search steps overload the server on purpose, so their p95 says nothing about a gate.
Two runs compared are judged on regressions (compare.regressions, the rows called
significantly worse). A cell that could not be measured is not judged here: the run's
status already says so (exit 1). Every check is kept, passed or failed, so
summary.json can show what was held to what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..archive.records import CellRecord
from ..cells import CellKey
from ..config.thresholds import Thresholds
from .compare import Between, regressions
from .fold import fold

# threshold key -> (the number's name in a line, its unit, True: the measure must not
# exceed the limit; False: it must reach it)
_SHOWN = {"p95_ms": ("p95", " ms", True), "failure_ratio": ("failure ratio", "", True),
          "min_capacity_rps": ("capacity", " rps", False),
          "max_regression_pct": ("regression", "%", True)}


@dataclass(frozen=True)
class Check:
    """One threshold held against one measured number."""

    scenario: str
    cell: str  # the cell's (or configuration's) label
    threshold: str  # a Thresholds field
    limit: float
    measured: float
    ok: bool
    detail: str = ""  # a regression's own words ("rps -23.4%, ...", "failed in B, ...")

    @property
    def line(self) -> str:
        """`THRESHOLD uvicorn weather/async [httpx] u8: p95 412.0 ms > 250 ms`; a
        regression gate's `REGRESSION <cell>: rps -23.4%, significantly worse, beyond
        10%`."""
        name, unit, at_most = _SHOWN[self.threshold]
        if self.threshold == "max_regression_pct":
            beyond = "" if self.detail.startswith("failed") else f", beyond {_num(self.limit)}%"
            return f"REGRESSION {self.cell}: {self.detail}{beyond}"
        sign = (">" if at_most else "<") if not self.ok else ("<=" if at_most else ">=")
        return (f"THRESHOLD {self.cell}: {name} {_value(self.threshold, self.measured)}{unit}"
                f" {sign} {_num(self.limit)}{unit}")

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def check_run(cells: Sequence[CellRecord], capacity: Sequence[Mapping[str, Any]] | None,
              thresholds: Mapping[str, Thresholds]) -> list[Check]:
    """Every check of a run: a capacity run (capacity not None) on its configurations'
    capacity, a bench run on each measured cell's p95 and failure ratio."""
    if capacity is not None:
        return _capacity_checks(capacity, thresholds)
    groups: dict[CellKey, list[CellRecord]] = {}
    for cell in cells:
        groups.setdefault(cell.key, []).append(cell)
    out = []
    for key, trials in groups.items():
        gate = thresholds.get(key.scenario)
        folded = fold(trials)
        if gate is None or folded.failed:
            continue
        p95 = folded.values["p95"]
        if gate.p95_ms is not None and p95 is not None:
            out.append(Check(key.scenario, key.label, "p95_ms", gate.p95_ms, p95,
                             p95 <= gate.p95_ms))
        if gate.failure_ratio is not None:
            ratio = folded.failure_ratio
            out.append(Check(key.scenario, key.label, "failure_ratio", gate.failure_ratio,
                             ratio, ratio <= gate.failure_ratio))
    return out


def _capacity_checks(capacity: Sequence[Mapping[str, Any]],
                     thresholds: Mapping[str, Thresholds]) -> list[Check]:
    out = []
    for entry in capacity:
        gate = thresholds.get(str(entry.get("scenario")))
        found = entry.get("capacity_rps")
        if gate is None or gate.min_capacity_rps is None or not isinstance(found, int | float):
            continue  # a held story's result is connections, not a rate
        key = CellKey(entry["server"], entry["scenario"], entry["flavor"], entry.get("client"),
                      middleware=entry.get("middleware"), connections=entry.get("connections"))
        label = f"{key.server} {key.scenario}/{key.flavor}{key.client_part}{key.stack_part}"
        out.append(Check(key.scenario, label, "min_capacity_rps", gate.min_capacity_rps,
                         float(found), found >= gate.min_capacity_rps))
    return out


def check_between(comparison: Between, thresholds: Mapping[str, Thresholds],
                  metric: str = "rps", default_pct: float | None = None) -> list[str]:
    """The regression gate of two runs (compare --fail-on-regression, ab): a row whose
    `metric` is called significantly worse in B by more than its scenario's
    max_regression_pct (else `default_pct`; neither: not gated), or that failed in B
    and not in A. One REGRESSION line per failing row; none: the gate holds."""
    return [c.line for c in regression_checks(comparison, thresholds, metric, default_pct)
            if not c.ok]


def regression_checks(comparison: Between, thresholds: Mapping[str, Thresholds],
                      metric: str = "rps", default_pct: float | None = None) -> list[Check]:
    """check_between's failing rows as Checks (only failures: a row not called has no
    number to hold against the limit)."""
    out = []
    for row in comparison.rows:
        gate = thresholds.get(row.key.scenario)
        pct = gate.max_regression_pct if gate and gate.max_regression_pct is not None \
            else default_pct
        if pct is None or not regressions(replace(comparison, rows=[row]), pct, metric):
            continue
        delta = row.delta(metric)
        failed = row.b.failed and not row.a.failed
        out.append(Check(row.key.scenario, row.label, "max_regression_pct", pct,
                         abs(delta) if delta is not None else 0.0, False,
                         detail="failed in B, measured in A" if failed else
                         f"{metric} {delta:+.1f}%, significantly worse"))
    return out


def judged(cells: Sequence[CellRecord], capacity: Sequence[Mapping[str, Any]] | None,
           thresholds: Mapping[str, Thresholds]) -> dict[str, Any] | None:
    """A run held to its thresholds, as summary.json keeps it: what was set and every
    check; None when nothing was set."""
    if not thresholds:
        return None
    return {"set": {name: t.describe() for name, t in thresholds.items()},
            "checks": [c.describe() for c in check_run(cells, capacity, thresholds)]}


def failures(judged: Mapping[str, Any] | None) -> list[str]:
    """The lines of the checks that failed, from a run's record (`judged`)."""
    known = Check.__dataclass_fields__
    checks = [Check(**{k: v for k, v in c.items() if k in known})
              for c in (judged or {}).get("checks", [])]
    return [c.line for c in checks if not c.ok]


def _value(threshold: str, value: float) -> str:
    return f"{value:.4f}" if threshold == "failure_ratio" else f"{value:.1f}"


def _num(value: float) -> str:
    return f"{value:g}"
