"""Fixtures for harness tests: run the real `loadlab` CLI and inspect what it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Done:
    code: int
    out: str
    err: str


def loadlab(*args: str, timeout: float = 240, env: dict | None = None) -> Done:
    """Run `loadlab ARGS` as a user would, in its own process group."""
    done = subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
    return Done(done.returncode, done.stdout, done.stderr)


def only_run(results: Path) -> Path:
    runs = [p for p in results.iterdir() if p.is_dir()]
    assert len(runs) == 1, f"expected one run folder, found {[p.name for p in runs]}"
    return runs[0]


def read_json(path: Path):
    return json.loads(path.read_text())


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def survivors(procs: list[psutil.Process]) -> list[str]:
    """Processes from `procs` still running (zombies count as gone)."""
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline()[:4])}")
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "results"
    path.mkdir()
    return path
