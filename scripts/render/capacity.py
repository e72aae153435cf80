"""A capacity run as text: the answer first (capacity at the SLO, what limited it, async
against sync), for the terminal (an observer of the run) and for summary.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..analysis.capacity import is_held, key_of, versus_sync
from ..analysis.ways import best_ways, from_capacity
from ..archive.records import CellRecord, neighbour_rows
from ..observe import Observer
from . import neighbour, ways
from .common import aligned, md_table

WAYS_MEASURE = "capacity rps at the story's p95 objective"

HEADERS = ["scenario", "server", "flavor", "capacity rps", "bracket", "p95 SLO", "limited by"]
RIGHT = {3, 4, 5}


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


HELD_HEADERS = ["scenario", "server", "flavor", "held", "bracket", "p95 objective",
                "physics", "RSS/conn", "limited by"]
HELD_RIGHT = {3, 4, 5, 7}


def rows(capacity: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for c in capacity:
        if is_held(c):
            continue
        lo, hi = c["bracket"]
        key = key_of(c)
        mark = "" if c.get("confirmed") else " (unconfirmed)"
        flavor = f"{c['flavor']}{key.client_part}{key.stack_part}"
        out.append([c["scenario"], c["server"], flavor,
                    _rate(c["capacity_rps"]) + mark, f"{_rate(lo)} .. {_rate(hi)}",
                    f"{c['slo']['p95_ms']:g} ms", c.get("limit") or "-"])
    return out


def held_rows(capacity: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for c in capacity:
        if not is_held(c):
            continue
        lo, hi = c["bracket"]
        key = key_of(c)
        rss = c.get("rss_per_connection_kb")
        out.append([c["scenario"], c["server"], f"{c['flavor']}{key.client_part}",
                    f"{c['held_connections']:,}", f"{lo if lo is not None else '-'} .."
                    f" {hi if hi is not None else '-'}", f"{c['objective']['p95_ms']:g} ms",
                    c.get("physics_words", "-"), "-" if rss is None else f"{rss:,.0f} KB",
                    c.get("limit") or "-"])
    return out


def versus_lines(capacity: list[dict[str, Any]]) -> list[str]:
    lines = []
    held = {c["scenario"] for c in capacity if is_held(c)}
    for v in versus_sync(capacity):
        client = f" [{v.client}]" if v.client else ""
        base = f" [{v.sync_client}]" if v.sync_client else ""
        ratio = "-" if v.ratio is None else f"{v.ratio:.2f}x"
        note = f"  ({v.note})" if v.note else ""
        what = "connections" if v.scenario in held else "load"
        if v.ratio is None and v.scenario in held:  # a ratio over none says nothing
            lines.append(f"{v.scenario} on {v.server}{v.stack}: {v.flavor}{client} holds"
                         f" {v.value:,g} connections, {v.sync_flavor}{base} none{note}")
            continue
        lines.append(f"{v.scenario} on {v.server}{v.stack}: {v.flavor}{client} holds {ratio}"
                     f" the {what} of {v.sync_flavor}{base}{note}")
    return lines


def text(capacity: list[dict[str, Any]]) -> str:
    """Plain aligned text: no number is ever cut to fit a terminal or a pipe."""
    tables = []
    if rows(capacity):
        tables.append(["capacity: the highest offered rate that held the objective"
                       " (p95 from the intended start, failures, the schedule kept)",
                       *aligned([HEADERS, *rows(capacity)], RIGHT, indent="")])
    if held_rows(capacity):
        tables.append(["held capacity: the most long-lived connections held at once within"
                       " the objective (first event, echo or upload p95; event lag p95;"
                       " failures)",
                       *aligned([HELD_HEADERS, *held_rows(capacity)], HELD_RIGHT, indent="")])
    lines = [line for i, table in enumerate(tables) for line in ([""] if i else []) + table]
    versus = versus_lines(capacity)
    if versus:
        lines += ["", "async vs sync, as a ratio of capacities:", *[f"  {v}" for v in versus]]
    side_by_side = ways.text(best_ways(from_capacity(capacity)), WAYS_MEASURE)
    if side_by_side:
        lines += ["", side_by_side.rstrip("\n")]
    return "\n".join(lines) + "\n"


def print_capacity(capacity: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    console.print(escape(text(capacity)), soft_wrap=True, end="")


def markdown(capacity: list[dict[str, Any]]) -> str:
    lines = ["## Capacity", ""]
    if rows(capacity):
        lines += md_table(HEADERS, rows(capacity), RIGHT)
    if held_rows(capacity):
        lines += ["", "Held connections at the objective:", "",
                  *md_table(HELD_HEADERS, held_rows(capacity), HELD_RIGHT)]
    lines += ["", *[f"- {line}" for line in versus_lines(capacity)], ""]
    side_by_side = ways.markdown(best_ways(from_capacity(capacity)), WAYS_MEASURE)
    lines += [side_by_side] if side_by_side else []
    return "\n".join(lines)


def _steps(c: dict[str, Any]) -> list[dict[str, Any]]:
    """A configuration's steps by offered rate; a rate measured twice keeps the later."""
    return sorted({s["rate"]: s for s in c["steps"] if s.get("rate")}.values(),
                  key=lambda s: s["rate"])


