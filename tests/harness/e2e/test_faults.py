"""Server and upstream faults in real benches: failed cells say why, the run goes on.

Real processes throughout: a port we hold ourselves, servers that crash at boot or never
answer (defined in a temporary matrix), a server killed mid-cell, the `faults` profile's
flaky upstream, and the generator-hot rule.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from scripts.proc.supervise import free_port

from ..conftest import CRASHES_AT_BOOT, loadlab, matrix_with, only_run, read_json
from ..procs import assert_all_gone, cmdline, is_locust, is_server, running, snapshot

# One user: a cell at one user is its own probe (bench.py), so no 1-user probe runs first
# (~2 s a cell); what these tests check does not depend on the users. The probe and the
# bounds it gives are e2e/test_bounds.py's and test_capacity.py's. One measured second (a
# single Locust's window is whole seconds from its own phase, and the 1 s sampler's tick
# within half a second after it counts): these tests check statuses, errors and that the
# generator's CPU was sampled, not how much was served.
FAST = ("--duration", "1", "--warmup", "0.5", "--users", "1", "--quiet")


def cells_of(run: Path) -> dict[str, dict]:
    return {f"{c['server']} {c['scenario']}/{c['flavor']}": c
            for c in read_json(run / "summary.json")["cells"]}


def failure_reasons(cell: Path) -> dict[str, int]:
    """Locust's failures.csv of a cell: reason -> occurrences (the response.failure text,
    unwrapped from Locust's CatchResponseError('...'))."""
    with open(cell / "locust_failures.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    reasons: dict[str, int] = {}
    for row in rows:
        error = re.sub(r"^CatchResponseError\(['\"](.*)['\"]\)$", r"\1", row["Error"])
        reasons[error] = reasons.get(error, 0) + int(row["Occurrences"])
    return reasons


def test_a_taken_port_fails_every_cell_and_says_which(results):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                       "hello", "--port", str(port), "--results", str(results), *FAST)
    assert done.code == 1, done.err
    assert "Traceback" not in done.err + done.out
    run = only_run(results)
    assert not run.name.startswith(".partial-")
    manifest = read_json(run / "manifest.json")
    assert manifest["status"] == "failed"  # no cell could be measured at all
    cells = read_json(run / "summary.json")["cells"]
    assert len(cells) == len(manifest["plan"]["cells"]) == 2
    for cell in cells:
        assert cell["status"] == "failed"
        assert f"127.0.0.1:{port} is already in use" in cell["error"]
    summary_md = (run / "summary.md").read_text()
    assert "## failed cells" in summary_md and f":{port} is already in use" in summary_md
    assert "failed" in done.out  # the verdict table flags both rows
    assert f"run folder: {run}" in done.out


def test_a_fixed_port_is_reused_from_cell_to_cell(results):
    """The previous cell's connections linger in TIME_WAIT: that is not "in use"."""
    port = free_port()
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                   "hello", "--port", str(port), "--results", str(results), *FAST)
    assert done.code == 0, done.err
    cells = read_json(only_run(results) / "summary.json")["cells"]
    assert [c["status"] for c in cells] == ["ok", "ok"], [c["error"] for c in cells]


BAD_SERVERS = CRASHES_AT_BOOT + """
[servers.never-ready]
interface = "wsgi"
module = "http.server"
ready_timeout_s = 2
args = ["--bind", "{host}", "0"]
"""


