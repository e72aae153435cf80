"""run/supervise.py: ports, the children's environment, and real short-lived children
started and stopped with everything they forked.

`until()` below is a safety net against a hung test (generous, never a measure of
speed); no assertion here depends on how fast this machine is.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from scripts.errors import Interrupted, NotReady, PortInUse
from scripts.paths import LOOPBACK, ROOT
from scripts.proc import supervise
from scripts.proc.supervise import (
    Process,
    child_env,
    ensure_port_free,
    free_port,
    port_is_free,
    supervised,
)

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# A child that forks a sleeping grandchild (in its group, or in a session of its own),
# says so in its log, and sleeps.
FORKER = (
    "import subprocess, sys, time\n"
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
    " start_new_session={escape})\n"
    "print('grandchild', g.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def until(condition, what: str, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


def running(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie waiting for its reaper counts as gone)."""
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture
def started(tmp_path):
    """Start Processes through this; whatever a failing test leaves is stopped."""
    procs: list[Process] = []

    def start(argv, name="child", **kw) -> Process:
        proc = Process(name, argv, log_path=tmp_path / f"{name}.log", **kw)
        procs.append(proc)
        return proc.start()

    yield start
    for proc in procs:
        proc.stop(grace=1)


# --- ports ----------------------------------------------------------------------------------


def test_free_port_is_free():
    port = free_port()
    assert 1024 <= port <= 65535
    assert port_is_free(port)
    ensure_port_free(port)  # no error


def test_a_listening_port_is_in_use():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_is_free(port)
        with pytest.raises(PortInUse) as info:
            ensure_port_free(port)
        assert f"{LOOPBACK}:{port}" in str(info.value)
    assert port_is_free(port)  # closed: free again


