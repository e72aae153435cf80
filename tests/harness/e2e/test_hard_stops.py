"""Hard stops: a closed terminal (SIGHUP), Ctrl-\\ (SIGQUIT) and `kill -9` of loadlab.

SIGHUP and SIGQUIT get the clean stop Ctrl-C gets. SIGKILL gets no handler at all: the
children must still die on their own (they asked the kernel for SIGTERM when loadlab
dies), their ports must be free, and the next `loadlab list` must seal the half-written
folder as `abandoned`, readable by `compare`, with the cells that had finished.
Everything is real: the bench, its servers, Locust, the upstream stand-in.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import psutil
import pytest

from scripts.proc import launch
from scripts.run.recover import LEDGER

from ..conftest import loadlab, only_run, read_json
from ..procs import (
    assert_all_gone,
    cmdline,
    is_locust,
    is_server,
    running,
    snapshot,
    wait_for,
)


def announced_server(results: Path, nth: int) -> psutil.Process | None:
    """The run's `nth` server (1-based), as the run's ledger announced it (the pid
    supervise gave the launcher, which the server keeps: launch.py execs into it), once
    that process has exec'd: no longer the launcher, the server itself. None before."""
    try:
        (ledger,) = results.glob(f".partial-*/{LEDGER}")
        lines = ledger.read_text().splitlines()
    except (ValueError, OSError):
        return None
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line still being written
        if str(entry.get("name", "")).startswith("server "):
            entries.append(entry)
    if len(entries) < nth:
        return None
    entry = entries[nth - 1]
    try:
        proc = psutil.Process(entry["pid"])
        same = abs(proc.create_time() - entry["create_time"]) < 0.01  # not a reused pid
        argv = proc.cmdline()
    except psutil.Error:
        return None
    launcher = launch.__name__ in argv  # python -m scripts.proc.launch ... -- server
    return proc if same and argv and not launcher and is_server(proc) else None


def bench_args(results, server: str = "gunicorn-sync", duration: float = 10,
               users: int = 1) -> tuple:
    """One user by default: a cell that is its own probe boots straight into its load."""
    return ("bench", "--profile", "smoke", "--servers", server, "--scenarios", "hello",
            "--results", str(results), "--label", "hard", "--duration", f"{duration:g}",
            "--warmup", "0.5", "--users", str(users), "--quiet")


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT])
def test_sighup_and_sigquit_stop_like_sigterm(tmp_path, results, sig):
    with running(tmp_path, *bench_args(results)) as lab:
        lab.load_started(results)
        time.sleep(1.0)
        snap = snapshot(lab.pid)
        assert sum(is_server(p) for p in snap.procs) == 3, lab.err  # master + 2 workers
        lab.signal(sig)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
    run = only_run(results)
    assert not run.name.startswith(".partial-")
    manifest = read_json(run / "manifest.json")
    assert manifest["status"] == "interrupted"
    assert signal.Signals(sig).name in manifest["error"]


def test_sigkill_children_die_and_the_next_loadlab_seals_the_run(tmp_path, results):
    # two flavors: the first finishes, the second is measuring when loadlab is killed
    # (2 users: the second cell's probe keeps it alive ~1.4 s longer for the kill)
    with running(tmp_path, *bench_args(results, "uvicorn", duration=2, users=2)) as lab:
        wait_for(lambda: list(results.glob(".partial-*/cells/*/*/latency.json")), 60,
                 "the first cell", proc=lab.popen)
        lab.find(lambda p: is_locust(p) and "Async" in cmdline(p), 40,
                 "the second cell's Locust")
        # Locust boots before its cell's server: wait for that server's pid, announced
        # in the ledger, to have left the launcher for the server itself
        server = wait_for(lambda: announced_server(results, 2), 60,
                          "the second cell's server to exec", proc=lab.popen)
        snap = snapshot(lab.pid)
        names = [cmdline(p)[:60] for p in snap.procs]
        assert server.pid in [p.pid for p in snap.procs if is_server(p)], names
        assert any("app.upstream:app" in cmdline(p) for p in snap.procs), names
        lab.signal(signal.SIGKILL)
        assert lab.wait() == -signal.SIGKILL
        # nobody cleans up: the children go by themselves, and free their ports
        assert_all_gone(snap)
    (partial,) = results.glob(".partial-*")
    assert read_json(partial / "manifest.json")["status"] == "running"

    done = loadlab("list", "--results", str(results))
    assert done.code == 0, done.err
    assert "sealed an abandoned run" in done.err and done.err.count("\n") == 1
    assert "abandoned (1)" in done.out
    run = only_run(results)
    assert not run.name.startswith(".partial-") and run.name.endswith("-hard")
    manifest = read_json(run / "manifest.json")
    assert manifest["status"] == "abandoned" and manifest["cells_done"] == 1
    cells = read_json(run / "summary.json")["cells"]
    assert [c["flavor"] for c in cells] == ["sync"] and cells[0]["status"] == "ok"
    assert (run / "summary.md").is_file() and (run / "processes.jsonl").is_file()

    again = loadlab("list", "--results", str(results))  # sealed once, not twice
    assert "sealed" not in again.err
    compared = loadlab("compare", str(run))
    assert compared.code == 0, compared.err
    assert "hello" in compared.out


def test_sigkill_of_ui_and_serve_leaves_no_server(tmp_path, results):
    from scripts.proc.supervise import free_port

    (tmp_path / "ui").mkdir()
    with running(tmp_path / "ui", "ui", "--no-probe", "--server", "uvicorn", "--scenario", "hello",
                 "--web-port", str(free_port()), "--results", str(results)) as lab:
        lab.find(is_locust, 40, "Locust's web UI")
        lab.find(is_server, 40, "the server")
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGKILL)
        lab.wait()
        assert_all_gone(snap)
    done = loadlab("list", "--results", str(results))
    assert "sealed an abandoned run" in done.err, done.err
    assert read_json(only_run(results) / "manifest.json")["status"] == "abandoned"

    (tmp_path / "serve").mkdir()
    with running(tmp_path / "serve", "serve", "--server", "gunicorn-sync", "--port",
                 str(free_port()), "--upstream-port", str(free_port())) as lab:
        lab.find(lambda p: is_server(p) and p.children(), 40, "gunicorn's workers")
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGKILL)
        lab.wait()
        assert_all_gone(snap)
