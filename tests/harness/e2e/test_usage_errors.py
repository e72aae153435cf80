"""Bad arguments and bad matrix files: exit 2, one line on stderr naming what and where,
no traceback, and nothing started or written (the check comes before anything runs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..conftest import NOT_INSTALLED, ROOT, loadlab, matrix_with

MATRIX = (ROOT / "matrix.toml").read_text()


def check_one_line(done, *names: str) -> str:
    assert done.code == 2, f"exit {done.code}: {done.err}{done.out}"
    assert "Traceback" not in done.err + done.out
    lines = done.err.splitlines()
    assert len(lines) == 1, done.err
    line = lines[0]
    for name in names:
        assert name in line, f"{name!r} not in {line!r}"
    return line


# --- arguments ------------------------------------------------------------------------------

ARGS = [
    ((), ("command",)),
    (("frobnicate",), ("frobnicate",)),
    (("bench", "--servers", "tornado"), ("server", "tornado")),
    (("bench", "--scenarios", "nope"), ("scenario", "nope")),
    (("bench", "--clients", "requests"), ("client", "requests")),
    (("bench", "--profile", "slow"), ("profile", "slow")),
    (("bench", "--scenarios", "hello", "--flavors", "turbo"), ("flavor", "turbo")),
    (("bench", "--users", "0"), ("--users", "0")),
    (("bench", "--users", "10,x"), ("--users",)),
    (("bench", "--duration", "-1"), ("--duration", "-1")),
    (("bench", "--warmup", "-1"), ("--warmup",)),
    (("bench", "--trials", "x"), ("--trials", "x")),
    (("bench", "--port", "70000"), ("--port", "70000")),
    (("bench", "--servers", ","), ("--servers",)),
    (("serve",), ("--server",)),
    (("serve", "--server", "tornado"), ("tornado",)),
    (("serve", "--server", "uvicorn", "--client", "requests"), ("client", "requests")),
    (("ui", "--server", "uvicorn", "--scenario", "nope"), ("scenario", "nope")),
    (("ui", "--server", "uvicorn", "--warmup", "-1"), ("--warmup",)),
    (("bench", "--bogus"), ("--bogus",)),
    (("bench", "--db", "mysql"), ("--db", "mysql")),
    (("capacity", "--db", "oracle"), ("--db", "oracle")),
    (("compare",), ("RUN_A",)),
    (("compare", "/nonexistent/run"), ("/nonexistent/run", "no such run folder")),
    (("compare", str(ROOT / "scripts")), ("scripts", "not a run folder")),
    (("compare", str(ROOT / "matrix.toml")), ("matrix.toml", "not a folder")),
    (("compare", "/nonexistent/run", "--format", "pdf"), ("--format", "pdf")),
    (("bench", "--scenarios", "stream", "--events", "0"), ("--events", "0")),
    (("bench", "--scenarios", "stream", "--interval-ms", "-250"), ("--interval-ms", "-250")),
    (("bench", "--scenarios", "upload", "--size-kb", "200000"), ("--size-kb", "200000")),
    (("capacity", "--scenarios", "upload", "--rate-kbps", "0"), ("--rate-kbps", "0")),
    (("bench", "--scenarios", "upload", "--disconnect", "1.5"), ("--disconnect", "1.5")),
    (("bench", "--scenarios", "stream", "--events", "many"), ("--events", "many")),
    (("bench", "--scenarios", "sse"), ("scenario", "sse")),
]


@pytest.mark.parametrize(("args", "names"), ARGS,
                         ids=[" ".join(a).replace("/", "_") or "no-args" for a, _ in ARGS])
def test_bad_arguments(tmp_path, args, names):
    results = tmp_path / "results"
    if args and args[0] in ("bench", "ui"):
        args = (*args, "--results", str(results))
    check_one_line(loadlab(*args, timeout=60), *names)
    assert not results.exists(), "a run folder was started for a bad command"


@pytest.mark.parametrize("command", ["bench", "capacity", "ui"])
def test_results_where_nothing_can_be_written_is_one_line(tmp_path, command):
    """A --results below a regular file cannot be created (ENOTDIR, even for root, whom
    mode bits never stop): one line naming it, exit 2, and nothing started."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = {"bench": ("bench", "--profile", "smoke"), "capacity": ("capacity",),
            "ui": ("ui", "--server", "uvicorn")}[command]
    line = check_one_line(loadlab(*args, "--results", str(blocker / "results"), timeout=60),
                          str(blocker / "results"), "cannot write")
    assert "--results" in line
    assert blocker.read_text() == "not a folder"