def test_time_wait_connections_do_not_make_a_port_busy():
    """The previous cell's server closed its connections first: its port is in
    TIME_WAIT, and the next server (SO_REUSEADDR) can bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOOPBACK, 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection((LOOPBACK, port))
        conn, _ = server.accept()
        conn.close()  # the server closes first: its side goes to TIME_WAIT
        client.recv(1)
        client.close()
    states = {c.status for c in psutil.net_connections("tcp4")
              if c.laddr and c.laddr.port == port}
    if psutil.CONN_TIME_WAIT not in states:
        pytest.skip(f"no TIME_WAIT to test against here ({states})")
    assert port_is_free(port)


# --- the children's environment ---------------------------------------------------------


def test_child_env_puts_the_repository_first_on_pythonpath(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/opt/extra", str(ROOT), "", "/x"]))
    monkeypatch.delenv("LOADLAB_CLIENT", raising=False)
    ours = dict(os.environ)
    env = child_env({"LOADLAB_CLIENT": "aiohttp"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/opt/extra", "/x"]
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["LOADLAB_CLIENT"] == "aiohttp"
    assert dict(os.environ) == ours  # our own environment is untouched


def test_child_env_without_pythonpath(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("LOADLAB_TEST_MARKER", "inherited")
    env = child_env()
    assert env["PYTHONPATH"] == str(ROOT)
    assert env["LOADLAB_TEST_MARKER"] == "inherited"


def test_a_child_imports_the_repository_from_another_folder(started, tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    proc = started([sys.executable, "-c", "import scripts.cells; print(scripts.cells.__file__)"],
                   cwd=tmp_path)
    assert proc.wait(timeout=120) == 0, proc.log_tail()
    assert Path(proc.log_tail().splitlines()[-1]) == ROOT / "scripts" / "cells.py"


# --- real children ---------------------------------------------------------------------------


def test_start_and_stop_a_child(started, tmp_path):
    proc = started(SLEEPER)
    assert proc.alive and proc.pid and proc in supervise.live()
    pid = proc.pid
    code = proc.stop(grace=5)
    assert code == -signal.SIGTERM
    assert not proc.alive and proc not in supervise.live()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_stop_before_start_does_nothing(tmp_path):
    assert Process("never", SLEEPER, log_path=tmp_path / "x.log").stop() is None


@pytest.mark.parametrize("escape", [False, True], ids=["in-its-group", "own-session"])
def test_stop_leaves_no_grandchild(started, escape):
    proc = started([sys.executable, "-c", FORKER.format(escape=escape)])
    until(lambda: "grandchild" in proc.log_tail(), "the grandchild to start")
    grandchild = psutil.Process(int(proc.log_tail().split()[1]))
    assert (os.getpgid(grandchild.pid) == proc.pid) is not escape
    tree = proc.tree()
    assert {p.pid for p in tree} == {proc.pid, grandchild.pid}
    proc.stop(grace=5)
    assert running([grandchild]) == [] and running(tree) == []


def test_a_child_that_ignores_sigterm_is_killed(started):
    proc = started([sys.executable, "-c",
                    "import signal, time\n"
                    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                    "print('ignoring', flush=True)\n"
                    "time.sleep(60)\n"])
    until(lambda: "ignoring" in proc.log_tail(), "the child to ignore SIGTERM")
    assert proc.stop(grace=0.2) == -signal.SIGKILL
    assert not proc.alive


def test_output_goes_to_the_log(tmp_path):
    log = tmp_path / "logs" / "talk.log"  # its folder is made on demand
    code = supervise.run("talk", [sys.executable, "-c",
                                  "import sys\nfor i in range(30): print('line', i)\n"
                                  "print('to stderr', file=sys.stderr)\nsys.exit(4)"],
                         log_path=log)
    assert code == 4
    proc = Process("talk", [], log_path=log)
    tail = proc.log_tail(lines=3).splitlines()
    assert tail == ["line 28", "line 29", "to stderr"]


def test_started_processes_are_noted_in_the_ledger(started, tmp_path):
    ledger = tmp_path / "processes.jsonl"
    supervise.keep_ledger(ledger)
    try:
        proc = started(SLEEPER, name="ledgered")
    finally:
        supervise.keep_ledger(None)
    (line,) = [json.loads(x) for x in ledger.read_text().splitlines()]
    assert line["name"] == "ledgered" and line["pid"] == line["pgid"] == proc.pid
    assert line["create_time"] == psutil.Process(proc.pid).create_time()


# --- readiness ---------------------------------------------------------------------------------


def test_wait_http_ready_names_the_exit_code_of_a_child_that_died(started):
    proc = started([sys.executable, "-c", "print('bad config, bye'); raise SystemExit(3)"],
                   name="server x")
    with pytest.raises(NotReady) as info:
        proc.wait_http_ready(f"http://{LOOPBACK}:{free_port()}/", timeout=120)
    assert "exited with code 3" in info.value.reason
    assert info.value.name == "server x" and str(info.value).startswith("server x: ")
    assert "bad config, bye" in info.value.log_tail


def test_wait_http_ready_gives_up_after_its_timeout(started):
    proc = started(SLEEPER, name="silent")
    url = f"http://{LOOPBACK}:{free_port()}/"
    with pytest.raises(NotReady) as info:
        proc.wait_http_ready(url, timeout=0.2)
    assert "not ready after 0.2s" in info.value.reason and url in info.value.reason
    assert proc.alive  # the caller decides to stop it


def test_wait_http_ready_returns_once_it_answers(started, tmp_path):
    port = free_port()
    proc = started([sys.executable, "-m", "http.server", "--bind", LOOPBACK, str(port)],
                   name="http", cwd=tmp_path)
    url = f"http://{LOOPBACK}:{port}/missing?x=1"
    proc.wait_http_ready(url, timeout=120)
    assert proc.alive
    with pytest.raises(urllib.error.HTTPError) as answered:  # any HTTP answer means ready
        urllib.request.urlopen(url, timeout=5)
    assert answered.value.code == 404
    assert not port_is_free(port)


# --- supervised ---------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("boom"), Interrupted("SIGINT")],
                         ids=["exception", "interrupted"])
def test_supervised_stops_everything_on_the_way_out(tmp_path, error):
    procs = [Process(n, SLEEPER, log_path=tmp_path / f"{n}.log") for n in ("a", "b")]
    trees = []
    with pytest.raises(type(error)), supervised(*procs) as got:
        assert got == tuple(procs) and all(p.alive for p in procs)
        trees = [t for p in procs for t in p.tree()]
        raise error
    assert trees and running(trees) == []
    assert not any(p.alive for p in procs)
    assert not set(procs) & set(supervise.live())


def test_stop_all_stops_what_is_live(started, monkeypatch):
    # this test's own ledger of live processes: stop_all stops every one in the
    # process, and the app tests' session-wide upstreams share it (with tests two at a
    # time, they ran after this one in the same worker and found their upstream gone)
    monkeypatch.setattr(supervise, "_live", set())
    a, b = started(SLEEPER, name="a"), started(SLEEPER, name="b")
    supervise.stop_all(grace=5)
    assert not a.alive and not b.alive and not supervise.live()


def test_launched_children_run_from_the_repository(started, tmp_path):
    out = tmp_path / "cwd.txt"
    proc = started([sys.executable, "-c",
                    f"import os; open({str(out)!r}, 'w').write(os.getcwd())"])
    proc.wait(timeout=120)
    assert Path(out.read_text()) == ROOT


def test_a_free_port_is_below_the_ephemeral_range_and_free(monkeypatch, tmp_path):
    """Outgoing connections take ports from the ephemeral range; a listening port from
    there could be taken between the pick and the server's bind."""
    low = supervise._ephemeral_low()
    port = supervise.free_port()
    assert supervise.port_is_free(port)
    if low - supervise.LISTEN_LOW >= 1000:  # Linux's usual 32768: always so here
        assert supervise.LISTEN_LOW <= port < low, (port, low)
    fake = tmp_path / "ip_local_port_range"
    fake.write_text("1024\t65000\n")  # no room below it: the kernel chooses
    monkeypatch.setattr(supervise, "_EPHEMERAL", fake)
    assert supervise.free_port() >= 1024


