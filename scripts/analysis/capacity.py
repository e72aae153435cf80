"""Capacity results read as answers: each async flavor's capacity over its sync twin's
on the same server. Data only; render/capacity.py prints it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cells import CellKey
from ..stories import sync_counterpart


@dataclass(frozen=True)
class Versus:
    scenario: str
    server: str
    flavor: str
    client: str | None
    sync_flavor: str
    sync_client: str | None
    ratio: float | None  # async capacity / sync capacity; None if sync held nothing
    note: str = ""  # why the ratio is uncertain (an unconfirmed or unconverged search)
    stack: str = ""  # the middleware stack and connection setting both ran under
    value: float = 0.0  # the async flavor's own capacity


def key_of(rec: dict[str, Any]) -> CellKey:
    """A capacity record's configuration as a cell key, its stack and connection
    setting included (records from before those axes have neither)."""
    return CellKey(rec["server"], rec["scenario"], rec["flavor"], rec.get("client"),
                   middleware=rec.get("middleware"), connections=rec.get("connections"))


def value(rec: dict[str, Any]) -> float:
    """A capacity record's answer: requests/s held at the SLO, or, for a long-lived
    story, connections held at once (`held_connections`)."""
    return rec["held_connections"] if "held_connections" in rec else rec["capacity_rps"]


def is_held(rec: dict[str, Any]) -> bool:
    return "held_connections" in rec


def versus_sync(capacity: list[dict[str, Any]]) -> list[Versus]:
    """Every async flavor against its sync twin on the same server (same client when
    the twin has it, else the twin with any client, e.g. aiohttp against httpx)."""
    out = []
    for rec in capacity:
        setting = key_of(rec).setting
        same = [c for c in capacity
                if (c["server"], c["scenario"]) == (rec["server"], rec["scenario"])
                and key_of(c).setting == setting]
        twin = sync_counterpart(rec["flavor"], {c["flavor"] for c in same})
        if twin is None:
            continue
        base = next((c for c in same if c["flavor"] == twin
                     and c["client"] == rec["client"]), None) or next(
            (c for c in same if c["flavor"] == twin), None)
        if base is None:
            continue
        ratio = value(rec) / value(base) if value(base) else None
        unsure = [c for c in (rec, base) if not c.get("converged")]
        note = ("bracket wider than the search's precision: "
                + ", ".join(f"{c['flavor']} {c['bracket']}" for c in unsure)) if unsure else ""
        out.append(Versus(rec["scenario"], rec["server"], rec["flavor"], rec["client"], twin,
                          base["client"], ratio, note, key_of(rec).stack_part, value(rec)))
    return out


@dataclass(frozen=True)
class CapacityDelta:
    """One configuration's capacity in run B against run A. The brackets are the
    uncertainty: a change is called only when they do not overlap."""

    label: str
    a_rps: float
    b_rps: float
    a_bracket: list[float | None]
    b_bracket: list[float | None]
    ratio: float | None
    called: bool

    @property
    def marker(self) -> str:
        return "" if self.called else "~"


def _label(rec: dict[str, Any]) -> str:
    key = key_of(rec)
    return f"{key.server} {key.scenario}/{key.flavor}{key.client_part}{key.stack_part}"


def _span(bracket: list[float | None], rps: float) -> tuple[float, float]:
    """[low, high] the capacity may be in: [highest pass, lowest fail]."""
    lo, hi = bracket
    return (lo if lo is not None else 0.0), (hi if hi is not None else float("inf")) or rps


def between(cap_a: list[dict[str, Any]], cap_b: list[dict[str, Any]]) -> list[CapacityDelta]:
    """Every configuration both capacity runs searched, B against A."""
    by_a = {_label(r): r for r in cap_a}
    out = []
    for rec in cap_b:
        a = by_a.get(_label(rec))
        if a is None:
            continue
        lo_a, hi_a = _span(a["bracket"], value(a))
        lo_b, hi_b = _span(rec["bracket"], value(rec))
        called = hi_b <= lo_a or hi_a <= lo_b  # brackets apart: a real change
        ratio = value(rec) / value(a) if value(a) else None
        out.append(CapacityDelta(_label(rec), value(a), value(rec),
                                 a["bracket"], rec["bracket"], ratio, called))
    return out
