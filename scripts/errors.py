"""Every error loadlab raises on purpose, in one tree; each class carries its exit code.

The CLI (scripts/cli.py) is the only place that turns them into an exit status::

    LoadlabError                 exit 1   anything loadlab refuses or cannot do
    +-- UsageError               exit 2   bad command line or input: one line, nothing starts
    |   +-- ConfigError                   matrix.toml (or a choice against it) is wrong
    |   +-- RunFolderError                a path that is not a readable run folder
    |   +-- CompareError                  runs that cannot be compared
    |   +-- ToolMissing                   an external tool (wrk) is not installed
    |   +-- DatabaseUnavailable           PostgreSQL missing, or DATABASE_URL remote/down
    +-- ServiceError             exit 1   a service would not come up
    |   +-- NotReady                      a process exited or never answered
    |   +-- PortInUse                     something else listens where ours should
    |   +-- PrepareFailed                 the catalog could not be migrated or seeded
    +-- CellError                exit 1   one cell could not be measured (the run goes on)
    |   +-- CellFailed                    Locust or the server failed mid-cell
    |   +-- MeasurementError              Locust left no usable measurement
    +-- GateFailed               exit 3   a threshold or a regression gate failed: measured, not ok
    Interrupted (BaseException)  exit 130 Ctrl-C, SIGTERM: stop everything, keep what is done

Interrupted is a BaseException so that no `except Exception` in a cleanup path can
swallow it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_GATE = 3  # measured fine, but a threshold or regression gate failed (CI's red)
EXIT_INTERRUPTED = 130

# A run's status -> the exit code `bench` (and friends) end with.
EXIT_FOR_STATUS = {"complete": EXIT_OK, "partial": EXIT_FAILED, "failed": EXIT_FAILED,
                   "interrupted": EXIT_INTERRUPTED}


class LoadlabError(Exception):
    """Base of every deliberate loadlab error; `exit_code` is what the CLI exits with."""

    exit_code = EXIT_FAILED


class UsageError(LoadlabError):
    """Bad usage or input: the message is the one line the user sees."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """Bad configuration: names the file and the key."""


class RunFolderError(UsageError):
    """A path that is not a readable run folder; the message names what and where."""


class CompareError(UsageError):
    """Runs that cannot be compared; the message says what and where."""


class ToolMissing(UsageError):
    """An external tool is not installed; the message says how to install it."""


class DatabaseUnavailable(UsageError):
    """The database cannot be used as asked: PostgreSQL's binaries missing, a remote
    DATABASE_URL without --allow-remote, or one that does not answer."""


class ServiceError(LoadlabError):
    """A service (server, upstream, database) would not come up."""


class NotReady(ServiceError):
    """A process that did not come up; `reason` says why, `log_tail` shows its last words."""

    def __init__(self, name: str, reason: str, log_tail: str = "") -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        self.log_tail = log_tail


class PortInUse(ServiceError):
    """Something else already listens where a server of ours should."""


class PrepareFailed(ServiceError):
    """The catalog database could not be migrated or seeded."""


class CalibrationFailed(LoadlabError):
    """One of calibrate's three runs did not complete: no floor is written (exit 1)."""


class CellError(LoadlabError):
    """One cell could not be measured; the run records why and goes on."""


class CellFailed(CellError):
    """The cell could not be measured; the message says why."""


class MeasurementError(CellError):
    """Locust left no usable measurement behind."""


class GateFailed(LoadlabError):
    """Everything was measured, and a threshold ([scenarios.X.thresholds]) or a
    regression gate (compare --fail-on-regression, ab) failed: exit 3, apart from 1
    (could not measure) and 2 (bad input). The message names each failing gate."""

    exit_code = EXIT_GATE


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop everything, keep what is finished (exit 130)."""

    exit_code = EXIT_INTERRUPTED
