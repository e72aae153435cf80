"""The run folder on disk: its name, its JSON files, and loading it back.

`bench` and `ui` write runs through writer.py, which uses this; `compare` and the
renderers only read. Layout (docs/DESIGN.md, "A run folder")::

    results/<YYYYmmdd-HHMMSS>-<label>/
      manifest.json  summary.json  summary.md  report.html
      cells/<server>/<scenario>-<flavor>[-<client>][-mw-<stack>]-(u<users>|r<rate>)-t<trial>/

A run is written under a temporary name (`.partial-<name>`) and renamed when done;
an existing folder is never overwritten.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cells import CellKey
from ..errors import RunFolderError
from .records import SCHEMA_VERSION, CellRecord, neighbour_rows

PARTIAL_PREFIX = ".partial-"


@dataclass
class Run:
    """A run folder loaded into memory."""

    path: Path
    manifest: dict[str, Any]
    cells: list[CellRecord]
    capacity: list[dict[str, Any]] | None = None  # a capacity run's results
    # [scenarios.X.thresholds] as the run was judged: {"set": {scenario: {...}},
    # "checks": [...]} (analysis/thresholds.py); None: nothing was gated
    thresholds: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The run's name: a folder being sealed is still `.partial-<name>`, and what is
        written then (report.html's title) must carry the name it is renamed to."""
        return self.path.name.removeprefix(PARTIAL_PREFIX)

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "unknown"))

    @property
    def project(self) -> str:
        """Whose views it measured: `app` (loadlab's own; every run before projects
        were recorded) or a team's project's name."""
        return str((self.manifest.get("project") or {}).get("name", "app"))

    def by_key(self) -> dict[CellKey, list[CellRecord]]:
        """Cells grouped by key: one list of trials per cell."""
        groups: dict[CellKey, list[CellRecord]] = {}
        for cell in self.cells:
            groups.setdefault(cell.key, []).append(cell)
        return groups


def run_name(started: str, label: str | None) -> str:
    """`20261121-231500-label`: sortable, readable, safe as a folder name."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label or "").strip("-.")
    return f"{started}-{slug}" if slug else started


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def write_summary(run_dir: Path, cells: list[CellRecord],
                  capacity: list[dict[str, Any]] | None = None,
                  thresholds: dict[str, Any] | None = None) -> None:
    """summary.json: every cell, a capacity run's results (`capacity`), what a short
    view got beside held connections (`neighbour`), where cells measured it, and the
    thresholds the run was judged against (`thresholds`), where it was."""
    neighbour = neighbour_rows(cells)
    write_json(run_dir / "summary.json", {
        "schema_version": SCHEMA_VERSION,
        "cells": [c.to_dict() for c in cells],
        **({"capacity": capacity} if capacity is not None else {}),
        **({"neighbour": neighbour} if neighbour else {}),
        **({"thresholds": thresholds} if thresholds is not None else {}),
    })


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing") from None
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path}: corrupt JSON ({exc.msg} at line {exc.lineno})") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: unreadable ({exc.strerror})") from None


def load_run(path: str | Path) -> Run:
    """Load a run folder, or raise RunFolderError with one line saying what is wrong."""
    run_dir = Path(path)
    if not run_dir.exists():
        raise RunFolderError(f"{run_dir}: no such run folder")
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder")
    if not (run_dir / "manifest.json").exists():
        raise RunFolderError(f"{run_dir}: not a run folder (no manifest.json)")
    manifest = _read_json(run_dir / "manifest.json")
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{run_dir / 'manifest.json'}: not a JSON object")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RunFolderError(
            f"{run_dir / 'manifest.json'}: unknown schema version {version!r}"
            f" (this loadlab reads {SCHEMA_VERSION})"
        )
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise RunFolderError(f"{summary_path}: missing (the run wrote no summary)")
    summary = _read_json(summary_path)
    if not isinstance(summary, dict) or not isinstance(summary.get("cells"), list):
        raise RunFolderError(f"{summary_path}: not a loadlab summary (no 'cells' list)")
    if summary.get("schema_version") != SCHEMA_VERSION:
        raise RunFolderError(
            f"{summary_path}: unknown schema version {summary.get('schema_version')!r}"
        )
    cells = []
    for i, raw in enumerate(summary["cells"]):
        try:
            cells.append(CellRecord.from_dict(raw))
        except (TypeError, AttributeError) as exc:  # a missing field; not an object
            raise RunFolderError(f"{summary_path}: cell {i} is malformed ({exc})") from None
    capacity = summary.get("capacity")
    if capacity is not None and not isinstance(capacity, list):
        raise RunFolderError(f"{summary_path}: 'capacity' is not a list")
    thresholds = summary.get("thresholds")
    if thresholds is not None and not isinstance(thresholds, dict):
        raise RunFolderError(f"{summary_path}: 'thresholds' is not an object")
    return Run(path=run_dir, manifest=manifest, cells=cells, capacity=capacity,
               thresholds=thresholds)
