"""Shared by every test: scratch state outside the checkout, and whatever a test
started is stopped when the session ends."""

import os
import shutil
import tempfile

from scripts.paths import STATE_ENV
from scripts.proc import supervise

# Tests never write into the repository tree: the catalog's SQLite file and `serve`'s
# logs go to a folder of this session's, inherited by every loadlab a test starts.
_STATE = tempfile.mkdtemp(prefix="loadlab-test-state-")
os.environ[STATE_ENV] = _STATE


def pytest_sessionfinish(session, exitstatus):
    # Fixtures stop their own processes; this is the net under a crashed fixture.
    supervise.stop_all()
    shutil.rmtree(_STATE, ignore_errors=True)
