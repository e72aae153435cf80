"""Shared by every test: whatever a test started is stopped when the session ends."""

from scripts.run import supervise


def pytest_sessionfinish(session, exitstatus):
    # Fixtures stop their own processes; this is the net under a crashed fixture.
    supervise.stop_all()
