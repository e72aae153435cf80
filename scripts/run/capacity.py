"""`loadlab capacity`: per configuration, the highest offered rate that holds its SLO.

A bench whose cells are chosen as it goes: for each (server, scenario, flavor, client)
of the plan, search.py picks the next open-model rate from the steps so far; each step
is a normal cell (a fresh server, warmup, the measured window) archived like any other,
so `compare` reads a capacity run too. Each configuration's result goes into
summary.json's `capacity` list as soon as its search ends.
"""

from __future__ import annotations

import os
from dataclasses import replace

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
        self.archive.manifest["capacity"] = {
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
        }
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
        outcome = result(config.server, key, objective, search, records, self.matrix.rules)
        self.archive.add_capacity(outcome)
        for where in (story, alike):
            self._found.setdefault(where, []).append(outcome["capacity_rps"])