NOT_THERE = [
    ("bench", "--servers", "absent"),
    ("bench", "--servers", "uvicorn,absent"),
    ("serve", "--server", "absent"),
    ("ui", "--server", "absent"),
]


@pytest.mark.parametrize("args", NOT_THERE, ids=" ".join)
def test_a_server_that_is_not_installed_is_named(tmp_path, args):
    results = tmp_path / "results"
    matrix = matrix_with(tmp_path, append=NOT_INSTALLED)
    extra = ("--results", str(results)) if args[0] in ("bench", "ui") else ()
    check_one_line(loadlab(*args, "--matrix", str(matrix), *extra, timeout=60),
                   "absent", "not installed")
    assert not results.exists(), "a run folder was started for a bad command"


DATABASES = [
    ({"DATABASE_URL": "postgres://app:s3cret@10.9.8.7:5432/shop"}, (), ("--allow-remote",)),
    ({"DATABASE_URL": "postgres://app:s3cret@127.0.0.1:1/shop"}, (), ("cannot connect",)),
    ({"DATABASE_URL": "postgres://app@127.0.0.1:1/shop"}, ("--db", "sqlite"), ("unset it",)),
    ({"LOADLAB_PG_BIN": "/nonexistent"}, ("--db", "postgres"), ("apt-get install postgresql",)),
]


@pytest.mark.parametrize(("env", "extra", "names"), DATABASES,
                         ids=["remote", "unreachable", "sqlite-and-url", "no-binaries"])
def test_a_database_that_cannot_be_used(tmp_path, env, extra, names):
    results = tmp_path / "results"
    done = loadlab("bench", "--profile", "smoke", "--scenarios", "catalog", *extra,
                   "--results", str(results), env=env, timeout=60)
    line = check_one_line(done, *names)
    assert "s3cret" not in line
    assert not results.exists(), "a run folder was started for a database it cannot use"


def test_results_that_is_a_file(tmp_path):
    file = tmp_path / "results"
    file.write_text("")
    check_one_line(loadlab("bench", "--profile", "smoke", "--results", str(file)),
                   str(file), "--results")


# --- matrix files ---------------------------------------------------------------------------

def sub(pattern: str, repl: str):
    def mutate(text: str) -> str:
        new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        assert n == 1, pattern
        return new
    return mutate