def test_servers_that_never_become_ready_fail_their_cells_and_the_run_goes_on(
        tmp_path, results):
    matrix = matrix_with(tmp_path, append=BAD_SERVERS)
    done = loadlab("bench", "--matrix", str(matrix), "--profile", "smoke", "--servers",
                   "crashes-at-boot,never-ready,uvicorn", "--scenarios", "hello",
                   "--flavors", "sync", "--results", str(results),
                   *[a for a in FAST if a != "--quiet"], timeout=120)
    assert done.code == 1, done.err
    assert "Traceback" not in done.err
    run = only_run(results)
    assert read_json(run / "manifest.json")["status"] == "partial"
    cells = cells_of(run)
    assert list(cells) == ["crashes-at-boot hello/sync", "never-ready hello/sync",
                           "uvicorn hello/sync"]

    boot = cells["crashes-at-boot hello/sync"]
    assert boot["status"] == "failed"
    assert re.search(r"exited with code \d+ before it was ready", boot["error"])
    assert "--- server.log (tail) ---" in boot["error"]
    assert "app.nope" in boot["error"].split("--- server.log (tail) ---")[1]

    never = cells["never-ready hello/sync"]
    assert never["status"] == "failed"
    assert "not ready after 2s" in never["error"]
    assert "Serving HTTP" in never["error"].split("--- server.log (tail) ---")[1]
    assert (run / never["path"] / "server.log").is_file()

    ok = cells["uvicorn hello/sync"]
    assert ok["status"] == "ok" and ok["requests"] > 0
    # the progress lines give the account as it happens
    assert done.err.count("FAILED") == 2
    assert "run partial: 3 cells, 2 failed" in done.err


def test_a_server_killed_mid_cell(tmp_path, results):
    # One user: the cell is its own probe, so the load starts without a probe first; the
    # kill lands ~1.5 s after the load starts, inside the 0.5 + 3 s, and what is checked
    # does not depend on users.
    args = ("bench", "--profile", "smoke", "--servers", "gunicorn-sync,uvicorn",
            "--scenarios", "hello", "--flavors", "sync", "--duration", "3", "--warmup",
            "0.5", "--users", "1", "--results", str(results))
    with running(tmp_path, *args) as lab:
        lab.load_started(results)
        time.sleep(1.5)  # measuring
        first = snapshot(lab.pid)
        servers = [p for p in first.procs if is_server(p)]
        assert len(servers) == 3, lab.err  # gunicorn master + 2 workers
        master = next(p for p in servers if p.pid == os.getpgid(p.pid))
        # The kernel's OOM killer takes one process, not a group: kill only the master,
        # its workers are left behind for loadlab to find.
        master.kill()
        # The run goes on: the last cell starts a server and a Locust of its own, which
        # the first snapshot cannot know. Snapshot them too, while they run.
        before = {p.pid for p in first.procs}
        lab.find(lambda p: is_server(p) and "app.asgi:application" in cmdline(p), 60,
                 "the last cell's uvicorn")
        lab.find(lambda p: is_locust(p) and p.pid not in before, 60, "the last cell's Locust")
        last = snapshot(lab.pid)
        assert any(is_server(p) and p.pid not in before for p in last.procs), lab.err
        assert lab.wait(60) == 1, lab.err
        # after the last cell: both snapshots' processes (and anything else this loadlab
        # started, found by its tag) are gone, and both snapshots' ports are free
        assert_all_gone(first)
        assert_all_gone(last)
    run = only_run(results)
    assert read_json(run / "manifest.json")["status"] == "partial"
    cells = cells_of(run)
    killed = cells["gunicorn-sync hello/sync"]
    assert killed["status"] == "failed"
    assert "exited with code -9 in the middle of the cell" in killed["error"]
    # The error carries the server log's tail exactly when the log has something to show.
    log = (run / killed["path"] / "server.log").read_text().strip()
    assert ("--- server.log (tail) ---" in killed["error"]) == bool(log), killed["error"]
    if log:
        assert log.splitlines()[-1].strip() in killed["error"]
    after = cells["uvicorn hello/sync"]
    assert after["status"] == "ok" and after["requests"] > 0


