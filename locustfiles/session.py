"""A web UI session (`loadlab ui`): every test archived on its own, and a loadlab tab.

Locust loads this file first (`-f session.py,<the scenario's file>`); it defines no
user class. A *test* runs from a start (or an edit of the user count, or a Reset) to
its stop (or the next edit, or Reset, or Ctrl-C). Each test gets its own window: it
begins when spawning completes plus LOADLAB_WARMUP_S (at once after a Reset: the load is
already there), and it ends with the test, so idle time between tests is in none. At
its end the test is written to LOADLAB_SESSION_DIR/tests/NNN/: the recorder's seconds
and window.json (what the harness reads for any cell), test.json (its users per class,
why it ended, the server log's bytes during its window) and Locust's own CSV and HTML
as they stood at that moment. The harness turns each test into one cell per class.

The loadlab tab shows, live, what Locust's tabs do not: the exact percentiles of the
running test's window (from HdrHistograms, not Locust's rounded buckets), and what the
harness writes to live.json each second: the server's CPU, memory and threads, the
generator's CPU, each class's flags (the harness applies the bench's rules to the
throughput this file publishes in current.json) and the cell it will become.
"""

from __future__ import annotations

import csv
import json
import os
import time
from typing import Any

import gevent
from flask import jsonify, request
from hdrh.histogram import HdrHistogram
from locust import events
from locust.html import get_html_report
from locust.runners import STATE_RUNNING, STATE_SPAWNING
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from locustfiles.base import clock, recorder, tally
from scripts.load.latencyfile import Slot