def test_a_signal_as_a_child_starts_is_raised_once_the_child_is_live(tmp_path, monkeypatch):
    """Ctrl-C between the fork and the ledger entry left a probe's Locust unstopped (it
    wrote into the run's old `.partial-` name after the seal): the signal now waits for
    the entry, so stop_all finds the child."""
    from scripts.proc.signals import interrupts

    real = supervise.subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):
        child = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # delivered before Popen returns to start()
        return child

    monkeypatch.setattr(supervise, "_live", set())
    monkeypatch.setattr(supervise.subprocess, "Popen", popen_then_ctrl_c)
    proc = Process("child", SLEEPER, log_path=tmp_path / "child.log")
    try:
        with pytest.raises(Interrupted), interrupts():
            proc.start()
        assert proc.alive and supervise.live() == [proc]
    finally:
        supervise.stop_all(grace=1)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # interrupts() ignored it
    assert not proc.alive


def test_a_thread_starting_a_child_does_not_hold_the_main_threads_signal(tmp_path):
    """py-spy's watcher starts a sampler again from its own thread: while it does, a
    Ctrl-C still interrupts the main thread at once."""
    import threading

    from scripts.proc.signals import held, interrupts

    inside, release = threading.Event(), threading.Event()

    def hold_in_a_thread():
        with held():
            inside.set()
            release.wait(10)

    other = threading.Thread(target=hold_in_a_thread)
    other.start()
    try:
        assert inside.wait(10)
        with pytest.raises(Interrupted), interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here, not after the thread's hold
    finally:
        release.set()
        other.join(10)
        signal.signal(signal.SIGINT, signal.default_int_handler)
