"""The ways side by side, as plain text (terminal) and as a markdown table (summary.md).

One table per run: per story, each way at its best, and its ratio to threads. The
data comes from analysis/ways.py; the verdict and the capacity summary both print it.
"""

from __future__ import annotations

from ..analysis.ways import REFERENCE, WAYS, Way
from .common import aligned, md_table

HEADERS = ["story", "way", "rps", "vs threads", "best configuration", "note"]
RIGHT = {2, 3}


def _cells(w: Way) -> list[str]:
    e = w.entry
    client = f" [{e.client}]" if e.client else ""
    return [w.story, WAYS[w.way], "-" if e.value is None else f"{e.value:,.1f}",
            "" if w.vs_reference is None else f"{w.vs_reference:.2f}x",
            f"{e.server} {e.flavor}{client}", e.note]


def title(measure: str) -> str:
    return (f"the ways side by side, each at its best ({measure}): sync views on"
            f" processes, {REFERENCE}, greenlets; async views on an event loop")


def text(ways: list[Way], measure: str) -> str:
    """Aligned plain text; never cuts a number to fit."""
    if not ways:
        return ""
    table = [HEADERS, *(_cells(w) for w in ways)]
    lines = [title(measure)]
    for i, (row, line) in enumerate(zip(table, aligned(table, RIGHT), strict=True)):
        if i > 1 and row[0] != table[i - 1][0]:
            lines.append("")  # a blank line between stories
        lines.append(line)
    return "\n".join(lines) + "\n"


def markdown(ways: list[Way], measure: str) -> str:
    if not ways:
        return ""
    lines = [f"## Ways: {title(measure)}", "",
             *md_table(HEADERS, [_cells(w) for w in ways], RIGHT)]
    return "\n".join(lines) + "\n"
