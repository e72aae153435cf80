"""The capacity search, as pure logic: which rate to offer next, whether a step held the
objective, and what the result is. No processes: run/capacity.py measures the steps.

Like Nighthawk's adaptive load controller: offer a rate; grow it geometrically until a
step fails (or shrink it until one passes); then bisect the bracket [highest pass,
lowest fail] until it is within `precision` of the pass (or two requests of its
measured window, whichever is wider); then hold the best rate once
more to confirm it. A confirmation that fails counts as a fail at that rate and the
search goes on below it. At most `max_steps` steps, so the time per configuration is
bounded by max_steps x (warmup + duration + the per-cell overhead).

Steps cost ~4 s each, so the growth and the shrink read what a step measured: a step
that held at a low utilisation of its busiest resource grows by more (up to 4x), one
near saturation by less (1.25x), so the first failing step leaves a narrower bracket
to bisect; a step that failed with few good answers (a server that errors under load)
shrinks to just under its goodput rather than halving, step after step. Inside a
bracket, a fail's goodput is a hint of where the capacity is (a server past its
saturation still answers about its peak rate), used unless a pass already lies above
it: a goodput well inside the bracket is tried itself; one no higher than the best
pass is proven with one step just above that pass (failing there converges). Any
other bracket is halved. Each fail's hint steers one step inside the bracket, no
more, so the search cannot creep towards it. Where to probe only moves inside the
bracket, so the answer is the same search's, in fewer steps.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..archive.records import CellRecord
from ..config import Rules, ServerSpec
from .why import moved, wall_limit

GROWTH = 2.0  # without a utilisation reading
MIN_GROWTH, MAX_GROWTH = 1.25, 4.0
AIM = 0.85  # of the estimated saturation rate: where objectives usually still hold
GOODPUT_SHARE = 0.9  # shrink to this share of a failed step's good answers per second
ROOMY = 0.5  # a pass below this utilisation outranks a fail's goodput (a collapse)
START_CAP = 500.0  # requests/s: the first step's ceiling
WIDE = 2.0  # a bracket wider than this ratio is searched like growth, not halved
PRECISION = 0.1  # measured: 2 s steps near the knee pass and fail the same rate
MAX_STEPS = 14
MAX_SHRINK = 8.0  # a failed step's goodput under hi / 8 says nothing (the window ended
# before the queue did, as when 500 offered got ~1 good answer/s and 56 held)
TYPICAL_STEPS = 8  # for the time left: the capacity profile's searches, measured
MIN_RATE = 1.0


def held_schedule(record: CellRecord, min_achieved_ratio: float,
                  max_start_lag_ms: float) -> bool:
    """An open-model cell kept its schedule: starts on time, and answers for the
    arrivals actually scheduled in its window (not rate x seconds: at 9.1 requests/s a
    2 s window schedules 18 or 19), with one request of slack for the window's edge."""
    if record.rate is None or record.achieved_rps is None:
        return False
    offered = sum(record.offered_per_second) or record.rate * record.duration_s
    achieved = round(record.achieved_rps * record.duration_s)
    return (achieved >= min_achieved_ratio * offered - 1
            and (record.start_lag_p99_ms or 0.0) <= max_start_lag_ms)


@dataclass(frozen=True)
class Objective:
    """What a step must hold: p95 (corrected) within the SLO, few failures, and the
    offered rate actually achieved on schedule."""

    p95_ms: float
    max_failure_ratio: float = 0.01
    min_achieved_ratio: float = 0.99
    max_start_lag_ms: float = 50.0

    @classmethod
    def of(cls, p95_ms: float, rules: Rules, max_failure_ratio: float | None = None
           ) -> Objective:
        return cls(p95_ms, rules.high_failure_ratio if max_failure_ratio is None
                   else max_failure_ratio, rules.min_achieved_ratio, rules.max_start_lag_ms)

    def held_schedule(self, record: CellRecord) -> bool:
        return held_schedule(record, self.min_achieved_ratio, self.max_start_lag_ms)

    def misses(self, record: CellRecord) -> list[str]:
        """Why a step failed the objective; empty when it held."""
        if record.status != "ok":
            return [f"the cell failed: {(record.error or '').splitlines()[0]}"]
        out = []
        p95 = record.latency_ms.get("p95")
        if p95 is None or p95 > self.p95_ms:
            out.append(f"p95 {p95 if p95 is not None else '-'} ms > {self.p95_ms:g} ms")
        if record.failure_ratio > self.max_failure_ratio:
            out.append(f"failures {record.failure_ratio:.1%} > {self.max_failure_ratio:.1%}")
        if not self.held_schedule(record):
            out.append(f"achieved {record.achieved_rps} of {record.rate:g} rps"
                       f" ({sum(record.offered_per_second)} scheduled in the window;"
                       f" start lag p99 {record.start_lag_p99_ms} ms)")
        return out

    def describe(self) -> dict[str, Any]:
        return {"p95_ms": self.p95_ms, "latency": "corrected",
                "max_failure_ratio": self.max_failure_ratio,
                "min_achieved_ratio": self.min_achieved_ratio,
                "max_start_lag_ms": self.max_start_lag_ms}


