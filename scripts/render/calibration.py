"""What `loadlab calibrate` prints: the floors (the minimum detectable effect), the
false-call rate and the detection of the known slowdown, in a few lines."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..analysis.calibration import Calibration, Calls
from ..analysis.stats import SATURATED_CPU_PCT


def _pct(calls: Calls) -> str:
    rate = calls.rate
    return f"{calls.called}/{calls.of}" + (f" ({rate:.0%})" if rate is not None else "")


def lines(c: Calibration, file: Path) -> list[str]:
    floors = ", ".join(f"{m} {v:.0%}" for m, v in c.floors.items()) or "no such rows"
    busy = ", ".join(f"{m} {v:.0%}" for m, v in c.busy_floors.items()) or "no such rows"
    detected = ", ".join(f"{m} {_pct(calls)}" for m, calls in c.detected.items())
    return [
        f"calibration at profile {c.profile}: A, A again, and A with the upstream"
        f" {c.slowdown_pct:g}% slower ({', '.join(c.runs.values())})",
        f"minimum detectable effect on this machine (the noise floor: what the A/A"
        f" differences exceed 1 time in 20, a robust normal bound): {floors};"
        f" where a server was saturated (CPU >= {SATURATED_CPU_PCT:g}%): {busy}",
        f"false calls, A against A at that floor: {_pct(c.false_calls)} metric cells",
        f"the {c.slowdown_pct:g}% slower upstream, rows it must move called: {detected}",
        f"rows without upstream calls called (must be none): {_pct(c.unaffected_called)}",
        f"written: {file} (compare uses it for runs of profile {c.profile} in that folder)",
    ]


def print_calibration(c: Calibration, file: Path, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    for text in lines(c, file):
        console.print(escape(text), soft_wrap=True)
