"""`loadlab history`: each configuration's capacity, rps and p95 across the runs of a
results folder, in time order, each point labelled with its run's git commit, so a
team sees a trend and not only pairs. Data only; render/history.py prints and draws.

A configuration is a cell key without its trial (cells.CellKey). A bench (or ui)
cell's trials fold into one point (analysis/fold.py: the median of the ok trials). A
capacity run gives one point per configuration from its `capacity` list (the rate, or
the connections, held at the objective, with the rps and p95 measured there); its
search steps are not configurations. A run that did not complete still gives what it
measured, marked with its status; a folder that cannot be read is skipped and named.
History shows levels, not verdicts: `loadlab compare` calls a change.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..archive.folder import Run, load_run
from ..archive.runs import list_runs
from ..cells import CellKey
from ..errors import RunFolderError, UsageError
from .capacity import is_held, key_of
from .capacity import value as capacity_value
from .fold import fold

SHORT_COMMIT = 8  # characters of the commit a label shows


@dataclass(frozen=True)
class Point:
    """One configuration in one run: what it measured there, and where the code was."""

    run: str
    started: datetime | None
    commit: str | None  # the manifest's git commit (None: not a git checkout)
    dirty: bool  # the checkout had uncommitted changes
    status: str  # the run's status: complete, partial, failed, interrupted, ...
    rps: float | None  # at capacity for a capacity point; None: nothing measured
    p95: float | None  # ms, likewise
    capacity: float | None = None  # a capacity run's answer (rps, or connections held)
    flags: tuple[str, ...] = ()  # the cell's own flags (failed, cpu-saturated, ...)

    @property
    def commit_label(self) -> str:
        """`1a2b3c4d`, `1a2b3c4d-dirty` (git describe's way), or `no git`."""
        if not self.commit:
            return "no git"
        return self.commit[:SHORT_COMMIT] + ("-dirty" if self.dirty else "")

    @property
    def marks(self) -> tuple[str, ...]:
        """Why to read this point with care: the run's status when it did not
        complete, then the cell's flags."""
        return ((self.status,) if self.status != "complete" else ()) + self.flags


@dataclass(frozen=True)
class Series:
    """One configuration across runs, oldest first. `capacity`: points from capacity
    runs' results, a series apart from any bench cell of the same views."""

    key: CellKey
    capacity: bool
    held: bool  # a long-lived story's capacity: connections held, not rps
    points: tuple[Point, ...]

    @property
    def label(self) -> str:
        """`server scenario/flavor [client] uN`; a capacity series says `capacity`
        where a bench cell says its load."""
        if not self.capacity:
            return self.key.label
        k = self.key
        return f"{k.server} {k.scenario}/{k.flavor}{k.client_part}{k.stack_part} capacity"

    @property
    def unit(self) -> str:
        return "connections" if self.held else "rps"


@dataclass(frozen=True)
class History:
    series: tuple[Series, ...]  # stories in the literature's order (CellKey.sort_key)
    runs: tuple[str, ...]  # every run that gave a point, oldest first


@dataclass(frozen=True)
class Gathered:
    runs: tuple[Run, ...]  # oldest first
    skipped: tuple[str, ...]  # one line per folder that could not be read


def read_runs(results: Path) -> Gathered:
    """Every readable run under `results`, oldest first, like `loadlab list` finds them;
    an unreadable one becomes a line, not an error. A folder that is not there is bad
    input (UsageError): a mistyped --results must not read as 'no runs'."""
    if not results.exists():
        raise UsageError(f"loadlab history: {results}: no such results folder")
    if not results.is_dir():
        raise UsageError(f"loadlab history: {results}: --results must be a folder")
    runs, skipped = [], []
    for info in list_runs(results):
        if info.status == "unreadable":
            skipped.append(f"{info.path}: unreadable manifest.json")
            continue
        try:
            runs.append(load_run(info.path))
        except RunFolderError as exc:
            skipped.append(str(exc))
    return Gathered(tuple(runs), tuple(skipped))


def _started(run: Run) -> datetime | None:
    try:
        return datetime.fromisoformat(str(run.manifest.get("started")))
    except ValueError:
        return None


def _point(run: Run, **measured: Any) -> Point:
    git = run.manifest.get("git") or {}
    return Point(run=run.name, started=_started(run), commit=git.get("commit") or None,
                 dirty=bool(git.get("dirty")), status=run.status, **measured)


def _median(values: Iterable[Any]) -> float | None:
    found = [float(v) for v in values if isinstance(v, int | float)]
    return statistics.median(found) if found else None


def _capacity_point(run: Run, rec: dict[str, Any]) -> Point:
    """The answer, and the rps and p95 of the steps at it that held (their median when
    the search confirmed it twice). A long-lived story's steps give no rps."""
    held = capacity_value(rec)
    steps = rec.get("steps") or []
    if is_held(rec):
        at = [s for s in steps if s.get("users") == held and s.get("ok")]
    else:
        at = [s for s in steps if s.get("rate") == held and s.get("passed")]
    flags = () if rec.get("converged", True) else ("unconverged",)
    return _point(run, rps=_median(s.get("achieved_rps") for s in at),
                  p95=_median(s.get("p95_ms") for s in at), capacity=float(held),
                  flags=flags)


def _points(run: Run) -> Iterable[tuple[tuple[CellKey, bool, bool], Point]]:
    if run.capacity is not None:  # a capacity run: its steps are not configurations
        for rec in run.capacity:
            yield (key_of(rec), True, is_held(rec)), _capacity_point(run, rec)
        return
    for key, trials in run.by_key().items():
        folded = fold(trials)
        yield (key, False, False), _point(run, rps=folded.values["rps"],
                                          p95=folded.values["p95"],
                                          flags=tuple(folded.flags))


def history(runs: Sequence[Run], scenario: str | None = None,
            server: str | None = None) -> History:
    """Every configuration's points across `runs`, each series in time order; only
    `scenario` and `server` when given. A filter that no run has is bad input (one
    line naming what the runs do have), not an empty answer."""
    found: dict[tuple[CellKey, bool, bool], list[Point]] = {}
    for run in runs:
        for ident, point in _points(run):
            found.setdefault(ident, []).append(point)
    _check(found, "scenario", scenario)
    _check(found, "server", server)
    chosen = {ident: points for ident, points in found.items()
              if scenario in (None, ident[0].scenario) and server in (None, ident[0].server)}
    if found and not chosen:
        raise UsageError(f"loadlab history: no run measured scenario {scenario!r} on"
                         f" server {server!r}")
    when = {run.name: (_started(run) is None, _started(run) or datetime.min, run.name)
            for run in runs}
    order = sorted(chosen, key=lambda i: (i[0].sort_key(scenario_first=True), i[1]))
    series = tuple(Series(key, cap, held, tuple(sorted(chosen[(key, cap, held)],
                                                       key=lambda p: when[p.run])))
                   for key, cap, held in order)
    used = {p.run for s in series for p in s.points}
    return History(series, tuple(sorted(used, key=lambda name: when[name])))


def _check(found: dict[tuple[CellKey, bool, bool], list[Point]], axis: str,
           name: str | None) -> None:
    have = sorted({getattr(ident[0], axis) for ident in found})
    if name is not None and name not in have:
        raise UsageError(f"loadlab history: no run measured {axis} {name!r} (the runs"
                         f" have: {', '.join(have) or 'none'})")