MATRICES = [
    ("invalid-toml", lambda t: t + "\nx = [\n", ("invalid TOML",)),
    ("typo-key", sub(r"^hot_cpu_pct = ", "hot_cpu_pctt = "), ("rules.hot_cpu_pctt", "typo")),
    ("typo-table", sub(r"^\[rules\]", "[rulez]"), ("rulez",)),
    ("typo-upstream", sub(r"^hang_ms = 5000", "hang_mss = 5000"), ("upstream.hang_mss",)),
    ("workers-string", sub(r"^workers = 2", 'workers = "two"'),
     ("servers.gunicorn-sync.workers", "whole number")),
    ("workers-zero", sub(r"^workers = 2", "workers = 0"),
     ("servers.gunicorn-sync.workers", ">= 1")),
    ("workers-float", sub(r"^workers = 2", "workers = 2.5"), ("servers.gunicorn-sync.workers",)),
    ("error-rate-2", sub(r"^error_rate = 0.0", "error_rate = 2"), ("upstream.error_rate", "<= 1")),
    ("profile-error-rate", sub(r"^error_rate = 0.1", "error_rate = -0.1"),
     ("profiles.faults.upstream.error_rate",)),
    ("unknown-placeholder", sub(r'"--log-level", "warning"\]', '"--log-level", "{loglevel}"]'),
     ("servers.gunicorn-sync.args", "loglevel")),
    ("attribute-placeholder", sub(r'"--log-level", "warning"\]', '"--log-level", "{port.x}"]'),
     ("servers.gunicorn-sync.args",)),
    ("index-placeholder", sub(r'"--log-level", "warning"\]', '"--log-level", "{port[0]}"]'),
     ("servers.gunicorn-sync.args",)),
    ("unset-placeholder", sub(r"^threads = 25\n", ""), ("servers.gunicorn-gthread.args",
                                                        "threads")),
    ("profile-unknown-server", sub(r'^servers = \["gunicorn-sync", "uvicorn"\]',
                                   'servers = ["gunicorn-sync", "tornado"]'),
     ("profiles.smoke.servers", "tornado")),
    ("profile-unknown-client", sub(r'^clients = \["httpx"\]', 'clients = ["requests"]'),
     ("profiles.smoke.clients", "requests")),
    ("profile-unknown-scenario", sub(r'^scenarios = \["hello", "weather"\]',
                                     'scenarios = ["hello", "wether"]'),
     ("profiles.smoke.scenarios", "wether")),
    ("default-profile-missing", sub(r'^profile = "quick"', 'profile = "slow"'),
     ("defaults.profile", "slow")),
    ("bad-interface", sub(r'^interface = "wsgi"', 'interface = "rsgi"'),
     ("servers.gunicorn-sync.interface", "rsgi")),
    ("users-zero", sub(r"^users = 4", "users = 0"), ("profiles.smoke.users",)),
    ("duration-string", sub(r"^duration_s = 2", 'duration_s = "2"'),
     ("profiles.smoke.duration_s",)),
    ("bool-not-bool", sub(r"^enabled = true", 'enabled = "yes"'), ("pinning.enabled",)),
    ("negative-cpu", sub(r"^server = \[0\]", "server = [-1]"), ("pinning.server",)),
    ("no-servers", lambda t: "[profiles.p]\nusers = 1\nduration_s = 1\n", ("servers",)),
    ("server-not-a-table", lambda t: "[servers]\nx = 3\n", ("servers.x", "must be a table")),
    ("ready-timeout-zero", sub(r"^\[servers.uvicorn\]\n",
                               "[servers.uvicorn]\nready_timeout_s = 0\n"),
     ("servers.uvicorn.ready_timeout_s",)),
]


@pytest.mark.parametrize(("mutate", "names"), [(m, n) for _, m, n in MATRICES],
                         ids=[i for i, _, _ in MATRICES])
def test_bad_matrix(tmp_path, mutate, names):
    matrix = tmp_path / "bad.toml"
    matrix.write_text(mutate(MATRIX))
    results = tmp_path / "results"
    done = loadlab("bench", "--matrix", str(matrix), "--profile", "smoke",
                   "--results", str(results), timeout=60)
    check_one_line(done, str(matrix), *names)
    assert not results.exists()


def test_the_real_matrix_is_valid():
    """The control: the unmutated matrix passes, so the cases above fail for their reason."""
    done = loadlab("list", "--json", timeout=60)
    assert done.code == 0, done.err


@pytest.mark.parametrize("kind", ["missing", "folder", "binary", "empty"])
def test_unreadable_matrix(tmp_path, kind):
    path: Path = tmp_path / "m.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif kind == "empty":
        path.write_text("")
    done = loadlab("list", "--matrix", str(path), timeout=60)
    line = check_one_line(done, str(path))
    if kind == "empty":
        assert "servers" in line  # the first thing a matrix must have


def test_bad_matrix_for_every_command(tmp_path):
    """serve and ui read the matrix too: the same one line before anything starts."""
    matrix = tmp_path / "bad.toml"
    matrix.write_text(sub(r"^hot_cpu_pct = ", "hot_cpu_pctt = ")(MATRIX))
    for args in (("serve", "--server", "uvicorn"), ("ui", "--server", "uvicorn",
                                                    "--results", str(tmp_path / "r")),
                 ("list",)):
        check_one_line(loadlab(*args, "--matrix", str(matrix), timeout=60), str(matrix),
                       "rules.hot_cpu_pctt")
    assert not (tmp_path / "r").exists()
