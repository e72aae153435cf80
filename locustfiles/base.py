"""What every locustfile shares: the user base class, validation, and the recorder.

The recorder keeps the harness's own latency histogram (docs/DESIGN.md, "Rules of
measurement"): every response time, in microseconds, from Locust's `request` event,
in one HdrHistogram per wall-clock second. Locust's own buckets round to whole
milliseconds below 100 ms; this does not. Each Locust process writes its seconds to
`latency-<pid>.json` in LOADLAB_CELL_DIR when it quits; the harness merges them and
keeps only the seconds of the measured window. The file's format, and its slot (one
name's one second), are scripts/load/latencyfile.py's: it writes here and reads there.

The go file (LOADLAB_GO_FILE): the harness starts Locust while the server boots, so its
imports overlap the server's; no user spawns until the harness creates that file.

The window: when spawning completes, the controlling process (local or master) waits
LOADLAB_WARMUP_S, resets Locust's stats (so Locust's own files are steady-state too),
measures for LOADLAB_DURATION_S, writes `window.json` and quits. The harness keeps whole
seconds only: one process starts its seconds where the window starts (Clock), so every
second of the duration counts; with several processes the window waits for the next
wall-clock second instead.

Open model (LOADLAB_RATE > 0): a total arrival rate R, shared by every Locust process
(each takes its share of one schedule: evenly spaced by default, Poisson with
LOADLAB_ARRIVAL=poisson). A dispatcher greenlet puts each request's *intended* start
time on a queue at that time; the users (the concurrency cap) take them. A request that
starts after its intended time waited because no user was free. Every response is then
recorded twice: from its actual start (raw, what Locust sees) and from its intended
start (corrected for coordinated omission, as wrk2 does), with the start lag; arrivals
still queued when the process quits are counted as unsent.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from typing import Any

import gevent
import gevent.queue
from hdrh.histogram import HdrHistogram
from locust import FastHttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from app.scenarios import get as get_scenario
from scripts.load import latencyfile
from scripts.load.latencyfile import HIGHEST_US, Arrivals, LatencyFile, Slot

LATE_MS = 5.0  # a start lag above this counts as late (gevent's timer jitter is below)
# The unloaded-latency probe also reads the app's `Server-Timing: app;dur=<ms>` (the view's
# own time: the service time S of the concurrency bound). Off in measured cells.
SERVER_TIMING = os.environ.get("LOADLAB_SERVER_TIMING") == "1"


def _us(ms: float) -> int:
    return min(max(int(ms * 1000), 1), HIGHEST_US)


class Clock:
    """Where this process's seconds begin. The harness keeps whole seconds only; with
    one Locust process the seconds start where the window does (`phase`, set when the
    users are spawned), so no part of a second is lost and none is waited for. With
    several processes they stay wall-clock seconds and the window waits for one."""

    def __init__(self) -> None:
        self.phase = 0.0
        self.start: float | None = None  # where the window starts, once known

    def second(self, t: float) -> int:
        return math.floor(t - self.phase)


clock = Clock()


class Schedule:
    """This process's share of the open model's arrivals, as intended start times."""

    def __init__(self) -> None:
        self.rate = float(os.environ.get("LOADLAB_RATE", "0") or 0)
        self.arrival = os.environ.get("LOADLAB_ARRIVAL", "uniform")
        self.queue: gevent.queue.Queue = gevent.queue.Queue()
        self.offered: dict[int, int] = {}
        self.started = False

    @property
    def active(self) -> bool:
        return self.rate > 0

    def start(self, index: int, processes: int) -> None:
        """Dispatch arrivals `index`, `index + processes`, ... of the one schedule."""
        if self.started or not self.active:
            return
        self.started = True
        gevent.spawn(self._dispatch, index, max(1, processes))

    def _dispatch(self, index: int, processes: int) -> None:
        rng = random.Random(os.getpid())
        interval = processes / self.rate  # this process's mean gap
        due = time.time() + index / self.rate
        while True:
            now = time.time()
            while due <= now:
                self.queue.put(due)
                second = clock.second(due)
                self.offered[second] = self.offered.get(second, 0) + 1
                due += rng.expovariate(1 / interval) if self.arrival == "poisson" else interval
            gevent.sleep(max(0.0, due - time.time()))

    def take(self) -> float:
        """Block until an arrival is due; its intended start time."""
        return self.queue.get()

    def unsent(self) -> dict[int, int]:
        """Arrivals never started (still queued), per intended second."""
        left: dict[int, int] = {}
        for due in list(self.queue.queue):
            second = clock.second(due)
            left[second] = left.get(second, 0) + 1
        return left

    def take_offered(self) -> dict[int, int]:
        """The arrivals offered since the last call (a worker's report carries them)."""
        offered, self.offered = self.offered, {}
        return offered


schedule = Schedule()


class ScenarioUser(FastHttpUser):
    """Requests one flavor of one scenario in a closed loop and validates each answer.

    Subclasses set `scenario` (and, per flavor, `flavor`) and override `check` to
    validate the body: a wrong answer must be a failure, not a fast success.
    """

    abstract = True
    scenario: str = ""
    flavor: str = ""
    path: str = ""  # a team's scenario sets it; else the story's, from the registry
    expect_status: int = 200
    wait_time = constant(0)

    def on_start(self) -> None:
        if not self.path:
            story = get_scenario(self.scenario)
            self.path = story.flavor(self.flavor).path
            self.expect_status = story.expect_status
            query = os.environ.get("LOADLAB_QUERY", story.query)
        else:
            query = os.environ.get("LOADLAB_QUERY", "")
        self.url = self.path + (f"?{query}" if query else "")

    def request_url(self) -> str:
        """The URL of the next request; scenarios that vary it override this."""
        return self.url

    @task
    def hit(self) -> None:
        intended = schedule.take() if schedule.active else None
        url = self.request_url()
        started = time.time()
        with self.client.get(url, name=self.flavor, catch_response=True) as response:
            problem = self.validate(response)
            if problem:
                response.failure(problem)
            elif SERVER_TIMING:
                recorder.record_service(response.headers.get("Server-Timing", ""))
        if intended is not None:
            recorder.record_open(self.flavor, intended, started, time.time(),
                                 failed=problem is not None)

    def validate(self, response: Any) -> str | None:
        if response.status_code != self.expect_status:
            return f"HTTP {response.status_code}"
        return self.check(response)

    def check(self, response: Any) -> str | None:
        """Return what is wrong with a 200 answer, or None when it is right."""
        return None


def json_body(response: Any) -> tuple[Any, str | None]:
    """The decoded JSON body, or the reason there is none."""
    try:
        return response.json(), None
    except ValueError:
        return None, "body is not JSON"


def json_object(response: Any) -> str | None:
    """What is wrong with a body that should be a JSON object, or None."""
    body, problem = json_body(response)
    return problem or (None if isinstance(body, dict) else "body is not a JSON object")


def tally(slots: dict[Any, Slot], key: Any, response_time_ms: float,
          failed: bool) -> None:
    """One answer into `slots[key]` (the recorder's seconds, a UI test's totals)."""
    slot = slots.get(key)
    if slot is None:
        slot = slots[key] = Slot()
    slot.record(_us(response_time_ms), failed)


class Recorder:
    """Per-name, per-second HdrHistograms of successful response times, and failures;
    with the open model also corrected times, start lags and late starts."""

    def __init__(self) -> None:
        self.seconds: latencyfile.Seconds = {}  # (request name, second) -> its slot
        # second -> the view's own times (us, Server-Timing; the probe only), by second
        # like the answers, so the window keeps warm ones only
        self.service: dict[int, HdrHistogram] = {}

    def record(self, name: str, response_time_ms: float, failed: bool) -> None:
        tally(self.seconds, (name, clock.second(time.time())), response_time_ms, failed)

    def record_service(self, header: str) -> None:
        for part in header.split(";"):
            if part.strip().startswith("dur="):
                second = clock.second(time.time())
                if second not in self.service:
                    self.service[second] = latencyfile.histogram()
                self.service[second].record_value(_us(float(part.strip()[4:])))

    def record_open(self, name: str, intended: float, started: float, ended: float,
                    failed: bool) -> None:
        """The same response seen from its intended start (same second as record())."""
        key = (name, clock.second(ended))
        slot = self.seconds.get(key)
        if slot is None:
            slot = self.seconds[key] = Slot()
        lag_ms = max(0.0, (started - intended) * 1000)
        slot.record_open(_us(lag_ms), lag_ms > LATE_MS,
                         None if failed else _us((ended - intended) * 1000))

    def clear(self) -> None:
        """Forget every second so far: all warmup, counted before the Clock moved."""
        self.seconds.clear()
        self.service.clear()

    def dump(self, path: str) -> None:
        file = LatencyFile(phase=clock.phase, seconds=self.seconds, service=self.service)
        if schedule.active:  # a master's arrivals are its workers'
            source = shipped if shipped.workers else schedule
            file.arrivals = Arrivals(schedule.rate, schedule.arrival,
                                     dict(source.offered), source.unsent())
        latencyfile.write(path, file)


recorder = Recorder()
window: dict[str, Any] = {}


class Shipped:
    """Several Locust processes (a master and its workers): no worker writes a file.
    Each worker's report to the master carries its seconds since the last report (Locust's
    own stats travel the same way, as deltas), and the master adds them to its recorder.
    The master also counts the requests it received after its stats were reset: equal to
    Locust's own total by construction, so a difference is a lost or doubled report."""

    def __init__(self) -> None:
        self.workers: dict[str, float] = {}  # worker id -> when its last report came
        self.since_reset: int | None = None  # None until the window's reset
        self.offered: dict[int, int] = {}
        self.queued: dict[str, dict[int, int]] = {}  # per worker, its latest report's
        self.bytes = 0  # what the seconds cost to ship (as JSON; Locust sends msgpack)

    def unsent(self) -> dict[int, int]:
        total: dict[int, int] = {}
        for left in self.queued.values():
            for second, n in left.items():
                total[second] = total.get(second, 0) + n
        return total


shipped = Shipped()


@events.report_to_master.add_listener
def _ship(client_id: str, data: dict[str, Any], **_: Any) -> None:
    """A worker's report: its seconds and arrivals since the last one, then forgotten."""
    data["loadlab"] = {"names": latencyfile.encode(recorder.seconds),
                       "offered": schedule.take_offered(),
                       "queued": schedule.unsent()}
    recorder.clear()


@events.worker_report.add_listener
def _absorb(client_id: str, data: dict[str, Any], **_: Any) -> None:
    part = data.get("loadlab")
    if part is None:
        return
    shipped.workers[client_id] = time.time()
    shipped.bytes += len(json.dumps(part))
    count = latencyfile.absorb(recorder.seconds, latencyfile.decode(part["names"]))
    if shipped.since_reset is not None:
        shipped.since_reset += count
    for second, n in part["offered"].items():
        shipped.offered[int(second)] = shipped.offered.get(int(second), 0) + n
    shipped.queued[client_id] = {int(k): v for k, v in part["queued"].items()}


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: BaseException | None,
                **_: Any) -> None:
    recorder.record(name, response_time, exception is not None)


