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


GIL_FULL = 0.9  # one process held its GIL this share of the window: its threads take turns
POOL_FULL = 0.9  # a pool's busy threads over its threads: every thread was serving
WAIT_SHARE = 0.5  # of busy threads' time in one layer: what the requests waited on
LOCK_SHARE = 0.05  # of serving threads' wall clock on one lock: requests queue there
# a thread waiting for another's lock: the leaf frame's function (a `with lock:` whose
# lock is Python code, httpcore's ThreadLock) or one of the standard library's waits
LOCK_FUNCTIONS = ("acquire", "__enter__")
LOCK_WAITS = frozenset({("threading", "Condition.wait"), ("queue", "Queue.get"),
                        ("queue", "Queue.put")})
# threads waiting on these are the hop itself (asgiref's thread waiting for the loop)
HOP_LAYERS = frozenset({"thread hops", "event loop"})


def _frame(frame: str) -> tuple[str, str]:
    """`Condition.wait (threading.py:359)` -> ("threading", "Condition.wait")."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return path.removesuffix(".py").replace("/", "."), name


def wall_limit(profile: dict[str, Any]) -> str | None:
    """What a profiled step's wall-clock view says limited it, when no resource the
    harness measures was saturated; None when it shows nothing. In order: one process's
    GIL held nearly all the window; a thread pool with every thread busy (and where
    they sat); threads queued on a lock; threads waiting in the HTTP client (the
    upstream), a pool's busy ones or, without a pool, most of the wall clock's."""
    held = (profile.get("gil") or {}).get("held_share") or {}
    if held and max(held.values()) >= GIL_FULL:
        share = max(held.values())
        return (f"GIL (one process held its GIL {share:.0%} of the window: its threads"
                f" take turns)")
    wall = profile.get("wall") or {}
    pools = wall.get("pools") or []
    for pool in pools:
        if pool["threads"] >= 2 and pool.get("busy_share", 0.0) >= POOL_FULL:
            same = [p for p in pools if p["name"] == pool["name"]
                    and p["threads"] == pool["threads"]]
            where = _where(pool)
            each = f" in each of {len(same)} processes" if len(same) > 1 else ""
            return (f"a thread pool's size ({pool['threads']} threads{each}, busy"
                    f" {pool['busy_share']:.0%} of the time{where})")
    for b in wall.get("blocked") or []:
        if _locked(b["frame"]) and b["layer"] not in HOP_LAYERS and b["share"] >= LOCK_SHARE:
            return (f"a lock ({b['layer']}: serving threads waited in {b['frame']}"
                    f" {b['share']:.0%} of the time)")
    for pool in pools:
        layer, share = next(iter(pool["layers"].items()), (None, 0.0))
        if layer == "HTTP client" and share >= WAIT_SHARE:
            return (f"waiting on the upstream (the HTTP client: {share:.0%} of the busy"
                    f" threads' time; {pool['threads']} threads, busy"
                    f" {pool.get('busy_share', 0.0):.0%} of the time)")
    top = (wall.get("blocked") or [None])[0]  # no pool: a thread per request or worker
    if top and top["layer"] == "HTTP client" and top["share"] >= WAIT_SHARE:
        return (f"waiting on the upstream (serving threads sat in the HTTP client"
                f" {top['share']:.0%} of the time, at {top['frame']})")
    return None


def _locked(frame: str) -> bool:
    module, function = _frame(frame)
    return (function.rsplit(".", 1)[-1] in LOCK_FUNCTIONS
            or (module, function) in LOCK_WAITS)


def _where(pool: dict[str, Any]) -> str:
    layer, share = next(iter(pool["layers"].items()), (None, 0.0))
    return f", {share:.0%} of their time in {layer}" if layer else ""
