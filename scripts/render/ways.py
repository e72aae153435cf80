"""The ways side by side, as plain text (terminal) and as a markdown table (summary.md).

One table per run: per story, each way at its best, and its ratio to threads. The
data comes from analysis/ways.py; the verdict and the capacity summary both print it.
"""

from __future__ import annotations

from ..analysis.ways import REFERENCE, WAYS, Way

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
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    lines = [title(measure)]
    last = None
    for i, r in enumerate(table):
        story = r[0] if i else None
        if i > 1 and story != last:
            lines.append("")
        last = story
        cells = [c.rjust(w) if j in RIGHT else c.ljust(w)
                 for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def markdown(ways: list[Way], measure: str) -> str:
    if not ways:
        return ""
    lines = [f"## Ways: {title(measure)}", "", "| " + " | ".join(HEADERS) + " |",
             "|" + "|".join("---:" if j in RIGHT else "---" for j in range(len(HEADERS)))
             + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(w)) + " |"
              for w in ways]
    return "\n".join(lines) + "\n"