@events.test_start.add_listener
def _wait_for_go(**_: Any) -> None:
    """Hold the spawn until the server is up (bounded by Locust's --run-time)."""
    go = os.environ.get("LOADLAB_GO_FILE")
    while go and not os.path.exists(go):
        gevent.sleep(0.005)


@events.spawning_complete.add_listener
def _on_spawned(user_count: int, **_: Any) -> None:
    environment = _env["environment"]
    runner = environment.runner
    now = time.time()
    timed = float(os.environ.get("LOADLAB_DURATION_S", "0")) > 0
    alone = not isinstance(runner, (MasterRunner, WorkerRunner))
    if alone and timed and "spawned" not in window:
        # the seconds start where the window will: what came before is warmup anyway
        clock.start = now + float(os.environ.get("LOADLAB_WARMUP_S", "0"))
        clock.phase = clock.start % 1
        recorder.clear()
    if not isinstance(runner, MasterRunner):  # this process runs users: its arrivals
        schedule.start(getattr(runner, "worker_index", 0),
                       int(os.environ.get("LOADLAB_PROCESSES", "1")))
    if isinstance(runner, WorkerRunner) or "spawned" in window:
        return
    window["spawned"] = now
    if timed:
        gevent.spawn(_measure, environment)
    else:  # the web UI: measure from the first spawn until the user quits
        window["start"] = window["spawned"]


