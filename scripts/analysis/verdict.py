"""The end-of-run verdict as data: per scenario and server, each flavor against sync.

Throughput, p95, failures, the ratio to the sync twin and flags, trials folded by
fold.py. This does not test significance; analysis/compare.py does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..archive.records import CellRecord
from ..cells import CellKey
from ..stories import story_rank, sync_counterpart
from .fold import Folded, fold, median


@dataclass
class Row:
    key: CellKey
    rps: float | None
    p95_ms: float | None
    failure_ratio: float
    vs_sync: float | None
    flags: list[str]
    trials: int
    bound_rps: float | None = None  # the tighter asymptotic bound, median over trials
    mixed: bool = False  # vs_sync pairs a load-bound cell with one that is not
    model: str = ""  # the server's concurrency model (config.model.MODELS)
    interface: str = ""

    @property
    def load_bound(self) -> bool:
        return "load-bound" in self.flags

    @property
    def scenario(self) -> str:
        return self.key.scenario

    @property
    def server(self) -> str:
        return self.key.server


def _row(key: CellKey, folded: Folded, cells: list[CellRecord]) -> Row:
    measured = folded.failed_trials < folded.trials
    flags = sorted(set(folded.warnings) | ({"failed"} if folded.failed_trials else set()))
    bounds = [min(b for b in (c.bound_users_rps, c.bound_concurrency_rps) if b is not None)
              for c in cells if c.bound_users_rps is not None]
    return Row(key, folded.values["rps"] if measured else None,
               folded.values["p95"] if measured else None, folded.failure_ratio,
               vs_sync=None, flags=flags, trials=folded.trials, bound_rps=median(bounds),
               model=cells[0].model, interface=cells[0].interface)


def rows(records: list[CellRecord]) -> list[Row]:
    """One row per cell key, in the run's order of (scenario, server)."""
    groups: dict[CellKey, list[CellRecord]] = {}
    for r in records:
        groups.setdefault(r.key, []).append(r)
    folded = {key: _row(key, fold(cells), cells) for key, cells in groups.items()}
    for key, row in folded.items():
        if row.rps is None:
            continue
        flavors = {k.flavor for k in folded if (k.server, k.scenario) == (key.server,
                                                                         key.scenario)}
        twin = sync_counterpart(key.flavor, flavors)
        if twin is None:
            continue
        base = folded.get(key.with_flavor(twin))
        if base is None:  # a client with no sync API: compare with any client's sync
            base = next((r for k, r in folded.items()
                         if (k.server, k.scenario, k.flavor, k.setting)
                         == (key.server, key.scenario, twin, key.setting)), None)
        if base and base.rps:
            row.vs_sync = row.rps / base.rps
            row.mixed = row.load_bound != base.load_bound
    order: dict[tuple[str, str], int] = {}
    for r in records:
        order.setdefault((r.scenario, r.server), len(order))
    return sorted(folded.values(),  # stories in the literature's order, then as run
                  key=lambda r: (story_rank(r.scenario), order[(r.scenario, r.server)]))
