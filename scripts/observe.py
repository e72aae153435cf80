"""What a run tells the world as it goes (k6's outputs, hyperfine's exporters).

`run/` calls these hooks and never formats anything; the CLI hands in observers
from `render/` (progress lines, the verdict, summary.md and report.html). An observer
overrides only what it cares about. The hooks, in the order a run calls them::

    plan -> (cell_started -> cell_phase* -> cell_done)* -> run_sealing -> run_done
    note: any time

`run_sealing` sees the run folder under its temporary name, complete but for the
rename: the place to write outputs that belong in it (summary.md, report.html).
It returns a one-line problem, or None, and must never lose a run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .archive.records import CellRecord
    from .plan import Cell

# cell_phase names, in order
PHASES = ("server-starting", "server-ready", "measuring")


class Observer:
    """Every hook does nothing; subclasses pick theirs."""

    def note(self, text: str, style: str = "") -> None:
        """A line for the person watching (a cleanup, a failure, a log tail)."""

    def plan(self, cells: int, estimate_s: float, skipped: Sequence[str]) -> None:
        """The run is about to start `cells` cells, taking about `estimate_s`."""

    def cell_started(self, cell: Cell, total: int, left_s: float) -> None:
        """A cell begins; `left_s` estimates the run's remaining time."""

    def cell_phase(self, cell: Cell, phase: str) -> None:
        """A cell reached one of PHASES."""

    def cell_done(self, cell: Cell, record: CellRecord) -> None:
        """A cell ended, measured or failed."""

    def run_sealing(self, run_dir: Path, manifest: dict, records: list[CellRecord]) -> str | None:
        """The folder holds everything but its outputs; return a problem line or None."""
        return None

    def run_done(self, path: Path, records: list[CellRecord], status: str) -> None:
        """The run folder is sealed at `path` with `status`."""


class Observers(Observer):
    """Many observers as one: each hook goes to all of them, in order.

    A hook that fails to write to a closed terminal (OSError after SIGHUP) is skipped:
    telling the world about a run must never stop the run from cleaning up.
    """

    def __init__(self, observers: Sequence[Observer] = ()) -> None:
        self.observers = list(observers)

    def _each(self, hook: str, *args: object) -> None:
        for o in self.observers:
            with contextlib.suppress(OSError):
                getattr(o, hook)(*args)

    def note(self, text: str, style: str = "") -> None:
        self._each("note", text, style)

    def plan(self, cells: int, estimate_s: float, skipped: Sequence[str]) -> None:
        self._each("plan", cells, estimate_s, skipped)

    def cell_started(self, cell: Cell, total: int, left_s: float) -> None:
        self._each("cell_started", cell, total, left_s)

    def cell_phase(self, cell: Cell, phase: str) -> None:
        self._each("cell_phase", cell, phase)

    def cell_done(self, cell: Cell, record: CellRecord) -> None:
        self._each("cell_done", cell, record)

    def run_sealing(self, run_dir: Path, manifest: dict, records: list[CellRecord]) -> str | None:
        problems = [p for o in self.observers if (p := o.run_sealing(run_dir, manifest,
                                                                      records))]
        return "; ".join(problems) or None

    def run_done(self, path: Path, records: list[CellRecord], status: str) -> None:
        self._each("run_done", path, records, status)
