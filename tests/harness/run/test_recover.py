"""recover.py with real processes: a ledger's survivors are found by pid *and* start
time, stopped by process group, and an abandoned folder is sealed once."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import psutil

from scripts.archive.folder import PARTIAL_PREFIX, write_json
from scripts.archive.records import SCHEMA_VERSION
from scripts.run import recover

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def ledger_line(popen: subprocess.Popen, create_time: float | None = None) -> str:
    created = psutil.Process(popen.pid).create_time() if create_time is None else create_time
    return json.dumps({"name": "sleeper", "pid": popen.pid, "pgid": popen.pid,
                       "create_time": created, "argv": SLEEPER})


def partial_run(results: Path, owner: dict, lines: list[str]) -> Path:
    run = results / f"{PARTIAL_PREFIX}20260101-000000-x"
    run.mkdir(parents=True)
    write_json(run / "manifest.json", {"schema_version": SCHEMA_VERSION, "status": "running",
                                       "started": "2026-01-01T00:00:00+00:00",
                                       "owner": owner})
    (run / recover.LEDGER).write_text("".join(line + "\n" for line in lines))
    return run


def dead_owner() -> dict:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return {"pid": int(done.stdout), "create_time": 1.0, "hostname": platform.node()}


def test_a_survivor_is_stopped_with_its_group(tmp_path):
    popen = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        run = partial_run(tmp_path, dead_owner(), [ledger_line(popen)])
        found = recover.survivors(run)
        assert [p.pid for _, p in found] == [popen.pid]
        stopped = recover.stop(found)
        assert stopped == [f"sleeper {popen.pid}"]
        popen.wait(5)  # recover reaped it already (it is our child here)
        assert not psutil.pid_exists(popen.pid)
    finally:
        popen.kill()


def test_a_recycled_pid_is_never_touched(tmp_path):
    popen = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        created = psutil.Process(popen.pid).create_time()
        run = partial_run(tmp_path, dead_owner(), [ledger_line(popen, created - 100)])
        assert recover.survivors(run) == []
        assert popen.poll() is None
    finally:
        popen.kill()
        popen.wait()


def test_recover_seals_abandoned_runs_once_and_leaves_live_ones(tmp_path):
    results = tmp_path / "results"
    popen = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        partial_run(results, dead_owner(), [ledger_line(popen)])
        done = recover.recover(results)
        assert len(done) == 1 and done[0].stopped == [f"sleeper {popen.pid}"]
        assert done[0].path.name == "20260101-000000-x" and done[0].path.is_dir()
        manifest = json.loads((done[0].path / "manifest.json").read_text())
        assert manifest["status"] == "abandoned" and manifest["cells_done"] == 0
        popen.wait(5)
        assert not psutil.pid_exists(popen.pid)
        assert recover.recover(results) == []
    finally:
        popen.kill()

    me = psutil.Process()
    live = partial_run(tmp_path / "live", {"pid": me.pid, "create_time": me.create_time(),
                                           "hostname": platform.node()}, [])
    assert recover.recover(tmp_path / "live") == [] and live.is_dir()


def test_a_hard_stopped_runs_postgres_folder_is_removed_and_no_other(tmp_path):
    """The ledger names the cluster's folder (postgres -D <tmp>/loadlab-pg-*/data); only
    folders of that shape are removed, never another path a ledger line mentions."""
    cluster = tmp_path / f"{recover.CLUSTER_PREFIX}abc"
    (cluster / "data").mkdir(parents=True)
    other = tmp_path / "keep-me"
    (other / "data").mkdir(parents=True)
    lines = [json.dumps({"name": "postgres", "pid": 1, "pgid": 1,  # init: never the same
                         "create_time": 0.0,
                         "argv": ["/usr/lib/postgresql/15/bin/postgres", "-D",
                                  str(folder / "data"), "-c", "port=1"]})
             for folder in (cluster, other)]
    run = partial_run(tmp_path / "results", dead_owner(), [*lines, "not json"])
    assert recover.cluster_dirs(run) == [cluster]
    recover.recover(tmp_path / "results")
    assert not cluster.exists() and other.exists()
