"""The neighbour's cost as text: a short view's p95 and rps while N long-lived
connections are held, beside the same with none held (summary.json's `neighbour`)."""

from __future__ import annotations

from typing import Any

from .common import aligned, md_table

HEADERS = ["scenario", "server", "flavor", "held", "neighbour", "p95", "rps",
           "with none held"]
RIGHT = {3, 5, 6}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def rows(neighbour: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for n in neighbour:
        client = f" [{n['client']}]" if n.get("client") else ""
        base = ("-" if n.get("baseline_rps") is None else
                f"{_ms(n.get('baseline_p95_ms'))}, {n['baseline_rps']:,.1f} rps")
        out.append([n["scenario"], n["server"], n["flavor"] + client, str(n["held"]),
                    str(n.get("path")), _ms(n.get("p95_ms")), f"{n.get('rps') or 0:,.1f}",
                    base])
    return out


TITLE = ("the neighbour: a short view at {users} users (closed loop) while the story's"
         " connections are held")


def text(neighbour: list[dict[str, Any]]) -> str:
    if not neighbour:
        return ""
    first = neighbour[0]
    lines = [TITLE.format(users=first.get("neighbour_users")),
             *aligned([HEADERS, *rows(neighbour)], RIGHT, indent="")]
    return "\n".join(lines) + "\n"


def markdown(neighbour: list[dict[str, Any]]) -> str:
    if not neighbour:
        return ""
    first = neighbour[0]
    return "\n".join(["## The neighbour", "", TITLE.format(
        users=first.get("neighbour_users")) + ":", "",
        *md_table(HEADERS, rows(neighbour), RIGHT), ""])
