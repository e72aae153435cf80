"""The answer's cause in words: a profiled cell's dominant layer, and the layers whose
microseconds per request moved most between two sets of cells (compare's
`layers_moved`). Reads only what records keep (`layers`: layer -> CPU us/request)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ..archive.records import CellRecord

MOVED_TOP = 3
MOVED_MIN_US = 1.0  # a move smaller than this is sampling noise, not a cause


def why_line(profile: dict[str, Any]) -> str:
    """One line naming the dominant layer of a profile.json (or why there is none)."""
    if profile.get("note"):
        return profile["note"]
    layers = profile.get("layers") or {}
    if not layers:
        return "no profile"
    name, top = max(layers.items(), key=lambda kv: kv[1]["share"])
    us = top.get("cpu_us_per_request")
    per = f", {us:,.0f} us/request" if us is not None else ""
    return f"{name}: {top['share']:.0%} of the server's CPU{per}"


def median_layers(cells: Sequence[CellRecord]) -> dict[str, float]:
    """Each layer's median us/request over the ok trials that were profiled (a layer a
    trial did not see counts 0 there)."""
    seen = [c.layers for c in cells if c.status == "ok" and c.layers]
    names = {name for layers in seen for name in layers}
    return {name: statistics.median(layers.get(name) or 0.0 for layers in seen)
            for name in names}


def moved(a: Sequence[CellRecord], b: Sequence[CellRecord],
          top: int = MOVED_TOP) -> list[dict[str, Any]]:
    """The layers whose CPU us/request moved most from A to B, largest move first,
    e.g. {"layer": "thread hops", "delta_us": 310.0, "text": "+310 us/request in
    thread hops"}; empty unless both sides were profiled."""
    la, lb = median_layers(a), median_layers(b)
    if not la or not lb:
        return []
    deltas = {k: lb.get(k, 0.0) - la.get(k, 0.0) for k in set(la) | set(lb)}
    ranked = sorted(deltas.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    return [{"layer": k, "a_us": round(la.get(k, 0.0), 1), "b_us": round(lb.get(k, 0.0), 1),
             "delta_us": round(d, 1), "text": f"{d:+,.0f} us/request in {k}"}
            for k, d in ranked[:top] if abs(d) >= MOVED_MIN_US]
