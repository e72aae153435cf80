"""--why's outputs at the run's seal: each profiled cell's flame graphs (SVG, beside its
samples) and summary.md's section of one line per profiled cell (its dominant layer)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ..analysis import layers
from ..archive.records import CellRecord
from . import flame


def packages(manifest: dict[str, Any]) -> tuple[str, ...]:
    """A team's project's top packages (view code), as its manifest names them."""
    project = manifest.get("project") or {}
    if project.get("builtin", True):
        return ()
    named = [project.get("settings") or "", *(project.get("applications") or {}).values()]
    return tuple(dict.fromkeys(n.split(":")[0].split(".")[0] for n in named if n))


def profiled(run_dir: Path, manifest: dict[str, Any], records: list[CellRecord]) -> str:
    """Flame graphs into the profiled cells' folders; summary.md's section (or "")."""
    cells = [r for r in records if r.why]
    if not cells:
        return ""
    table = layers.Table(packages(manifest))
    for r in cells:
        flame.write_cell(run_dir / r.path, table, r.label)
    rate = (manifest.get("profiler") or {}).get("rate_hz")
    lines = [f"## Why: where each profiled cell's server CPU went (py-spy, {rate} Hz)", "",
             "Each cell's flame-cpu.svg and flame-wall.svg open in a browser; profile.json"
             " has every layer's share and us/request.", ""]
    lines += [f"- {r.label}: {r.why}" for r in cells]
    return "\n".join(lines) + "\n"


def html_section(records: list[CellRecord]) -> str:
    """report.html's Why: each profiled cell's line with links to its flame graphs
    (relative to the run folder, where report.html lives)."""
    cells = [r for r in records if r.why]
    if not cells:
        return ""
    items = "".join(
        f"<li>{escape(r.label)}: {escape(r.why)} (flame graphs: "
        f'<a href="{escape(r.path)}/flame-cpu.svg">on-CPU</a>, '
        f'<a href="{escape(r.path)}/flame-wall.svg">wall clock</a>; '
        f'<a href="{escape(r.path)}/profile.json">profile.json</a>)</li>' for r in cells)
    return ("<h2>Why: where each profiled cell's server CPU went</h2>"
            f'<p class="method">py-spy in the measured window; CPU us/request by layer in'
            f" each cell's profile.json</p><ul>{items}</ul>")
