"""A profiled cell's samples into its profile.json and its record (`layers`, `why`).

The samplers (proc/profiler.py) cover the measured window's nominal span: from the
moment the harness lets Locust go, its users' spawn and the warmup later, for the
profile's duration. The server's CPU seconds come from the harness's own sampler
(record.server_cpu_pct over the whole seconds measured), so a layer's microseconds per
request is that CPU's share, not py-spy's own count; both are kept in profile.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..analysis import layers
from ..analysis.why import why_line
from ..archive.folder import write_json
from ..archive.records import CellRecord
from ..config.project import Project
from ..proc.profiler import samples_path

PROFILE = "profile.json"


def start_delay_s(users: int, spawn_rate: float, warmup_s: float) -> float:
    """From the go file to the window's nominal start: spawning, then the warmup."""
    return warmup_s + (users / spawn_rate if spawn_rate else 0.0)


def view_packages(project: Project) -> tuple[str, ...]:
    """A team's code is view code: the top packages of its settings and applications
    (loadlab's own app is in the table already)."""
    if project.builtin:
        return ()
    named = [project.settings, *project.applications.values()]
    return tuple(dict.fromkeys(n.split(":")[0].split(".")[0] for n in named))


def read(record: CellRecord, cell_dir: Path, rate: int, duration_s: float,
         problems: dict[str, str], packages: tuple[str, ...] = (),
         errors: dict[str, int] | None = None,
         retried: dict[str, str] | None = None) -> dict:
    """profile.json from the cell's samples; the record's `layers` and `why` from it."""
    samples = {}
    for name in ("cpu", "wall"):
        path = samples_path(cell_dir, name)
        samples[name] = layers.parse(path.read_text().splitlines()) if path.exists() else []
    cpu_s = (record.server_cpu_pct * record.duration_s / 100
             if record.server_cpu_pct is not None else None)
    profile = layers.summarise(samples["cpu"], samples["wall"], rate=rate,
                               duration_s=duration_s, cpu_s=cpu_s,
                               requests=record.requests,
                               table=layers.Table(packages))
    if errors:  # samples py-spy lost: the shares stand, sampled_cpu_s reads low
        profile["sampler_errors"] = errors
    if retried:  # py-spy failed to attach, tried again: its samples start later
        profile["sampler_retried"] = retried
    if problems:
        profile["problems"] = list(problems.values())
        profile.setdefault("note", "; ".join(problems.values()))
    write_json(cell_dir / PROFILE, profile)
    record.why = why_line(profile)
    record.layers = {k: v["cpu_us_per_request"] for k, v in profile["layers"].items()
                     if v["cpu_us_per_request"] is not None} or None
    return profile


def load(cell_dir: Path) -> dict | None:
    """A cell's profile.json, if it was profiled (capacity's `limit` reads it)."""
    try:
        return json.loads((cell_dir / PROFILE).read_text())
    except (OSError, ValueError):
        return None
