"""--workers N: Locust as a master and N worker processes of loadlab's, each in its own
working directory with nothing shared through files (as on other hosts). Their seconds
travel in their reports; the master's merge must hold exactly Locust's own count."""

from __future__ import annotations

import os
import signal
import time

import pytest

from scripts.proc.supervise import free_port

from ..conftest import loadlab, only_run, read_json
from ..procs import assert_all_gone, is_locust, running, snapshot, wait_for

CELL = ("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios", "hello",
        "--flavors", "sync", "--users", "4", "--warmup", "0.5")


def workers_of(lab) -> list:
    """The cell's Locust workers: Locust processes started with --worker."""
    return [p for p in snapshot(lab.pid).procs if is_locust(p) and "--worker" in p.cmdline()]


# alone: the distributed cell's p50 against one process's, two runs apart, within 2x; a
# neighbour test during one of them made it 2.4x (5.6 ms against 2.3) once.
@pytest.mark.alone
def test_two_workers_merge_exactly_and_agree_with_one_process(tmp_path, results):
    with running(tmp_path, *CELL, "--duration", "2", "--workers", "2",
                 "--results", str(results / "two")) as lab:
        lab.load_started(results / "two")
        workers = wait_for(lambda: len(workers_of(lab)) == 2 and workers_of(lab), 30,
                           "two Locust workers")
        cell_dirs = {str(p.parent) for p in (results / "two").glob(".partial-*/cells/*/*/go")}
        for worker in workers:  # each in a folder of its own, none in the cell's
            assert worker.cwd() not in cell_dirs and "loadlab-worker-" in worker.cwd()
        assert lab.wait(60) == 0, lab.err
    run = only_run(results / "two")
    (cell,) = read_json(run / "summary.json")["cells"]
    window = read_json(run / cell["path"] / "window.json")
    shipped = window["shipped"]
    assert shipped["workers"] == shipped["final_reports"] == 2
    assert shipped["requests"] == shipped["locust_requests"] > 0
    assert shipped["bytes"] > 0
    assert sorted(p.name for p in (run / cell["path"]).glob("latency*.json")) == [
        "latency.json"]
    single = loadlab(*CELL, "--duration", "2", "--results", str(results / "one"))
    assert single.code == 0, single.err
    (alone,) = read_json(only_run(results / "one") / "summary.json")["cells"]
    ratio = cell["latency_ms"]["p50"] / alone["latency_ms"]["p50"]
    assert 0.5 < ratio < 2, (cell["latency_ms"], alone["latency_ms"])


def test_a_worker_killed_mid_cell_fails_the_cell_and_the_run_goes_on(tmp_path, results):
    """A worker killed by its pid sends no final report: the cell fails saying so, never
    with a silent hole, and the run neither hangs nor leaves the other worker behind."""
    with running(tmp_path, *CELL, "--duration", "3", "--workers", "2",
                 "--results", str(results)) as lab:
        lab.load_started(results)
        workers = wait_for(lambda: len(workers_of(lab)) == 2 and workers_of(lab), 30,
                           "two Locust workers")
        time.sleep(1.5)  # into the measured window (0.5 s warmup, 3 s: at least 1.5 s left)
        os.kill(workers[0].pid, signal.SIGKILL)
        assert lab.wait(90) == 1, lab.err
    (cell,) = read_json(only_run(results) / "summary.json")["cells"]
    assert cell["status"] == "failed"
    assert "1 of 2 Locust worker(s) went missing before the cell ended" in cell["error"]


def test_ctrl_c_leaves_no_worker_behind(tmp_path, results):
    # One user (the last --users wins): no 1-user probe before the load; both workers run
    # whether or not each has a user, and what is checked is that none is left behind.
    with running(tmp_path, *CELL, "--users", "1", "--duration", "10", "--workers", "2",
                 "--results", str(results)) as lab:
        lab.load_started(results)
        wait_for(lambda: len(workers_of(lab)) == 2, 30, "two Locust workers")
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        assert lab.wait(60) == 130, lab.err
        assert_all_gone(snap)


def test_a_remote_worker_joins_cell_after_cell(tmp_path, results):
    """`loadlab worker --master` (here from another folder of this machine, on loopback):
    it gets each cell's locustfile and settings from that cell's master, so the two
    cells of the run are measured by it, and it stops after them. One user: each cell is
    its own probe (no 1-user probe first); what is checked does not depend on users."""
    port = free_port()
    far = tmp_path / "load-host"
    far.mkdir()
    with running(far, "worker", "--master", f"127.0.0.1:{port}", "--cells", "2") as remote:
        wait_for(lambda: "waiting for a cell's master" in remote.out, 30, "the worker",
                 proc=remote.popen)
        done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                       "hello", "--users", "1", "--warmup", "0.5", "--duration", "2",
                       "--remote-workers", "1", "--master-port", str(port),
                       "--results", str(results))
        assert done.code == 0, done.err + done.out
        assert "loadlab worker --master 127.0.0.1:" in done.out + done.err
        assert remote.wait(30) == 0, remote.err + remote.out
    assert "cell 2 done" in remote.out
    for cell in read_json(only_run(results) / "summary.json")["cells"]:
        window = read_json(only_run(results) / cell["path"] / "window.json")
        assert window["shipped"]["workers"] == window["shipped"]["final_reports"] == 1
        assert cell["status"] == "ok" and cell["requests"] > 0, cell


def test_worker_and_master_refuse_other_hosts_without_allow_remote(tmp_path, results):
    done = loadlab("worker", "--master", "203.0.113.9:5557", "--cells", "1")
    assert done.code == 2 and "203.0.113.9 is not this machine" in done.err
    done = loadlab("bench", "--remote-workers", "1", "--master-bind", "0.0.0.0",
                   "--results", str(results))
    assert done.code == 2 and "--master-bind 0.0.0.0 is not loopback" in done.err
    assert not any(results.iterdir())
