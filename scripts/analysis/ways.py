"""The ways a Django team can get concurrency for one story, side by side.

Sync views on threads (gthread), sync views on greenlets (gevent), async views on an
event loop (ASGI), and one request per process as the baseline: each way at its best
(the server and client that did most), from a verdict's rows or a capacity search.
Which way a cell is comes from its server's model (config.model.MODELS) and its flavor:
a sync view on an event-loop server, or an async view on a WSGI server, is no way of
its own (it is the adaptation penalty, measured elsewhere). Data only; render/ways.py
prints it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..stories import sync_counterpart
from .verdict import Row

# The order ways are shown in, with their names in a sentence.
WAYS = {"processes": "processes", "threads": "threads", "greenlets": "greenlets",
        "event-loop": "async"}
REFERENCE = "threads"  # what "vs threads" divides by: the WSGI answer most teams run


@dataclass(frozen=True)
class Entry:
    """One measured configuration: a verdict row or a capacity record."""

    scenario: str
    flavor: str
    flavors: frozenset[str]  # every flavor of the scenario measured beside it
    model: str  # the server's; "" when unknown
    interface: str
    server: str
    client: str | None
    value: float | None  # rps (verdict) or capacity rps
    note: str = ""  # why the value is soft: load-bound, unconfirmed


@dataclass(frozen=True)
class Way:
    story: str  # the scenario, with its variant when it has several (catalog list)
    way: str  # a key of WAYS
    entry: Entry
    vs_reference: float | None  # value / the threads way's value for the same story


def model_of(model: str, interface: str) -> str:
    """A record's model; records older than the key are read by their interface."""
    return model or ("event-loop" if interface == "asgi" else "")


def way_of(entry: Entry) -> str | None:
    """Which way a cell measures, or None when it measures none."""
    model = model_of(entry.model, entry.interface)
    is_async = entry.flavor.startswith("async")
    if model == "event-loop":
        return "event-loop" if is_async else None
    return model if model in WAYS and not is_async else None


def _story(entry: Entry) -> str:
    """Scenario plus variant: async-list and sync-list are `catalog list`."""
    base = sync_counterpart(entry.flavor, entry.flavors) or entry.flavor
    variant = base.removeprefix("sync").strip("-")
    return f"{entry.scenario} {variant}" if variant else entry.scenario


def best_ways(entries: Iterable[Entry]) -> list[Way]:
    """Per story, each way's best entry, in the stories' first-seen order and WAYS' order.

    A story with only one way measured is left out: there is nothing to set beside it.
    """
    best: dict[str, dict[str, Entry]] = {}
    for e in entries:
        way = way_of(e)
        if way is None or e.value is None:
            continue
        ways = best.setdefault(_story(e), {})
        if way not in ways or e.value > (ways[way].value or 0.0):
            ways[way] = e
    out = []
    for story, ways in best.items():
        if len(ways) < 2:
            continue
        ref = ways.get(REFERENCE)
        for way in WAYS:
            if way in ways:
                e = ways[way]
                ratio = (e.value / ref.value if ref is not None and ref.value
                         and e.value is not None else None)
                out.append(Way(story, way, e, ratio))
    return out


def from_rows(rows: list[Row]) -> list[Entry]:
    """A verdict's rows (closed loop: a load-bound row's rps is users / latency)."""
    flavors: dict[str, set[str]] = {}
    for r in rows:
        flavors.setdefault(r.scenario, set()).add(r.key.flavor)
    return [Entry(r.scenario, r.key.flavor, frozenset(flavors[r.scenario]), r.model,
                  r.interface, r.server, r.key.client, r.rps,
                  "load-bound" if r.load_bound else "")
            for r in rows if r.key.rate is None]


def from_capacity(capacity: list[dict[str, Any]]) -> list[Entry]:
    """A capacity search's records: the load each configuration held at its SLO (in
    requests/s: a long-lived story's held connections are another measure)."""
    capacity = [c for c in capacity if "capacity_rps" in c]
    flavors: dict[str, set[str]] = {}
    for c in capacity:
        flavors.setdefault(c["scenario"], set()).add(c["flavor"])
    return [Entry(c["scenario"], c["flavor"], frozenset(flavors[c["scenario"]]),
                  c.get("model", ""), c.get("interface", ""), c["server"], c.get("client"),
                  c["capacity_rps"], "" if c.get("confirmed") else "unconfirmed")
            for c in capacity]
