"""The end-of-run verdict as text: the terminal table and summary.md.

Read in ten seconds: throughput, p95, failures, the ratio to the sync flavor, and flags.
The rows (and their folding over trials) come from analysis/verdict.py. This table does
not test significance; `loadlab compare RUN` does, with the per-second samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from ..analysis import stats
from ..analysis.answer import answers
from ..analysis.compare import target_notes
from ..analysis.middleware import stack_sets
from ..analysis.verdict import Row, rows
from ..analysis.ways import best_ways, from_rows
from ..archive.records import CellRecord
from . import answer, middleware, ways
from .common import fmt_ms, width_for

WAYS_MEASURE = "closed-loop rps; a load-bound row measured latency, not capacity"


def _cells(row: Row, loads: bool = False) -> list[str]:
    """One row's cells; `loads`: the run has several loads, so each row names its own."""
    return [
        row.scenario, row.server, f"{row.key.flavor}{row.key.client_part}{row.key.stack_part}"
        + (f" {row.key.load}" if loads or row.key.rate is not None else ""),
        "-" if row.rps is None else f"{row.rps:,.1f}",
        "" if row.bound_rps is None else f"{row.bound_rps:,.0f}",
        fmt_ms(row.p95_ms),
        f"{row.failure_ratio:.1%}" if row.failure_ratio else "",
        "" if row.vs_sync is None else f"{row.vs_sync:.2f}x" + ("*" if row.mixed else ""),
        ",".join(row.flags),
    ]


HEADERS = ["scenario", "server", "flavor", "rps", "bound", "p95", "fail", "vs sync", "flags"]
NUMERIC = ("rps", "bound", "p95", "fail", "vs sync")
VS_SYNC = HEADERS.index("vs sync")
BOUND_NOTE = ("bound: the most a closed loop of these users can get, min(users / R0,"
              " C / S); R0 the latency and S the view's time at 1 user, C the server's"
              " concurrency (WSGI). load-bound: rps within 10% of users / R0 with the server's"
              " CPU to spare, so the row measured latency, not capacity.")
MIXED_NOTE = ("* one side is load-bound and the other is not: the ratio compares a latency"
              " with a capacity. `make capacity` answers which holds more load.")


def _connections_table(records: list[CellRecord]) -> Table | None:
    connections = connection_rows(records)
    if not connections:
        return None
    table = Table(title="PostgreSQL connections (pg_stat_activity, the app's database)",
                  title_justify="left", show_edge=False, pad_edge=False)
    for h in DB_HEADERS:
        table.add_column(h, justify="left" if h == "cell" else "right")
    for row in connections:
        table.add_row(*[escape(c) for c in row])
    return table


def print_answer(records: list[CellRecord], console: Console | None = None,
                 floor: stats.Floor | None = None) -> None:
    """The answer block, before the verdict table: a line per scenario, called at
    `floor` (the run's, as compare finds it; None: the default)."""
    block = answer.lines(answers(records, floor))
    if not block:
        return
    console = console or Console(highlight=False)
    console.print(f"[bold]{escape(block[0])}[/]", soft_wrap=True)
    for text in block[1:]:
        console.print(escape(text), soft_wrap=True)
    console.print()


def print_verdict(records: list[CellRecord], console: Console | None = None) -> None:
    if not records:
        return
    table = Table(title="verdict: each flavor against sync on the same server",
                  title_justify="left", show_edge=False, pad_edge=False)
    for h in HEADERS:
        table.add_column(h, justify="right" if h in NUMERIC else "left",
                         no_wrap=h != "flags")
    last = None
    found = rows(records)
    loads = len({r.key.load for r in found}) > 1
    for row in found:
        cells = [escape(c) for c in _cells(row, loads)]  # "[httpx]" is text, not markup
        if last and last != (row.scenario, row.server):
            table.add_section()
        last = (row.scenario, row.server)
        if row.vs_sync is not None:
            colour = "green" if row.vs_sync >= 1.25 else "red" if row.vs_sync <= 0.8 else ""
            if colour:
                cells[VS_SYNC] = f"[{colour}]{cells[VS_SYNC]}[/]"
        table.add_row(*cells)
    db_table = _connections_table(records)
    # Piped to a file, rich would assume 80 columns and cut cells ("1,41…"): never cut
    # a number to fit; a terminal keeps its own width.
    console = console or Console(highlight=False, width=width_for(
        Group(table, db_table) if db_table else table))
    console.print(table)
    console.print("[dim]vs sync: throughput ratio of a single run (median over trials),"
                  " coloured beyond 1.25x and 0.8x; which differences pass the noise floor"
                  " is the answer's call above, and `loadlab compare RUN` tests each"
                  " metric.[/]")
    for note in _notes(found):
        console.print(f"[dim]{escape(note)}[/]")
    if db_table:
        console.print(db_table)
    errors = server_errors(records)
    if errors:
        console.print("\n[bold]the server's own errors[/] (from each cell's server.log):")
        for line in errors:
            console.print(f"  {escape(line)}", soft_wrap=True)
    side_by_side = ways.text(best_ways(from_rows(found)), WAYS_MEASURE)
    if side_by_side:
        console.print("\n" + escape(side_by_side), soft_wrap=True, end="")
    costs = middleware.text(stack_sets(records))
    if costs:
        console.print("\n" + escape(costs), soft_wrap=True, end="")


