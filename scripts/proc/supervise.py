"""Process supervision: the one module that starts and stops processes.

Every child runs in its own process group (its own session), with its output in a log
file. `stop()` sends SIGTERM to the whole group, waits a grace period, then SIGKILLs the
group and any descendant that escaped it. Every live process is tracked, so a signal
handler can stop them all (`stop_all`) on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from ..errors import NotReady, PortInUse
from ..paths import LOOPBACK, ROOT
from .signals import held

_live: set[Process] = set()
_live_lock = threading.Lock()


LISTEN_LOW = 10_000  # listening ports are drawn from here up to the ephemeral range
_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now, drawn from below the
    kernel's ephemeral range: a port bind(0) hands out is one any outgoing connection
    may take before the server binds it, and a cell's Locust opens thousands (a
    `serve` beside another test's load failed on it). Where no range is known or it
    leaves no room, the kernel chooses."""
    low = _ephemeral_low()
    for _ in range(100 if low - LISTEN_LOW >= 1000 else 0):
        port = random.randrange(LISTEN_LOW, low)
        if port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0  # not Linux, or unreadable: let the kernel choose


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Nothing listens on host:port. Connections in TIME_WAIT (left by the previous
    cell's server on the same `--port`) do not count: servers bind with SO_REUSEADDR."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def ensure_port_free(port: int, host: str = LOOPBACK) -> None:
    if not port_is_free(port, host):
        raise PortInUse(f"port {host}:{port} is already in use (stop what listens there)")


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment children get: ours, the repo on PYTHONPATH, unbuffered output."""
    env = dict(os.environ)
    paths = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def launched(argv: Sequence[str], cpus: Sequence[int] | None,
             user: str | None = None) -> list[str]:
    """`argv` started through launch.py: it dies with us (even after our SIGKILL) and
    runs, with every child it forks, on `cpus` only (all CPUs when None), as `user`
    (ours when None)."""
    wrapper = [sys.executable, "-m", "scripts.proc.launch", "--parent", str(os.getpid())]
    if cpus:
        wrapper += ["--cpus", ",".join(str(c) for c in cpus)]
    if user:
        wrapper += ["--user", user]
    return [*wrapper, "--", *argv]


# --- the ledger: what a run started, kept in its folder for a hard stop --------------

_ledger: Path | None = None


def keep_ledger(path: Path | None) -> None:
    """Append every process started from now on to `path` (one JSON line each), so that
    after a hard stop (SIGKILL, OOM) the next loadlab can find and stop survivors."""
    global _ledger
    _ledger = path


def _note_started(proc: Process) -> None:
    if _ledger is None or proc.popen is None:
        return
    try:
        created = psutil.Process(proc.popen.pid).create_time()
    except psutil.Error:
        return
    line = {"name": proc.name, "pid": proc.popen.pid, "pgid": proc.popen.pid,
            "create_time": created, "argv": proc.argv[:8]}
    with contextlib.suppress(OSError), open(_ledger, "a") as f:
        f.write(json.dumps(line) + "\n")


class Process:
    """A supervised child process with its own process group and log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        cpus: Sequence[int] | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.user = user
        self.stop_signal = stop_signal  # what stop() sends first, unless told otherwise
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.env = child_env(env)
        self.cwd = cwd or ROOT
        self.cpus = list(cpus) if cpus else None
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exited_within(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the process to end; True once it has. A
        poll loop's sleep would add up to its interval to every cell."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log, held():  # live as soon as it runs
            self.popen = subprocess.Popen(
                launched(self.argv, self.cpus, self.user),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
            self.started_at = time.monotonic()
            with _live_lock:
                _live.add(self)
        _note_started(self)
        return self

    def tree(self) -> list[psutil.Process]:
        """The process and all its descendants, as they are now."""
        if not self.alive:
            return []
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def wait_http_ready(self, url: str, timeout: float = 20.0, interval: float = 0.05) -> float:
        """Poll `url` until it answers any HTTP status; return the seconds it took.

        Raises NotReady if the process exits first or `timeout` passes.
        """
        assert self.popen is not None, "start() first"
        start = time.monotonic()
        deadline = start + timeout
        host, port, path = _split_url(url)
        while True:
            code = self.popen.poll()
            if code is not None:
                raise NotReady(self.name, f"exited with code {code} before it was ready",
                               self.log_tail())
            try:
                conn = http.client.HTTPConnection(host, port, timeout=1.0)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
                return time.monotonic() - start
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise NotReady(self.name, f"not ready after {timeout:g}s at {url}",
                               self.log_tail())
            time.sleep(interval)

    def wait(self, timeout: float | None = None) -> int:
        assert self.popen is not None
        code = self.popen.wait(timeout)
        self._forget()
        return code

    def stop(self, grace: float = 5.0, first: int | None = None) -> int | None:
        """Signal the group (`first`, else the process's stop_signal), SIGKILL it after
        `grace` seconds, and reap every descendant, even one that left the group."""
        if self.popen is None:
            return None
        first = self.stop_signal if first is None else first
        descendants = self.tree()
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, first)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(5)
        # The group may outlive its leader (a worker still shutting down), and a
        # descendant may have left the group: neither may survive us.
        _signal_group(self.popen.pid, signal.SIGKILL)
        for proc in descendants:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(descendants, timeout=2)
        self._forget()
        return self.popen.returncode

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> Process:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _split_url(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname or LOOPBACK, parts.port or 80, path


def run(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    user: str | None = None,
    cwd: Path | None = None,
) -> int:
    """Run a command to completion under supervision (it is stopped if we are)."""
    proc = Process(name, argv, log_path=log_path, env=env, user=user, cwd=cwd).start()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.stop()
        raise
    finally:
        if proc.alive:
            proc.stop()


class Stopping:
    """Processes stopped in the background: a measured cell's server takes ~0.5 s to
    stop gracefully, meanwhile the next cell boots; wait() before the next load."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def start(self, proc: Process, grace: float) -> None:
        thread = threading.Thread(target=proc.stop, args=(grace,), name=f"stop-{proc.name}",
                                  daemon=True)
        thread.start()
        self.threads.append(thread)

    def wait(self) -> None:
        while self.threads:
            self.threads.pop().join()


def live() -> list[Process]:
    with _live_lock:
        return list(_live)


def stop_all(grace: float = 3.0) -> None:
    """Stop every process still running: the last word of any exit path."""
    for proc in live():
        proc.stop(grace)


@contextlib.contextmanager
def supervised(*procs: Process) -> Iterator[tuple[Process, ...]]:
    """Start the processes; stop them all on the way out, whatever happened."""
    started: list[Process] = []
    try:
        for proc in procs:
            started.append(proc.start())
        yield procs
    finally:
        for proc in reversed(started):
            proc.stop()


def python_module(module: str, *args: str) -> list[str]:
    """An argv that runs `module` with the harness's own interpreter (the venv's)."""
    return [sys.executable, "-m", module, *args]
