"""What a server said went wrong: the exceptions in its log, counted.

A cell whose requests fail says only "500" from Locust's side; the server's log says
why (e.g. asgiref's "You cannot use AsyncToSync in the same thread as an async event
loop" when async views run on gevent's greenlets). Each traceback's final line is its
exception; the commonest few go into the cell's record and summary.md.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

TOP = 3
MAX_LEN = 200  # characters of one exception line kept
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Warning|Operation|Interrupt)"
                        r"\b(: .*)?$")


# A database connection refused or not handed out: its own failure kind, not a slow view.
CONNECTION_ERROR = re.compile(r"too many clients|remaining connection slots|PoolTimeout|"
                              r"couldn't get a connection|connection failed|"
                              r"connection to server .* failed", re.IGNORECASE)


def connection_errors(found: list[tuple[str, int]]) -> int:
    """How many of `found` (exceptions(), counted) were database connection errors."""
    return sum(n for line, n in found if CONNECTION_ERROR.search(line))


def exceptions(path: Path, top: int | None = TOP) -> list[tuple[str, int]]:
    """The `top` commonest exceptions that ended a traceback in the log at `path`
    (every kind when `top` is None)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    found: Counter[str] = Counter()
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace():
            if _EXCEPTION.match(line):
                found[line[:MAX_LEN]] += 1
                in_traceback = False
            elif not line.startswith(("During handling", "The above exception")):
                in_traceback = False  # not an exception line: the traceback was cut
    return found.most_common(top)
