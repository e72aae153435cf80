"""Markdown: the comparison as tables for a PR, an issue or summary.md."""

from __future__ import annotations

from ..analysis.compare import Between, Within
from . import answer
from .common import delta, geo_delta, legend, num


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]], left: int = 1,
           left_tail: int = 0) -> list[str]:
    """`left` first and `left_tail` last columns are text; the others numbers."""
    n = len(header)
    align = ["---" if i < left or i >= n - left_tail else "---:" for i in range(n)]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_esc(c) for c in r) + " |" for r in rows]
    return lines


def _bracket(bracket: list[float | None]) -> str:
    lo, hi = bracket
    return f"{num(lo)} .. {num(hi)}"


def _bang(flags: list[str]) -> str:
    return " !" if flags else ""


def render_md(comparison: Within | Between) -> str:
    if isinstance(comparison, Between):
        lines = _between(comparison)
    else:
        lines = [*answer_md(comparison), *_within(comparison)]
    return "\n".join(lines) + "\n"


def answer_md(c: Within) -> list[str]:
    """The answer block first: a bold title, a bullet per scenario."""
    block = answer.lines(c.answers)
    return [f"**{block[0]}**", "", *[f"- {x.strip()}" for x in block[1:]], ""] if block else []


def _between(c: Between) -> list[str]:
    out = [f"## `{c.run_b}` (B) against `{c.run_a}` (A)", "", f"_{c.method}_", ""]
    rows = [
        [r.key.name(with_scenario=True) + _bang(r.flags), num(r.a.values["rps"]),
         num(r.b.values["rps"]), *[delta(r.verdicts[m]) for m in ("rps", "p50", "p95", "p99")]]
        for r in c.rows
    ]
    rows.append(["**geometric mean**", "", "",
                 *[geo_delta(c.geomean[m]) for m in ("rps", "p50", "p95", "p99")]])
    out += _table(["cell", "A rps", "B rps", "rps", "p50", "p95", "p99"], rows)
    out += ["", legend(c.min_effect), "", *[f"_{n}_" for n in c.notes], ""]
    if c.capacity:
        out += ["**Capacity** (a change is called only when the brackets do not overlap)",
                ""]
        out += _table(["configuration", "A rps", "A bracket", "B rps", "B bracket", "B/A"],
                      [[d.label, num(d.a_rps), _bracket(d.a_bracket), num(d.b_rps),
                        _bracket(d.b_bracket),
                        "-" if d.ratio is None else f"{d.marker}x{d.ratio:.2f}"]
                       for d in c.capacity])
        out.append("")
    for reason, labels in c.held.items():
        out += [f"**Not called**: {reason}", "", *[f"- {n}" for n in labels], ""]
    flagged = [f"- {r.label}: {', '.join(r.flags)}" for r in c.rows if r.flags]
    if flagged:
        out += ["**Flagged cells**", "", *flagged, ""]
    for title, names in (("Only in A", c.only_a), ("Only in B", c.only_b)):
        if names:
            out += [f"**{title}**", "", *[f"- {n}" for n in names], ""]
    if c.settings:
        out += ["**Settings that differ**", ""]
        out += _table(["setting", "A", "B"], [[d.setting, d.a, d.b] for d in c.settings], 3)
        out.append("")
    return out


def _within(c: Within) -> list[str]:
    out = [f"## Run `{c.run}`: sync vs async, servers against each other", "",
           f"_{c.method}_", ""]
    for sc in c.scenarios:
        out += [f"### {sc.scenario}", ""]
        if sc.sync_async:
            rows = []
            for sa in sc.sync_async:
                r = sa.row
                rows.append([
                    f"{r.key.server}{r.key.client_part}{r.key.stack_part} {r.key.load}"
                    + _bang(r.flags),
                    sa.async_flavor, num(r.a.values["rps"]), num(r.b.values["rps"]),
                    delta(r.verdicts["rps"]), delta(r.verdicts["p95"]),
                    sa.winner or "~", r.note,
                ])
            out += _table(["server", "async flavor", "sync rps", "async rps", "rps", "p95",
                           "winner", "note"], rows, 2, 2)
            out.append("")
        if sc.servers:
            rows = []
            for race in sc.servers:
                if race.best_side is None:
                    rows.append([race.label, "all failed: " + ", ".join(race.failed),
                                 "", "", "", ""])
                    continue
                b = race.best_side
                rows.append([race.label, f"**{race.best}** (best){_bang(race.best_flags)}",
                             num(b.values["rps"]), "", num(b.values["p95"]), ""])
                for r in race.rows:
                    rows.append(["", r.label + _bang(r.b.flags), num(r.b.values["rps"]),
                                 delta(r.verdicts["rps"]), num(r.b.values["p95"]),
                                 delta(r.verdicts["p95"])])
                rows += [["", f"{s} !", "failed", "", "", ""] for s in race.failed]
            out += _table(["flavor", "server", "rps", "vs best", "p95 ms", "p95 vs best"],
                          rows, 2)
            out.append("")
    out += [legend(c.min_effect, within=True), "", *[f"_{n}_" for n in c.notes], ""]
    if c.flags:
        out += ["**Flagged cells**", "", *[f"- {f}" for f in c.flags], ""]
    return out