@dataclass
class Search:
    """The state of one configuration's search: every step's rate and verdict."""

    start: float
    growth: float = GROWTH
    precision: float = PRECISION
    resolution: float = 0.0  # requests/s a step can tell apart (see Search.for_window)
    max_steps: int = MAX_STEPS
    steps: list[tuple[float, bool]] = field(default_factory=list)
    load: dict[float, float] = field(default_factory=dict)  # rate -> utilisation
    hint: float | None = None  # the lowest fail's goodput, until a bracket step used it

    @property
    def passes(self) -> list[float]:
        """Rates that held, unless the same rate also failed (a failed confirmation)."""
        failed = {r for r, ok in self.steps if not ok}
        return [r for r, ok in self.steps if ok and r not in failed]

    @property
    def fails(self) -> list[float]:
        return [r for r, ok in self.steps if not ok]

    @property
    def bracket(self) -> tuple[float | None, float | None]:
        """(highest pass below the lowest fail, lowest fail)."""
        hi = min(self.fails, default=None)
        lo = max((r for r in self.passes if hi is None or r < hi), default=None)
        return lo, hi

    @property
    def confirmed(self) -> bool:
        lo, _ = self.bracket
        return lo is not None and sum(r == lo and ok for r, ok in self.steps) >= 2

    @property
    def converged(self) -> bool:
        lo, hi = self.bracket
        return lo is not None and hi is not None and self._narrow(lo, hi) and self.confirmed

    def _narrow(self, lo: float, hi: float) -> bool:
        return hi - lo <= self._width(lo) + 1e-9  # rates have two decimals

    def _width(self, rate: float) -> float:
        """The narrowest bracket worth measuring above `rate`."""
        return max(self.precision * rate, self.resolution)

    @classmethod
    def for_window(cls, start: float, window_s: float, **kw: Any) -> Search:
        """A search whose steps measure `window_s` seconds: rates closer than two requests
        in the window are one rate to the objective (it allows one request of slack), so
        at 9 requests/s in 2 s windows the bracket stops at 1 request/s, not 0.45."""
        return cls(start, resolution=2 / window_s, **kw)

    @property
    def hopeless(self) -> bool:
        """Fails even at the lowest rate: no capacity at this objective."""
        return MIN_RATE in self.fails

    def next_rate(self) -> float | None:
        """The rate to offer next, or None when the search is over."""
        if len(self.steps) >= self.max_steps or self.converged or self.hopeless:
            return None
        lo, hi = self.bracket
        if not self.steps:
            return round(max(MIN_RATE, self.start), 2)
        if hi is None:  # every step passed: grow, by how much room the step showed
            return round(lo * self._growth(lo), 2)
        if lo is None:  # every step failed: shrink, below its goodput if that was low
            rate = hi / self.growth
            good = self.hint
            if good is not None:
                rate = max(hi / MAX_SHRINK, min(rate, GOODPUT_SHARE * good))
            return round(max(MIN_RATE, rate), 2)
        if self._narrow(lo, hi):
            return lo  # narrow enough: hold the best once more
        good, u = self.hint, self.load.get(lo)
        roomy = u is not None and u < ROOMY  # the best pass left most of the server idle
        if good is not None and lo < good + self._width(good) and not roomy:  # it stands
            if good <= lo + self._width(lo):  # the fail answered no more than the best pass
                return math.floor((lo + self._width(lo)) * 100) / 100  # one step proves it
            if good < hi - self._width(lo):  # well inside the bracket: try the goodput
                return round(good, 2)
        if hi > WIDE * lo:  # a wide bracket: grow from the pass, at most to its middle
            return round(min(lo * self._growth(lo), math.sqrt(lo * hi)), 2)
        return round((lo + hi) / 2, 2)

    def _growth(self, rate: float) -> float:
        u = self.load.get(rate)
        return min(MAX_GROWTH, max(MIN_GROWTH, AIM / u)) if u and u > 0 else self.growth

    def record(self, rate: float, passed: bool, load: float | None = None,
               goodput: float | None = None) -> None:
        """One step's verdict; `load` (the busiest resource's share, 0..1) and
        `goodput` (good answers per second) steer where the next step goes."""
        lo, hi = self.bracket
        self.steps.append((rate, passed))
        if not passed and (hi is None or rate < hi):
            self.hint = goodput  # a new lowest fail: its goodput steers one step
        elif lo is not None and hi is not None:
            self.hint = None  # spent on the step just taken
        if load is not None:
            self.load[rate] = load