def server_errors(records: list[CellRecord]) -> list[str]:
    """One line per cell whose server logged exceptions: its commonest one, counted."""
    lines = []
    for r in records:
        if r.server_errors:
            line, n = r.server_errors[0]
            more = len(r.server_errors) - 1
            lines.append(f"{r.label}: {n:,}x {line}"
                         + (f" (and {more} other kind{'s' * (more > 1)})" if more else ""))
    return lines


DB_HEADERS = ["cell", "peak", "mean", "active peak", "open 5 s after", "conn errors"]


def connection_rows(records: list[CellRecord]) -> list[list[str]]:
    """PostgreSQL cells: the app's connections during and after the load."""
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:g}"

    return [[r.label, num(r.db_connections_peak), num(r.db_connections_mean),
             num(r.db_active_peak), num(r.db_idle_after_load), f"{r.db_connection_errors:,}"]
            for r in records if r.db_connections_peak is not None]


def _notes(found: list[Row]) -> list[str]:
    notes = [BOUND_NOTE] if any(r.bound_rps is not None for r in found) else []
    return notes + ([MIXED_NOTE] if any(r.mixed for r in found) else [])


def markdown(manifest: dict[str, Any], records: list[CellRecord],
             floor: stats.Floor | None = None) -> str:
    """summary.md; its answer called at `floor` (the run's, as compare finds it)."""
    lines = [f"# loadlab run {manifest.get('started', '')}", ""]
    profile = manifest.get("profile", {})
    up = manifest.get("upstream", {})
    shape = [f"{profile['users']} users" if profile.get("users") is not None else None,
             f"warmup {profile.get('warmup_s')} s",
             f"{profile['duration_s']} s measured" if profile.get("duration_s") is not None
             else None,
             f"{profile['trials']} trial(s)" if profile.get("trials") is not None else None]
    lines += [
        f"- status: **{manifest.get('status')}**, profile `{profile.get('name')}`"
        f" ({', '.join(x for x in shape if x)})"
        + (f": {profile['summary']}" if profile.get("name") == "ui" else ""),
        f"- upstream: {up.get('latency_ms')} ms latency, {up.get('jitter_ms')} ms jitter,"
        f" error rate {up.get('error_rate')}, hang rate {up.get('hang_rate')}",
        f"- host: {manifest.get('host', {}).get('cpu_model')},"
        f" {manifest.get('host', {}).get('cores')} cores; pinning"
        f" {manifest.get('pinning', {})}",
        *_project_line(manifest.get("project") or {}),
        *[f"- {note}" for note in target_notes(manifest)],
        "",
    ]
    block = answer.lines(answers(records, floor))
    lines += [f"**{block[0]}**", "", *[f"- {x.strip()}" for x in block[1:]], ""] if block else []
    lines += [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---:" if h in NUMERIC else "---" for h in HEADERS) + "|",
    ]
    found = rows(records)
    loads = len({r.key.load for r in found}) > 1
    lines += ["| " + " | ".join(_cells(row, loads)) + " |" for row in found]
    lines += ["", *_notes(found)] if _notes(found) else []
    side_by_side = ways.markdown(best_ways(from_rows(found)), WAYS_MEASURE)
    lines += ["", side_by_side.rstrip("\n")] if side_by_side else []
    costs = middleware.markdown(stack_sets(records))
    lines += ["", costs.rstrip("\n")] if costs else []
    connections = connection_rows(records)
    if connections:
        lines += ["", "## PostgreSQL connections", "",
                  "| " + " | ".join(DB_HEADERS) + " |",
                  "|---|" + "---:|" * (len(DB_HEADERS) - 1),
                  *["| " + " | ".join(row) + " |" for row in connections]]
    errors = server_errors(records)
    if errors:
        lines += ["", "## the server's own errors", "",
                  *[f"- {line.replace('|', '/')}" for line in errors]]
    failed = [r for r in records if r.status != "ok"]
    if failed:
        lines += ["", "## failed cells", ""]
        lines += [f"- `{r.path}`: {(r.error or '').splitlines()[0]}" for r in failed]
    return "\n".join(lines) + "\n"


def _project_line(project: dict[str, Any]) -> list[str]:
    """A team's project: its name, file and the commit it was measured at."""
    if not project or project.get("builtin", True):
        return []
    git = project.get("git") or {}
    commit = (git.get("commit") or "no git")[:12] + (" (dirty)" if git.get("dirty") else "")
    return [f"- project: **{project.get('name')}** ({project.get('file')}, settings"
            f" `{project.get('settings')}`, commit {commit})"]


def write_markdown(path: Path, manifest: dict[str, Any], records: list[CellRecord],
                   floor: stats.Floor | None = None) -> None:
    path.write_text(markdown(manifest, records, floor))
