"""Settings safe by default, and the database chosen from the environment."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from app.dburl import database_from_env, postgres_from_url
from scripts.paths import ROOT
from scripts.proc.supervise import child_env


def _settings_in_a_fresh_interpreter(env: dict[str, str], expr: str) -> str:
    code = f"import app.settings as s; print({expr})"
    clean = {k: v for k, v in child_env().items() if k != "LOADLAB_DEBUG"} | env
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_debug_is_off_unless_asked():
    assert _settings_in_a_fresh_interpreter({}, "s.DEBUG") == "False"
    assert _settings_in_a_fresh_interpreter({"LOADLAB_DEBUG": "1"}, "s.DEBUG") == "True"


def test_hosts_are_loopback_and_the_fallback_key_says_so(settings):
    assert set(settings.ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "[::1]", "testserver"}
    if settings.SECRET_KEY.startswith("loadlab-"):
        assert "dev-only" in settings.SECRET_KEY


def test_sqlite_by_default_in_a_directory_it_creates(tmp_path):
    path = tmp_path / "nested" / "db.sqlite3"
    db = database_from_env({}, sqlite_default=path)
    assert db == {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    assert path.parent.is_dir()
    other = tmp_path / "other.sqlite3"
    assert database_from_env({"LOADLAB_SQLITE_PATH": str(other)}, sqlite_default=path)[
        "NAME"
    ] == str(other)


def test_database_url_is_postgres(tmp_path):
    url = "postgres://lab%40user:p%3Ass@db.local:6543/load%20lab?sslmode=disable"
    db = database_from_env({"DATABASE_URL": url}, sqlite_default=tmp_path / "x")
    assert db == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "load lab",
        "USER": "lab@user",
        "PASSWORD": "p:ss",
        "HOST": "db.local",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "disable"},
    }
    minimal = postgres_from_url("postgresql:///loadlab")
    assert (minimal["NAME"], minimal["HOST"], minimal["PORT"]) == ("loadlab", "", "")


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://h/db", "unsupported scheme"), ("postgres://host/", "no database name")],
)
def test_bad_database_urls_say_what_is_wrong(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        postgres_from_url(url)


def test_pool_option(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: object() if name == "psycopg_pool" else real(name)
    )
    assert postgres_from_url("postgres://h/db", pool=True)["OPTIONS"] == {"pool": True}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImproperlyConfigured, match=r"psycopg\[pool\]"):
        postgres_from_url("postgres://h/db", pool=True)


def test_pool_sizes_reach_psycopg_pool(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: object() if name == "psycopg_pool" else real(name)
    )
    sizes = {"min_size": 2, "max_size": 8}
    assert postgres_from_url("postgres://h/db", pool=sizes)["OPTIONS"] == {"pool": sizes}
