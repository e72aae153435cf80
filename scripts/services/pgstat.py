"""The app's PostgreSQL connections, counted while a cell runs and after it.

A thread reads `pg_stat_activity` for the app's database every ~250 ms (its own
session excluded) into `connections.csv`: how many connections, how many active (in a
query) and how many idle. After the load stops, the cell counts the connections still
open 5 s later with the server still up: with CONN_MAX_AGE = 0 or a pool they close
or go back to the pool; a number above the pool's size is a leak.

LOADLAB_PG_AFTER_LOAD_S sets that wait (5 s unless set): the test suite sets 1 s, a
stricter check than 5 that still lets a request in flight when Locust stops (a
held or queries request takes ~200 ms) finish and close its connection; 4 s per
PostgreSQL cell was a third of the PostgreSQL tests' time.
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ..proc.sampler import Periodic

FIELDS = ("time", "total", "active", "idle", "idle_in_transaction", "other")
QUERY = """
    SELECT coalesce(state, 'other'), count(*) FROM pg_stat_activity
    WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    GROUP BY 1
"""
AFTER_LOAD_S = 5.0
AFTER_LOAD_ENV = "LOADLAB_PG_AFTER_LOAD_S"


@dataclass
class Count:
    time: float
    total: int
    active: int
    idle: int
    idle_in_transaction: int
    other: int


def count(conn: psycopg.Connection[Any], database: str) -> Count:
    by_state = dict(conn.execute(QUERY, (database,)).fetchall())
    active = by_state.pop("active", 0)
    idle = by_state.pop("idle", 0)
    in_tx = by_state.pop("idle in transaction", 0)
    other = sum(by_state.values())
    return Count(time.time(), active + idle + in_tx + other, active, idle, in_tx, other)


class ConnectionSampler(Periodic):
    """Counts the app's connections every `interval` seconds until stopped; a sample
    that fails (the server restarting) is skipped, never fatal to the cell."""

    def __init__(self, url: str, database: str, path: Path, interval: float = 0.25) -> None:
        super().__init__(path, interval, "loadlab-pgstat")
        self.url = url
        self.database = database
        self.samples: list[Count] = []
        self._conn: psycopg.Connection[Any] | None = None

    def tick(self) -> None:
        try:
            self._conn = self._conn or psycopg.connect(self.url, autocommit=True,
                                                       connect_timeout=2)
            self.samples.append(count(self._conn, self.database))
        except psycopg.Error:
            self.finish()  # reconnect at the next tick

    def finish(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def write(self) -> None:
        with open(self.path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(FIELDS)
            for s in self.samples:
                out.writerow([round(s.time, 3), s.total, s.active, s.idle,
                              s.idle_in_transaction, s.other])

    def summary(self, window: tuple[float, float]) -> dict[str, float | int | None]:
        """Peak and mean connections inside the measured window, and the active peak."""
        inside = [s for s in self.samples if window[0] <= s.time <= window[1]]
        if not inside:
            return {"db_connections_peak": None, "db_connections_mean": None,
                    "db_active_peak": None}
        return {"db_connections_peak": max(s.total for s in inside),
                "db_connections_mean": round(sum(s.total for s in inside) / len(inside), 1),
                "db_active_peak": max(s.active for s in inside)}


def after_load_s() -> float:
    """How long after the load the leftovers are counted: AFTER_LOAD_S, or the
    environment's LOADLAB_PG_AFTER_LOAD_S (a number of seconds, at least 0)."""
    try:
        return max(0.0, float(os.environ.get(AFTER_LOAD_ENV, AFTER_LOAD_S)))
    except ValueError:
        return AFTER_LOAD_S


def left_after_load(url: str, database: str, since: float,
                    wait_s: float | None = None) -> int | None:
    """Connections still open `wait_s` (default after_load_s()) seconds after `since`
    (when the load stopped)."""
    wait_s = after_load_s() if wait_s is None else wait_s
    time.sleep(max(0.0, since + wait_s - time.time()))
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            return count(conn, database).total
    except psycopg.Error:
        return None
