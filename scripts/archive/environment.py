"""What a run records about where and how it ran: versions, git, host (like pyperf's
`_collect_metadata`). Everything that can shape a number belongs here."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from ..paths import ROOT

PACKAGES = (
    "django", "locust", "gunicorn", "uvicorn", "uvicorn-worker", "httpx", "httpcore",
    "aiohttp", "asgiref", "psycopg", "gevent", "geventhttpclient", "hdrhistogram", "uvloop",
    "httptools", "granian", "hypercorn", "daphne",
)


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _git(*args: str, cwd: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git(where: Path = ROOT) -> dict[str, Any]:
    """The commit, dirty flag and branch of the repository `where` is in (loadlab's own,
    or a team's project); None each outside a repository."""
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=where)
    return {"commit": _git("rev-parse", "HEAD", cwd=where),
            "dirty": bool(status) if status is not None else None,
            "branch": _git("rev-parse", "--abbrev-ref", "HEAD", cwd=where)}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python_build": " ".join(platform.python_build()),
        "python_compiler": platform.python_compiler(),
        "python_executable": sys.executable,
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def owner() -> dict[str, Any]:
    """This loadlab process, so a later one can tell a live run from an abandoned one."""
    me = psutil.Process()
    return {"pid": me.pid, "create_time": me.create_time(), "hostname": platform.node()}


def owner_alive(owner: dict[str, Any] | None) -> bool:
    """The recorded loadlab is still running (same pid and start time). A run owned by
    another host counts as alive: this one can neither check nor stop it."""
    if not isinstance(owner, dict):
        return False
    if owner.get("hostname") != platform.node():
        return True
    try:
        proc = psutil.Process(int(owner["pid"]))
        return abs(proc.create_time() - float(owner["create_time"])) < 0.01
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False
