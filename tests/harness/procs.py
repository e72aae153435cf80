"""Watching a real loadlab process from outside: its process tree, its sockets, its ports,
and whatever it leaves behind.

Every loadlab a test starts (`conftest.loadlab`, and `Loadlab`/`running` here) runs in
a session and process group of its own, with a tag in its environment (TAG_ENV) that
every process it starts inherits, however it is later reparented. `Tracked` follows one
such loadlab: its descendants while it runs, and every live process that carries its
tag. `settle` is the one orphan check: it gives processes a grace period to end by
themselves, then kills whatever is left (SIGTERM, then SIGKILL, to each process and to
its process group) and returns what it had to kill, so the test can fail naming them.
The CLI calls, the background runs and `assert_all_gone` all go through it.

Everything here looks at real processes with psutil; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from scripts.paths import ROOT

LOOPBACK = "127.0.0.1"
TAG_ENV = "LOADLAB_TEST_TAG"  # inherited by everything one loadlab starts
GRACE_S = 8.0  # how long a child may take to end after loadlab has exited


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.02, proc: subprocess.Popen | None = None) -> Any:
    """Poll until `predicate()` is truthy and return it; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"loadlab exited with {proc.returncode} before {what}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


# --- processes --------------------------------------------------------------------------


def cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def describe(p: psutil.Process) -> str:
    return f"{p.pid} {cmdline(p)[:120] or '?'}"


def alive(p: psutil.Process) -> bool:
    """Running, and not a zombie (a zombie has ended; only its entry waits to be reaped)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def survivors(procs: Iterable[psutil.Process]) -> list[str]:
    """Processes from `procs` still running (zombies count as gone), described."""
    return [describe(p) for p in procs if alive(p)]


def new_tag() -> str:
    return uuid.uuid4().hex


def tagged_env(tag: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, TAG_ENV: tag, **(extra or {})}


def tag_of(pid: int) -> str | None:
    try:
        return psutil.Process(pid).environ().get(TAG_ENV)
    except psutil.Error:
        return None


def carrying(tag: str) -> list[psutil.Process]:
    """Every live process (but this one) whose environment carries `tag`."""
    found = []
    for p in psutil.process_iter():
        if p.pid == os.getpid():
            continue
        try:
            if p.environ().get(TAG_ENV) == tag and alive(p):
                found.append(p)
        except psutil.Error:
            continue
    return found


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)


def _signal_each(procs: list[psutil.Process], sig: int) -> None:
    """`sig` to each process's group (never ours) and to each process."""
    groups = set()
    for p in procs:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(p.pid))
    for group in groups - {0, 1, os.getpgrp()}:
        with contextlib.suppress(OSError):
            os.killpg(group, sig)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


def settle(members: Callable[[], list[psutil.Process]], grace: float) -> list[str]:
    """Give the live processes `members()` returns `grace` seconds to end by themselves,
    then kill whatever is left: SIGTERM to each process and its group, SIGKILL 3 s
    later, asking `members()` again after each round (a dying parent may have started
    something). Returns the processes that had to be killed, described: an empty list
    means everything had ended by itself."""
    deadline = time.monotonic() + grace
    left = members()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = members()
    killed: dict[int, str] = {}
    for _ in range(3):
        if not left:
            break
        for p in left:
            killed.setdefault(p.pid, describe(p))
        _signal_each(left, signal.SIGTERM)
        _wait_gone(left, 3.0)
        _signal_each([p for p in left if alive(p)], signal.SIGKILL)
        _wait_gone(left, 5.0)
        left = members()
    if left:
        raise AssertionError(f"could not kill: {survivors(left)}")
    return list(killed.values())


class Tracked:
    """One loadlab process (started with `tagged_env(tag)`, in a session of its own)
    and every process it starts."""

    def __init__(self, popen: subprocess.Popen, tag: str) -> None:
        self.popen = popen
        self.tag = tag
        self._seen: dict[int, psutil.Process] = {}

    @property
    def pid(self) -> int:
        return self.popen.pid

    def members(self) -> list[psutil.Process]:
        """Its live descendants and live processes carrying its tag, loadlab excluded."""
        for p in [*descendants(self.pid), *carrying(self.tag)]:
            if p.pid != self.pid:
                self._seen.setdefault(p.pid, p)
        return [p for p in self._seen.values() if alive(p)]

    def finish(self, grace: float = GRACE_S) -> list[str]:
        """Leave nothing of this tree running. loadlab itself, if it still runs, is
        stopped with its whole tree at once (SIGTERM to its group, SIGKILL 3 s later,
        then whatever it started and left); all of it counts as killed. Otherwise what
        it started gets `grace` seconds to end by itself first (`settle`). Returns what
        had to be killed, described; empty when nothing was left running."""
        killed: list[str] = []
        if self.popen.poll() is None:
            with contextlib.suppress(psutil.Error):
                killed.append(f"{describe(psutil.Process(self.pid))} (loadlab itself)")
            killed += [describe(p) for p in self.members()]  # the tree, as it ran
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(OSError):
                    os.killpg(self.pid, sig)  # its own group: start_new_session
                try:
                    self.popen.wait(3)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self.popen.wait()
            grace = 0
        return killed + [k for k in settle(self.members, grace) if k not in killed]


