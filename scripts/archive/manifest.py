"""The one manifest builder: what every run (bench, ui, capacity) records about how
it was run, beside what writer.py adds (status, times, versions, git, host)."""

from __future__ import annotations

from typing import Any

from ..config import Matrix, Pinning, UpstreamSettings
from ..config.project import Project
from . import environment

LATENCY_RULE = ("harness HdrHistogram, successful requests, whole seconds of the"
                " measured window")


def build(*, mode: str, command: list[str], matrix: Matrix, profile: dict[str, Any],
          plan: dict[str, Any], upstream: UpstreamSettings, pinning: Pinning,
          app_env: dict[str, str], processes: int = 1,
          database: dict[str, Any] | None = None,
          project: Project | None = None) -> dict[str, Any]:
    """The manifest's body. `app_env` is the environment every server gets (with
    placeholders where it varies per cell), so a reader sees the app's switches."""
    return {
        "mode": mode,
        "command": command,
        "matrix": str(matrix.path),
        "profile": profile,
        "plan": plan,
        "upstream": {**upstream.__dict__, "url": None},
        "app": {**matrix.app.__dict__, "env": app_env},
        "database": database or {"engine": matrix.database.engine},
        "pinning": pinning.describe(),
        "generator": {"tool": "locust", "user_class": "FastHttpUser",
                      "processes": processes},
        "rules": {**matrix.rules.__dict__, "latency": LATENCY_RULE},
        "project": describe_project(project),
    }


def describe_project(project: Project | None) -> dict[str, Any]:
    """Whose views were measured: loadlab's app, or a team's project with its file,
    settings and the commit (and dirty flag) of the repository it lives in."""
    if project is None or project.builtin:
        return {"name": "app", "builtin": True}
    assert project.root is not None
    return {**project.describe(), "git": environment.git(project.root)}
