"""A web UI session's tests, as cells: one per test and user class, built like bench's.

locustfiles/session.py writes each test to `<session>/tests/NNN/` when it ends (its
seconds, its window, its users per class, its slice of the server log, Locust's own
files at that moment). Here each becomes one cell per request name (flavor): the
cell's key carries that class's users, two tests with the same key are two trials,
and the cell gets what a bench cell gets (latency.json, resources.csv of its window,
server.log of its window, the flag rules) through the same `collect` functions.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.search import concurrency
from ..archive.records import CellRecord
from ..archive.writer import Archive
from ..cells import CellKey
from ..config import Rules, ServerSpec
from ..errors import MeasurementError
from ..load import collect, loadgen
from ..load.probe import Unloaded
from ..proc.sampler import Sample, Sampler
from ..stories import Scenario

LOCUST_FILES = ("locust_stats.csv", "locust_failures.csv", "locust_exceptions.csv",
                "locust_report.html")


@dataclass(frozen=True)
class Session:
    """What every cell of one web UI session shares."""

    folder: Path  # the session's working folder (server.log, tests/, live.json)
    server: ServerSpec
    scenario: Scenario
    client: str
    unloaded: dict[str, Unloaded] = field(default_factory=dict)  # flavor -> (R0, S)

    def key(self, flavor: str, users: int) -> CellKey:
        uses = self.scenario.uses_upstream
        return CellKey(self.server.name, self.scenario.name, flavor,
                       self.client if uses else None, users)

    def tests(self) -> list[dict[str, Any]]:
        """Every ended test's test.json, in order (a torn one is skipped)."""
        found = []
        for path in sorted((self.folder / "tests").glob("[0-9][0-9][0-9]/test.json")):
            try:
                found.append({**json.loads(path.read_text()), "folder": path.parent})
            except (OSError, ValueError):
                continue
        return found

    def flavors(self, test: dict[str, Any]) -> dict[str, int]:
        """The scenario's flavors this test ran, with their users."""
        return {name: int(users) for name, users in test.get("users", {}).items()
                if name in self.scenario.flavor_names and users}

    def bounds(self, record: CellRecord, rules: Rules) -> None:
        """The closed loop's bounds and `load-bound`, from the flavor's probe."""
        r0, service = self.unloaded.get(record.flavor, (None, None))
        wsgi = self.server.interface == "wsgi"
        collect.bounds(record, r0, service, concurrency(self.server) if wsgi else None, rules)

    def tidy(self) -> None:
        """After archiving: the live files go, and so does each test's Locust report
        (its cells hold it, its script bundle shared once in the run's assets/)."""
        for name in ("live.json", "current.json"):
            (self.folder / name).unlink(missing_ok=True)
        for report in self.folder.glob("tests/[0-9][0-9][0-9]/locust_report.html"):
            report.unlink()

    def trials(self) -> dict[CellKey, int]:
        """How many trials each cell has so far (tests that measured a window)."""
        count: dict[CellKey, int] = {}
        for test in self.tests():
            if unmeasured(test) is None:
                for flavor, users in self.flavors(test).items():
                    key = self.key(flavor, users)
                    count[key] = count.get(key, 0) + 1
        return count


def unmeasured(test: dict[str, Any]) -> str | None:
    """Why a test has no cell (its window holds no whole second), or None."""
    if not test.get("window"):
        return "before its window began"
    if test["window"][1] - test["window"][0] < 1:
        return "within a second of its window's start (no whole second)"
    return None


def archive_tests(archive: Archive, session: Session, rules: Rules,
                  sampler: Sampler) -> list[str]:
    """Each test's cells into the archive; lines about tests that left none."""
    notes, trials = [], {}
    for test in session.tests():
        n = test["index"]
        why = unmeasured(test)
        if why:
            notes.append(f"test {n} ended ({test['ended']}) {why}: no cell")
            continue
        flavors = session.flavors(test)
        if not flavors:
            notes.append(f"test {n}: no user class of scenario {session.scenario.name}"
                         " ran: no cell")
        for flavor, users in flavors.items():
            key = session.key(flavor, users)
            trials[key] = trials.get(key, 0) + 1
            archive.add(_cell(archive, session, test, key, trials[key], rules, sampler))
        archive.manifest.add_test({
            "index": n, "cause": test["cause"], "ended": test["ended"],
            "window": test["window"], "warmup_s": test["warmup_s"],
            "cells": [session.key(f, u).path(trials[session.key(f, u)])
                      for f, u in flavors.items()]})
    return notes


def _cell(archive: Archive, session: Session, test: dict[str, Any], key: CellKey,
          trial: int, rules: Rules, sampler: Sampler) -> CellRecord:
    folder: Path = test["folder"]
    record = collect.new_record(key, session.server, trial)
    cell_dir = archive.tmp / record.path
    cell_dir.mkdir(parents=True)
    for name in LOCUST_FILES:
        if (folder / name).exists():
            shutil.copy2(folder / name, cell_dir / name)
    _server_log(session.folder / "server.log", test.get("server_log"),
                cell_dir / "server.log")
    window = tuple(test["window"])
    sampler.write(cell_dir / "resources.csv", window)
    try:
        m = loadgen.read_measurement(folder, name=key.flavor, keep_raw=True)
    except MeasurementError as exc:
        record.status, record.error = "failed", str(exc)
    else:
        collect.fill(record, m, cell_dir, rules, sampler)
        session.bounds(record, rules)
    return record


def _server_log(log: Path, span: list[int | None] | None, out: Path) -> None:
    """The server's log lines written during the test's window (by byte offset)."""
    data = b""
    if span and span[0] is not None and log.exists():
        with open(log, "rb") as f:
            f.seek(span[0])
            data = f.read(None if span[1] is None else max(0, span[1] - span[0]))
    out.write_bytes(data)


def live(session: Session, rules: Rules, latest: dict[str, Sample]) -> dict[str, Any]:
    """What the loadlab tab shows beside its exact percentiles: this second's resources,
    and per running class the cell it will become and the flags bench's rules give its
    throughput so far (locustfiles/session.py publishes it in current.json)."""
    try:
        current = json.loads((session.folder / "current.json").read_text())
    except (OSError, ValueError):
        current = {}

    def role(name: str) -> dict[str, float] | None:
        s = latest.get(name)
        return None if s is None else {"cpu_pct": s.cpu_pct, "rss_mb": s.rss_mb,
                                       "threads": s.threads}

    server, generator, upstream = role("server"), role("generator"), role("upstream")
    trials = session.trials()
    cells, flags = {}, {}
    for flavor, users in session.flavors(current).items():
        key = session.key(flavor, users)
        cells[flavor] = key.trial_label(trials.get(key, 0) + 1)
        record = collect.new_record(key, session.server, trials.get(key, 0) + 1)
        record.warnings = collect.resource_flags(generator, upstream, key.scenario, rules)
        rps = current.get("rps", {}).get(flavor)
        if rps is not None and server is not None:  # a second of the window at least
            record.rps, record.server_cpu_pct = rps, server["cpu_pct"]
            session.bounds(record, rules)
        flags[flavor] = record.warnings
    return {
        "time": max((s.time for s in latest.values()), default=None),
        "server": server or {},
        "generator": {"cpu_pct": generator["cpu_pct"]} if generator else {},
        "flags": flags,
        "cells": cells,
    }