RESET_LEAD_S = 0.05  # Locust's stats reset this long before the window's first second
# Stability windows (LOADLAB_MAX_DURATION_S > the duration; one process only): after
# the duration, measure on a second at a time until the last STABLE_SECONDS seconds'
# throughput and p95 are each within STABLE_TOLERANCE of their mean (perf_analyzer's
# rule), or the cap is reached; window.json says which.
STABLE_SECONDS = 3
STABLE_TOLERANCE = 0.10


def _measure(environment: Any) -> None:
    """Warm up, then measure from the first of this process's seconds after it (Clock):
    the harness keeps whole seconds only, and a window started mid-second lost one."""
    warmup = float(os.environ.get("LOADLAB_WARMUP_S", "0"))
    duration = float(os.environ.get("LOADLAB_DURATION_S", "0"))
    gevent.sleep(max(0.0, warmup - RESET_LEAD_S))
    # Locust's own stats restart just before that second, so its files cover the window
    start = clock.start or math.ceil(time.time() + RESET_LEAD_S)  # several processes
    _sleep_until(start - RESET_LEAD_S)
    environment.runner.stats.reset_all()
    if isinstance(environment.runner, MasterRunner):
        shipped.since_reset = 0  # from here on it counts what Locust's stats count
        window["workers_at_start"] = environment.runner.worker_count
    window["start"] = start
    window["phase"] = clock.phase
    _sleep_until(start + duration)
    cap = float(os.environ.get("LOADLAB_MAX_DURATION_S", "0"))
    if cap > duration and clock.start is not None:  # one process: it sees every second
        stable = settled(time.time())
        while not stable and (edge := start + math.floor(time.time() - start) + 1) \
                <= start + cap + 1e-6:
            _sleep_until(edge)
            stable = settled(time.time())
        window["stable"] = stable
    window["end"] = time.time()
    environment.runner.quit()


