"""The end-of-run verdict as text: the terminal table and summary.md.

Read in ten seconds: throughput, p95, failures, the ratio to the sync flavor, and flags.
The rows (and their folding over trials) come from analysis/verdict.py. This table does
not test significance; `loadlab compare RUN` does, with the per-second samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis.verdict import Row, rows
from ..archive.records import CellRecord
from .common import fmt_ms


def _cells(row: Row) -> list[str]:
    return [
        row.scenario, row.server, f"{row.key.flavor}{row.key.client_part}"
        + (f" {row.key.load}" if row.key.rate is not None else ""),
        "-" if row.rps is None else f"{row.rps:,.1f}",
        fmt_ms(row.p95_ms),
        f"{row.failure_ratio:.1%}" if row.failure_ratio else "",
        "" if row.vs_sync is None else f"{row.vs_sync:.2f}x",
        ",".join(row.flags),
    ]


HEADERS = ["scenario", "server", "flavor", "rps", "p95", "fail", "vs sync", "flags"]


def print_verdict(records: list[CellRecord], console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    if not records:
        return
    table = Table(title="verdict: each flavor against sync on the same server",
                  title_justify="left", show_edge=False, pad_edge=False)
    for h in HEADERS:
        table.add_column(h, justify="right" if h in ("rps", "p95", "fail", "vs sync")
                         else "left", no_wrap=h != "flags")
    last = None
    for row in rows(records):
        cells = [escape(c) for c in _cells(row)]  # "[httpx]" is text, not markup
        if last and last != (row.scenario, row.server):
            table.add_section()
        last = (row.scenario, row.server)
        if row.vs_sync is not None:
            colour = "green" if row.vs_sync >= 1.25 else "red" if row.vs_sync <= 0.8 else ""
            if colour:
                cells[6] = f"[{colour}]{cells[6]}[/]"
        table.add_row(*cells)
    console.print(table)
    console.print("[dim]vs sync: throughput ratio of a single run (median over trials);"
                  " differences under ~25% are noise here. `loadlab compare RUN` tests"
                  " significance.[/]")


def markdown(manifest: dict[str, Any], records: list[CellRecord]) -> str:
    lines = [f"# loadlab run {manifest.get('started', '')}", ""]
    profile = manifest.get("profile", {})
    up = manifest.get("upstream", {})
    lines += [
        f"- status: **{manifest.get('status')}**, profile `{profile.get('name')}`"
        f" ({profile.get('users')} users, warmup {profile.get('warmup_s')} s,"
        f" {profile.get('duration_s')} s measured, {profile.get('trials')} trial(s))",
        f"- upstream: {up.get('latency_ms')} ms latency, {up.get('jitter_ms')} ms jitter,"
        f" error rate {up.get('error_rate')}, hang rate {up.get('hang_rate')}",
        f"- host: {manifest.get('host', {}).get('cpu_model')},"
        f" {manifest.get('host', {}).get('cores')} cores; pinning"
        f" {manifest.get('pinning', {})}",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---:" if h in ("rps", "p95", "fail", "vs sync") else "---"
                       for h in HEADERS) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows(records)]
    failed = [r for r in records if r.status != "ok"]
    if failed:
        lines += ["", "## failed cells", ""]
        lines += [f"- `{r.path}`: {(r.error or '').splitlines()[0]}" for r in failed]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, manifest: dict[str, Any], records: list[CellRecord]) -> None:
    path.write_text(markdown(manifest, records))
