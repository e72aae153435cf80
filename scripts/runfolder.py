"""The run folder as a data model: the one module that reads and writes it.

`bench` and `ui` write runs through it; `compare` and the renderers only read it.
Layout (DESIGN §5)::

    results/<YYYYmmdd-HHMMSS>-<label>/
      manifest.json  summary.json  summary.md  report.html
      cells/<server>/<scenario>-<flavor>[-<client>]-u<users>-t<trial>/

A run is written under a temporary name (`.partial-<name>`) and renamed when done;
an existing folder is never overwritten.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
PARTIAL_PREFIX = ".partial-"
# latency_ms keys read from the histogram at these percentiles; "max" and "mean" too
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


class RunFolderError(Exception):
    """A path that is not a readable run folder; the message names what and where."""


@dataclass
class CellRecord:
    """One measured cell: server x scenario x flavor x client x users x trial."""

    server: str
    interface: str
    scenario: str
    flavor: str
    client: str | None
    users: int
    trial: int
    status: str = "ok"
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    rps_per_second: list[float] = field(default_factory=list)
    p95_ms_per_second: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    ready_s: float | None = None  # seconds from server start to its first answer
    server_cpu_pct: float | None = None
    server_rss_mb: float | None = None
    server_threads: int | None = None
    generator_cpu_pct: float | None = None
    upstream_cpu_pct: float | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    path: str = ""  # the cell folder, relative to the run folder

    @property
    def key(self) -> tuple[str, str, str, str | None, int]:
        """What identifies a cell across trials and across runs."""
        return (self.server, self.scenario, self.flavor, self.client, self.users)

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def label(self) -> str:
        client = f" [{self.client}]" if self.client else ""
        return f"{self.server} {self.scenario}/{self.flavor}{client} u{self.users}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def cell_dirname(
    scenario: str, flavor: str, client: str | None, users: int, trial: int
) -> str:
    client_part = f"-{client}" if client else ""
    return f"{scenario}-{flavor}{client_part}-u{users}-t{trial}"


def cell_relpath(server: str, scenario: str, flavor: str, client: str | None, users: int,
                 trial: int) -> str:
    return f"cells/{server}/{cell_dirname(scenario, flavor, client, users, trial)}"


@dataclass
class Run:
    """A run folder loaded into memory."""

    path: Path
    manifest: dict[str, Any]
    cells: list[CellRecord]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "unknown"))

    def by_key(self) -> dict[tuple, list[CellRecord]]:
        """Cells grouped by key: one list of trials per cell."""
        groups: dict[tuple, list[CellRecord]] = {}
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


def write_summary(run_dir: Path, cells: list[CellRecord]) -> None:
    write_json(run_dir / "summary.json", {
        "schema_version": SCHEMA_VERSION,
        "cells": [c.to_dict() for c in cells],
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
        except TypeError as exc:
            raise RunFolderError(f"{summary_path}: cell {i} is malformed ({exc})") from None
    return Run(path=run_dir, manifest=manifest, cells=cells)