def settled(now: float, seconds: int = STABLE_SECONDS,
            tolerance: float = STABLE_TOLERANCE) -> bool:
    """Did the last `seconds` whole seconds before `now` answer about as many requests,
    about as fast (p95)? Each within `tolerance` of their mean; a second without an
    answer is never settled."""
    last = clock.second(now)  # the second running now is not whole yet
    if clock.start is None or last - seconds < clock.second(clock.start + 0.001):
        return False  # not yet that many seconds inside the window (warmup's do not count)
    counts, p95s = [], []
    for second in range(last - seconds, last):
        merged, ok = latencyfile.histogram(), 0
        for (_, s), slot in recorder.seconds.items():
            if s == second and slot.ok and slot.raw is not None:
                merged.add(slot.raw)
                ok += slot.ok
        if not ok:
            return False
        counts.append(ok)
        p95s.append(merged.get_value_at_percentile(95.0))
    return all(_within(values, tolerance) for values in (counts, p95s))


def _within(values: list[float], tolerance: float) -> bool:
    mean = sum(values) / len(values)
    return all(abs(v - mean) <= tolerance * mean for v in values)


def _sleep_until(moment: float) -> None:
    """Sleep until the wall clock reads `moment` (a timer may wake a little early)."""
    while (left := moment - time.time()) > 0:
        gevent.sleep(left)


_env: dict[str, Any] = {}


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    _env["environment"] = environment


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    cell_dir = os.environ.get("LOADLAB_CELL_DIR")
    if not cell_dir or isinstance(environment.runner, WorkerRunner):
        return  # a worker's seconds went to the master with its reports
    if isinstance(environment.runner, MasterRunner):
        end = window.get("end", time.time())
        window["shipped"] = {
            "requests": shipped.since_reset, "locust_requests":
                environment.runner.stats.total.num_requests,
            "workers": int(os.environ.get("LOADLAB_PROCESSES", "1")),
            # a worker that reported after the window's end was there to its end
            "final_reports": sum(t >= end for t in shipped.workers.values()),
            "bytes": shipped.bytes}
    os.makedirs(cell_dir, exist_ok=True)
    recorder.dump(os.path.join(cell_dir, f"latency-{os.getpid()}.json"))
    window.setdefault("end", time.time())
    with open(os.path.join(cell_dir, "window.json"), "w") as f:
        json.dump(window, f)