SESSION_DIR = os.environ.get("LOADLAB_SESSION_DIR", "")
WARMUP_S = float(os.environ.get("LOADLAB_WARMUP_S", "0") or 0)
SERVER_LOG = os.environ.get("LOADLAB_SERVER_LOG", "")
SPILL_S = 5.0  # how often a running test's whole seconds so far go to disk
TAB = "loadlab"
COLUMNS = [("cell", "Cell (archived when the test stops)"), ("users", "Users"),
           ("window_s", "Window s"), ("requests", "Requests"), ("failures", "Failures"),
           ("rps", "RPS"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"),
           ("server_cpu_pct", "Server CPU %"), ("server_rss_mb", "Server RSS MB"),
           ("server_threads", "Server threads"), ("generator_cpu_pct", "Generator CPU %"),
           ("flags", "Flags")]


def _log_size() -> int | None:
    try:
        return os.path.getsize(SERVER_LOG) if SERVER_LOG else None
    except OSError:
        return None


def _write_json(path: str, data: Any) -> None:
    """Whole or not at all: the harness may read it at any moment."""
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


class Test:
    """One test: its users per request name (flavor), its window and its exact totals."""

    def __init__(self, index: int, opened: float, cause: str) -> None:
        self.index = index
        self.opened = opened
        self.cause = cause  # start, edit or reset
        self.users: dict[str, int] = {}  # request name (flavor) -> its class's users
        self.classes: dict[str, str] = {}  # request name -> user class
        self.start: float | None = None  # the window's start, once warmed up
        self.log_from: int | None = None
        self.totals: dict[str, Slot] = {}  # request name -> the whole window's answers
        self.timer: gevent.Greenlet | None = None

    def record(self, name: str, response_time_ms: float, failed: bool) -> None:
        tally(self.totals, name, response_time_ms, failed)


class Session:
    """The tests of one web UI session, one at a time."""

    def __init__(self) -> None:
        self.count = 0
        self.test: Test | None = None
        self.environment: Any = None

    def open(self, cause: str) -> None:
        self.count += 1
        self.test = Test(self.count, time.time(), cause)
        self._publish()

    def spawned(self) -> None:
        """Spawning completed: who runs, and the window after the warmup."""
        test = self.test
        if test is None:
            return
        runner = self.environment.runner
        for class_name, n in runner.user_classes_count.items():
            if not n:
                continue
            cls = self.environment.available_user_classes.get(class_name)
            name = getattr(cls, "flavor", "") or class_name
            test.users[name], test.classes[name] = n, class_name
        if test.start is None and test.timer is None:
            test.timer = gevent.spawn_later(WARMUP_S, self.begin, test)
        self._publish()

    def begin(self, test: Test) -> None:
        """The window starts: the recorder's seconds restart at this instant."""
        if test is not self.test:
            return
        test.start = time.time()
        clock.phase = test.start % 1
        recorder.clear()
        test.totals.clear()
        test.log_from = _log_size()
        self._publish()

    def close(self, reason: str) -> None:
        """The test ends: its files, taken now, into tests/NNN/."""
        test, self.test = self.test, None
        if test is None:
            return
        if test.timer is not None:
            test.timer.kill(block=False)
        end = time.time()
        folder = self._folder(test)
        if test.start is not None:
            recorder.dump(os.path.join(folder, f"latency-{os.getpid()}.json"))
            _write_json(os.path.join(folder, "window.json"),
                        {"start": test.start, "end": end, "phase": clock.phase})
            self._locust_files(folder)
        recorder.clear()
        _write_json(os.path.join(folder, "test.json"), {
            "index": test.index, "opened": test.opened, "cause": test.cause,
            "ended": reason, "window": None if test.start is None else [test.start, end],
            "warmup_s": WARMUP_S, "users": test.users, "classes": test.classes,
            "server_log": None if test.log_from is None else [test.log_from, _log_size()]})
        self._publish()

    def _locust_files(self, folder: str) -> None:
        """Locust's own numbers for this test, as they stand at its end."""
        env = self.environment
        writer = StatsCSV(env, PERCENTILES_TO_REPORT)
        for name, write in (("locust_stats.csv", writer.requests_csv),
                            ("locust_failures.csv", writer.failures_csv),
                            ("locust_exceptions.csv", writer.exceptions_csv)):
            with open(os.path.join(folder, name), "w", newline="") as f:
                write(csv.writer(f))
        with open(os.path.join(folder, "locust_report.html"), "w") as f:
            f.write(get_html_report(env, show_download_link=False))

    def _publish(self) -> None:
        """current.json: the running test and its throughput so far, for the harness
        (it names the cells and applies the flag rules to them)."""
        test = self.test
        data: dict[str, Any] = {"index": None}
        if test is not None:
            seconds = time.time() - test.start if test.start is not None else 0.0
            data = {"index": test.index, "users": test.users, "window_start": test.start,
                    "rps": {name: total.ok / seconds for name, total in test.totals.items()}
                    if seconds >= 1 else {}}
        _write_json(os.path.join(SESSION_DIR, "current.json"), data)

    def publish_every(self, interval: float) -> None:
        """current.json each `interval`; each SPILL_S, the seconds so far to disk."""
        ticks = 0
        while True:
            gevent.sleep(interval)
            if self.test is not None and self.test.start is not None:
                self._publish()
                ticks += 1
                if ticks * interval >= SPILL_S:
                    ticks = 0
                    self._spill(self.test)

    def _spill(self, test: Test) -> None:
        """A long test's whole seconds go to a file of their own in its folder (the
        harness merges every latency-*.json there): in memory, one second holds ~150 KB
        per request name, an hour of two classes would hold a gigabyte."""
        done = clock.second(time.time())  # this second is still being recorded
        keep = {k: v for k, v in recorder.seconds.items() if k[1] >= done}
        recorder.seconds = {k: v for k, v in recorder.seconds.items() if k[1] < done}
        if recorder.seconds:
            folder = self._folder(test)
            recorder.dump(os.path.join(folder, f"latency-{os.getpid()}-{done}.json"))
        recorder.seconds = keep

    def _folder(self, test: Test) -> str:
        folder = os.path.join(SESSION_DIR, "tests", f"{test.index:03d}")
        os.makedirs(folder, exist_ok=True)
        return folder

    def rows(self) -> list[dict[str, Any]]:
        """The loadlab tab: one row per request name of the running test."""
        live = _read_live()
        test = self.test
        if test is None:
            return [{"cell": "no test running: start one"}]
        rows = []
        for name in sorted(test.users) or ["(spawning)"]:
            row: dict[str, Any] = {"cell": live.get("cells", {}).get(name, name),
                                   "users": test.users.get(name)}
            if test.start is None:
                row["flags"] = "warming up" if test.users else "spawning"
            else:
                total = test.totals.get(name) or Slot()
                seconds = time.time() - test.start
                row.update(window_s=round(seconds, 1), requests=total.requests,
                           failures=total.failed,
                           rps=round(total.ok / seconds, 1) if seconds else None,
                           **_percentiles(total.raw),
                           flags=" ".join(live.get("flags", {}).get(name, [])))
            for role in ("server", "generator"):
                for key, value in live.get(role, {}).items():
                    row[f"{role}_{key}"] = value
            rows.append(row)
        return rows


def _percentiles(hist: HdrHistogram | None) -> dict[str, float | None]:
    if hist is None or not hist.get_total_count():
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    return {f"p{p}_ms": round(hist.get_value_at_percentile(p) / 1000, 3) for p in (50, 95, 99)}


def _read_live() -> dict[str, Any]:
    try:
        with open(os.path.join(SESSION_DIR, "live.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


session = Session()


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    session.environment = environment
    gevent.spawn(session.publish_every, 1.0)
    web = environment.web_ui
    if web is None:
        return
    web.template_args["extended_tabs"] = [{"title": TAB, "key": TAB}]
    web.template_args["extended_tables"] = [
        {"key": TAB, "structure": [{"key": k, "title": t} for k, t in COLUMNS]}]

    @web.app.before_request
    def _swarm() -> Any:
        """An unknown user class is refused (Locust would start nothing, silently); a
        new user count for a running test ends it: the rest is another test."""
        if request.path != "/swarm" or request.method != "POST":
            return None
        known = environment.available_user_classes or {}
        unknown = [n for n in request.form.getlist("user_classes") if n not in known]
        if unknown:
            return jsonify({"success": False, "message": f"unknown user class(es):"
                            f" {', '.join(unknown)} (known: {', '.join(sorted(known))})"}), 400
        if session.test and environment.runner.state in (STATE_RUNNING, STATE_SPAWNING):
            session.close("edited")
            session.open("edit")
        return None

    @web.app.after_request
    def _extend(response: Any) -> Any:
        if request.path == "/stats/requests" and response.is_json:
            response.set_data(json.dumps({**response.json, "extended_stats": [
                {"key": TAB, "data": session.rows()}]}))
        return response


@events.test_start.add_listener
def _on_start(**_: Any) -> None:
    session.open("start")


@events.spawning_complete.add_listener
def _on_spawned(**_: Any) -> None:
    session.spawned()


@events.reset_stats.add_listener
def _on_reset(**_: Any) -> None:
    """A Reset ends the running test; the next window starts at once."""
    test = session.test
    if test is None or test.start is None:
        return  # spawning or warming up: the window has not started; it still will
    users, classes = test.users, test.classes
    session.close("reset")
    session.open("reset")
    assert session.test is not None
    session.test.users, session.test.classes = users, classes
    session.begin(session.test)


@events.test_stop.add_listener
def _on_stop(**_: Any) -> None:
    session.close("stopped")


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: BaseException | None,
                **_: Any) -> None:
    test = session.test
    if test is not None and test.start is not None:
        test.record(name, response_time, exception is not None)
