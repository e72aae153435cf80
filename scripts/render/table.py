"""The terminal view (rich): the default output, readable on 80 columns."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..analysis.compare import Between, Row, ScenarioWithin, Within
from ..cells import CellKey
from . import answer
from .common import delta, fitted_width, geo_delta, legend, num


def render_table(comparison: Within | Between, width: int | None = None,
                 color: bool = False) -> str:
    """Render to a string, `width` columns wide; None: as wide as the tables need,
    so nothing is cut (a pipe, a file, a CI log)."""
    body = renderable(comparison)
    buf = io.StringIO()
    console = Console(file=buf, width=width or fitted_width(body), force_terminal=color,
                      color_system="auto" if color else None, highlight=False)
    console.print(body)
    return buf.getvalue()


def renderable(comparison: Within | Between) -> RenderableType:
    if isinstance(comparison, Between):
        return _between(comparison)
    return _within(comparison)


def _add(t: Table, *cells: str | Text) -> None:
    """Add a row as plain text: '[httpx]' is a client here, not rich markup."""
    t.add_row(*[Text(c) if isinstance(c, str) else c for c in cells])


def _table(title: str | None = None) -> Table:
    # one space right of each column, none left: two more characters for labels
    return Table(title=Text(title, style="bold") if title else None, title_justify="left",
                 box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False)


def _style(row: Row, metric: str) -> str:
    if row.worse(metric):
        return "red"
    if row.better(metric):
        return "green"
    return ""


def _bang(flags: list[str]) -> str:
    return " !" if flags else ""


def _variant(key: CellKey, users: bool) -> str:
    """`flavor [client] [mw=stack] [conn=name]`, plus `uN` when the comparison has
    several user counts."""
    return f"{key.flavor}{key.client_part}{key.stack_part}" + (f" {key.load}" if users else "")


def _heading(text: str) -> Text:
    return Text(text, style="bold cyan")


def _d(row: Row, metric: str) -> Text:
    return Text(delta(row.verdicts[metric]), style=_style(row, metric))


def _between(c: Between) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"B = {c.run_b}  against  A = {c.run_a}", style="bold"),
        Text(c.method, style="dim"),
    ]
    users = len({r.key.load for r in c.rows}) > 1
    t = _table()
    t.add_column("cell", ratio=1, overflow="fold")
    t.add_column("A rps", justify="right", no_wrap=True)
    t.add_column("B rps", justify="right", no_wrap=True)
    for m in ("rps", "p50", "p95", "p99"):
        t.add_column(m, justify="right", no_wrap=True)
    group = None
    for row in c.rows:
        if (row.key.scenario, row.key.server) != group:
            group = (row.key.scenario, row.key.server)
            _add(t, _heading(f"{row.key.scenario} on {row.key.server}"))
        _add(t, "  " + _variant(row.key, users) + _bang(row.flags),
             num(row.a.values["rps"]), num(row.b.values["rps"]),
             *[_d(row, m) for m in ("rps", "p50", "p95", "p99")])
    t.add_section()
    _add(t, Text("geometric mean", style="bold"), "", "",
         *[geo_delta(c.geomean[m]) for m in ("rps", "p50", "p95", "p99")])
    parts.append(t)
    parts.extend(_notes(c))
    return Group(*parts)


def _notes(c: Between) -> list[RenderableType]:
    out: list[RenderableType] = [Text(legend(c.min_effect), style="dim")]
    out += [Text(n, style="dim") for n in c.notes]
    for reason, labels in c.held.items():
        out.append(Text(f"not called, {reason}: " + "; ".join(labels), style="yellow"))
    for row in c.rows:
        if row.flags:
            out.append(Text(f"! {row.label}: {', '.join(row.flags)}", style="yellow"))
    if c.only_a:
        out.append(Text(f"Only in A ({len(c.only_a)}): " + "; ".join(c.only_a)))
    if c.only_b:
        out.append(Text(f"Only in B ({len(c.only_b)}): " + "; ".join(c.only_b)))
    if c.capacity:
        t = _table("Capacity, B against A (called only when the brackets do not overlap)")
        for h in ("configuration", "A rps", "B rps", "B/A"):
            t.add_column(h, justify="left" if h == "configuration" else "right",
                         no_wrap=h != "configuration")
        for d in c.capacity:
            _add(t, d.label, num(d.a_rps), num(d.b_rps),
                 "-" if d.ratio is None else f"{d.marker}x{d.ratio:.2f}")
        out.append(t)
    if c.settings:
        s = _table("Settings that differ")
        s.add_column("setting", overflow="fold")
        s.add_column("A", overflow="fold")
        s.add_column("B", overflow="fold")
        for d in c.settings:
            _add(s, d.setting, d.a, d.b)
        out.append(s)
    return out


def _within(c: Within) -> RenderableType:
    block = answer.lines(c.answers)
    parts: list[RenderableType] = [
        *([Text(block[0], style="bold"), *[Text(x) for x in block[1:]], Text("")]
          if block else []),
        Text(f"Run {c.run}: sync vs async, and servers against each other", style="bold"),
        Text(c.method, style="dim"),
    ]
    keys = [p.row.key for sc in c.scenarios for p in sc.sync_async]
    keys += [r.key for sc in c.scenarios for race in sc.servers for r in race.rows]
    users = len({k.load for k in keys}) > 1
    footnotes: list[str] = []
    for sc in c.scenarios:
        if sc.sync_async:
            parts.append(_sync_async(sc, users, footnotes))
        if sc.servers:
            parts.append(_servers(sc, users))
    parts.append(Text(legend(c.min_effect, within=True), style="dim"))
    parts += [Text(n, style="dim") for n in c.notes + footnotes]
    parts += [Text(f"! {flag}", style="yellow") for flag in c.flags]
    return Group(*parts)


def _sync_async(sc: ScenarioWithin, users: bool, footnotes: list[str]) -> Table:
    t = _table(f"{sc.scenario}: async against sync, per server")
    t.add_column("server / async flavor", ratio=1, overflow="fold")
    t.add_column("sync rps", justify="right", no_wrap=True)
    t.add_column("async rps", justify="right", no_wrap=True)
    t.add_column("rps", justify="right", no_wrap=True)
    t.add_column("p95", justify="right", no_wrap=True)
    t.add_column("winner", overflow="fold")
    server = None
    for sa in sc.sync_async:
        row = sa.row
        if sa.server != server:
            server = sa.server
            _add(t, _heading(server))
        winner = sa.winner or "~"
        if sa.winner:
            winner += _bang(row.b.flags if sa.winner != "sync" else row.a.flags)
        star = ""
        if row.note:
            footnotes.append(f"* {server} {sc.scenario}/{_variant(row.key, users)}: {row.note}")
            star = " *"
        _add(t, "  " + _variant(row.key, users) + star + _bang(row.flags),
             num(row.a.values["rps"]), num(row.b.values["rps"]),
             _d(row, "rps"), _d(row, "p95"), winner)
    return t


def _servers(sc: ScenarioWithin, users: bool) -> Table:
    t = _table(f"{sc.scenario}: servers against the best, per flavor")
    t.add_column("server", ratio=1, overflow="fold")
    t.add_column("rps", justify="right", no_wrap=True)
    t.add_column("vs best", justify="right", no_wrap=True)
    t.add_column("p95 ms", justify="right", no_wrap=True)
    t.add_column("p95 vs best", justify="right", no_wrap=True)
    for race in sc.servers:
        client = f" [{race.client}]" if race.client else ""
        _add(t, _heading(race.label if users else f"{race.flavor}{client}"))
        if race.best_side is None:
            _add(t, "  all failed: " + ", ".join(race.failed))
            continue
        best = race.best_side
        _add(t, f"  {race.best}{_bang(race.best_flags)}", num(best.values["rps"]), "best",
             num(best.values["p95"]), "")
        for row in race.rows:
            _add(t, f"  {row.label}{_bang(row.b.flags)}", num(row.b.values["rps"]),
                 _d(row, "rps"), num(row.b.values["p95"]), _d(row, "p95"))
        for server in race.failed:
            _add(t, f"  {server} !", "failed", "", "", "")
    return t
