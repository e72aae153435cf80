"""Synthetic run folders from known distributions, for compare and render tests.

Each cell's per-second throughput is drawn from N(rps * shift, sd) and its
per-second p95 from N(p95 / shift, p95_sd), with a fixed seed, so a test knows
the truth it checks the statistics against. Only manifest.json, summary.json
and empty cell folders are written: that is all compare and render need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scripts.archive.folder import write_json, write_summary
from scripts.archive.records import SCHEMA_VERSION, CellRecord
from scripts.cells import CellKey

INTERFACES = {"gunicorn-sync": "wsgi", "gunicorn-gthread": "wsgi"}


@dataclass
class Spec:
    """What to generate. `shift(key)` multiplies throughput (and divides latency)."""

    servers: tuple[str, ...] = ("gunicorn-sync", "uvicorn")
    scenarios: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"hello": ("sync", "async"), "sleep": ("sync", "async")}
    )
    clients: dict[str, tuple[str | None, ...]] = field(default_factory=dict)
    users: int = 10
    trials: int = 1
    seconds: int = 25
    rps: float = 1000.0
    sd: float = 50.0
    p95: float = 20.0
    p95_sd: float = 1.5
    trial_sd: float = 0.0  # run-to-run noise: each trial's level is scaled by N(1, trial_sd)
    cpu_pct: float = 50.0  # the server's CPU in every cell: to spare (95: saturated)
    shift: Callable[[tuple], float] = lambda key: 1.0
    warnings: Callable[[tuple], list[str]] = lambda key: []
    failed: Callable[[tuple], bool] = lambda key: False
    manifest: dict[str, Any] = field(default_factory=dict)


def manifest(label: str = "synthetic", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "status": "complete",
        "started": "2026-01-01T10:00:00",
        "finished": "2026-01-01T10:05:00",
        "command": "loadlab bench --profile smoke",
        "profile": {"name": "smoke", "users": 10, "duration_s": 25, "trials": 1},
        "plan": [],
        "versions": {"python": "3.13.0", "django": "6.1.3", "locust": "2.47.0",
                     "gunicorn": "27.0.1", "uvicorn": "0.54.0", "httpx": "0.28.1"},
        "git": {"commit": "abc1234", "dirty": False},
        "host": {"cpu_model": "Synthetic CPU", "cores": 2, "memory_gb": 4.0,
                 "kernel": "6.1.0"},
        "pinning": {"server": "0", "generator": "1"},
        "upstream": {"latency_ms": 100, "jitter_ms": 0, "fault_rate": 0.0},
        "label": label,
    }
    base.update(overrides)
    return base


def keys(spec: Spec) -> Iterable[CellKey]:
    for server in spec.servers:
        for scenario, flavors in spec.scenarios.items():
            for flavor in flavors:
                for client in spec.clients.get(scenario, (None,)):
                    yield CellKey(server, scenario, flavor, client, spec.users)


def make_cells(spec: Spec, seed: int) -> list[CellRecord]:
    rng = np.random.default_rng(seed)
    cells = []
    for key in keys(spec):
        plain = tuple(key.as_list())  # what the Spec's callables look at
        server, scenario, flavor, client, users = plain
        k = spec.shift(plain)
        for trial in range(1, spec.trials + 1):
            level = k * max(0.1, rng.normal(1.0, spec.trial_sd)) if spec.trial_sd else k
            rps_s = np.clip(rng.normal(spec.rps * level, spec.sd, spec.seconds), 1, None)
            p95_s = np.clip(rng.normal(spec.p95 / level, spec.p95_sd, spec.seconds), 0.1, None)
            failed = spec.failed(plain)
            rps = float(rps_s.mean())
            p95 = float(np.median(p95_s))
            cells.append(CellRecord(
                server=server,
                interface=INTERFACES.get(server, "asgi"),
                scenario=scenario, flavor=flavor, client=client, users=users, trial=trial,
                status="failed" if failed else "ok",
                requests=0 if failed else int(rps * spec.seconds),
                failures=0,
                rps=0.0 if failed else rps,
                latency_ms={} if failed else {
                    "p50": p95 * 0.5, "p90": p95 * 0.9, "p95": p95, "p99": p95 * 1.3,
                    "p999": p95 * 2.0, "max": p95 * 3.0, "mean": p95 * 0.55,
                },
                rps_per_second=[] if failed else [round(float(v), 2) for v in rps_s],
                latency_ms_per_second={} if failed else {
                    m: [round(float(v) * f, 3) for v in p95_s]
                    for m, f in (("p50", 0.5), ("p90", 0.9), ("p95", 1.0), ("p99", 1.3))},
                duration_s=float(spec.seconds),
                server_cpu_pct=spec.cpu_pct, server_rss_mb=60.0, generator_cpu_pct=40.0,
                upstream_cpu_pct=5.0,
                warnings=list(spec.warnings(plain)),
                error="server exited with code 1" if failed else None,
                path=key.path(trial),
            ))
    return cells


def make_run(root: Path, name: str, spec: Spec | None = None, seed: int = 0,
             cells: list[CellRecord] | None = None) -> Path:
    """Write a run folder under `root` and return its path."""
    spec = spec or Spec()
    run_dir = root / name
    run_dir.mkdir(parents=True)
    cells = make_cells(spec, seed) if cells is None else cells
    for cell in cells:
        (run_dir / cell.path).mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "manifest.json", manifest(label=name, **spec.manifest))
    write_summary(run_dir, cells)
    return run_dir
