"""What a person sees while a run goes: cell i/N, what runs now, time left, and a result
line per cell (hyperfine-style), then the verdict. An observer of the run: progress goes
to stderr; the verdict and the run folder's path to stdout."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..analysis import stats
from ..analysis.calibration import floor_in
from ..archive.records import CellRecord, neighbour_rows
from ..observe import Observer
from ..plan import Cell
from . import neighbour
from .common import fmt_ms
from .verdict import print_answer, print_verdict


def fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress(Observer):
    def __init__(self, console: Console | None = None, quiet: bool = False,
                 verdict: bool = True) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.quiet = quiet
        self.verdict = verdict  # the point verdict at the end (a capacity run has its own)
        self.floor: stats.Floor | None = None  # the run's, as compare finds it (at sealing)

    def note(self, text: str, style: str = "") -> None:
        """A line of plain text (log tails, errors: brackets in them are not markup)."""
        if not self.quiet:
            self.console.print(f"[dim]·[/] {escape(text)}", style=style or None)

    def plan(self, cells: int, estimate_s: float, skipped: Sequence[str]) -> None:
        self.note(f"{cells} cells, about {fmt_duration(estimate_s)}")
        for reason in skipped:
            self.note(f"skipped {reason}")

    def cell_started(self, cell: Cell, total: int, left_s: float) -> None:
        if not self.quiet:
            self.console.print(
                f"[bold][{cell.index + 1:>{len(str(total))}}/{total}][/] {escape(cell.label)}"
                f" [dim](about {fmt_duration(left_s)} left)[/]", end=" ")

    def cell_done(self, cell: Cell, record: CellRecord) -> None:
        if self.quiet:
            return
        if record.status != "ok":
            first = (record.error or "").splitlines()[0] if record.error else "failed"
            self.console.print(f"[red]FAILED[/] {escape(first)}")
            return
        p95 = record.latency_ms.get("p95")
        flags = f" [yellow]{','.join(record.warnings)}[/]" if record.warnings else ""
        fails = f" {record.failure_ratio:.1%} failed" if record.failures else ""
        self.console.print(f"[green]{record.rps:,.1f} rps[/] p95 {fmt_ms(p95)}{fails}{flags}")
        if record.why:
            self.console.print(f"  why: {escape(record.why)}")

    def run_sealing(self, run_dir: Path, manifest: dict, records: list[CellRecord]) -> None:
        """The floor the answer is called at: compare's for this run (run_done has no
        manifest)."""
        self.floor = floor_in(run_dir.parent, manifest)

    def run_done(self, path: Path, records: list[CellRecord], status: str) -> None:
        if self.verdict:
            print_answer(records, floor=self.floor)
            print_verdict(records)
            beside = neighbour.text(neighbour_rows(records))
            if beside:
                Console(highlight=False).print(escape(beside), soft_wrap=True, end="")
            if any(r.rate is None for r in records):
                Console(highlight=False).print(
                    "[dim]each row is one closed-loop point (throughput = users / latency):"
                    " for which server holds more load, run `make capacity`.[/]")
        colour = {"complete": "green", "interrupted": "yellow"}.get(status, "red")
        failed = sum(r.status != "ok" for r in records)
        tail = f", {failed} failed" if failed else ""
        self.console.print(f"[{colour}]run {status}[/]: {len(records)} cells{tail}")
        Console(highlight=False).print(f"run folder: {path}", soft_wrap=True)
