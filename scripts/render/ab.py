"""`loadlab ab` as text: ab.json's rows, ab.md, and the lines the terminal prints.

One table, one line per row and metric: base and head (the median over rounds), the
geometric-mean change, p of the paired test, and each round's own change, so a reader
sees whether the rounds agree, not only their summary.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .common import aligned, md_table, num

HEADERS = ["row", "metric", "base", "head", "change", "p", "rounds (change each)"]
RIGHT = {2, 3, 4, 5}


def table(data: dict[str, Any]) -> list[list[str]]:
    out = []
    for row in data["rows"]:
        for m, v in row["metrics"].items():
            unit = "" if m == "rps" else " ms"
            change = "-" if v["delta_pct"] is None else (
                f"{'' if v['significant'] else '~'}{v['delta_pct']:+.1f}%")
            called = " SLOWER" if v["slower"] else ""
            out.append([row["row"], m, num(v["base"], unit), num(v["head"], unit),
                        change + called, "-" if v["p_value"] is None else f"{v['p_value']:.3g}",
                        " ".join(f"{d:+.1f}%" for d in v.get("round_delta_pct", []))])
    return out


def lines(data: dict[str, Any]) -> list[str]:
    """What the terminal prints after the rounds."""
    base, head = data["base"], data["head"]
    out = [f"ab: head {head['ref']} ({(head['commit'] or '')[:10]}"
           f"{', dirty' if head['dirty'] else ''}) against base {base['ref']}"
           f" ({(base['commit'] or '')[:10]}), {data['rounds']} rounds"]
    if data["rows"]:
        out += aligned([HEADERS, *table(data)], RIGHT)
    if data.get("method"):
        out.append(f"  test: {data['method']}")
    return out


def markdown(data: dict[str, Any]) -> str:
    base, head = data["base"], data["head"]
    text = [f"# ab: {data['project']}", "",
            f"- base: `{base['ref']}` {base['commit'] or ''}",
            f"- head: `{head['ref']}` {head['commit'] or ''}"
            + (" (uncommitted changes measured)" if head["dirty"] else ""),
            f"- rounds: {data['rounds']}, {data['order']}; status {data['status']}",
            f"- test: {data['method'] or 'no comparison: a side has no complete round'}",
            "- base/ and head/ are run folders: `loadlab compare` on this folder opens them",
            ""]
    if data["rows"]:
        text += md_table(HEADERS, table(data), RIGHT)
    references = [m for m in data["machine"] if m.get("reference")]
    if references:
        text += ["", "Machine reference workload (seconds, steal %) before each round:", ""]
        text += [f"- round {m['round']}: {m['reference']['seconds']:.4f} s,"
                 f" steal {m['reference']['steal_pct']:.1f}%" for m in references]
    return "\n".join(text) + "\n"


def report(folder: Path, data: dict[str, Any], failing: list[str]) -> None:
    """ab.md in the folder; the table and the folder on stdout; the gate's lines (or
    why nothing is called) on stderr."""
    (folder / "ab.md").write_text(markdown(data))
    print(*lines(data), f"ab folder: {folder}", sep="\n")
    if not data["rows"]:
        print(f"loadlab ab: a round did not complete, nothing is called: see {folder}",
              file=sys.stderr)
    if failing:
        print(*failing, sep="\n", file=sys.stderr)
