"""manifest.json, typed: what every run (bench, ui, capacity) records about how it was
run. `build` starts one; writer.py adds the folder's facts and seals it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..config import Matrix, Pinning, UpstreamSettings
from ..config.project import Project
from . import environment
from .records import SCHEMA_VERSION

LATENCY_RULE = ("harness HdrHistogram, successful requests, whole seconds of the"
                " measured window")


@dataclass
class Manifest:
    """manifest.json as a type: how a run was run, from its start to its seal. It
    serialises itself with its schema version; each later fact has one method (the
    upstream's URL once it is up, a test of the web UI, the seal), so nothing else
    writes its keys. `extra` keeps keys another version wrote, as they were read."""

    mode: str = "bench"
    command: list[str] = field(default_factory=list)
    matrix: str = ""
    profile: dict[str, Any] = field(default_factory=dict)
    plan: Any = field(default_factory=dict)
    upstream: dict[str, Any] = field(default_factory=dict)
    app: dict[str, Any] = field(default_factory=dict)
    database: dict[str, Any] = field(default_factory=dict)
    pinning: dict[str, Any] = field(default_factory=dict)
    generator: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    # set by the archive when the folder is made, and when it is sealed
    status: str = "running"
    label: str | None = None
    started: str | None = None
    finished: str | None = None
    owner: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cells_done: int | None = None
    cells_failed: int | None = None
    # by mode: a capacity run's search settings; a web UI session's probes and tests
    capacity: dict[str, Any] | None = None
    unloaded: dict[str, Any] | None = None
    tests: list[dict[str, Any]] | None = None
    profiler: dict[str, Any] | None = None  # --why: py-spy's settings; None: not profiled
    # the fixed reference workload's time at the start and the end (proc/machine.py)
    machine: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # where each key stands in the file (readers and diffs meet them in this order)
    _HEAD = ("status", "label", "started", "finished")
    _TAIL = ("owner", "versions", "git", "host")
    _LATE = ("error", "cells_done", "cells_failed", "capacity", "unloaded", "tests",
             "profiler", "machine")

    def to_json(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        head = {k: body.pop(k) for k in self._HEAD}
        tail = {k: body.pop(k) for k in self._TAIL}
        late = {k: v for k in self._LATE if (v := body.pop(k)) is not None
                or (k == "error" and self.finished)}
        return {"schema_version": SCHEMA_VERSION, "tool": "loadlab", **head, **body,
                **tail, **late, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """A manifest as any version wrote it: known keys typed, the rest kept."""
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: v for k, v in data.items()
                 if k not in known and k not in ("schema_version", "tool")}
        return cls(**{k: v for k, v in data.items() if k in known}, extra=extra)

    def begun(self, label: str | None, started: str, facts: dict[str, Any]) -> None:
        """The folder exists: its label, start, and the host's facts (owner, versions,
        git, host: archive/environment.py)."""
        self.label, self.started = label, started
        for key in self._TAIL:
            setattr(self, key, facts[key])

    def upstream_at(self, url: str) -> None:
        self.upstream["url"] = url

    def database_opened(self, described: dict[str, Any], app_env: dict[str, str]) -> None:
        """The run's database is up: what it is, and the env the servers now get."""
        self.database = described
        self.app["env"] = app_env

    def prepared(self, seconds: float) -> None:
        """A team's project's `prepare` step took this long."""
        self.project["prepare_s"] = round(seconds, 3)

    def capacity_search(self, settings: dict[str, Any]) -> None:
        self.capacity = settings

    def probed(self, unloaded: dict[str, Any]) -> None:
        """A web UI session's one-user probes (R0 and S per flavor)."""
        self.unloaded = unloaded

    def add_test(self, test: dict[str, Any]) -> None:
        """A web UI session's test, with the cells it left."""
        self.tests = [*(self.tests or []), test]

    def profiled(self, rate: int, version: str | None, samplers: dict[str, Any]) -> None:
        """--why: the server was sampled in each measured window, at `rate` Hz."""
        self.profiler = {"tool": "py-spy", "version": version, "rate_hz": rate,
                         "samplers": samplers,
                         "window": "the measured window's nominal start (spawned + warmup)"
                                   " for its duration"}

    def machine_at(self, when: str, reference: dict[str, Any] | None) -> None:
        """The reference workload, timed `when` (start, end; during: the samples between
        cells, proc/machine.py's Spread): how fast the machine was
        around the cells, so compare can tell a moved machine from moved code (None:
        it could not be timed, and compare does not check)."""
        self.machine = {**(self.machine or {}), when: reference}

    def sealed(self, status: str, error: str | None, finished: str, done: int,
               failed: int) -> None:
        self.status, self.error, self.finished = status, error, finished
        self.cells_done, self.cells_failed = done, failed


def build(*, mode: str, command: list[str], matrix: Matrix, profile: dict[str, Any],
          plan: dict[str, Any], upstream: UpstreamSettings, pinning: Pinning,
          app_env: dict[str, str], processes: int = 1,
          database: dict[str, Any] | None = None,
          project: Project | None = None) -> Manifest:
    """A new run's manifest. `app_env` is the environment every server gets (with
    placeholders where it varies per cell), so a reader sees the app's switches."""
    return Manifest(
        mode=mode, command=list(command), matrix=str(matrix.path), profile=profile,
        plan=plan, upstream={**upstream.__dict__, "url": None},
        app={**matrix.app.__dict__, "env": app_env},
        database=database or {"engine": matrix.database.engine},
        pinning=pinning.describe(),
        generator={"tool": "locust", "user_class": "FastHttpUser", "processes": processes},
        rules={**matrix.rules.__dict__, "latency": LATENCY_RULE},
        project=describe_project(project),
    )


def describe_project(project: Project | None) -> dict[str, Any]:
    """Whose views were measured: loadlab's app, or a team's project with its file,
    settings and the commit (and dirty flag) of the repository it lives in."""
    if project is None or project.builtin:
        return {"name": "app", "builtin": True}
    assert project.root is not None
    return {**project.describe(), "git": environment.git(project.root)}
