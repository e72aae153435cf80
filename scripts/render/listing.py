"""`loadlab list` as text: servers, the project's scenarios, clients, profiles, runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Matrix
from ..config.project import Project


def print_listing(matrix: Matrix, project: Project, runs: list[Any], results: Path) -> None:
    print("servers:")
    for s in matrix.servers.values():
        state = "" if s.available else f"  (not installed: {', '.join(s.missing)})"
        print(f"  {s.name:<18} {s.interface}  workers={s.workers:<3} {s.summary}{state}")
    print("scenarios:" if project.builtin else f"scenarios of project {project.name}:")
    for s in project.scenarios:
        kind = "" if s.connection == "request" else f" [{s.connection}" + (
            f", {'/'.join(s.interfaces)} only]" if len(s.interfaces) == 1 else "]")
        print(f"  {s.name:<10} {s.summary}{kind}")
        for f in s.flavors:
            query = f"?{s.query}" if s.query else ""
            print(f"    {f.name:<18} {f.path + query:<32} {f.shows}")
    print("clients:")
    for c in matrix.clients.values():
        print(f"  {c.name:<16} {c.summary}")
    print("profiles:")
    for p in matrix.profiles.values():
        default = " (default)" if p.name == matrix.default_profile else ""
        load = (f"users={','.join(map(str, p.users))}" if p.users else
                f"rates={','.join(f'{r:g}' for r in p.rates)}" if p.rates else "searched")
        print(f"  {p.name:<8} {load} {p.duration_s:g}s x {p.trials} trial(s):"
              f" {p.summary}{default}")
    print(f"runs in {results}:" + ("" if runs else " none"))
    by_status: dict[str, list] = {}
    for r in runs:
        by_status.setdefault(r.status, []).append(r)
    for status, group in sorted(by_status.items()):
        print(f"  {status} ({len(group)}):")
        for r in group:
            print(f"    {r.name}  {r.cells} cell(s)")