def figures(go: Any, scenario: str, capacity: list[dict[str, Any]]) -> list[Any]:
    """Throughput against offered load, and latency against throughput (the hockey
    stick), one line per configuration, its capacity marked with a star."""
    configs = [c for c in capacity if c["scenario"] == scenario and c["steps"]
               and not is_held(c)]
    if not configs:
        return []
    offered, stick = go.Figure(), go.Figure()
    top = max(s["rate"] for c in configs for s in c["steps"] if s.get("rate"))
    offered.add_scatter(x=[0, top], y=[0, top], mode="lines", name="achieved = offered",
                        line={"dash": "dot", "color": "grey"})
    for c in configs:
        steps = _steps(c)
        name = rows([c])[0][1] + " " + rows([c])[0][2]
        offered.add_scatter(x=[s["rate"] for s in steps],
                            y=[s["achieved_rps"] for s in steps], mode="lines+markers",
                            name=name, legendgroup=name)
        stick.add_scatter(x=[s["achieved_rps"] for s in steps],
                          y=[s["p95_ms"] for s in steps], mode="lines+markers", name=name,
                          legendgroup=name,
                          text=[f"offered {s['rate']:g} rps" for s in steps])
        held = next((s for s in reversed(steps) if s["rate"] == c["capacity_rps"]), None)
        if held is not None:
            for fig, x, y in ((offered, held["rate"], held["achieved_rps"]),
                              (stick, held["achieved_rps"], held["p95_ms"])):
                fig.add_scatter(x=[x], y=[y], mode="markers", legendgroup=name,
                                showlegend=False, marker={"symbol": "star", "size": 14},
                                name=f"{name}: capacity {c['capacity_rps']:,.1f} rps")
    slo = configs[0]["slo"]["p95_ms"]
    stick.add_hline(y=slo, line_dash="dash", annotation_text=f"p95 objective {slo:g} ms")
    offered.update_layout(title=f"{scenario}: achieved against offered load (each step)",
                          xaxis_title="offered rps", yaxis_title="achieved rps")
    stick.update_layout(title=f"{scenario}: p95 (from the intended start) against"
                        " throughput", xaxis_title="achieved rps", yaxis_title="p95 ms",
                        yaxis_type="log")
    return [offered, stick]


class CapacitySummary(Observer):
    """Prints the capacity table when the run is sealed (the answer, before the path)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)

    def run_done(self, path: Path, records: list[CellRecord], status: str) -> None:
        try:
            capacity = json.loads((path / "summary.json").read_text()).get("capacity")
        except (OSError, ValueError):
            return
        if capacity:
            print_capacity(capacity, self.console)
        beside = neighbour.text(neighbour_rows(records))
        if beside:
            self.console.print(escape(beside), soft_wrap=True, end="")
