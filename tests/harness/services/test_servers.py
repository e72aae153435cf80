"""run/services.py: the command lines and environment of the app's services (built,
never started here)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from app.scenarios import SCENARIOS
from scripts.config import load_matrix
from scripts.config.model import BUILTIN_APPLICATIONS
from scripts.config.project import Project
from scripts.paths import LOOPBACK, ROOT, STATE_ENV, state_dir
from scripts.services import servers as services
from scripts.services.database import sqlite_path

MATRIX = load_matrix()
PORT = 18437
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.mark.parametrize("name", list(MATRIX.servers))
def test_server_argv_runs_its_module_with_our_interpreter(name):
    spec = MATRIX.servers[name]
    argv = services.server_argv(spec, PORT)
    assert argv[:3] == [sys.executable, "-m", spec.module]
    assert not [a for a in argv if PLACEHOLDER.search(a)], argv
    assert any(str(PORT) in a for a in argv)


@pytest.mark.parametrize("name", list(MATRIX.servers))
def test_server_argv_binds_loopback_only(name):
    argv = services.server_argv(MATRIX.servers[name], PORT)
    hosts = [a for a in argv if re.fullmatch(r"\d+\.\d+\.\d+\.\d+(:\d+)?", a)]
    assert hosts, f"{name} names no address: {argv}"
    assert all(h.split(":")[0] == LOOPBACK for h in hosts), hosts
    assert not any("0.0.0.0" in a or a == "::" for a in argv)


def test_server_argv_fills_workers_and_threads():
    spec = MATRIX.servers["gunicorn-gthread"]
    argv = services.server_argv(spec, PORT)
    assert argv[argv.index("--workers") + 1] == str(spec.workers)
    assert argv[argv.index("--threads") + 1] == str(spec.threads)
    assert argv[argv.index("--bind") + 1] == f"{LOOPBACK}:{PORT}"


def test_upstream_argv_binds_loopback():
    argv = services.upstream_argv(PORT)
    assert argv[:3] == [sys.executable, "-m", "uvicorn"]
    assert "app.upstream:app" in argv
    assert argv[argv.index("--host") + 1] == LOOPBACK
    assert argv[argv.index("--port") + 1] == str(PORT)


def test_app_env_keeps_the_database_in_the_state_folder():
    env = services.app_env(MATRIX, "http://127.0.0.1:9", None)
    db = Path(env["LOADLAB_SQLITE_PATH"])
    assert db.is_absolute()
    assert db.parent == state_dir()
    assert sqlite_path() == db
    assert env["DATABASE_URL"] == ""  # a DATABASE_URL in our environment never leaks in


def test_the_test_session_keeps_state_out_of_the_checkout():
    assert STATE_ENV in os.environ  # set by tests/conftest.py
    state = state_dir().resolve()
    assert not state.is_relative_to(ROOT.resolve()), state
    db = Path(services.app_env(MATRIX, "http://x", None)["LOADLAB_SQLITE_PATH"]).resolve()
    assert not db.is_relative_to(ROOT.resolve()), db


def test_app_env_names_the_upstream_the_client_and_the_apps_switches():
    env = services.app_env(MATRIX, "http://127.0.0.1:5555", "aiohttp")
    assert env["LOADLAB_UPSTREAM_URL"] == "http://127.0.0.1:5555"
    assert env["LOADLAB_CLIENT"] == "aiohttp"
    assert env["DJANGO_SETTINGS_MODULE"] == "app.settings"
    assert env.items() >= MATRIX.app.env().items()
    # a scenario without upstream calls has no client: httpx, the app's default
    assert services.app_env(MATRIX, "http://x", None)["LOADLAB_CLIENT"] == "httpx"
    assert all(isinstance(v, str) for v in env.values())


def test_a_project_is_served_from_its_root_with_its_application_and_settings(tmp_path):
    """`{app}` is the project's application for the server's interface; its root comes
    first on the import path (its `app` package would win over loadlab's)."""
    project = Project("shop", "shop.settings", {"wsgi": "shop.wsgi:application",
                                                "asgi": "shop.asgi:application"},
                      SCENARIOS[:1], file=tmp_path / "loadlab.toml", root=tmp_path,
                      env={"SHOP_DB": "x"})
    for name, app in (("gunicorn-gthread", "shop.wsgi:application"),
                      ("uvicorn", "shop.asgi:application")):
        argv = services.server_argv(MATRIX.servers[name], PORT, project=project)
        assert app in argv and not [a for a in argv if a.startswith("app.")], argv
        assert BUILTIN_APPLICATIONS[MATRIX.servers[name].interface] in services.server_argv(
            MATRIX.servers[name], PORT)
    env = services.app_env(MATRIX, "http://x", None, project=project)
    assert env["DJANGO_SETTINGS_MODULE"] == "shop.settings" and env["SHOP_DB"] == "x"
    assert env["PYTHONPATH"].split(os.pathsep)[:2] == [str(tmp_path), str(ROOT)]
    assert "LOADLAB_SQLITE_PATH" not in env
    assert services.ready_path(project) == SCENARIOS[0].flavors[0].path
