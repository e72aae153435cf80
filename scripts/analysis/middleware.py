"""What a middleware stack costs: the same cell under each stack, set beside the baseline.

Per (server, scenario, flavor, client, load) measured under two or more stacks: each
stack's throughput, median latency, and the server's CPU per request (the server's
CPU share over the window / requests per second, in microseconds), with the extra
microseconds over the baseline stack (`none`). CPU per request is the cost: it does
not depend on whether the cell was load-bound, where throughput and latency do.
Data only; render/middleware.py prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..archive.records import CellRecord
from ..cells import BASELINE_STACK, CellKey
from .fold import fold, median, ok


@dataclass(frozen=True)
class StackCost:
    stack: str
    rps: float | None
    p50_ms: float | None
    cpu_us: float | None  # the server's CPU per request (median over ok trials)
    extra_us: float | None  # cpu_us - the baseline's
    vs_baseline: float | None  # rps / the baseline's rps
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackSet:
    key: CellKey  # the cell, its stack left out
    costs: list[StackCost]  # the baseline first, then the other stacks in run order


def cpu_us_per_request(record: CellRecord) -> float | None:
    """Server CPU (percent of one core, summed over its processes) per request."""
    if record.server_cpu_pct is None or not record.rps:
        return None
    return record.server_cpu_pct / 100 * 1e6 / record.rps


def stack_sets(records: Sequence[CellRecord]) -> list[StackSet]:
    """Cells measured under more than one stack, in the run's order."""
    groups: dict[CellKey, dict[str, list[CellRecord]]] = {}
    for r in records:
        stacks = groups.setdefault(replace(r.key, middleware=None), {})
        stacks.setdefault(r.key.middleware or BASELINE_STACK, []).append(r)
    out = []
    for key, stacks in groups.items():
        if len(stacks) < 2:
            continue
        order = sorted(stacks, key=lambda s: s != BASELINE_STACK)  # baseline first
        costs = {s: _cost(s, stacks[s]) for s in order}
        base = costs.get(BASELINE_STACK)
        out.append(StackSet(key, [_against(c, base) for c in costs.values()]))
    return out


def _cost(stack: str, cells: list[CellRecord]) -> StackCost:
    folded = fold(cells)
    return StackCost(stack, folded.values["rps"], folded.values["p50"],
                     median(cpu_us_per_request(c) for c in ok(cells)), None, None,
                     tuple(folded.flags))


def _against(cost: StackCost, base: StackCost | None) -> StackCost:
    if base is None or cost is base:
        return cost
    extra = (cost.cpu_us - base.cpu_us
             if cost.cpu_us is not None and base.cpu_us is not None else None)
    ratio = cost.rps / base.rps if cost.rps is not None and base.rps else None
    return replace(cost, extra_us=extra, vs_baseline=ratio)
