"""After a hard stop: find runs whose loadlab died, stop what they left, seal them.

A run's folder keeps its owner (manifest `owner`: pid and start time) and a ledger of
every process it started (`processes.jsonl`: pid, process group, start time). A folder
still named `.partial-*`, marked `running`, whose owner is gone, was abandoned: any
process of its ledger still alive (same pid *and* same start time, so a recycled pid
is never touched) is stopped by its process group, then the folder is sealed
`abandoned` with the cells that finished. A run still running elsewhere is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import psutil

from ..archive.environment import owner_alive
from ..archive.runs import list_runs
from ..archive.writer import Outputs, seal_abandoned
from ..services.postgres import CLUSTER_PREFIX

LEDGER = "processes.jsonl"
GRACE_S = 5.0


@dataclass(frozen=True)
class Recovered:
    path: Path  # the sealed folder
    cells: int
    stopped: list[str]  # "name pid" of every survivor stopped

    @property
    def line(self) -> str:
        stopped = (f"; stopped {len(self.stopped)} leftover process(es):"
                   f" {', '.join(self.stopped)}" if self.stopped else "")
        return (f"sealed an abandoned run as {self.path} ({self.cells} finished"
                f" cell(s)){stopped}")


def survivors(run_dir: Path) -> list[tuple[dict, psutil.Process]]:
    """Ledger entries whose process is still the one the run started."""
    alive = []
    try:
        lines = (run_dir / LEDGER).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
            proc = psutil.Process(int(entry["pid"]))
            same = abs(proc.create_time() - float(entry["create_time"])) < 0.01
        except (ValueError, KeyError, TypeError, psutil.Error):
            continue
        if same and proc.status() != psutil.STATUS_ZOMBIE:
            alive.append((entry, proc))
    return alive


def stop(entries: list[tuple[dict, psutil.Process]]) -> list[str]:
    """SIGTERM each survivor's process group, SIGKILL what is left after the grace."""
    procs: list[psutil.Process] = []
    for entry, proc in entries:
        with contextlib.suppress(psutil.Error):
            procs += [proc, *proc.children(recursive=True)]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(entry["pgid"]), signal.SIGTERM)
    _, left = psutil.wait_procs(procs, timeout=GRACE_S)
    for entry, _proc in entries:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(entry["pgid"]), signal.SIGKILL)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=2)
    return [f"{e.get('name', '?')} {e['pid']}" for e, _ in entries]


def cluster_dirs(run_dir: Path) -> list[Path]:
    """The throwaway PostgreSQL folders the run's ledger says it started (postgres -D
    <tmp>/loadlab-pg-*/data): a hard stop leaves them behind with the processes."""
    found = []
    try:
        lines = (run_dir / LEDGER).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            argv = json.loads(line)["argv"]
            data = Path(argv[argv.index("-D") + 1])
            if data.parent.name.startswith(CLUSTER_PREFIX):
                found.append(data.parent)
    return found


def recover(results: Path, outputs: Outputs | None = None) -> list[Recovered]:
    """Seal every abandoned run under `results`; the runs of live loadlabs are left."""
    done = []
    for info in list_runs(results):
        if info.sealed or info.status != "running" or owner_alive(info.owner):
            continue
        stopped = stop(survivors(info.path))
        for folder in cluster_dirs(info.path):
            shutil.rmtree(folder, ignore_errors=True)
        final = seal_abandoned(info.path, outputs)
        done.append(Recovered(final, info.cells, stopped))
    return done
