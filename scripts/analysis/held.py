"""Held capacity, as pure logic: the most concurrent long-lived connections (streams,
websockets, uploads in flight) a configuration holds with its objective met, found by a
search over concurrency; the physics beside it; memory per held connection; and the
neighbour's cost. No processes: run/capacity.py measures the steps.

Each step is a closed-loop cell of N users, each holding one connection at a time, so
N is the number held at once. The search grows N by doubling until a step fails (or
halves it until one passes), then bisects [highest pass, lowest fail] down to one
connection (or PRECISION of the pass, when that is wider). A finite server starts at
its physics (gunicorn-sync: workers; gthread: workers x threads), so the step at the
bound and the one just above it are both measured: the bound is checked, not assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy

from ..archive.records import CellRecord
from ..config import ServerSpec

START_HELD = 16  # where a server without a concurrency bound starts
MAX_HELD = 512  # the generator's ceiling on this machine: greenlets and sockets
PRECISION = 0.1
MAX_STEPS = 12
NEIGHBOUR_USERS = 2  # users on the short view beside the held connections


def physics(spec: ServerSpec) -> int | None:
    """What bounds held connections by construction: a worker per connection
    (processes), a thread per connection (threads); None where memory and file
    descriptors do (greenlets, an event loop)."""
    if spec.model == "processes":
        return spec.workers
    if spec.model == "threads":
        return spec.workers * (spec.threads or 1)
    return None


def physics_words(spec: ServerSpec) -> str:
    bound = physics(spec)
    if spec.model == "processes":
        return f"{bound} = {spec.workers} workers, one connection each"
    if spec.model == "threads":
        return f"{bound} = {spec.workers} workers x {spec.threads} threads"
    return "memory and file descriptors (no worker or thread per connection)"


@dataclass(frozen=True)
class HeldObjective:
    """What a step must hold: the first answer's p95 (first event, echo, completion),
    each event's lag p95 (streams and pushes), few failures, and sessions that ended."""

    p95_ms: float
    lag_p95_ms: float | None
    max_failure_ratio: float = 0.01

    def misses(self, record: CellRecord) -> list[str]:
        if record.status != "ok":
            return [f"cell {record.status}"]
        out = []
        if record.requests - record.failures <= 0:
            out.append("no session ended in the window")
        p95 = record.latency_ms.get("p95")
        if p95 is not None and p95 > self.p95_ms:
            out.append(f"p95 {p95:,.0f} ms > {self.p95_ms:g} ms")
        lag = ((record.held or {}).get("lag_ms") or {}).get("p95")
        if self.lag_p95_ms is not None and lag is not None and lag > self.lag_p95_ms:
            out.append(f"event lag p95 {lag:,.0f} ms > {self.lag_p95_ms:g} ms")
        if record.failure_ratio > self.max_failure_ratio:
            out.append(f"failures {record.failure_ratio:.1%} > {self.max_failure_ratio:.0%}")
        return out

    def describe(self) -> dict[str, Any]:
        return {"p95_ms": self.p95_ms, "lag_p95_ms": self.lag_p95_ms,
                "max_failure_ratio": self.max_failure_ratio}


@dataclass
class HeldSearch:
    start: int
    steps: list[tuple[int, bool]] = field(default_factory=list)

    @classmethod
    def for_server(cls, spec: ServerSpec) -> HeldSearch:
        return cls(min(MAX_HELD, physics(spec) or START_HELD))

    @property
    def bracket(self) -> tuple[int | None, int | None]:
        """(highest pass below the lowest fail, lowest fail)."""
        fails = [n for n, ok in self.steps if not ok]
        hi = min(fails) if fails else None
        passes = [n for n, ok in self.steps if ok and (hi is None or n < hi)]
        return (max(passes) if passes else None), hi

    def next_users(self) -> int | None:
        """The next concurrency to measure, or None when the search is done."""
        if not self.steps:
            return self.start
        if len(self.steps) >= MAX_STEPS:
            return None
        lo, hi = self.bracket
        if hi is None:  # every step held: grow, up to the ceiling
            return None if lo is None or lo >= MAX_HELD else min(MAX_HELD, lo * 2)
        if lo is None:  # every step failed: shrink, down to one
            return None if hi <= 1 else hi // 2
        if hi - lo <= max(1, math.floor(lo * PRECISION)):
            return None
        return (lo + hi) // 2

    def record(self, users: int, passed: bool) -> None:
        self.steps.append((users, passed))


def rss_per_connection_kb(records: list[CellRecord], objective: HeldObjective
                          ) -> float | None:
    """The server's memory per held connection: the slope of its RSS against the
    connections held, over the steps that held them within the objective (two
    distinct counts at least). None where the slope is not above zero: memory that
    does not grow with connections (a worker per connection holds its own) is noise
    around a flat line, and a negative cost per connection is no measurement."""
    points = [(r.users, r.server_rss_mb) for r in records
              if r.server_rss_mb is not None and not r.neighbours and r.users
              and not objective.misses(r)]
    if len({n for n, _ in points}) < 2:
        return None
    slope, _ = numpy.polyfit([n for n, _ in points], [m for _, m in points], 1)
    return round(float(slope) * 1024, 1) if slope > 0 else None


def result(spec: ServerSpec, key: dict[str, Any], objective: HeldObjective,
           search: HeldSearch, records: list[CellRecord]) -> dict[str, Any]:
    """One configuration's held capacity (summary.json's `capacity` list)."""
    lo, hi = search.bracket
    steps = [r for r in records if not r.neighbours]
    first_fail = next((r for r in steps if r.users == hi and objective.misses(r)), None)
    return {
        **key, "interface": spec.interface, "model": spec.model,
        "held_connections": lo or 0, "bracket": [lo, hi],
        "converged": search.next_users() is None and hi is not None,
        "objective": objective.describe(),
        "physics": physics(spec), "physics_words": physics_words(spec),
        "rss_per_connection_kb": rss_per_connection_kb(steps, objective),
        "limit": _limit(objective, first_fail, lo, hi),
        "steps": [{"users": r.users, "ok": not objective.misses(r),
                   "misses": objective.misses(r), "p95_ms": r.latency_ms.get("p95"),
                   "lag_p95_ms": ((r.held or {}).get("lag_ms") or {}).get("p95"),
                   "server_rss_mb": r.server_rss_mb, "server_cpu_pct": r.server_cpu_pct,
                   "server_threads": r.server_threads, "path": r.path} for r in steps],
    }


def _limit(objective: HeldObjective, first_fail: CellRecord | None, lo: int | None,
           hi: int | None) -> str | None:
    """What the first failing step missed; the generator, when it was the one that ran
    hot there (the server's own limit is then higher than the answer)."""
    if hi is None:
        return f"not reached: held {lo} (the generator's ceiling is {MAX_HELD})"
    if first_fail is None:
        return None
    missed = "; ".join(objective.misses(first_fail))
    if "generator-hot" in first_fail.warnings:
        return f"the generator (generator-hot at {hi}): {missed}"
    return missed


def neighbour_points(spec: ServerSpec, held: int) -> list[int]:
    """Held connections to measure the neighbour at: none, then 1x and 2x the WSGI
    physics; half and all of the found capacity where no such bound exists."""
    bound = physics(spec)
    if bound is not None:
        return [0, bound, 2 * bound]
    return sorted({0, max(1, held // 2), max(1, held)})
