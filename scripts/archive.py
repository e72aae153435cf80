"""Writing a run folder: created under a temporary name, filled, renamed when done.

`bench` and `ui` both archive through this; the layout itself belongs to runfolder.py.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import manifest
from .runfolder import (
    PARTIAL_PREFIX,
    SCHEMA_VERSION,
    CellRecord,
    run_name,
    write_json,
    write_summary,
)


def now() -> datetime:
    return datetime.now(UTC).astimezone()


class Archive:
    """One run folder being written. Nothing existing is ever overwritten."""

    def __init__(self, results: Path, label: str | None, base: dict[str, Any]) -> None:
        self.started = now()
        self.tmp, self.final = _new_run_dir(results, label, self.started)
        self.records: list[CellRecord] = []
        self.manifest: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": "loadlab",
            "status": "running",
            "label": label,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": None,
            **base,
            "versions": manifest.versions(),
            "git": manifest.git(),
            "host": manifest.host(),
        }
        self.save_manifest()

    def save_manifest(self) -> None:
        write_json(self.tmp / "manifest.json", self.manifest)

    def add(self, record: CellRecord) -> None:
        self.records.append(record)
        write_summary(self.tmp, self.records)

    def finish(self, status: str, error: str | None = None, rename: bool = True) -> Path:
        """Seal the run: summary, manifest, summary.md, report.html; then rename it.

        `rename=False` leaves the temporary name (a crash of loadlab itself), so the
        folder stays recognisable as unfinished.
        """
        from .verdict import write_markdown

        self.manifest.update(
            status=status, error=error, finished=now().isoformat(timespec="seconds"),
            cells_done=len(self.records),
            cells_failed=sum(r.status != "ok" for r in self.records),
        )
        write_summary(self.tmp, self.records)
        self.save_manifest()
        write_markdown(self.tmp / "summary.md", self.manifest, self.records)
        self.report_error = _write_report(self.tmp)
        if not rename:
            return self.tmp
        self.tmp.rename(self.final)
        return self.final


def _new_run_dir(results: Path, label: str | None, started: datetime) -> tuple[Path, Path]:
    """(temporary, final) folders; the final name never collides with an existing run."""
    results.mkdir(parents=True, exist_ok=True)
    base = run_name(started.strftime("%Y%m%d-%H%M%S"), label)
    name, n = base, 1
    while True:
        tmp = results / f"{PARTIAL_PREFIX}{name}"
        if not (results / name).exists():
            try:
                tmp.mkdir()
                return tmp, results / name
            except FileExistsError:
                pass
        n += 1
        name = f"{base}-{n}"


def _write_report(run_dir: Path) -> str | None:
    """report.html, when the renderer is there; a report problem never loses a run."""
    try:
        from .render.html import write_report
        from .runfolder import load_run
    except ImportError:
        return None
    try:
        write_report(load_run(run_dir), run_dir / "report.html")
    except Exception as exc:  # the numbers are safe in summary.json
        (run_dir / "report-error.log").write_text(traceback.format_exc())
        return f"report.html not written: {exc}"
    return None