def start_rate(spec: ServerSpec, typical_ms: float, found: Sequence[float] = ()) -> float:
    """Where to start: half what the server's concurrency allows at the unloaded latency
    (Little's law), kept between 2 and START_CAP requests/s, to two significant digits.

    Where that bound passes the cap, the server's slots limit nothing and the story's
    cost decides: the median capacity the run already `found` for the same views (or
    the story) is then a better guess than the cap (measured: weather on uvicorn
    started at 500 and spent three steps shrinking to 48)."""
    bound = 0.5 * concurrency(spec) / (typical_ms / 1000)
    found = [f for f in found if f > 0]
    rate = statistics.median(found) if bound > START_CAP and found else bound
    return float(f"{min(START_CAP, max(2.0, rate)):.2g}")


def concurrency(spec: ServerSpec) -> int:
    """Requests the server can serve at once: workers x (threads or connections)."""
    return spec.workers * spec.concurrency


def utilisation(record: CellRecord, spec: ServerSpec, server_cores: int,
                shared_core: bool) -> float | None:
    """The busiest resource's share at a step (1.0: saturated): the server's cores, its
    slots (WSGI: Little's law's requests in flight over workers x threads), and, when
    pinned, the one core the generator and the upstream share."""
    shares = []
    if record.server_cpu_pct is not None:
        shares.append(record.server_cpu_pct / (100 * max(1, server_cores)))
    busy = in_flight(record)
    if spec.interface == "wsgi" and busy is not None:
        shares.append(busy / concurrency(spec))
    if shared_core and record.generator_cpu_pct is not None:
        shares.append(((record.generator_cpu_pct or 0) + (record.upstream_cpu_pct or 0))
                      / 100)
    return round(max(shares), 3) if shares else None


def goodput(record: CellRecord) -> float | None:
    """Good answers per second at a step."""
    if record.achieved_rps is None:
        return None
    return round(record.achieved_rps * (1 - record.failure_ratio), 2)


CONCURRENCY_SHARE = 0.8  # in flight / concurrency from which the server's slots are full
NEAR_HOT_SHARE = 0.8  # of hot_cpu_pct: queueing sets in before the core reads 100 %


def in_flight(record: CellRecord) -> float | None:
    """Requests in the server at once, by Little's law: achieved rate x raw median."""
    r = record.latency_raw_ms.get("p50") or record.latency_ms.get("p50")
    x = record.achieved_rps if record.achieved_rps is not None else record.rps
    return x * r / 1000 if r and x else None


def limit(record: CellRecord, spec: ServerSpec, rules: Rules,
          profile: dict[str, Any] | None = None, best: CellRecord | None = None) -> str:
    """What limited the configuration, read off its first failing step: the generator,
    the upstream, failures (with the server's own commonest error), the server's CPU,
    its concurrency (only when Little's law puts that many requests in flight), what a
    profile's wall clock shows (`--why`: a GIL, a full thread pool, a lock, the
    upstream), the CPU per request grown past the `best` passing step's (and, when both
    were profiled, in which layers), else latency with nothing saturated."""
    w = record.warnings
    if "generator-hot" in w or "generator-behind" in w:
        return f"generator (Locust at {record.generator_cpu_pct or 0:.0f}% CPU)"
    if "upstream-hot" in w:
        return f"upstream (the stand-in at {record.upstream_cpu_pct or 0:.0f}% CPU)"
    if record.status != "ok":
        return "the cell failed"
    if record.requests and record.failure_ratio > rules.high_failure_ratio:
        why = f": {record.server_errors[0][0][:100]}" if record.server_errors else ""
        return f"failures ({record.failure_ratio:.0%}{why})"
    cpu = record.server_cpu_pct
    if cpu is not None and cpu >= rules.hot_cpu_pct:
        return f"server CPU ({cpu:.0f}%)"
    busy = in_flight(record)
    if spec.interface == "wsgi" and busy is not None and (
            busy >= CONCURRENCY_SHARE * concurrency(spec)):
        return (f"server concurrency ({concurrency(spec)} = {spec.workers} workers x"
                f" {spec.concurrency}; ~{busy:.0f} in flight)")
    seen = wall_limit(profile) if profile else None
    if seen:
        return seen
    grown = cpu_growth(best, record)
    if grown:
        return grown
    if cpu is not None and cpu >= NEAR_HOT_SHARE * rules.hot_cpu_pct:
        return f"server CPU, nearly ({cpu:.0f}%: queueing before the core is full)"
    return "latency (no saturated resource seen: the objective itself)"


