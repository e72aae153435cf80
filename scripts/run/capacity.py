"""`loadlab capacity`: per configuration, the highest offered rate that holds its SLO.

A bench whose cells are chosen as it goes: for each (server, scenario, flavor, client)
of the plan, search.py picks the next open-model rate from the steps so far; each step
is a normal cell (a fresh server, warmup, the measured window) archived like any other,
so `compare` reads a capacity run too. Each configuration's result goes into
summary.json's `capacity` list as soon as its search ends.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

from ..analysis.held import (
    NEIGHBOUR_USERS,
    HeldObjective,
    HeldSearch,
    neighbour_points,
)
from ..analysis.held import result as held_result
from ..analysis.search import (
    AIM,
    GOODPUT_SHARE,
    MAX_GROWTH,
    MAX_SHRINK,
    MAX_STEPS,
    MIN_GROWTH,
    ROOMY,
    START_CAP,
    TYPICAL_STEPS,
    WIDE,
    Objective,
    Search,
    goodput,
    result,
    start_rate,
    utilisation,
)
from ..archive.records import CellRecord
from ..config import Matrix
from ..config.longlived import params
from ..config.model import Profile
from ..load import profile as why_profile
from ..observe import Observer
from ..plan import Cell, Plan, open_users
from .bench import Bench, Options


class CapacityRun(Bench):
    """A Bench over configurations: `plan.cells` gives one cell per configuration (its
    rate unused); the search replaces it with steps."""

    def __init__(self, matrix: Matrix, plan: Plan, options: Options,
                 objectives: dict[str, Objective],
                 observers: list[Observer] | None = None) -> None:
        super().__init__(matrix, plan, options, observers, mode="capacity")
        self.objectives = objectives
        self.archive.manifest.capacity_search({
            "slo": {name: o.describe() for name, o in objectives.items()},
            "search": {"growth": Search.growth, "growth_range": [MIN_GROWTH, MAX_GROWTH],
                       "aim": AIM, "goodput_share": GOODPUT_SHARE, "roomy": ROOMY,
                       "wide": WIDE, "resolution": "two requests of the measured window",
                       "precision": Search.precision, "max_steps": MAX_STEPS,
                       "max_shrink": MAX_SHRINK,
                       "start": "half the server's concurrency over the story's typical"
                                " latency; past start_cap, the median capacity found so"
                                " far for the same flavor and client (else the story)",
                       "start_cap": START_CAP},
        })
        self.archive.capacity = []
        self.archive.save_manifest()
        self._index = 0
        # capacities found so far, per story and per (story, flavor, client)
        self._found: dict[object, list[float]] = {}
        # where the run is, for the time left: configuration, steps before it and in it
        self._config_no = self._done_steps = self._steps_now = 0
        pinned = self.pinning.cpus("server")
        self._server_cores = len(pinned) if pinned else (os.cpu_count() or 1)
        self._shared_core = (self.pinning.enabled
                             and self.pinning.generator == self.pinning.upstream)

    def _total(self) -> int:
        """The steps so far and an estimate of the rest (a search's length is known only
        when it ends): TYPICAL_STEPS for each configuration still to come."""
        after = len(self.plan.cells) - self._config_no - 1
        return (self._done_steps + max(self._steps_now + 1, TYPICAL_STEPS)
                + TYPICAL_STEPS * after)

    def _measure_all(self) -> None:
        for number, config in enumerate(self.plan.cells):
            self._config_no, self._steps_now = number, 0
            self._search(config)
            self._done_steps = self._index

    def _search(self, config: Cell) -> None:
        if config.scenario.connection != "request":
            self._search_held(config)
            return
        objective = self.objectives[config.scenario.name]
        story = config.scenario.name
        alike = (story, config.flavor, config.client)  # the same views, another server
        found = self._found.get(alike) or self._found.get(story, [])
        search = Search.for_window(
            start_rate(config.server, config.scenario.typical_ms, found),
            self.plan.profile.duration_s)
        records: list[CellRecord] = []
        while (rate := search.next_rate()) is not None:
            self._steps_now = len(search.steps)  # before this step
            trial = 1 + sum(r == rate for r, _ in search.steps)
            cell = replace(config, index=self._index, users=open_users(rate, config.scenario),
                           trial=trial, rate=rate)
            self._index += 1
            record = self._measure(cell)
            records.append(record)
            search.record(rate, not objective.misses(record),
                          load=utilisation(record, config.server, self._server_cores,
                                           self._shared_core),
                          goodput=goodput(record))
        key = {"server": config.server.name, "scenario": config.scenario.name,
               "flavor": config.flavor, "client": config.client,
               "middleware": config.key.middleware, "connections": config.key.connections}
        profiles = {r.path: p for r in records
                    if self.options.why and (p := why_profile.load(self.tmp / r.path))}
        outcome = result(config.server, key, objective, search, records, self.matrix.rules,
                         profiles)
        self.archive.add_capacity(outcome)
        for where in (story, alike):
            self._found.setdefault(where, []).append(outcome["capacity_rps"])

    def _search_held(self, config: Cell) -> None:
        """A long-lived story: the most connections held at once within its objective
        (a search over closed-loop users), then the neighbour beside 0, 1x and 2x
        the server's physics (or half and all of what it held)."""
        slo = self.objectives[config.scenario.name]
        objective = HeldObjective(slo.p95_ms, slo.p95_ms, slo.max_failure_ratio)
        plan = self.plan
        self.plan = replace(plan, profile=held_profile(plan.profile,
                                                       plan.query(config.scenario)))
        try:
            search, records = HeldSearch.for_server(config.server), []
            while (users := search.next_users()) is not None:
                self._steps_now = len(search.steps)
                records.append(self._step(config, users, 0))
                search.record(users, not objective.misses(records[-1]))
            key = {"server": config.server.name, "scenario": config.scenario.name,
                   "flavor": config.flavor, "client": config.client,
                   "middleware": config.key.middleware,
                   "connections": config.key.connections}
            outcome = held_result(config.server, key, objective, search, records)
            self.archive.add_capacity(outcome)
            for users in neighbour_points(config.server, outcome["held_connections"]):
                self._step(config, users, NEIGHBOUR_USERS)  # summary.json's `neighbour`
        finally:
            self.plan = plan

    def _step(self, config: Cell, users: int, neighbours: int) -> CellRecord:
        trial = 1 + sum(1 for r in self.records if r.key == replace(
            config, users=users, neighbours=neighbours).key)
        cell = replace(config, index=self._index, users=users, trial=trial, rate=None,
                       neighbours=neighbours)
        self._index += 1
        return self._measure(cell)


def held_profile(profile: Profile, query: str) -> Profile:
    """A held step measures whole sessions: its window covers one session's length at
    least, with a fifth to spare (a stream's events x interval, an upload's size /
    rate); the warmup stays the profile's."""
    p = params(query)
    length_s = (p.get("events", p.get("messages", 0)) * p.get("interval_ms", 0) / 1000
                or p.get("size_kb", 0) / max(p.get("rate_kbps", 1), 1))
    return replace(profile, duration_s=max(profile.duration_s, math.ceil(length_s * 1.2)),
                   max_duration_s=None)
