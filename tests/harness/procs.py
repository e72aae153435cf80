"""Watching a real loadlab process from outside: its process tree, its sockets, its ports.

Shared by the fault, interrupt and serve/ui tests. Everything here looks at real
processes with psutil; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .conftest import ROOT, descendants, survivors

LOOPBACK = "127.0.0.1"


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


def cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


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
    """The full tree under loadlab and what it listened on, just before a signal."""

    procs: list[psutil.Process]
    sockets: list[tuple[str, int, int]]

    @property
    def ports(self) -> set[int]:
        return {port for _, port, _ in self.sockets}


def snapshot(pid: int) -> Snapshot:
    procs = descendants(pid)
    return Snapshot(procs, listening(procs))


def assert_all_gone(snap: Snapshot, timeout: float = 8.0) -> None:
    """No process of the snapshot survives, and its ports are free again."""
    deadline = time.monotonic() + timeout
    while survivors(snap.procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not survivors(snap.procs), f"orphans: {survivors(snap.procs)}"
    busy = [p for p in snap.ports if not port_free(p)]
    assert not busy, f"ports still taken after loadlab exited: {busy}"


def assert_loopback_only(sockets: list[tuple[str, int, int]]) -> None:
    wide = [s for s in sockets if s[0] != LOOPBACK]
    assert not wide, f"listening beyond 127.0.0.1: {wide}"


class Loadlab:
    """`loadlab ARGS` running in the background, in its own session, output to files."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.out_path = tmp / "loadlab.out"
        self.err_path = tmp / "loadlab.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "scripts.cli", *args], cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
            )
        self._seen: list[psutil.Process] = []

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
        procs = descendants(self.pid)
        known = {p.pid for p in self._seen}
        self._seen += [p for p in procs if p.pid not in known]
        return procs

    def find(self, match: Callable[[psutil.Process], bool], timeout: float,
             what: str) -> psutil.Process:
        return wait_for(lambda: next((p for p in self.tree() if match(p)), None),
                        timeout, what, proc=self.popen)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"loadlab did not exit within {timeout:g}s;"
                                 f" stderr:\n{self.err}") from None

    def cleanup(self) -> None:
        """Whatever happened in the test: kill loadlab's group and every child seen."""
        procs = [*self._seen, *descendants(self.pid)]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(psutil.Error, OSError):
                if p.is_running() and os.getpgid(p.pid) == p.pid:
                    os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                p.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


@contextlib.contextmanager
def running(tmp: Path, *args: str) -> Iterator[Loadlab]:
    lab = Loadlab(tmp, *args)
    try:
        yield lab
    finally:
        lab.cleanup()