CPU_GROWTH = 1.3  # CPU per request this many times the best passing step's: a collapse


def cpu_us_per_request(record: CellRecord) -> float | None:
    if record.server_cpu_pct is None or not record.requests:
        return None
    return record.server_cpu_pct * record.duration_s * 1e4 / record.requests


def cpu_growth(best: CellRecord | None, record: CellRecord) -> str | None:
    """A server whose CPU per request grows with the load collapses before any resource
    reads saturated (httpcore's pool pass per connection, threads born per request on a
    shared core): the growth from the best passing step, and the layers that grew."""
    a = cpu_us_per_request(best) if best else None
    b = cpu_us_per_request(record)
    if not a or not b or b < CPU_GROWTH * a:
        return None
    layers = [m["text"] for m in moved([best], [record]) if m["delta_us"] > 0]
    where = f": {', '.join(layers)}" if layers else ""
    return (f"CPU per request grew with the load ({b / a:.1f}x the best step's,"
            f" {a:,.0f} -> {b:,.0f} us{where}; nothing saturated)")


def step_describe(record: CellRecord, passed: bool, misses: list[str]) -> dict[str, Any]:
    raw, cor = record.latency_raw_ms, record.latency_ms
    return {
        "rate": record.rate, "achieved_rps": record.achieved_rps, "passed": passed,
        "misses": misses, "users": record.users, "trial": record.trial,
        "p50_ms": cor.get("p50"), "p95_ms": cor.get("p95"), "p99_ms": cor.get("p99"),
        "raw_p50_ms": raw.get("p50"), "raw_p95_ms": raw.get("p95"),
        "raw_p99_ms": raw.get("p99"), "failures": record.failures,
        "failure_ratio": round(record.failure_ratio, 4), "late": record.late,
        "start_lag_p99_ms": record.start_lag_p99_ms,
        "server_cpu_pct": record.server_cpu_pct,
        "generator_cpu_pct": record.generator_cpu_pct,
        "upstream_cpu_pct": record.upstream_cpu_pct, "warnings": list(record.warnings),
        "path": record.path,
    }


def result(spec: ServerSpec, key: dict[str, Any], objective: Objective, search: Search,
           records: list[CellRecord], rules: Rules,
           profiles: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One configuration's capacity record (summary.json's `capacity` list). `profiles`
    (a step's path -> its profile.json, `--why`): the first failing step's, else the
    best passing step's, tells `limit` what the wall clock saw."""
    lo, hi = search.bracket
    judged = [(r, not objective.misses(r)) for r in records]
    first_fail = next((r for r, ok in judged if not ok and r.rate == hi), None)
    passing = [r for r, ok in judged if ok and r.rate == lo]
    service_ms = min((r.latency_raw_ms.get("p50") or 0 for r in passing), default=None)
    bound = (round(concurrency(spec) / (service_ms / 1000), 1)
             if service_ms and spec.interface == "wsgi" else None)
    return {
        **key, "interface": spec.interface, "model": spec.model,
        "capacity_rps": lo or 0.0,
        "bracket": [lo, hi], "confirmed": search.confirmed, "converged": search.converged,
        "slo": objective.describe(),
        "limit": limit(first_fail, spec, rules, _profile(profiles or {}, first_fail,
                                                         passing),
                       passing[-1] if passing else None) if first_fail else
                 ("not reached: every step held" if hi is None else None),
        "concurrency": concurrency(spec),
        "concurrency_bound_rps": bound,  # C / S, S the raw p50 at the best step
        "steps": [{**step_describe(r, ok, objective.misses(r)),
                   "utilisation": round(r.rate / lo, 3) if lo and r.rate else None}
                  for r, ok in judged],
    }


def _profile(profiles: dict[str, dict[str, Any]], first_fail: CellRecord,
             passing: list[CellRecord]) -> dict[str, Any] | None:
    """The first failing step's profile, else the last passing one's (at the best rate)."""
    for r in (first_fail, *reversed(passing)):
        if profiles.get(r.path):
            return profiles[r.path]
    return None
