"""Locust as the load generator: its command line, and reading what it measured.

Locust runs as a child process (it monkey-patches with gevent, so never in ours). The
shared base (locustfiles/base.py) writes per-second histograms (latencyfile.py, the
format) and the measured window; here they are merged into one steady-state Measurement.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from ..analysis import bounds
from ..archive.records import PER_SECOND, PERCENTILES
from ..config.project import BUILTIN, Project
from ..errors import MeasurementError
from ..paths import ROOT
from ..proc.supervise import python_module
from ..stories import class_name
from . import latencyfile
from .latencyfile import Slot

LOCUSTFILES = ROOT / "locustfiles"
EDGE_S = 0.001  # float slack at the window's edges


def locustfile(scenario: str) -> Path:
    return LOCUSTFILES / f"{scenario}.py"


def locustfiles(project: Project, scenario: str) -> str:
    """Locust's -f for a scenario: the built-in story's file; a project's generic one
    (each flavor's path with GET); or the recorder beside the team's own user classes."""
    if project.builtin:
        return str(locustfile(scenario))
    if scenario in project.locustfiles:
        return f"{LOCUSTFILES / 'recorder.py'},{project.locustfiles[scenario]}"
    return str(LOCUSTFILES / "project.py")


def project_scenario(project: Project, scenario: str) -> str:
    """What locustfiles/project.py reads: the scenario's flavors, paths, status."""
    if project.builtin:
        return ""
    spec = next(s for s in project.scenarios if s.name == scenario)
    return json.dumps({"name": spec.name, "expect_status": spec.expect_status,
                       "flavors": {f.name: f.path for f in spec.flavors}})


def run_bound_s(users: int, spawn_rate: float, warmup_s: float, duration_s: float,
                hold_s: float = 0.0) -> float:
    """Locust's own --run-time: a backstop only; the base module quits on time itself.
    `hold_s`: how long it may wait for its go file (its clock runs meanwhile)."""
    return math.ceil(hold_s + users / spawn_rate + warmup_s + duration_s + 20)


def headless_argv(*, scenario: str, flavor: str, host: str, users: int, spawn_rate: float,
                  warmup_s: float, duration_s: float, cell_dir: Path,
                  processes: int = 1, hold_s: float = 0.0, report: bool = True,
                  project: Project = BUILTIN, master_port: int = 0,
                  master_bind: str = "127.0.0.1", wait_workers_s: float = 0,
                  locustfile: str | None = None, neighbour_users: int = 0) -> list[str]:
    """Locust headless for one cell; `report=False` writes no HTML report (the 1-user
    probe: its two numbers are in the record, its ~1 MB page would say nothing).
    `neighbour_users`: that many more users of the long-lived locustfiles' Neighbour
    class (its fixed_count) on a short view beside the cell's own."""
    users += neighbour_users
    bound = run_bound_s(users, spawn_rate, warmup_s, duration_s, hold_s)
    html = ("--html", str(cell_dir / "locust_report.html")) if report else ()
    argv = python_module(
        "locust", "-f", locustfile or locustfiles(project, scenario), "--headless",
        "--host", host, "-u", str(users), "-r", f"{spawn_rate:g}",
        "--run-time", f"{bound:.0f}s", "--csv", str(cell_dir / "locust"), *html,
        "--only-summary", "--stop-timeout", "0", "--exit-code-on-error", "0",
    )
    if master_port:  # a master with `processes` workers of loadlab's (--workers, remote)
        argv += ["--master", "--master-bind-host", master_bind, "--master-bind-port",
                 str(master_port), "--expect-workers", str(processes)]
        if wait_workers_s:  # then it starts with those it has: the cell fails, naming them
            argv += ["--expect-workers-max-wait", f"{wait_workers_s:g}"]
    elif processes > 1:
        argv += ["--processes", str(processes), "--master-bind-host", "127.0.0.1"]
    return [*argv, class_name(flavor), *(["Neighbour"] if neighbour_users else [])]


def worker_argv(master_host: str, master_port: int) -> list[str]:
    """A Locust worker of a cell's master: everything, the locustfile included, comes
    from the master (`-f -`), so a worker on another host needs only loadlab installed."""
    return python_module("locust", "--worker", "-f", "-", "--master-host", master_host,
                         "--master-port", str(master_port))


# What a worker's locustfile needs of the cell's settings (the window is the master's).
WORKER_SETTINGS = ("LOADLAB_RATE", "LOADLAB_ARRIVAL", "LOADLAB_PROCESSES",
                   "LOADLAB_PROJECT_SCENARIO", "LOADLAB_CATALOG_ROWS", "LOADLAB_QUERY",
                   "LOADLAB_SERVER_TIMING", "LOADLAB_DISCONNECT_SHARE",
                   "LOADLAB_NEIGHBOUR_USERS", "LOADLAB_NEIGHBOUR_PATH")


def cell_locustfile(project: Project, scenario: str, settings: dict[str, str]) -> str:
    """One cell's locustfile as its master serves it to workers (`locust --worker -f -`):
    the cell's settings, then the scenario's user classes (a team's own file inlined:
    it must not import files of its own folder to run on another host)."""
    given = {k: v for k, v in settings.items() if k in WORKER_SETTINGS}
    lines = ['"""One cell\'s locustfile, written by loadlab for its workers."""', "",
             "import os", "", f"os.environ.update({given!r})", ""]
    if project.builtin:
        lines.append(f"from locustfiles.{scenario} import *  # noqa: E402, F403")
    elif scenario in project.locustfiles:
        path = project.locustfiles[scenario]
        lines += ["import locustfiles.base  # noqa: E402, F401  (the recorder)",
                  f"exec(compile({path.read_text()!r}, {str(path)!r}, 'exec'))"]
    else:
        lines.append("from locustfiles.project import *  # noqa: E402, F403")
    return "\n".join(lines) + "\n"


def env(*, cell_dir: Path, warmup_s: float, duration_s: float, catalog_rows: int,
        rate: float | None = None, arrival: str = "uniform",
        processes: int = 1, server_timing: bool = False,
        go_file: Path | None = None, max_duration_s: float | None = None,
        project_scenario: str = "", query: str | None = None, disconnect: float = 0.0,
        neighbour_users: int = 0, neighbour_path: str = "") -> dict[str, str]:
    """What locustfiles/base.py reads: the window, the open model's rate, whether to
    read the app's Server-Timing (the unloaded-latency probe only), and the go file:
    Locust starts while the server boots (its imports take about a second) and sends
    nothing until the harness creates that file. `max_duration_s`: the stability
    windows' cap (one Locust process only: it alone sees every second).
    `project_scenario`: a team's scenario for locustfiles/project.py (JSON). `query`:
    what the user sends (else the story's own); a long-lived story's users also read
    the share they abandon halfway and the neighbour's users and path."""
    stable = max_duration_s if max_duration_s and processes == 1 else 0.0
    return {
        "LOADLAB_GO_FILE": str(go_file) if go_file else "",
        "LOADLAB_SERVER_TIMING": "1" if server_timing else "0",
        "LOADLAB_CELL_DIR": str(cell_dir),
        "LOADLAB_WARMUP_S": f"{warmup_s:g}",
        "LOADLAB_DURATION_S": f"{duration_s:g}",
        "LOADLAB_MAX_DURATION_S": f"{stable:g}",
        "LOADLAB_CATALOG_ROWS": str(catalog_rows),
        "LOADLAB_RATE": f"{rate:g}" if rate else "0",
        "LOADLAB_ARRIVAL": arrival,
        "LOADLAB_PROCESSES": str(processes),
        "LOADLAB_PROJECT_SCENARIO": project_scenario,
        **({"LOADLAB_QUERY": query} if query is not None else {}),
        **({"LOADLAB_DISCONNECT_SHARE": f"{disconnect:g}"} if disconnect else {}),
        **({"LOADLAB_NEIGHBOUR_USERS": str(neighbour_users),
            "LOADLAB_NEIGHBOUR_PATH": neighbour_path} if neighbour_users else {}),
    }


def percentiles_ms(hist: HdrHistogram) -> dict[str, float]:
    """The table's percentiles (and max, mean) of a µs histogram, in ms."""
    if not hist.get_total_count():
        return {}
    values = {k: hist.get_value_at_percentile(p) / 1000 for k, p in PERCENTILES.items()}
    values["max"] = hist.get_max_value() / 1000
    values["mean"] = hist.get_mean_value() / 1000
    return {k: round(v, 3) for k, v in values.items()}


def _second_percentiles(hist: HdrHistogram | None) -> dict[str, float | None]:
    """One second's p50..p99 in ms; None each when nothing was answered in it (a
    zero would read as the fastest second of all)."""
    if hist is None or not hist.get_total_count():
        return dict.fromkeys(PER_SECOND)
    return {k: round(hist.get_value_at_percentile(PERCENTILES[k]) / 1000, 3)
            for k in PER_SECOND}


@dataclass
class OpenLoad:
    """What the open model adds to a measurement: the schedule and its misses."""

    rate: float  # offered requests/s, all Locust processes together
    arrival: str
    corrected: HdrHistogram  # from each request's intended start
    lag: HdrHistogram  # intended -> actual start
    late: int  # started more than LATE_MS after their intended time
    unsent: int  # never started before the window closed
    offered_per_second: list[int] = field(default_factory=list)

    @property
    def start_lag_p99_ms(self) -> float:
        if not self.lag.get_total_count():
            return 0.0
        return round(self.lag.get_value_at_percentile(99.0) / 1000, 3)


@dataclass
class Measurement:
    """The steady state of one cell, from the harness's own histograms."""

    requests: int
    failures: int
    duration_s: float
    window: tuple[float, float]
    histogram: HdrHistogram
    rps_per_second: list[float] = field(default_factory=list)
    failures_per_second: list[int] = field(default_factory=list)
    # each second's own p50..p99 (ms; None for a second without an answer): the
    # evidence compare tests every percentile on. Corrected for the open model.
    latency_ms_per_second: dict[str, list[float | None]] = field(default_factory=dict)
    open: OpenLoad | None = None
    service: HdrHistogram | None = None  # the window's view times (Server-Timing; probe)
    stable: bool | None = None  # stability windows: settled before the cap (None: off)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def achieved_rps(self) -> float:
        """Answers per second, failed ones too: what the open model offered, achieved."""
        return (self.requests + self.failures) / self.duration_s if self.duration_s else 0.0

    @property
    def latency_ms(self) -> dict[str, float]:
        """Raw: from each request's actual start (what Locust sees)."""
        return percentiles_ms(self.histogram)

    @property
    def latency_corrected_ms(self) -> dict[str, float]:
        """From each request's intended start (open model only; else empty)."""
        return percentiles_ms(self.open.corrected) if self.open else {}

    def _second(self, percentile: str, i: int) -> float | None:
        values = self.latency_ms_per_second.get(percentile, [])
        return values[i] if i < len(values) else None

    def to_json(self) -> dict[str, Any]:
        """latency.json: the cell's histogram, its percentiles and its seconds."""
        return {
            "unit": "ms",
            "source": "harness HdrHistogram of successful response times (us, 3 digits)",
            "window": {"start": self.window[0], "end": self.window[1],
                       "whole_seconds": self.duration_s, "stable": self.stable},
            "requests": self.requests,
            "failures": self.failures,
            "percentiles": self.latency_ms,
            "per_second": [
                {"requests": r, "failures": f,
                 **{f"{k}_ms": self._second(k, i) for k in PER_SECOND}}
                for i, (r, f) in enumerate(zip(self.rps_per_second,
                                               self.failures_per_second, strict=True))
            ],
            "histogram": self.histogram.encode().decode() if self.requests else None,
            **({"open": {
                "rate": self.open.rate, "arrival": self.open.arrival,
                "achieved_rps": round(self.achieved_rps, 2),
                "percentiles_corrected": self.latency_corrected_ms,
                "late": self.open.late, "unsent": self.open.unsent,
                "start_lag_p99_ms": self.open.start_lag_p99_ms,
                "offered_per_second": self.open.offered_per_second,
                "histogram_corrected": (self.open.corrected.encode().decode()
                                        if self.open.corrected.get_total_count() else None),
            }} if self.open else {}),
        }

    def unloaded(self) -> tuple[float | None, float | None]:
        """(R0, S) of a 1-user measurement: a low percentile of its latency and view time."""
        return bounds.unloaded_ms(self.histogram), bounds.unloaded_ms(self.service)


def measured_names(cell_dir: Path) -> list[str]:
    """The request names (flavors) Locust recorded in this folder."""
    names: set[str] = set()
    for path in cell_dir.glob("latency-*.json"):
        try:
            names.update(latencyfile.read(path, keep=lambda _name, _second: False).names)
        except MeasurementError:
            continue
    return sorted(names)


def _check_shipped(shipped: dict[str, Any] | None, at_start: int | None) -> None:
    """Several Locust processes: every worker was there when the window began and
    reported to its end, and the seconds the master merged hold exactly the requests
    Locust's own stats count (both came in the same reports since the window's reset);
    else the cell has a hole, and fails."""
    if not shipped:
        return
    if at_start is not None and at_start < shipped["workers"]:
        raise MeasurementError(f"{shipped['workers'] - at_start} of {shipped['workers']}"
                               " Locust worker(s) had not joined when the window began")
    missing = shipped["workers"] - shipped["final_reports"]
    if missing > 0:
        raise MeasurementError(f"{missing} of {shipped['workers']} Locust worker(s) went"
                               " missing before the cell ended (lost, killed or never"
                               " joined): their seconds are not all here")
    if shipped["requests"] != shipped["locust_requests"]:
        raise MeasurementError(f"the workers' histograms hold {shipped['requests']}"
                               f" requests, Locust counted {shipped['locust_requests']}")


def read_measurement(cell_dir: Path, name: str | None = None,
                     keep_raw: bool = False) -> Measurement:
    """Merge every Locust process's seconds that lie wholly inside the measured window.

    `name` keeps one request name (a flavor) only; `keep_raw` leaves the per-process
    files in place (the web UI archives one cell per flavor from the same files).
    """
    try:
        window = json.loads((cell_dir / "window.json").read_text())
    except (OSError, ValueError):
        raise MeasurementError("Locust wrote no window.json (it did not finish)") from None
    if "start" not in window:
        raise MeasurementError("Locust stopped before the measured window began")
    _check_shipped(window.get("shipped"), window.get("workers_at_start"))
    start, end = float(window["start"]), float(window["end"])
    # whole seconds [first, last) of the recorder's clock, which starts each second at
    # `phase` past the wall clock's (locustfiles/base.py, Clock); 1 ms of float slack
    phase = float(window.get("phase", 0.0))
    first, last = math.ceil(start - phase - EDGE_S), math.floor(end - phase + EDGE_S)

    # every process's slot of each whole second, merged (the open model's parts too)
    per_second = {s: Slot() for s in range(first, last)}
    open_load: OpenLoad | None = None
    offered = dict.fromkeys(range(first, last), 0)
    service: HdrHistogram | None = None
    for path in sorted(cell_dir.glob("latency-*.json")):
        file = latencyfile.read(
            path, keep=lambda n, s: name in (None, n) and s in per_second)
        if abs(file.phase - phase) > EDGE_S:
            raise MeasurementError(f"{path.name} counts seconds from another edge than"
                                   " window.json")
        for second, hist in file.service.items():
            if second in per_second:  # warmup's cold answers stay out
                service = service if service is not None else latencyfile.histogram()
                service.add(hist)
        if file.arrivals is not None:
            arrivals = file.arrivals
            open_load = open_load or OpenLoad(0.0, arrivals.arrival, latencyfile.histogram(),
                                              latencyfile.histogram(), 0, 0)
            open_load.rate += arrivals.rate
            for second, n in arrivals.offered.items():
                if second in offered:
                    offered[second] += n
            open_load.unsent += sum(n for second, n in arrivals.unsent.items()
                                    if first <= second < last)
        for (_, second), slot in file.seconds.items():
            per_second[second].add(slot)
    if not keep_raw:
        for path in cell_dir.glob("latency-*.json"):
            path.unlink()

    merged = latencyfile.histogram()
    rps, fails = [], []
    seconds: dict[str, list[float | None]] = {k: [] for k in PER_SECOND}
    for s in sorted(per_second):
        slot = per_second[s]
        rps.append(float(slot.ok))
        fails.append(slot.failed)
        if slot.raw is not None:
            merged.add(slot.raw)
        if open_load is not None:
            open_load.late += slot.late
            for total, hist in ((open_load.lag, slot.lag),
                                (open_load.corrected, slot.corrected)):
                if hist is not None:
                    total.add(hist)
        shown = slot.corrected if open_load is not None else slot.raw
        for k, v in _second_percentiles(shown).items():
            seconds[k].append(v)
    return Measurement(
        requests=int(sum(rps)),
        failures=sum(fails),
        duration_s=float(len(per_second)),
        window=(start, end),
        histogram=merged,
        rps_per_second=rps,
        failures_per_second=fails,
        latency_ms_per_second=seconds,
        open=open_load and replace(open_load, offered_per_second=list(offered.values())),
        service=service,
        stable=window.get("stable"),
    )
