"""Thresholds as data: `[scenarios.<name>.thresholds]` in a team's loadlab.toml or in
matrix.toml, read into one typed `Thresholds` per scenario.

k6's thresholds are the anchor: pass/fail criteria a run is judged against, written
beside the scenario they judge, so CI can fail on numbers instead of a person reading
tables. Judging lives in analysis/thresholds.py; this module only reads and checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .table import Table


@dataclass(frozen=True)
class Thresholds:
    """One scenario's gates; None: not gated on that number."""

    p95_ms: float | None = None  # every cell's p95 at most this (bench)
    failure_ratio: float | None = None  # failed / all requests at most this (bench)
    min_capacity_rps: float | None = None  # each configuration's capacity at least (capacity)
    max_regression_pct: float | None = None  # B significantly worse by at most this (compare)

    def __bool__(self) -> bool:
        return any(v is not None for v in asdict(self).values())

    def over(self, base: Thresholds) -> Thresholds:
        """These thresholds, each unset one taken from `base` (a project over a matrix)."""
        return Thresholds(**{f.name: getattr(self, f.name) if getattr(self, f.name)
                             is not None else getattr(base, f.name) for f in fields(self)})

    def describe(self) -> dict[str, float]:
        """The set ones, as summary.json and the manifest keep them."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        """Back from `describe` (a run folder's record); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items()
                      if k in known and isinstance(v, int | float)})


def read_thresholds(t: Table) -> Thresholds:
    """A `thresholds` table: every key a number >= 0 (failure_ratio at most 1); an unknown
    key, a wrong type or a negative value is a ConfigError naming the file and key."""
    def number(key: str, hi: float | None = None) -> float | None:
        value = t.number(key, None, lo=0, hi=hi)
        return None if value is None else float(value)

    out = Thresholds(p95_ms=number("p95_ms"), failure_ratio=number("failure_ratio", hi=1),
                     min_capacity_rps=number("min_capacity_rps"),
                     max_regression_pct=number("max_regression_pct"))
    t.done()
    return out


def merged(*layers: dict[str, Thresholds]) -> dict[str, Thresholds]:
    """Per scenario, later layers' keys over earlier ones' (matrix, then project)."""
    out: dict[str, Thresholds] = {}
    for layer in layers:
        for name, value in layer.items():
            out[name] = value.over(out.get(name, Thresholds()))
    return {name: value for name, value in out.items() if value}


def read_scenarios(top: Table, known: tuple[str, ...]) -> dict[str, Thresholds]:
    """matrix.toml's `[scenarios.<name>.thresholds]`: a known scenario each, and (for
    now) nothing under it but its thresholds."""
    tables = top.table("scenarios", {})
    if not isinstance(tables, dict):
        top.fail("scenarios", "must be a table of [scenarios.<name>.thresholds]")
    out = {}
    for name, data in tables.items():
        t = Table(data, f"scenarios.{name}", top.file)
        if name not in known:
            t.fail("", f"unknown scenario (known: {', '.join(known)})")
        out[name] = read_thresholds(Table(t.table("thresholds", {}), f"{t.where}.thresholds",
                                          top.file))
        t.done()
    return out


def recorded(judged: dict[str, Any] | None) -> dict[str, Thresholds]:
    """The thresholds a run was judged against (summary.json's `thresholds`), so
    compare gates B on what B was run with."""
    given = (judged or {}).get("set") or {}
    return {name: Thresholds.from_dict(t) for name, t in given.items() if isinstance(t, dict)}
