"""The end-of-run verdict: per scenario and server, each flavor against sync.

Read in ten seconds: throughput, p95, failures, the ratio to the sync flavor, and flags.
Trials are folded by their median. This table does not test significance; `loadlab
compare RUN` does, with the per-second samples.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.scenarios import sync_counterpart

from .progress import fmt_ms
from .runfolder import CellRecord


@dataclass
class Row:
    scenario: str
    server: str
    flavor: str
    client: str | None
    users: int
    rps: float | None
    p95_ms: float | None
    failure_ratio: float
    vs_sync: float | None
    flags: list[str]
    trials: int


def rows(records: list[CellRecord]) -> list[Row]:
    groups: dict[tuple, list[CellRecord]] = {}
    for r in records:
        groups.setdefault(r.key, []).append(r)
    folded: dict[tuple, Row] = {}
    for key, cells in groups.items():
        server, scenario, flavor, client, users = key
        ok = [c for c in cells if c.status == "ok"]
        flags = sorted({w for c in cells for w in c.warnings}
                       | ({"failed"} if len(ok) < len(cells) else set()))
        folded[key] = Row(
            scenario, server, flavor, client, users,
            rps=statistics.median(c.rps for c in ok) if ok else None,
            p95_ms=statistics.median(c.latency_ms.get("p95", 0) for c in ok) if ok else None,
            failure_ratio=(sum(c.failures for c in ok) / max(1, sum(c.requests for c in ok))),
            vs_sync=None, flags=flags, trials=len(cells),
        )
    for (server, scenario, flavor, client, users), row in folded.items():
        if row.rps is None:
            continue
        flavors = {k[2] for k in folded if k[0] == server and k[1] == scenario}
        twin = sync_counterpart(flavor, flavors)
        if twin is None:
            continue
        base = folded.get((server, scenario, twin, client, users))
        if base is None:  # a client with no sync API: compare with any client's sync
            base = next((r for k, r in folded.items()
                         if k[0] == server and k[1] == scenario and k[2] == twin
                         and k[4] == users), None)
        if base and base.rps:
            row.vs_sync = row.rps / base.rps
    order = {}
    for r in records:
        order.setdefault((r.scenario, r.server), len(order))
    return sorted(folded.values(), key=lambda r: order[(r.scenario, r.server)])


def _cells(row: Row) -> list[str]:
    client = f" [{row.client}]" if row.client else ""
    return [
        row.scenario, row.server, f"{row.flavor}{client}",
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
