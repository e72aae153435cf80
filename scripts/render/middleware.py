"""The middleware stacks' cost, as plain text (terminal) and markdown (summary.md).
The data comes from analysis/middleware.py."""

from __future__ import annotations

from ..analysis.middleware import StackCost, StackSet
from .common import aligned, md_table

TITLE = ("what each middleware stack costs (server CPU per request, and its extra over"
         " the `none` stack)")
HEADERS = ["cell", "stack", "rps", "vs none", "p50 ms", "CPU us/req", "extra us", "flags"]
RIGHT = {2, 3, 4, 5, 6}


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _cells(s: StackSet, c: StackCost, first: bool) -> list[str]:
    return [s.key.label if first else "", c.stack, _num(c.rps, ",.1f"),
            "" if c.vs_baseline is None else f"{c.vs_baseline:.2f}x", _num(c.p50_ms, ".2f"),
            _num(c.cpu_us, ",.0f"), "" if c.extra_us is None else f"{c.extra_us:+,.0f}",
            ",".join(c.flags)]


def _rows(sets: list[StackSet]) -> list[list[str]]:
    return [_cells(s, c, i == 0) for s in sets for i, c in enumerate(s.costs)]


def text(sets: list[StackSet]) -> str:
    if not sets:
        return ""
    return "\n".join([TITLE, *aligned([HEADERS, *_rows(sets)], RIGHT)]) + "\n"


def markdown(sets: list[StackSet]) -> str:
    if not sets:
        return ""
    lines = [f"## Middleware: {TITLE}", "", *md_table(HEADERS, _rows(sets), RIGHT)]
    return "\n".join(lines) + "\n"
