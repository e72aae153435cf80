"""Writing a run folder: created under a temporary name, filled, renamed when done.

`bench` and `ui` both archive through this; the layout belongs to folder.py, the
manifest's contents to manifest.py. Outputs made from the numbers (summary.md,
report.html) are written by whoever `finish` is handed, never imported here.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import environment
from .assets import share_locust_bundle
from .folder import PARTIAL_PREFIX, run_name, write_json, write_summary
from .manifest import Manifest
from .records import CellRecord

# Writes outputs into the unsealed folder; returns a problem line or None.
Outputs = Callable[[Path], str | None]


def now() -> datetime:
    return datetime.now(UTC).astimezone()


class Archive:
    """One run folder being written. Nothing existing is ever overwritten."""

    def __init__(self, results: Path, label: str | None, manifest: Manifest) -> None:
        self.started = now()
        self.tmp, self.final = _new_run_dir(results, label, self.started)
        self.records: list[CellRecord] = []
        self.capacity: list[dict[str, Any]] | None = None  # a capacity run's results
        self.thresholds: dict[str, Any] | None = None  # what the run was judged against
        self.manifest = manifest
        manifest.begun(label, self.started.isoformat(timespec="seconds"), {
            "owner": environment.owner(), "versions": environment.versions(),
            "git": environment.git(), "host": environment.host()})
        self.report_error: str | None = None
        self.save_manifest()

    def save_manifest(self) -> None:
        write_json(self.tmp / "manifest.json", self.manifest.to_json())

    def add(self, record: CellRecord) -> None:
        self.records.append(record)
        if record.path:  # one copy of Locust's page bundle per run, not one per cell
            share_locust_bundle(self.tmp / record.path / "locust_report.html", self.tmp)
        write_summary(self.tmp, self.records, self.capacity, self.thresholds)

    def add_capacity(self, result: dict[str, Any]) -> None:
        self.capacity = [*(self.capacity or []), result]
        write_summary(self.tmp, self.records, self.capacity, self.thresholds)

    def discard(self) -> None:
        """Remove the unsealed folder: a session that measured nothing leaves none."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    def finish(self, status: str, error: str | None = None, outputs: Outputs | None = None,
               rename: bool = True) -> Path:
        """Seal the run: summary, manifest, then `outputs` (summary.md, report.html);
        then rename it. A problem in `outputs` is kept in `report_error`, never raised.

        `rename=False` leaves the temporary name (a crash of loadlab itself), so the
        folder stays recognisable as unfinished.
        """
        self.manifest.sealed(status, error, now().isoformat(timespec="seconds"),
                             len(self.records), sum(r.status != "ok" for r in self.records))
        write_summary(self.tmp, self.records, self.capacity, self.thresholds)
        self.save_manifest()
        if outputs is not None:
            try:
                self.report_error = outputs(self.tmp)
            except Exception as exc:  # the numbers are safe in summary.json: seal anyway
                self.report_error = f"outputs not written: {type(exc).__name__}: {exc}"
        if not rename:
            return self.tmp
        self.tmp.rename(self.final)
        return self.final


def _new_run_dir(results: Path, label: str | None, started: datetime) -> tuple[Path, Path]:
    """(temporary, final) folders; the final name never collides with an existing run."""
    results.mkdir(parents=True, exist_ok=True)
    return _free_name(results, run_name(started.strftime("%Y%m%d-%H%M%S"), label))


def _free_name(results: Path, base: str, make_tmp: bool = True) -> tuple[Path, Path]:
    name, n = base, 1
    while True:
        tmp = results / f"{PARTIAL_PREFIX}{name}"
        if not (results / name).exists():
            if not make_tmp:
                return tmp, results / name
            try:
                tmp.mkdir()
                return tmp, results / name
            except FileExistsError:
                pass
        n += 1
        name = f"{base}-{n}"


ABANDONED_ERROR = ("loadlab stopped without sealing this run (killed, or its terminal"
                   " lost); sealed later by another loadlab")


def seal_abandoned(tmp: Path, outputs: Outputs | None = None) -> Path:
    """Seal a run whose loadlab died: status `abandoned`, the finished cells kept,
    outputs written, renamed to its final name (never over an existing folder)."""
    manifest = Manifest.from_json(json.loads((tmp / "manifest.json").read_text()))
    records, capacity = [], None
    if (tmp / "summary.json").exists():
        summary = json.loads((tmp / "summary.json").read_text())
        records = [CellRecord.from_dict(c) for c in summary["cells"]]
        capacity = summary.get("capacity")
    manifest.sealed("abandoned", ABANDONED_ERROR, now().isoformat(timespec="seconds"),
                    len(records), sum(r.status != "ok" for r in records))
    write_summary(tmp, records, capacity)
    write_json(tmp / "manifest.json", manifest.to_json())
    if outputs is not None:
        with contextlib.suppress(Exception):  # the numbers are safe in summary.json
            outputs(tmp)
    _, final = _free_name(tmp.parent, tmp.name.removeprefix(PARTIAL_PREFIX), make_tmp=False)
    tmp.rename(final)
    return final
