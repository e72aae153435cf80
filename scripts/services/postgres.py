"""A throwaway PostgreSQL cluster for one run: found, initialised, started, stopped, gone.

Like every other child it is started through the supervisor (so it dies with loadlab,
is in the run's process ledger, and is stopped on success, failure and Ctrl-C); its
data directory is removed when it stops. Or, with DATABASE_URL, an existing server the
user points at (loopback only unless they pass --allow-remote).

The cluster: `initdb` with trust authentication (it listens on 127.0.0.1 only and lives
for one run), no unix socket (a run's path may exceed the socket path limit), and a
benchmark's settings (DatabaseSettings.cluster_settings, from [database]): fsync stays
on (a real server's write path), but synchronous_commit is off, which only makes
seeding faster: the catalog's reads commit nothing. PostgreSQL refuses to run as
root: as root the cluster belongs to the `postgres` user (Debian's package creates
it) or `nobody`, in a directory of the system's temp folder (a test's or a run's
folder may not be reachable by that user).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from ..errors import DatabaseUnavailable, NotReady, PrepareFailed
from ..paths import LOOPBACK, is_loopback
from ..proc import supervise
from ..stories import POSTGRES_SCHEMES

BIN_ENV = "LOADLAB_PG_BIN"  # a folder with initdb and postgres, to choose a version
DEBIAN_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = "apt-get install postgresql (or set LOADLAB_PG_BIN to its bin folder)"
SUPERUSER = DATABASE = "loadlab"
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
RUN_AS = ("postgres", "nobody")  # when we are root, the first that exists
CLUSTER_PREFIX = "loadlab-pg-"  # its folder in the temp directory (recover.py finds it)


@dataclass(frozen=True)
class Binaries:
    folder: Path
    version: str  # e.g. "15.14"

    def tool(self, name: str) -> str:
        return str(self.folder / name)


def find_binaries(env: dict[str, str] | None = None) -> Binaries:
    """initdb and postgres: from LOADLAB_PG_BIN, else Debian's newest major, else PATH."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if env.get(BIN_ENV):
        candidates.append(Path(env[BIN_ENV]))
    elif DEBIAN_ROOT.is_dir():
        majors = sorted((p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()),
                        key=lambda p: int(p.name), reverse=True)
        candidates += [p / "bin" for p in majors]
    if not env.get(BIN_ENV) and (found := shutil.which("initdb")):
        candidates.append(Path(found).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return Binaries(folder, _version(folder))
    where = env.get(BIN_ENV) or "/usr/lib/postgresql/*/bin or PATH"
    raise DatabaseUnavailable(f"--db postgres: PostgreSQL's server binaries (initdb, postgres) are"
                              f" not in {where}: {INSTALL_HINT}")


def _version(folder: Path) -> str:
    try:
        out = subprocess.run([str(folder / "postgres"), "--version"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return match.group(1) if match else "unknown"


def run_as() -> str | None:
    """The user the cluster runs as: ours, or (as root) an unprivileged one."""
    if os.geteuid() != 0:
        return None
    for name in RUN_AS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise DatabaseUnavailable("--db postgres as root needs an unprivileged user to own the"
                              " cluster (postgres or nobody); none exists")


@dataclass
class Cluster:
    """One throwaway cluster. `start()` returns its DATABASE_URL; `stop()` is idempotent
    and removes its data directory."""

    binaries: Binaries
    settings: dict[str, str]
    log_dir: Path
    port: int = 0
    user: str | None = None
    data_dir: Path | None = None
    process: supervise.Process | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"postgres://{SUPERUSER}@{LOOPBACK}:{self.port}/{DATABASE}"

    def start(self) -> str:
        self.user = run_as()
        self.data_dir = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX))
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        started = time.monotonic()
        code = supervise.run(
            "initdb", [self.binaries.tool("initdb"), "-D", str(self.data_dir / "data"),
                       "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C",
                       "--no-instructions", "--no-sync"],
            log_path=self.log_dir / "initdb.log", user=self.user, cwd=self.data_dir)
        if code != 0:
            raise PrepareFailed(f"initdb failed (exit {code}); see"
                                f" {self.log_dir / 'initdb.log'}")
        self.timings["initdb_s"] = round(time.monotonic() - started, 2)
        self.port = self.port or supervise.free_port()
        supervise.ensure_port_free(self.port)
        argv = [self.binaries.tool("postgres"), "-D", str(self.data_dir / "data"),
                "-c", f"listen_addresses={LOOPBACK}", "-c", f"port={self.port}",
                "-c", "unix_socket_directories=", "-c", "logging_collector=off"]
        for key, value in self.settings.items():
            argv += ["-c", f"{key}={value}"]
        # SIGINT is PostgreSQL's fast shutdown (SIGTERM's smart one waits for clients)
        self.process = supervise.Process("postgres", argv, log_path=self.log_dir /
                                         "postgres.log", user=self.user, cwd=self.data_dir,
                                         stop_signal=signal.SIGINT).start()
        self._wait_ready()
        with psycopg.connect(self._admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        self.timings["ready_s"] = round(time.monotonic() - started, 2)
        return self.url

    def _admin_url(self) -> str:
        return f"postgres://{SUPERUSER}@{LOOPBACK}:{self.port}/postgres"

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if not self.process.alive:
                raise NotReady("postgres", f"exited with code {self.process.returncode}"
                               " before it was ready", self.process.log_tail())
            try:
                with psycopg.connect(self._admin_url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise NotReady("postgres", f"not ready after {READY_TIMEOUT_S:g}s on port"
                               f" {self.port}", self.process.log_tail())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(STOP_GRACE_S)
            self.process = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def describe(self) -> dict[str, Any]:
        return {"engine": "postgres", "source": "cluster", "version": self.binaries.version,
                "binaries": str(self.binaries.folder), "run_as": self.user,
                "settings": dict(self.settings), "timings": dict(self.timings)}


def check_url(url: str, allow_remote: bool) -> str:
    """An existing server's DATABASE_URL: postgres, loopback (unless allowed), and
    answering. Returns its host for the record."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise DatabaseUnavailable(f"DATABASE_URL: scheme {parts.scheme!r} is not PostgreSQL's"
                                  " (postgres://user@host:port/name)")
    host = parts.hostname or ""
    if not allow_remote and not _local(host):
        raise DatabaseUnavailable(f"DATABASE_URL points at {host}, not 127.0.0.1: pass"
                                  " --allow-remote to measure against it")
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"DATABASE_URL: cannot connect to {host or 'the server'}:"
                                  f" {first}") from None
    return host


def server_facts(url: str) -> dict[str, Any]:
    """What the manifest keeps about a server: its version and the settings that shape
    results."""
    facts: dict[str, Any] = {}
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, connect_timeout=5) as c:
        facts["server_version"] = c.execute("SHOW server_version").fetchone()[0]
        for name in ("max_connections", "shared_buffers", "fsync", "synchronous_commit"):
            facts[name] = c.execute(f"SHOW {name}").fetchone()[0]
    return facts


def _local(host: str) -> bool:
    """Loopback, or no host at all (a unix socket on this machine)."""
    return host == "" or is_loopback(host)
