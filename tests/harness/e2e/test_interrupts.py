"""Ctrl-C and SIGTERM at every phase of a real bench: nothing orphaned, nothing lost.

Each test starts the real `loadlab bench` CLI (real upstream, real servers, real Locust),
waits for a phase by watching its process tree and its run folder from outside, snapshots
every descendant and every port they listen on, signals the bench process only (as a
terminal's Ctrl-C reaches the foreground process; the children live in their own
sessions), then checks: exit 130, no process of the snapshot survives, the ports are free,
the run folder has its final name, the manifest says `interrupted`, and summary.json
holds exactly the cells that had finished, each ok.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts.proc.supervise import free_port

from .. import conftest
from ..conftest import loadlab, only_run, read_json
from ..procs import (
    Tracked,
    alive,
    assert_all_gone,
    assert_loopback_only,
    carrying,
    cmdline,
    is_locust,
    is_server,
    new_tag,
    port_free,
    running,
    settle,
    snapshot,
    tagged_env,
    wait_for,
)

# One user: the cell is its own probe, so its load starts ~2 s sooner (no 1-user probe
# first); the signals land on the same tree (upstream, server, Locust)
FAST = ("--warmup", "0.5", "--users", "1", "--quiet")


def bench_args(results: Path, server: str, *extra: str, duration: float = 1) -> tuple[str, ...]:
    """A one-server hello bench. Tests that interrupt a measurement use a long duration:
    the signal cuts it short anyway, and a busy machine cannot end the cell first. The
    others signal before a cell measures or once one has finished: one second does."""
    return ("bench", "--profile", "smoke", "--servers", server, "--scenarios", "hello",
            "--results", str(results), "--label", "intr", "--duration", f"{duration:g}",
            *FAST, *extra)


def locust_measuring(lab, results: Path) -> None:
    """Wait until the load runs and has had time to spawn and warm up."""
    lab.load_started(results)
    time.sleep(1.5)


def partial_cells_done(results: Path) -> list[Path]:
    """latency.json files of finished cells in the run folder being written."""
    return sorted(results.glob(".partial-*/cells/*/*/latency.json"))


def check_interrupted(results: Path, signame: str, finished: int) -> dict:
    run = only_run(results)
    assert not run.name.startswith(".partial-"), f"run folder not renamed: {run.name}"
    assert run.name.endswith("-intr")
    manifest = read_json(run / "manifest.json")
    assert manifest["status"] == "interrupted"
    assert signame in str(manifest.get("error")), manifest.get("error")
    assert manifest["finished"]
    cells = read_json(run / "summary.json")["cells"]
    assert len(cells) == finished, [c["path"] for c in cells]
    for cell in cells:
        assert cell["status"] == "ok", cell.get("error")
        assert cell["requests"] > 0
        assert (run / cell["path"] / "latency.json").is_file()
    assert manifest["cells_done"] == finished and manifest["cells_failed"] == 0
    assert (run / "summary.md").is_file()
    return manifest


def test_sigterm_while_the_upstream_starts(tmp_path, results):
    with running(tmp_path, *bench_args(results, "uvicorn")) as lab:
        lab.find(lambda p: "app.upstream:app" in cmdline(p), 30, "the upstream stand-in")
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGTERM)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
    check_interrupted(results, "SIGTERM", finished=0)


def test_sigint_while_the_first_server_starts(tmp_path, results):
    with running(tmp_path, *bench_args(results, "gunicorn-sync")) as lab:
        lab.find(is_server, 30, "the first server process")
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
        assert "interrupted" in lab.err
    check_interrupted(results, "SIGINT", finished=0)


def test_sigint_while_locust_measures(tmp_path, results):
    with running(tmp_path, *bench_args(results, "gunicorn-sync", duration=10)) as lab:
        locust_measuring(lab, results)
        snap = snapshot(lab.pid)
        names = [cmdline(p)[:80] for p in snap.procs]
        # upstream, gunicorn master + 2 workers, Locust: the whole tree is watched
        assert sum(is_server(p) for p in snap.procs) == 3, (names, lab.err)
        assert any(is_locust(p) for p in snap.procs), (names, lab.err)
        assert len(snap.ports) >= 2, snap.sockets  # upstream + server
        assert_loopback_only(snap.sockets)
        lab.signal(signal.SIGINT)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
    check_interrupted(results, "SIGINT", finished=0)


def test_sigint_between_cells_keeps_the_finished_cell(tmp_path, results):
    with running(tmp_path, *bench_args(results, "uvicorn")) as lab:
        wait_for(lambda: partial_cells_done(results), 40, "the first cell's latency.json",
                 proc=lab.popen)
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
    manifest = check_interrupted(results, "SIGINT", finished=1)
    cells = read_json(only_run(results) / "summary.json")["cells"]
    assert cells[0]["path"] == manifest["plan"]["cells"][0]["path"]


def test_sigint_while_the_last_cell_is_archived(tmp_path, results):
    """One cell: the signal lands while the run folder is being sealed."""
    with running(tmp_path, *bench_args(results, "uvicorn", "--flavors", "sync")) as lab:
        wait_for(lambda: partial_cells_done(results), 40, "the cell's latency.json",
                 interval=0.005, proc=lab.popen)
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        code = lab.wait()
        assert_all_gone(snap)
    run = only_run(results)
    assert not run.name.startswith(".partial-"), f"run folder not renamed: {run.name}"
    manifest = read_json(run / "manifest.json")
    # Either the signal was in time to mark the run, or it came after the run was sealed
    # complete; never a half-written folder or a status that disagrees with the exit code.
    assert (code, manifest["status"]) in ((130, "interrupted"), (0, "complete")), lab.err
    cells = read_json(run / "summary.json")["cells"]
    assert len(cells) == 1 and cells[0]["status"] == "ok"


def test_sigterm_while_measuring(tmp_path, results):
    with running(tmp_path, *bench_args(results, "uvicorn", duration=10)) as lab:
        locust_measuring(lab, results)
        snap = snapshot(lab.pid)
        assert_loopback_only(snap.sockets)
        lab.signal(signal.SIGTERM)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
    check_interrupted(results, "SIGTERM", finished=0)


def test_a_second_sigint_leaves_no_orphans(tmp_path, results):
    with running(tmp_path, *bench_args(results, "gunicorn-sync", duration=10)) as lab:
        locust_measuring(lab, results)
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        time.sleep(0.05)
        lab.signal(signal.SIGINT)
        time.sleep(0.2)
        if lab.popen.poll() is None:
            lab.signal(signal.SIGINT)
        assert lab.wait() == 130, lab.err
        assert_all_gone(snap)
    check_interrupted(results, "SIGINT", finished=0)


# --- the net under every test here ----------------------------------------------------------


@pytest.fixture
def reaped_tags() -> Iterator[Callable[[], str]]:
    """Fresh tags (procs.TAG_ENV) for the test's own processes: whatever carries one when
    the test ends, passed or failed, is killed by PID and process group (procs.settle),
    so a failed assert cannot leave a detached `sleep 120` behind."""
    tags: list[str] = []

    def tag() -> str:
        tags.append(new_tag())
        return tags[-1]

    yield tag
    settle(lambda: [p for t in tags for p in carrying(t)], grace=0)


def test_the_orphan_check_finds_kills_and_names_a_detached_grandchild(reaped_tags):
    """A process that left its parent's session and outlived it is still found (by the
    tag it inherited), killed, and named; nothing reports a clean exit as an orphan."""
    clean = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True,
                             env=tagged_env(tag := reaped_tags()))
    clean.wait(30)
    assert Tracked(clean, tag).finish(grace=0) == []

    leaver = ("import subprocess, sys; subprocess.Popen([sys.executable, '-c',"
              " 'import time; time.sleep(120)  # orphan'], start_new_session=True)")
    parent = subprocess.Popen([sys.executable, "-c", leaver], start_new_session=True,
                              env=tagged_env(tag := reaped_tags()))
    assert parent.wait(30) == 0
    (orphan,) = carrying(tag)
    killed = Tracked(parent, tag).finish(grace=0.5)
    assert len(killed) == 1 and "# orphan" in killed[0], killed
    assert not alive(orphan) and carrying(tag) == []


def test_a_cli_call_that_does_not_finish_is_reaped_and_fails_naming_its_tree(monkeypatch):
    """`loadlab serve` runs until Ctrl-C: past the call's timeout its whole tree is killed
    and the test fails saying what was killed, with nothing left listening."""
    tag = new_tag()
    monkeypatch.setattr(conftest, "new_tag", lambda: tag)
    port, upstream_port = free_port(), free_port()
    with pytest.raises(pytest.fail.Exception) as failed:
        loadlab("serve", "--server", "uvicorn", "--port", str(port),
                "--upstream-port", str(upstream_port), timeout=5)
    message = str(failed.value)
    assert "did not finish within 5s" in message, message
    assert "scripts.cli serve --server uvicorn" in message
    assert "(loadlab itself)" in message
    assert carrying(tag) == []
    assert port_free(port) and port_free(upstream_port)
