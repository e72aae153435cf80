"""run/database.py and run/postgres.py: which database a run uses, checked before
anything starts; a real throwaway PostgreSQL cluster, started and gone.

The cluster test starts the real thing (Debian's postgresql package; .ci/run installs
it): initdb, postgres on a free loopback port, a database, and a clean stop that leaves
no process and no data directory behind.
"""

from __future__ import annotations

from dataclasses import replace

import psutil
import psycopg
import pytest

from scripts.config import DatabaseSettings, load_matrix
from scripts.errors import DatabaseUnavailable
from scripts.paths import LOOPBACK
from scripts.services import postgres
from scripts.services.database import Database, _redacted

from ..conftest import require

MATRIX = load_matrix()


def have_postgres() -> bool:
    try:
        postgres.find_binaries()
    except DatabaseUnavailable:
        return False
    return True


def test_sqlite_is_the_default_and_its_env_says_so():
    db = Database.choose(MATRIX, environ={})
    assert (db.engine, db.source) == ("sqlite", "file")
    env = db.env()
    assert env["DATABASE_URL"] == "" and env["LOADLAB_SQLITE_PATH"].endswith(".sqlite3")
    assert env["LOADLAB_CONN_MAX_AGE"] == "0" and env["LOADLAB_DB_POOL"] == "0"
    assert db.describe().keys() >= {"engine", "source", "path", "conn_max_age"}
    assert db.describe()["engine"] == "sqlite" and "pool" not in db.describe()


def test_the_pool_is_postgresqls_only():
    pooled = replace(MATRIX, database=DatabaseSettings(pool=True))  # engine sqlite
    assert Database.choose(pooled, environ={}).env()["LOADLAB_DB_POOL"] == "0"
    pg = Database(pooled.database, "postgres", 10, url="postgres://x@127.0.0.1/d")
    assert pg.env()["LOADLAB_DB_POOL"] == "1"  # e.g. --db postgres over the matrix


def test_the_matrix_engine_and_the_flag():
    pg = replace(MATRIX, database=DatabaseSettings(engine="postgres"))
    with pytest.raises(DatabaseUnavailable, match="apt-get install postgresql"):
        Database.choose(pg, environ={postgres.BIN_ENV: "/nowhere"})
    assert Database.choose(pg, "sqlite", environ={}).engine == "sqlite"  # the flag wins


@pytest.mark.parametrize(("url", "allow", "words"), [
    ("postgres://u:secret@10.0.0.7:5432/app", False, "--allow-remote"),
    ("postgres://u@db.example.com/app", False, "--allow-remote"),
    ("mysql://u@127.0.0.1/app", False, "not PostgreSQL's"),
    ("postgres://u@127.0.0.1:1/app", False, "cannot connect"),
    # no host: a unix socket on this machine is local, not remote (none listens here)
    ("postgres:///app?host=/nonexistent-socket-dir", False, "cannot connect"),
])
def test_database_url_must_be_loopback_postgres_and_answering(url, allow, words):
    with pytest.raises(DatabaseUnavailable) as info:
        Database.choose(MATRIX, environ={"DATABASE_URL": url}, allow_remote=allow)
    message = str(info.value)
    assert words in message and "\n" not in message
    assert "secret" not in message


def test_database_url_and_an_explicit_sqlite_conflict():
    with pytest.raises(DatabaseUnavailable, match="unset it"):
        Database.choose(MATRIX, "sqlite", environ={"DATABASE_URL": "postgres://x@h/d"})


def test_a_password_never_reaches_the_run_folder():
    assert _redacted("postgres://me:s3cret@127.0.0.1:5432/app") == (
        "postgres://me:***@127.0.0.1:5432/app")
    assert _redacted("postgres://me@127.0.0.1/app") == "postgres://me@127.0.0.1/app"
    db = Database(DatabaseSettings(engine="postgres"), "postgres", 10,
                  url="postgres://me:s3cret@127.0.0.1/app")
    assert "s3cret" in db.env()["DATABASE_URL"]  # the servers need it
    assert "s3cret" not in str(db.env(redact=True)) + str(db.describe())


def test_a_throwaway_cluster_starts_answers_and_is_gone(tmp_path):
    require(have_postgres(), "PostgreSQL's server binaries are not installed"
            " (apt-get install postgresql)")
    settings = DatabaseSettings(engine="postgres", max_connections=40)
    cluster = postgres.Cluster(postgres.find_binaries(), settings.cluster_settings(),
                               tmp_path)
    try:
        url = cluster.start()
        assert url.startswith(f"postgres://loadlab@{LOOPBACK}:")
        pid, data_dir = cluster.process.pid, cluster.data_dir
        tree = cluster.process.tree()
        assert len(tree) > 1  # the postmaster and its background workers
        with psycopg.connect(url) as conn:
            assert conn.execute("SHOW max_connections").fetchone()[0] == "40"
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == LOOPBACK
        facts = postgres.server_facts(url)
        assert facts["server_version"].split()[0].startswith(cluster.binaries.version)
        assert facts["synchronous_commit"] == "off" and facts["fsync"] == "on"
        assert cluster.describe()["run_as"] == postgres.run_as()
    finally:
        cluster.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not data_dir.exists()
    cluster.stop()  # idempotent
