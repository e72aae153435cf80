"""The answer block: one line per scenario before any table (analysis/answer.py)."""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis.answer import Answer
from .common import num

TITLE = "answer: per story, the configuration that served the most, and the runner-up"


def line(a: Answer) -> str:
    """`weather: gunicorn-gthread sync [httpx] u20 140.6 rps, +12% over uvicorn sync
    [httpx] u20 (~ not significant: ...); best is load-bound`."""
    head = f"{a.scenario}: {a.best.name()} {num(a.best_rps)} rps"
    if a.runner_up is None or a.row is None:
        head += " (the only configuration measured)"
    else:
        delta = a.delta_pct
        ahead = f"{delta:+.0f}%" if delta is not None else "?"
        rps = a.row.verdicts["rps"]
        call = "significant" if a.significant else f"~ not significant: {rps.reason}"
        head += f", {ahead} over {a.runner_up.name()} ({call})"
    if a.flags:
        head += f"; best is {', '.join(a.flags)}"
    if a.why:
        head += f"; why: {a.why}"
    return head


def lines(found: Sequence[Answer]) -> list[str]:
    """The block: a title, then a line per scenario (nothing when nothing measured)."""
    return [TITLE, *[f"  {line(a)}" for a in found]] if found else []
