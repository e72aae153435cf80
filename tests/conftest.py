"""Shared by every test: scratch state outside the checkout, and whatever a test
started is stopped when the session ends."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from scripts.paths import STATE_ENV
from scripts.proc import supervise
from scripts.services.pgstat import AFTER_LOAD_ENV

# Tests never write into the repository tree: the catalog's SQLite file and `serve`'s
# logs go to a folder of this session's, inherited by every loadlab a test starts.
_STATE = tempfile.mkdtemp(prefix="loadlab-test-state-")
os.environ[STATE_ENV] = _STATE
# A PostgreSQL cell counts the connections left open 1 s after its load, not 5: with
# CONN_MAX_AGE = 0 the last request's closes within ~200 ms; 4 s a cell was a third of
# the PostgreSQL tests' time (pgstat.py).
os.environ.setdefault(AFTER_LOAD_ENV, "1")


def pytest_sessionfinish(session, exitstatus):
    # Fixtures stop their own processes; this is the net under a crashed fixture.
    supervise.stop_all()
    shutil.rmtree(_STATE, ignore_errors=True)


# `make check` runs the fast tests: pure logic, config, analysis, render and the app's
# views in-process. These folders and files start real servers, Locust or browsers for
# seconds each: `e2e`, run by `make test` (and CI) only. By path, so a new test in them
# cannot be forgotten.
_E2E = ("tests/harness/e2e/", "tests/harness/fidelity/", "tests/app/test_servers.py",
        "tests/app/test_ws_servers.py", "tests/harness/render/test_report_browser.py")
_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(_ROOT).as_posix()
        if where.startswith(_E2E):
            item.add_marker(pytest.mark.e2e)
    # The e2e modules first: two at a time (make test, --no-loadscope-reorder), the
    # fast modules then fill the gap the last e2e module leaves on the other worker,
    # where xdist's own order (most tests first) left a minute-long e2e module last.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
