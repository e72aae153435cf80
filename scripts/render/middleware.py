"""The middleware stacks' cost, as plain text (terminal) and markdown (summary.md).
The data comes from analysis/middleware.py."""

from __future__ import annotations

from ..analysis.middleware import StackCost, StackSet

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
    table = [HEADERS, *_rows(sets)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    lines = [TITLE]
    for r in table:
        cells = [c.rjust(w) if j in RIGHT else c.ljust(w)
                 for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def markdown(sets: list[StackSet]) -> str:
    if not sets:
        return ""
    lines = [f"## Middleware: {TITLE}", "", "| " + " | ".join(HEADERS) + " |",
             "|" + "|".join("---:" if j in RIGHT else "---" for j in range(len(HEADERS)))
             + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in _rows(sets)]
    return "\n".join(lines) + "\n"
