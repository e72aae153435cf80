"""The runs in a results folder at a glance: name, status, cells, start; for `loadlab
list` and `loadlab prune`. Reads manifests only; a folder it cannot read is reported,
never touched."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import UsageError
from .folder import PARTIAL_PREFIX


@dataclass(frozen=True)
class RunInfo:
    path: Path
    status: str  # complete, partial, failed, interrupted, abandoned, running, unreadable
    cells: int
    started: datetime | None
    owner: dict | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sealed(self) -> bool:
        return not self.name.startswith(PARTIAL_PREFIX)

    def describe(self) -> dict:
        return {"name": self.name, "status": self.status, "cells": self.cells,
                "started": self.started.isoformat() if self.started else None,
                "sealed": self.sealed}


def read_info(path: Path) -> RunInfo:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        started = datetime.fromisoformat(manifest["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return RunInfo(path, "unreadable", 0, None)
    cells = manifest.get("cells_done")
    if cells is None:
        try:
            cells = len(json.loads((path / "summary.json").read_text())["cells"])
        except (OSError, ValueError, KeyError, TypeError):
            cells = 0
    return RunInfo(path, str(manifest.get("status", "unknown")), int(cells), started,
                   manifest.get("owner"))


def list_runs(results: Path) -> list[RunInfo]:
    """Every run folder (sealed or not) under `results`, oldest first."""
    if not results.is_dir():
        return []
    found = [read_info(p) for p in results.iterdir()
             if p.is_dir() and (p / "manifest.json").exists()]
    return sorted(found, key=lambda r: (r.started is None, r.started or datetime.min, r.name))


def check_results_dir(path: Path, write: bool = False) -> None:
    """--results is a folder; for a command that writes runs, one it can write in
    (tried, not inferred from mode bits: root passes every os.access check)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"loadlab: {path}: --results must be a folder, not a file")
    if not write:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(dir=path, prefix=".loadlab-check-").cleanup()
    except OSError as exc:
        raise UsageError(f"loadlab: {path}: cannot write runs there"
                         f" ({exc.strerror or exc}); choose another --results") from None
