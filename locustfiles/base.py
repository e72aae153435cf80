"""What every locustfile shares: the user base class, validation, and the recorder.

The recorder keeps the harness's own latency histogram (docs/DESIGN.md, "Rules of
measurement"): every response time, in microseconds, from Locust's `request` event,
in one HdrHistogram per wall-clock second. Locust's own buckets round to whole
milliseconds below 100 ms; this does not. Each Locust process writes its seconds to
`latency-<pid>.json` in LOADLAB_CELL_DIR when it quits; the harness merges them and
keeps only the seconds of the measured window.

The window: when spawning completes, the controlling process (local or master) waits
LOADLAB_WARMUP_S, resets Locust's stats (so Locust's own files are steady-state too),
measures for LOADLAB_DURATION_S, writes `window.json` and quits.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
from hdrh.histogram import HdrHistogram
from locust import FastHttpUser, constant, events, task
from locust.runners import WorkerRunner

from app.scenarios import get as get_scenario

HIGHEST_US = 120_000_000  # two minutes: past any client timeout
SIGNIFICANT_DIGITS = 3


class ScenarioUser(FastHttpUser):
    """Requests one flavor of one scenario in a closed loop and validates each answer.

    Subclasses set `scenario` (and, per flavor, `flavor`) and override `check` to
    validate the body: a wrong answer must be a failure, not a fast success.
    """

    abstract = True
    scenario: str = ""
    flavor: str = ""
    wait_time = constant(0)

    def on_start(self) -> None:
        flavor = get_scenario(self.scenario).flavor(self.flavor)
        query = os.environ.get("LOADLAB_QUERY", get_scenario(self.scenario).query)
        self.url = flavor.path + (f"?{query}" if query else "")

    def request_url(self) -> str:
        """The URL of the next request; scenarios that vary it override this."""
        return self.url

    @task
    def hit(self) -> None:
        url = self.request_url()
        with self.client.get(url, name=self.flavor, catch_response=True) as response:
            problem = self.validate(response)
            if problem:
                response.failure(problem)

    def validate(self, response: Any) -> str | None:
        if response.status_code != 200:
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


class Recorder:
    """Per-name, per-second HdrHistograms of successful response times, and failures."""

    def __init__(self) -> None:
        # (request name, second) -> [histogram, ok, failed]
        self.seconds: dict[tuple[str, int], list[Any]] = {}

    def record(self, name: str, response_time_ms: float, failed: bool) -> None:
        key = (name, int(time.time()))
        slot = self.seconds.get(key)
        if slot is None:
            slot = self.seconds[key] = [
                HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS), 0, 0,
            ]
        if failed:
            slot[2] += 1
        else:
            slot[0].record_value(min(max(int(response_time_ms * 1000), 1), HIGHEST_US))
            slot[1] += 1

    def dump(self, path: str) -> None:
        names: dict[str, dict[str, Any]] = {}
        for (name, second), (hist, ok, failed) in sorted(self.seconds.items()):
            names.setdefault(name, {})[str(second)] = {
                "ok": ok, "failed": failed,
                "histogram": hist.encode().decode() if ok else None,
            }
        data = {"unit": "us", "significant_digits": SIGNIFICANT_DIGITS, "names": names}
        with open(path, "w") as f:
            json.dump(data, f)


recorder = Recorder()
window: dict[str, float] = {}


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: BaseException | None,
                **_: Any) -> None:
    recorder.record(name, response_time, exception is not None)


@events.spawning_complete.add_listener
def _on_spawned(user_count: int, **_: Any) -> None:
    environment = _env["environment"]
    if isinstance(environment.runner, WorkerRunner) or "spawned" in window:
        return
    window["spawned"] = time.time()
    if float(os.environ.get("LOADLAB_DURATION_S", "0")):
        gevent.spawn(_measure, environment)
    else:  # the web UI: measure from the first spawn until the user quits
        window["start"] = window["spawned"]


def _measure(environment: Any) -> None:
    warmup = float(os.environ.get("LOADLAB_WARMUP_S", "0"))
    duration = float(os.environ.get("LOADLAB_DURATION_S", "0"))
    gevent.sleep(warmup)
    environment.runner.stats.reset_all()
    window["start"] = time.time()
    gevent.sleep(duration)
    window["end"] = time.time()
    environment.runner.quit()


_env: dict[str, Any] = {}


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    _env["environment"] = environment


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    cell_dir = os.environ.get("LOADLAB_CELL_DIR")
    if not cell_dir:
        return
    os.makedirs(cell_dir, exist_ok=True)
    recorder.dump(os.path.join(cell_dir, f"latency-{os.getpid()}.json"))
    if not isinstance(environment.runner, WorkerRunner):
        window.setdefault("end", time.time())
        with open(os.path.join(cell_dir, "window.json"), "w") as f:
            json.dump(window, f)
