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


CHAINED = ("During handling of the above exception", "The above exception was the direct")

# A database connection refused or not handed out: its own failure kind, not a slow view.
CONNECTION_ERROR = re.compile(r"too many clients|remaining connection slots|PoolTimeout|"
                              r"couldn't get a connection|connection failed|"
                              r"connection to server .* failed", re.IGNORECASE)


def connection_errors(found: list[tuple[str, int]]) -> int:
    """How many of `found` (exceptions(), counted) were database connection errors."""
    return sum(n for line, n in found if CONNECTION_ERROR.search(line))


def exceptions(path: Path, top: int | None = TOP) -> list[tuple[str, int]]:
    """The `top` commonest exceptions that ended a traceback in the log at `path`
    (every kind when `top` is None). A chain ("The above exception was the direct
    cause ...") is one failure: only its last exception counts (psycopg's
    OperationalError re-raised as Django's was counted twice)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    found: Counter[str] = Counter()
    pending: str | None = None  # an exception seen: counted unless the chain goes on
    in_traceback = False
    for line in lines:
        if line.startswith(CHAINED):
            pending, in_traceback = None, False
        elif line.startswith("Traceback (most recent call last):"):
            if pending:
                found[pending] += 1
            pending, in_traceback = None, True
        elif in_traceback:
            if line and not line[0].isspace():  # the traceback's last line, or a cut
                pending = line[:MAX_LEN] if _EXCEPTION.match(line) else None
                in_traceback = False
        elif line.strip() and pending:  # any other line ends the chain
            found[pending] += 1
            pending = None
    if pending:
        found[pending] += 1
    return found.most_common(top)


CAP_BYTES = 1 << 20  # what a cell keeps of its server's log


def cap(path: Path, limit: int = CAP_BYTES) -> int:
    """Keep the first `limit` bytes of a server's log (cut at a line's end) and say
    what was cut and what the whole log held: a failing cell logs a traceback per
    request (async views on gevent wrote 46 of a quick run's 58 MB). Call it once the
    server has stopped, after `exceptions()` counted the whole log. The bytes cut."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if size <= limit:
        return 0
    found = exceptions(path, top=TOP)
    with path.open("rb+") as f:
        head = f.read(limit)
        keep = head[: head.rfind(b"\n") + 1] or head
        f.seek(len(keep))
        f.truncate()
        counted = "; ".join(f"{n} x {line}" for line, n in found) or "none"
        f.write((f"--- loadlab cut this log at {len(keep):,} of {size:,} bytes;"
                 f" exceptions over the whole log: {counted} ---\n").encode())
    return size - len(keep)