def test_the_faults_profile_counts_failures_and_stays_up(results):
    """errors, hangs past the client timeout and a slow tail: views answer degraded."""
    done = loadlab("bench", "--profile", "faults", "--servers", "uvicorn",
                   "--duration", "2", "--warmup", "0.5", "--results", str(results),
                   timeout=180)
    assert "Traceback" not in done.err
    assert done.code == 0, done.err  # failures are counted, they do not fail cells
    run = only_run(results)
    manifest = read_json(run / "manifest.json")
    assert manifest["status"] == "complete"
    assert manifest["upstream"]["error_rate"] == 0.1
    assert manifest["upstream"]["hang_rate"] == 0.02
    cells = read_json(run / "summary.json")["cells"]
    assert {(c["scenario"], c["flavor"]) for c in cells} == {
        ("weather", "sync"), ("weather", "async"), ("weather", "async-taskgroup"),
        ("home", "sync"), ("home", "async-sequential"), ("home", "async")}
    for scenario in ("weather", "home"):
        mine = [c for c in cells if c["scenario"] == scenario]
        assert all(c["status"] == "ok" for c in mine), [c["error"] for c in mine]
        assert sum(c["failures"] for c in mine) > 0, scenario
        assert all(c["requests"] > c["failures"] for c in mine), scenario  # still serving
    flagged = [c for c in cells if "high-failure-ratio" in c["warnings"]]
    assert flagged
    # The home page degrades (a 200 with data-degraded) and never fails outright; the
    # weather page fails with a 502. Locust counts both as failures, each for its reason.
    for c in cells:
        reasons = failure_reasons(run / c["path"])
        # Locust writes its files once a second and not again at exit (2.47), so its
        # failures file may miss the window's last second: its reasons are the check,
        # not its total
        assert c["failures"] > 0 and sum(reasons.values()) > 0, (c["path"], reasons)
        if c["scenario"] == "home":
            assert set(reasons) <= {"degraded: promotions", "degraded: recommendations",
                                    "degraded: promotions recommendations"}, reasons
        else:
            assert set(reasons) <= {"HTTP 502"}, reasons
    # the verdict shows each flavor's failure ratio, on screen and in summary.md
    summary_md = (run / "summary.md").read_text()
    for c in cells:
        if c["failures"]:
            ratio = f"{c['failures'] / c['requests']:.1%}"
            assert ratio in summary_md, (ratio, c["path"])
            assert ratio in done.out, (ratio, c["path"])
    assert "high-failure-ratio" in summary_md


@pytest.mark.parametrize(("hot_cpu_pct", "flagged"), [(1, True), (10000, False)])
def test_generator_hot_follows_the_rule(tmp_path, results, hot_cpu_pct, flagged):
    matrix = matrix_with(tmp_path, replace={
        r"^hot_cpu_pct = 85\b": f"hot_cpu_pct = {hot_cpu_pct}"})
    done = loadlab("bench", "--matrix", str(matrix), "--profile", "smoke", "--servers",
                   "uvicorn", "--scenarios", "hello", "--flavors", "sync",
                   "--results", str(results), *FAST)
    assert done.code == 0, done.err
    run = only_run(results)
    (cell,) = read_json(run / "summary.json")["cells"]
    assert cell["generator_cpu_pct"] is not None and cell["generator_cpu_pct"] > 1
    assert ("generator-hot" in cell["warnings"]) is flagged, cell
    assert read_json(run / "manifest.json")["rules"]["hot_cpu_pct"] == hot_cpu_pct


def test_interrupting_a_failing_run_still_cleans_up(tmp_path, results):
    """A never-ready server being waited for when Ctrl-C comes."""
    matrix = matrix_with(tmp_path, append=BAD_SERVERS.replace("ready_timeout_s = 2",
                                                              "ready_timeout_s = 60"))
    args = ("bench", "--matrix", str(matrix), "--profile", "smoke", "--servers",
            "never-ready", "--scenarios", "hello", "--flavors", "sync",
            "--results", str(results), *FAST)
    with running(tmp_path, *args) as lab:
        lab.find(lambda p: "http.server" in cmdline(p), 30, "the server")
        time.sleep(0.5)
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        assert lab.wait(30) == 130, lab.err
        assert_all_gone(snap)
    assert read_json(only_run(results) / "manifest.json")["status"] == "interrupted"
