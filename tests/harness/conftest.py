"""Fixtures for harness tests: run the real `loadlab` CLI and inspect what it leaves."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .procs import ROOT, Tracked, new_tag, tagged_env


@dataclass
class Done:
    code: int
    out: str
    err: str


def loadlab(*args: str, timeout: float = 240, env: dict | None = None,
            program: list[str] | None = None, cwd: Path = ROOT) -> Done:
    """Run `loadlab ARGS` as a user would, in a session (and process group) of its own
    (`program`: another loadlab than this checkout's, run from `cwd`).

    The test fails if it does not finish within `timeout` seconds, or if any process
    it started outlives it (after procs.GRACE_S seconds): either way its whole tree is
    killed first (procs.Tracked.finish) and the failure names what had to be killed.
    """
    command = " ".join(("loadlab", *args))
    tag = new_tag()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        popen = subprocess.Popen(
            [*(program or [sys.executable, "-m", "scripts.cli"]), *args], cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True, env=tagged_env(tag, env),
        )
        tracked = Tracked(popen, tag)
        try:
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                killed = tracked.finish()
                pytest.fail(f"`{command}` did not finish within {timeout:g}s; killed its"
                            f" tree: {killed}\nstderr tail:\n{_read(err)[-2000:]}")
            killed = tracked.finish()
            if killed:
                pytest.fail(f"`{command}` exited with {popen.returncode} but left processes"
                            f" running; killed: {killed}\nstderr tail:\n{_read(err)[-2000:]}")
        finally:
            tracked.finish(grace=0)  # interrupted meanwhile: still leave nothing running
        return Done(popen.returncode, _read(out), _read(err))


def _read(file) -> str:  # type: ignore[no-untyped-def]
    file.seek(0)
    return file.read().decode(errors="replace")


def require(available: bool, why: str) -> None:
    """Skip when a tool a test needs is missing, with the reason; under CI (the CI
    environment variable set), fail instead: CI must not go green without the test."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI is set, so this test must run (.ci/run installs it)",
                    pytrace=False)
    pytest.skip(why)


def matrix_with(tmp: Path, *, replace: dict[str, str] | None = None,
                append: str = "") -> Path:
    """A copy of the real matrix.toml with some lines replaced and tables appended."""
    text = (ROOT / "matrix.toml").read_text()
    for pattern, line in (replace or {}).items():
        text, n = re.subn(pattern, line, text, flags=re.M)
        assert n == 1, pattern
    path = tmp / "matrix.toml"
    path.write_text(text + "\n" + append)
    return path


def gthread_server(threads: int) -> str:
    """A test-only server table: one gthread worker with `threads` threads, named
    gthread-1x<threads> (physics a test can count on: `threads` requests at once)."""
    return f"""
[servers.gthread-1x{threads}]
interface = "wsgi"
module = "gunicorn"
workers = 1
threads = {threads}
concurrency = {threads}
summary = "test only: one gthread worker with {threads} threads"
args = ["{{app}}", "--bind", "{{host}}:{{port}}", "--workers", "{{workers}}",
        "--worker-class", "gthread", "--threads", "{{threads}}", "--keep-alive", "2",
        "--timeout", "120", "--graceful-timeout", "2", "--no-control-socket",
        "--log-level", "warning"]
"""


# A server whose app cannot be imported: it exits at boot, every time.
CRASHES_AT_BOOT = """
[servers.crashes-at-boot]
interface = "wsgi"
module = "gunicorn"
workers = 1
args = ["app.nope:application", "--bind", "{host}:{port}", "--workers", "{workers}",
        "--no-control-socket"]
"""


# An optional server whose package no interpreter has: "not installed" on every machine
# (granian, hypercorn and daphne are dependencies now, so they cannot play that part).
NOT_INSTALLED = """
[servers.absent]
interface = "asgi"
module = "loadlab_absent_server"
optional = true
workers = 1
args = ["app.asgi:application", "--port", "{port}"]
"""


# A team's own Django project (made with startproject), measured by the e2e tests.
SHOP = ROOT / "tests" / "shop"


def shop_toml(*, db: Path | str | None = None, scenarios: str = "") -> str:
    """tests/shop's loadlab.toml: its settings and applications, `prepare` (its
    migrations seed it) and the orders scenario; `db` moves its database (SHOP_DB),
    `scenarios` appends tables."""
    env = f'env = {{ SHOP_DB = "{db}" }}\n' if db is not None else ""
    return f"""\
[project]
settings = "shop.settings"
wsgi = "shop.wsgi:application"
asgi = "shop.asgi:application"
prepare = [["python", "manage.py", "migrate", "--noinput"]]
{env}
[scenarios.orders]
summary = "the order list, ORM + JSON"
flavors = {{ sync = "/orders/", async = "/orders/async/" }}
""" + scenarios


def copy_shop(folder: Path, toml: str) -> Path:
    """A private copy of tests/shop (no caches, no database) with `toml` as its
    loadlab.toml."""
    shutil.copytree(SHOP, folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    (folder / "loadlab.toml").write_text(toml)
    return folder


def commit_shop(folder: Path) -> Path:
    """The copy committed on `main` of a fresh git repository, its databases and caches
    ignored (what `ab` and a run's manifest read)."""
    (folder / ".gitignore").write_text("*.sqlite3\n__pycache__/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(folder)]
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "shop")):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return folder


def only_run(results: Path) -> Path:
    runs = [p for p in results.iterdir() if p.is_dir()]
    assert len(runs) == 1, f"expected one run folder, found {[p.name for p in runs]}"
    return runs[0]


def read_json(path: Path):
    return json.loads(path.read_text())


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "results"
    path.mkdir()
    return path