# --- sockets ----------------------------------------------------------------------------


def is_server(p: psutil.Process) -> bool:
    """A server under test (not the upstream stand-in, which serves app.upstream)."""
    line = cmdline(p)
    return "app.asgi:application" in line or "app.wsgi:application" in line


def is_locust(p: psutil.Process) -> bool:
    line = cmdline(p)
    return " -m locust " in f" {line} " or "/locust " in line


def listening(procs: list[psutil.Process]) -> list[tuple[str, int, int]]:
    """(ip, port, pid) of every TCP socket in LISTEN state held by `procs`."""
    found = []
    for p in procs:
        try:
            conns = p.net_connections(kind="inet")
        except psutil.Error:
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN:
                found.append((c.laddr.ip, c.laddr.port, p.pid))
    return found


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
            sock.listen(1)
        except OSError:
            return False
    return True


@dataclass
class Snapshot:
    """The full tree under loadlab and what it listened on, at one moment; `tag` finds
    whatever else that loadlab starts, before or after."""

    root: int
    procs: list[psutil.Process]
    sockets: list[tuple[str, int, int]]
    tag: str | None = None

    @property
    def ports(self) -> set[int]:
        return {port for _, port, _ in self.sockets}

    def members(self) -> list[psutil.Process]:
        tagged = carrying(self.tag) if self.tag else []
        byp = {p.pid: p for p in [*self.procs, *tagged] if p.pid != self.root}
        return [p for p in byp.values() if alive(p)]


def snapshot(pid: int) -> Snapshot:
    procs = descendants(pid)
    return Snapshot(pid, procs, listening(procs), tag_of(pid))


def assert_all_gone(snap: Snapshot, timeout: float = GRACE_S) -> None:
    """No process of the snapshot survives, nor any other process its loadlab started
    (found by its tag, so those started after the snapshot count too), and the
    snapshot's ports are free again. What outlives `timeout` is killed, and named."""
    killed = settle(snap.members, timeout)
    assert not killed, f"orphans, still running {timeout:g}s later and killed: {killed}"
    busy = [p for p in snap.ports if not port_free(p)]
    assert not busy, f"ports still taken after loadlab exited: {busy}"


def assert_loopback_only(sockets: list[tuple[str, int, int]]) -> None:
    wide = [s for s in sockets if s[0] != LOOPBACK]
    assert not wide, f"listening beyond 127.0.0.1: {wide}"


# --- loadlab in the background ------------------------------------------------------------


class Loadlab:
    """`loadlab ARGS` running in the background, in its own session, output to files."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.args = args
        self.out_path = tmp / "loadlab.out"
        self.err_path = tmp / "loadlab.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "scripts.cli", *args], cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                env=tagged_env(tag := new_tag()),
            )
        self.tracked = Tracked(self.popen, tag)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def tree(self) -> list[psutil.Process]:
        """Every live process loadlab started (its descendants while it runs)."""
        return self.tracked.members()

    def find(self, match: Callable[[psutil.Process], bool], timeout: float,
             what: str) -> psutil.Process:
        """The first live process `match` accepts; one that ends while it is being
        looked at (initdb's short-lived postgres, a forked helper) is no match."""
        def safe(p: psutil.Process) -> bool:
            try:
                return bool(match(p))
            except psutil.Error:
                return False
        return wait_for(lambda: next((p for p in self.tree() if safe(p)), None),
                        timeout, what, proc=self.popen)

    def load_started(self, results: Path, timeout: float = 60) -> None:
        """Wait until a cell's load is let go (its go file exists): its server answered
        and Locust is spawning users. Locust merely running does not say that: it boots
        beside the server and waits for the file."""
        wait_for(lambda: next(results.glob(".partial-*/cells/*/*/go"), None), timeout,
                 "a cell's load to start", interval=0.01, proc=self.popen)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"loadlab did not exit within {timeout:g}s;"
                                 f" stderr:\n{self.err}") from None

    def cleanup(self, grace: float = GRACE_S) -> list[str]:
        """Leave nothing running; return what had to be killed (see Tracked.finish)."""
        return self.tracked.finish(grace)


@contextlib.contextmanager
def running(tmp: Path, *args: str) -> Iterator[Loadlab]:
    """`loadlab ARGS` in the background for the body of the `with`. Afterwards nothing
    of it may run on: what does is killed, and (unless the body failed already) the
    test fails naming it, loadlab itself included if the body never waited for it."""
    lab = Loadlab(tmp, *args)
    try:
        yield lab
    except BaseException:
        lab.cleanup(grace=0)
        raise
    killed = lab.cleanup()
    if killed:
        pytest.fail(f"`loadlab {' '.join(args)}` left processes running after the test;"
                    f" killed: {killed}\nstderr tail:\n{lab.err[-2000:]}")
