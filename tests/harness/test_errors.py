"""errors.py: the error tree and its exit codes, as its docstring documents them.

The expected codes are written out here (the contract), and a second test reads the
docstring's tree and checks the classes against it, so the picture and the code agree.
"""

from __future__ import annotations

import re

import pytest

from scripts import errors
from scripts.errors import (
    EXIT_FOR_STATUS,
    CellError,
    CellFailed,
    CompareError,
    ConfigError,
    DatabaseUnavailable,
    GateFailed,
    Interrupted,
    LoadlabError,
    MeasurementError,
    NotReady,
    PortInUse,
    PrepareFailed,
    RunFolderError,
    ServiceError,
    ToolMissing,
    UsageError,
)

EXPECTED = [
    (LoadlabError, 1, Exception),
    (UsageError, 2, LoadlabError),
    (ConfigError, 2, UsageError),
    (RunFolderError, 2, UsageError),
    (CompareError, 2, UsageError),
    (ToolMissing, 2, UsageError),
    (DatabaseUnavailable, 2, UsageError),
    (ServiceError, 1, LoadlabError),
    (NotReady, 1, ServiceError),
    (PortInUse, 1, ServiceError),
    (PrepareFailed, 1, ServiceError),
    (CellError, 1, LoadlabError),
    (CellFailed, 1, CellError),
    (MeasurementError, 1, CellError),
    (GateFailed, 3, LoadlabError),
    (Interrupted, 130, BaseException),
]


@pytest.mark.parametrize(("cls", "code", "parent"), EXPECTED,
                         ids=[c.__name__ for c, _, _ in EXPECTED])
def test_exit_code_and_parent(cls, code, parent):
    assert cls.exit_code == code
    assert cls.__bases__ == (parent,)


def test_interrupted_escapes_except_exception():
    assert not issubclass(Interrupted, Exception)
    caught_by = None
    try:
        try:
            raise Interrupted("SIGINT")
        except Exception:  # what a cleanup path might write
            caught_by = "except Exception"
    except BaseException as exc:
        caught_by = type(exc).__name__
    assert caught_by == "Interrupted"


def test_not_ready_keeps_its_parts():
    exc = NotReady("server uvicorn", "exited with code 3 before it was ready", "last words")
    assert str(exc) == "server uvicorn: exited with code 3 before it was ready"
    assert (exc.name, exc.reason, exc.log_tail) == ("server uvicorn",
                                                    "exited with code 3 before it was ready",
                                                    "last words")
    assert isinstance(exc, ServiceError) and exc.exit_code == 1


def test_exit_for_status():
    assert EXIT_FOR_STATUS == {"complete": 0, "partial": 1, "failed": 1, "interrupted": 130}
    assert EXIT_FOR_STATUS["interrupted"] == Interrupted.exit_code
    assert EXIT_FOR_STATUS["failed"] == LoadlabError.exit_code


def _documented_tree() -> list[tuple[str, str, int]]:
    """(class, parent, exit code) for every line of the docstring's picture."""
    lines = [line for line in errors.__doc__.split("::", 1)[1].splitlines() if line.strip()]
    lines = lines[:next(i for i, line in enumerate(lines) if not line.startswith("    "))]
    tree, stack = [], []  # stack: (depth, name, code)
    for line in lines:
        body = line[4:]
        m = re.match(r"[| ]*(\+-- )?(\w+)(?: \((\w+)\))?\s*(?:exit (\d+))?", body)
        assert m, line
        depth = body.index("+--") // 4 + 1 if m.group(1) else 0
        name, base, code = m.group(2), m.group(3), m.group(4)
        stack = [s for s in stack if s[0] < depth]
        parent = base or (stack[-1][1] if stack else "Exception")
        inherited = int(code) if code else stack[-1][2]
        tree.append((name, parent, inherited))
        stack.append((depth, name, inherited))
    return tree


def test_the_docstring_tree_matches_the_classes():
    tree = _documented_tree()
    assert len(tree) == len(EXPECTED)  # every class is in the picture
    for name, parent, code in tree:
        cls = getattr(errors, name)
        assert cls.__bases__[0].__name__ == parent, name
        assert cls.exit_code == code, name
