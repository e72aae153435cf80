"""Outputs written from the numbers: a run folder's summary.md and report.html (an
observer the CLI hands to the run), and `loadlab compare` in the chosen format."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from rich.console import Console

from ..analysis.calibration import floor_in
from ..analysis.compare import Between, Within
from ..archive.folder import Run, load_run
from ..archive.records import CellRecord, neighbour_rows
from ..observe import Observer
from . import capacity, html, json, md, neighbour, table, thresholds, usl, why
from .verdict import write_markdown

FORMATS = ("table", "md", "json", "html")


class RunOutputs(Observer):
    """summary.md and report.html inside the run folder before it is sealed, called at
    the floor `loadlab compare RUN` uses (its results folder's calibration, if any)."""

    def run_sealing(self, run_dir: Path, manifest: dict, records: list[CellRecord]) -> str | None:
        write_markdown(run_dir / "summary.md", manifest, records,
                       floor_in(run_dir.parent, manifest))
        why_lines = why.profiled(run_dir, manifest, records)
        if why_lines:
            with open(run_dir / "summary.md", "a") as f:
                f.write("\n" + why_lines)
        try:
            run = load_run(run_dir)
            extra = (capacity.markdown(run.capacity) if run.capacity else "") + usl.markdown(
                run.cells) + neighbour.markdown(neighbour_rows(run.cells)) + (
                thresholds.markdown(run.thresholds))
            if extra:
                with open(run_dir / "summary.md", "a") as f:
                    f.write("\n" + extra)
            html.write_report(run, run_dir / "report.html")
        except Exception as exc:  # the numbers are safe in summary.json
            (run_dir / "report-error.log").write_text(traceback.format_exc())
            return f"report.html not written: {exc}"
        return None

    def __call__(self, run_dir: Path) -> str | None:
        """As an archive's `outputs` (the web UI's session): read what was written."""
        run = load_run(run_dir)
        return self.run_sealing(run_dir, run.manifest, run.cells)


def emit_comparison(comparison: Within | Between, a: Run, b: Run | None, fmt: str,
                    output: str | None) -> None:
    """Write the comparison: html to a file (default beside the run), text to stdout."""
    if fmt == "html":
        if b is None:
            assert isinstance(comparison, Within)
            target = Path(output) if output else a.path / "report.html"
            shared = html.plotly_script(a.path) if target.parent == a.path else None
            page = html.render_html_run(a, comparison, plotly_src=shared)
        else:
            assert isinstance(comparison, Between)
            page = html.render_html_compare(a, b, comparison)
            target = Path(output) if output else Path(f"compare-{a.name}--{b.name}.html")
        target.write_text(page)
        print(f"loadlab compare: wrote {target}", file=sys.stderr)
        return
    if fmt == "json":
        text = json.render_json(comparison)
    elif fmt == "md":
        text = md.render_md(comparison)
    else:
        terminal = output is None and sys.stdout.isatty()
        text = table.render_table(comparison, width=Console().width if terminal else None,
                                  color=terminal)
    if output:
        Path(output).write_text(text)
        print(f"loadlab compare: wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
