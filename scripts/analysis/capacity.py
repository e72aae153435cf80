"""Capacity results read as answers: each async flavor's capacity over its sync twin's
on the same server. Data only; render/capacity.py prints it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.scenarios import sync_counterpart


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


def versus_sync(capacity: list[dict[str, Any]]) -> list[Versus]:
    """Every async flavor against its sync twin on the same server (same client when
    the twin has it, else the twin with any client, e.g. aiohttp against httpx)."""
    out = []
    for rec in capacity:
        same = [c for c in capacity
                if (c["server"], c["scenario"]) == (rec["server"], rec["scenario"])]
        twin = sync_counterpart(rec["flavor"], {c["flavor"] for c in same})
        if twin is None:
            continue
        base = next((c for c in same if c["flavor"] == twin
                     and c["client"] == rec["client"]), None) or next(
            (c for c in same if c["flavor"] == twin), None)
        if base is None:
            continue
        ratio = (rec["capacity_rps"] / base["capacity_rps"]
                 if base["capacity_rps"] else None)
        unsure = [c for c in (rec, base) if not c.get("converged")]
        note = ("bracket wider than the search's precision: "
                + ", ".join(f"{c['flavor']} {c['bracket']}" for c in unsure)) if unsure else ""
        out.append(Versus(rec["scenario"], rec["server"], rec["flavor"], rec["client"], twin,
                          base["client"], ratio, note))
    return out
