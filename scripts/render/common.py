"""Number formats and labels shared by every renderer, so they all say the same thing."""

from __future__ import annotations

import io
import sys
from typing import Any

from ..analysis.stats import Floor, Verdict

MIN_WIDTH = 80


def fitted_width(renderable: Any) -> int:
    """The width at which rich shows `renderable` whole (at least 80 columns): no
    number or name is cut to "1,41…" or "weath…" to fit an assumed terminal."""
    from rich.console import Console  # deferred like every rich import here

    probe = Console(width=100_000, file=io.StringIO())
    return max(MIN_WIDTH, probe.measure(renderable).maximum)


def width_for(renderable: Any, tty: bool | None = None) -> int | None:
    """A terminal keeps its own width (None: rich asks it); anything else (a pipe, a
    file, a CI log) gets the width that fits."""
    tty = sys.stdout.isatty() if tty is None else tty
    return None if tty else fitted_width(renderable)


def num(value: float | None, unit: str = "") -> str:
    """Throughput and latency as a person reads them: 3 significant-ish digits."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + unit


def delta(v: Verdict | None) -> str:
    """'+12.3%' when called, '~+1.2%' within the noise, '-' without a value."""
    if v is None or v.delta_pct is None:
        return "-"
    return f"{v.marker}{v.delta_pct:+.1f}%"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def geo_delta(value: float | None) -> str:
    return "-" if value is None else f"{(value - 1) * 100:+.1f}%"


def legend(floor: Floor, within: bool = False) -> str:
    what = "async against sync, server against the best" if within else "B against A"
    return (
        f"Deltas are {what}. '~' = within the noise (not significant, or under the"
        f" noise floor: {floor.short}). '!' = flagged cell: read its flags before"
        f" trusting it. The {floor.describe()}."
    )


def fmt_ms(value: float | None) -> str:
    """A latency for the terminal: µs below 1 ms, one decimal below 100 ms."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} µs"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"


def aligned(rows: list[list[str]], right: set[int], indent: str = "  ") -> list[str]:
    """Rows (the header first) as aligned plain-text lines: every column as wide as its
    widest cell, so no number or name is ever cut to fit a terminal or a pipe."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.rjust(w) if j in right else c.ljust(w)
                               for j, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in rows]


def md_table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """A markdown table; a `|` inside a cell is escaped."""
    return ["| " + " | ".join(headers) + " |",
            "|" + "|".join("---:" if j in right else "---" for j in range(len(headers))) + "|",
            *["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]]
