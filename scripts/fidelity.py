"""`loadlab fidelity`: does loadlab's generator see the throughput wrk sees?

The hello scenario's sync view, on one WSGI and one ASGI server, is driven to its peak
twice on the same pinned setup: by loadlab exactly as `loadlab bench` runs it (Locust
FastHttpUser through `Bench`, a fresh server per cell) and by wrk (a C load generator,
pinned to the generator's CPUs like Locust, a fresh server per measurement too). Each
tool's peak is the best of a few concurrency levels; the ratio loadlab/wrk says how much
of the server's real capacity loadlab can measure. Target: >= 0.95.

Only the supervisor starts processes: wrk runs through `supervise.Process`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import psutil

from . import services, supervise
from .bench import EXIT_INTERRUPTED, Bench, Interrupted, Options, interrupts
from .config import Matrix, Pinning
from .plan import Cell, Choices, build_plan
from .progress import Progress
from .resources import Sampler
from .runfolder import CellRecord

SCENARIO, FLAVOR = "hello", "sync"
DEFAULT_SERVERS = ("gunicorn-sync", "uvicorn")
DEFAULT_USERS = (8, 32)
DEFAULT_CONNECTIONS = (8, 32)
DEFAULT_DURATION_S = 5.0
DEFAULT_WARMUP_S = 1.0
TARGET = 0.95
BUSY_PCT = 15.0  # CPU % (of one core) used by others that makes a run noisy
WRK_INSTALL = "wrk not found: apt-get install wrk"
NO_UPSTREAM = "http://127.0.0.1:9"  # hello never calls upstream; the app needs a URL


class WrkMissing(Exception):
    """wrk is not installed; the message is the one line the user sees."""


class WrkOutputError(Exception):
    """wrk's output has no throughput in it."""


# --- wrk -------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.non_2xx


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"([\d.]+)(us|ms|s|m|h)\b")


def _ms(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise WrkOutputError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    """The numbers of wrk's plain-text report (with or without `--latency`)."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    total = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", text, re.M)
    if not rps or not total:
        raise WrkOutputError("wrk printed no 'Requests/sec:' (see its output)")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+),"
                       r" timeout (\d+)", text)
    socket_errors = (dict(zip(("connect", "read", "write", "timeout"),
                              map(int, errors.groups()), strict=True)) if errors else {})
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    latency: dict[str, float] = {}
    mean = re.search(r"^\s*Latency\s+(\S+)\s+\S+\s+(\S+)", text, re.M)
    if mean:
        latency["mean"], latency["max"] = _ms(mean.group(1)), _ms(mean.group(2))
    for pct, value in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", text, re.M):
        latency[f"p{pct}"] = _ms(value)
    return WrkResult(
        requests=int(total.group(1)),
        duration_s=round(_ms(total.group(2)) / 1000, 3),
        rps=float(rps.group(1)),
        socket_errors=socket_errors,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        latency_ms={k: round(v, 3) for k, v in latency.items()},
    )


def wrk_path() -> str:
    path = shutil.which("wrk")
    if not path:
        raise WrkMissing(WRK_INSTALL)
    return path


def wrk_argv(url: str, connections: int, duration_s: float) -> list[str]:
    # One thread: the generator's CPU share is one core, as Locust's is.
    return [wrk_path(), "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
            "--latency", url]


# --- one measurement -------------------------------------------------------------------


@dataclass
class Point:
    """One tool at one concurrency level on a fresh server."""

    tool: str  # loadlab | wrk
    server: str
    concurrency: int  # Locust users or wrk connections
    trial: int = 1
    status: str = "ok"
    rps: float = 0.0
    requests: int = 0
    errors: int = 0
    server_cpu_pct: float | None = None
    generator_cpu_pct: float | None = None
    other_cpu_pct: float | None = None  # the machine's CPU used by processes not ours
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    window: tuple[float, float] | None = None  # the measured seconds (epoch)
    # Wall-clock costs beyond the measured seconds (the per-cell overhead):
    ready_s: float | None = None  # server start to its first answer
    generator_start_s: float | None = None  # Locust start to all users spawned
    stop_s: float | None = None  # end of the measured window to everything stopped
    wall_s: float | None = None  # the whole measurement, start to stopped

    @property
    def generator_us_per_request(self) -> float | None:
        """The generator's CPU time per request: its cost, whatever the contention."""
        if not self.rps or self.generator_cpu_pct is None:
            return None
        return round(self.generator_cpu_pct / 100 / self.rps * 1e6, 1)

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "generator_us_per_request": self.generator_us_per_request}


def measure_wrk(matrix: Matrix, pinning: Pinning, server_name: str, connections: int,
                duration_s: float, warmup_s: float, work: Path, trial: int = 1) -> Point:
    """wrk against a fresh server: warm up, measure, stop; the server on its CPUs."""
    spec = matrix.server(server_name)
    point = Point("wrk", server_name, connections, trial)
    cell_dir = work / "wrk" / server_name / f"c{connections}-t{trial}"
    cell_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    server: supervise.Process | None = None
    try:
        server, base, ready = services.start_server(
            spec, 0, services.app_env(matrix, NO_UPSTREAM, None), cell_dir / "server.log",
            pinning.cpus("server"))
        point.ready_s = round(ready, 3)
        url = base + services.READY_PATH
        if warmup_s > 0:
            _run_wrk(url, connections, warmup_s, cell_dir / "wrk-warmup.log", pinning)
        log = cell_dir / "wrk.log"
        wrk = supervise.Process("wrk", wrk_argv(url, connections, duration_s),
                                log_path=log, cpus=pinning.cpus("generator"))
        with Sampler({"server": server.tree, "generator": wrk.tree},
                     cell_dir / "resources.csv") as sampler:
            start = time.time()
            wrk.start()
            code = _wait(wrk, duration_s)
            end = time.time()
        point.window = (start, end)
        if code != 0:
            raise WrkOutputError(f"wrk exited with code {code}: {wrk.log_tail(3)}")
        result = parse_wrk(log.read_text(errors="replace"))
        point.rps, point.requests, point.errors = result.rps, result.requests, result.errors
        for role in ("server", "generator"):
            summary = sampler.summary(role, start + 1, end - 0.5)
            if summary:
                setattr(point, f"{role}_cpu_pct", summary["cpu_pct"])
        if result.errors:
            point.warnings.append(f"{result.errors} errors ({result.socket_errors},"
                                  f" non-2xx {result.non_2xx})")
        stopping = time.monotonic()
        server.stop()
        point.stop_s = round(time.monotonic() - stopping, 3)
    except (supervise.NotReady, supervise.PortInUse, WrkOutputError) as exc:
        point.status, point.error = "failed", str(exc).splitlines()[0]
    finally:
        if server is not None:
            server.stop()
    point.wall_s = round(time.monotonic() - began, 3)
    return point


def _run_wrk(url: str, connections: int, seconds: float, log: Path,
             pinning: Pinning) -> None:
    proc = supervise.Process("wrk warmup", wrk_argv(url, connections, seconds),
                             log_path=log, cpus=pinning.cpus("generator")).start()
    _wait(proc, seconds)


def _wait(proc: supervise.Process, seconds: float) -> int:
    try:
        return proc.wait(seconds + 15)
    except subprocess.TimeoutExpired:
        proc.stop()
        raise WrkOutputError(f"{proc.name} did not finish in time") from None


class _Timing(Progress):
    """Quiet progress that notes when each cell starts and ends (wall clock)."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.started: dict[int, float] = {}
        self.done: dict[int, float] = {}
        self.measuring: dict[int, float] = {}
        self.run_dir: Path | None = None

    def cell_started(self, cell: Cell, total: int, left_s: float) -> None:
        self.started[cell.index] = time.time()

    def cell_done(self, cell: Cell, record: CellRecord) -> None:
        self.done[cell.index] = time.time()

    def hook(self, phase: str, cell: Cell) -> None:
        if phase == "measuring":
            self.measuring[cell.index] = time.time()

    def run_done(self, path: Path, records: list[CellRecord], status: str) -> None:
        self.run_dir = path


def measure_loadlab(matrix: Matrix, server_name: str, users: int, duration_s: float,
                    warmup_s: float, processes: int, pin: bool, work: Path,
                    trial: int = 1) -> Point:
    """One hello sync cell of `loadlab bench` (a Bench of its own: a fresh server)."""
    plan = build_plan(matrix, Choices(
        profile="smoke", servers=(server_name,), scenarios=(SCENARIO,), flavors=(FLAVOR,),
        users=(users,), duration_s=duration_s, warmup_s=warmup_s, trials=1, pin=pin))
    timing = _Timing()
    bench = Bench(matrix, plan, Options(
        results=work / "loadlab", label=f"{server_name}-u{users}-t{trial}",
        command=["loadlab", "fidelity"], processes=processes, pin=pin,
        cell_hook=timing.hook), timing)
    if bench.run() == EXIT_INTERRUPTED:
        raise Interrupted("signal")
    point = Point("loadlab", server_name, users, trial, status="failed",
                  error="the bench recorded no cell")
    if not bench.records:
        return point
    cell, record = plan.cells[0], bench.records[0]
    point.status, point.rps, point.requests = record.status, record.rps, record.requests
    point.errors, point.warnings = record.failures, list(record.warnings)
    point.server_cpu_pct, point.generator_cpu_pct = (record.server_cpu_pct,
                                                     record.generator_cpu_pct)
    point.ready_s = record.ready_s
    point.error = (record.error or "").splitlines()[0] if record.error else None
    window = _window(timing.run_dir, record)
    started, done = timing.started.get(cell.index), timing.done.get(cell.index)
    measuring = timing.measuring.get(cell.index)
    if window and "start" in window and "end" in window:
        point.window = (window["start"], window["end"])
    if window and measuring and "spawned" in window:
        point.generator_start_s = round(window["spawned"] - measuring, 3)
    if window and done and "end" in window:
        point.stop_s = round(done - window["end"], 3)
    if started and done:
        point.wall_s = round(done - started, 3)
    return point


class MachineLoad:
    """CPU the whole machine spends against CPU our own processes spend, over time.

    Other work on the machine (another bench, a build) shares the pinned cores and
    moves both tools' numbers; the difference, per measured window, shows it.
    """

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        me = psutil.Process()
        self.ours = Sampler(
            {"ours": lambda: [me, *(p for proc in supervise.live() for p in proc.tree())]},
            path, interval)
        self.interval = interval
        self.machine: list[tuple[float, float]] = []  # (time, busy % of one core)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loadlab-machine",
                                        daemon=True)

    def __enter__(self) -> MachineLoad:
        self.ours.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.ours.__exit__(*exc)

    def _loop(self) -> None:
        then, was = time.time(), _busy()
        while not self._stop.wait(self.interval):
            now, busy = time.time(), _busy()
            self.machine.append((now, (busy - was) / (now - then) * 100))
            then, was = now, busy

    def other_cpu_pct(self, start: float, end: float) -> float | None:
        """Mean CPU % (100 = one core) used by others inside [start, end]."""
        machine = [v for t, v in self.machine if start + 1 <= t <= end]
        ours = [s.cpu_pct for s in self.ours.samples if start + 1 <= s.time <= end]
        if not machine or not ours:
            return None
        return round(max(0.0, sum(machine) / len(machine) - sum(ours) / len(ours)), 1)


def _busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


def _window(run_dir: Path | None, record: CellRecord) -> dict[str, float] | None:
    if run_dir is None:
        return None
    try:
        return json.loads((run_dir / record.path / "window.json").read_text())
    except (OSError, ValueError):
        return None


# --- the check -------------------------------------------------------------------------


@dataclass
class ServerFidelity:
    server: str
    interface: str
    points: list[Point] = field(default_factory=list)
    generator_cpus: int = 1  # CPUs the generator may use (its pinning)

    def best(self, tool: str) -> Point | None:
        ok = [p for p in self.points if p.tool == tool and p.status == "ok" and p.rps > 0]
        return max(ok, key=lambda p: p.rps) if ok else None

    @property
    def ratio(self) -> float | None:
        a, b = self.best("loadlab"), self.best("wrk")
        return round(a.rps / b.rps, 3) if a and b else None

    def describe(self) -> dict[str, Any]:
        a, b = self.best("loadlab"), self.best("wrk")
        return {
            "server": self.server, "interface": self.interface,
            "loadlab_rps": a.rps if a else None,
            "loadlab_users": a.concurrency if a else None,
            "loadlab_generator_cpu_pct": a.generator_cpu_pct if a else None,
            "loadlab_server_cpu_pct": a.server_cpu_pct if a else None,
            "wrk_rps": b.rps if b else None,
            "wrk_connections": b.concurrency if b else None,
            "wrk_generator_cpu_pct": b.generator_cpu_pct if b else None,
            "wrk_server_cpu_pct": b.server_cpu_pct if b else None,
            "loadlab_generator_us_per_request": self.generator_cost("loadlab"),
            "wrk_generator_us_per_request": self.generator_cost("wrk"),
            "loadlab_ceiling_rps": self.ceiling(),
            "ratio": self.ratio,
            "meets_target": self.ratio is not None and self.ratio >= TARGET,
            "limit": self.limit(),
            "points": [p.describe() for p in self.points],
        }

    def generator_cost(self, tool: str) -> float | None:
        """Median generator CPU microseconds per request over the tool's good points."""
        return _median([p.generator_us_per_request for p in self.points
                        if p.tool == tool and p.status == "ok"
                        and p.generator_us_per_request is not None])

    def ceiling(self) -> float | None:
        """The rps loadlab's generator could reach with its whole CPU share."""
        cost = self.generator_cost("loadlab")
        return round(self.generator_cpus * 1e6 / cost) if cost else None

    def limit(self) -> str | None:
        """What bounded loadlab's best point, as far as the samples show."""
        a, b = self.best("loadlab"), self.best("wrk")
        if a is None:
            return None
        cost, ceiling = self.generator_cost("loadlab"), self.ceiling()
        if cost and ceiling and b and ceiling < b.rps * TARGET:
            wrk_cost = self.generator_cost("wrk")
            return (f"generator: Locust spends {cost:.0f} us CPU per request (wrk"
                    f" {wrk_cost or 0:.0f}), so at most ~{ceiling:,} rps on its CPU")
        if "generator-hot" in a.warnings:
            return f"generator: Locust at {a.generator_cpu_pct:.0f}% of its CPU"
        if a.server_cpu_pct is not None and a.server_cpu_pct >= 85:
            return f"server: {a.server_cpu_pct:.0f}% CPU"
        return None


@dataclass
class Fidelity:
    servers: list[ServerFidelity]
    settings: dict[str, Any]

    @property
    def points(self) -> list[Point]:
        return [p for s in self.servers for p in s.points]

    @property
    def failed(self) -> bool:
        return (any(s.ratio is None for s in self.servers)
                or any(p.status != "ok" for p in self.points))

    @property
    def busiest_other_cpu_pct(self) -> float:
        return max((p.other_cpu_pct or 0.0 for p in self.points), default=0.0)

    def overhead(self) -> dict[str, float | None]:
        """Median seconds per loadlab cell beyond its measured window, by phase."""
        points = [p for p in self.points if p.tool == "loadlab" and p.status == "ok"]
        measured = self.settings["warmup_s"] + self.settings["duration_s"]
        phases = {
            "ready_s": [p.ready_s for p in points],
            "generator_start_s": [p.generator_start_s for p in points],
            "stop_s": [p.stop_s for p in points],
            "total_s": [p.wall_s - measured for p in points if p.wall_s is not None],
        }
        return {k: _median([v for v in vs if v is not None]) for k, vs in phases.items()}

    def describe(self) -> dict[str, Any]:
        return {"check": "fidelity", "scenario": SCENARIO, "flavor": FLAVOR,
                "target": TARGET, "settings": self.settings,
                "servers": [s.describe() for s in self.servers],
                "loadlab_cell_overhead_s": self.overhead(),
                "other_cpu_pct_max": self.busiest_other_cpu_pct,
                "verdict": self.verdict()}

    def verdict(self) -> str:
        ratios = {s.server: s.ratio for s in self.servers}
        if any(r is None for r in ratios.values()):
            return "incomplete: some measurement failed"
        low = [s for s in self.servers if s.ratio < TARGET]
        busy = (f"; other processes used up to {self.busiest_other_cpu_pct:.0f}% CPU during"
                " the measurements, so treat these numbers as noisy"
                if self.busiest_other_cpu_pct >= BUSY_PCT else "")
        if not low:
            return f"ok: loadlab measures >= {TARGET:.2f} of wrk's peak on every server" + busy
        parts = [f"{s.server} {s.ratio:.2f}"
                 + (f" (limit: {s.limit().split(':')[0]})" if s.limit() else "")
                 for s in low]
        return f"below target {TARGET:.2f} on {', '.join(parts)}" + busy


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    med = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    return round(med, 3)


def run_fidelity(matrix: Matrix, *, servers: tuple[str, ...] = DEFAULT_SERVERS,
                 users: tuple[int, ...] = DEFAULT_USERS,
                 connections: tuple[int, ...] = DEFAULT_CONNECTIONS,
                 duration_s: float = DEFAULT_DURATION_S, warmup_s: float = DEFAULT_WARMUP_S,
                 trials: int = 1, processes: int = 1, pin: bool = True,
                 keep: Path | None = None, note: Any = None) -> Fidelity:
    """Measure every server with both tools, interleaved: wrk and loadlab take turns at
    each concurrency level, so drift and neighbours hit both alike."""
    wrk_path()
    note = note or (lambda text: None)
    specs = [matrix.server(name) for name in servers]
    pinning = matrix.pinning.resolved() if pin else Pinning(False)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="loadlab-fidelity-"))
    work.mkdir(parents=True, exist_ok=True)
    cpus = len(pinning.generator) if pinning.enabled else (os.cpu_count() or 1)
    results = {spec.name: ServerFidelity(spec.name, spec.interface, generator_cpus=cpus)
               for spec in specs}
    steps = [(tool, n) for c, u in zip_longest(connections, users)
             for tool, n in (("wrk", c), ("loadlab", u)) if n is not None]
    try:
        with interrupts(), MachineLoad(work / "machine.csv") as machine:
            for trial in range(1, trials + 1):
                for spec in specs:
                    for tool, n in steps:
                        if tool == "wrk":
                            point = measure_wrk(matrix, pinning, spec.name, n, duration_s,
                                                warmup_s, work, trial)
                        else:
                            point = measure_loadlab(matrix, spec.name, n, duration_s,
                                                    warmup_s, processes, pin, work, trial)
                        time.sleep(machine.interval)  # the window's last sample
                        if point.window:
                            point.other_cpu_pct = machine.other_cpu_pct(*point.window)
                        results[spec.name].points.append(point)
                        note(_describe_point(point))
    finally:
        supervise.stop_all()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return Fidelity(list(results.values()), {
        "servers": list(servers), "users": list(users), "connections": list(connections),
        "duration_s": duration_s, "warmup_s": warmup_s, "trials": trials,
        "processes": processes, "pinning": pinning.describe(),
        "wrk": "wrk -t1 -c<connections> --latency, after a warmup run",
        "loadlab": "Locust FastHttpUser, one loadlab bench cell (fresh server) per point",
    })


def _describe_point(p: Point) -> str:
    what = "users" if p.tool == "loadlab" else "connections"
    head = f"{p.tool:<7} {p.server} {what}={p.concurrency} t{p.trial}:"
    if p.status != "ok":
        return f"{head} FAILED {p.error}"
    cpu = (f" server {p.server_cpu_pct or 0:.0f}% CPU, generator"
           f" {p.generator_cpu_pct or 0:.0f}%, others {p.other_cpu_pct or 0:.0f}%")
    flags = f" [{', '.join(p.warnings)}]" if p.warnings else ""
    return f"{head} {p.rps:,.0f} rps ({cpu.strip()}){flags}"


def render(fid: Fidelity) -> str:
    st = fid.settings
    lines = [
        f"fidelity: hello/{FLAVOR} peak throughput, loadlab (Locust FastHttpUser) vs wrk,"
        f" pinned {'server ' + ','.join(map(str, st['pinning']['server'])) + ' / generator '
                   + ','.join(map(str, st['pinning']['generator']))
                   if st['pinning']['enabled'] else 'off'}",
        f"best of users {','.join(map(str, st['users']))} vs connections"
        f" {','.join(map(str, st['connections']))}; {st['duration_s']:g} s each after"
        f" {st['warmup_s']:g} s warmup; {st['trials']} trial(s); a fresh server each",
        "",
        f"{'server':<16} {'loadlab rps':>11} {'users':>5} {'gen cpu':>7}"
        f" {'ceiling':>8} {'wrk rps':>9} {'conns':>5} {'ratio':>6} {'others':>6}  limit",
    ]
    for s in fid.servers:
        a, b = s.best("loadlab"), s.best("wrk")
        ratio = f"{s.ratio:.2f}" if s.ratio is not None else "-"
        gen = f"{a.generator_cpu_pct:.0f}%" if a and a.generator_cpu_pct is not None else "-"
        others = [p.other_cpu_pct for p in (a, b) if p and p.other_cpu_pct is not None]
        other = f"{max(others):.0f}%" if others else "-"
        lines.append(
            f"{s.server:<16} {_rps(a):>11} {_n(a):>5} {gen:>7}"
            f" {f'{s.ceiling():,.0f}' if s.ceiling() else '-':>8} {_rps(b):>9} {_n(b):>5}"
            f" {ratio:>6} {other:>6}  {s.limit() or ''}".rstrip())
    o = fid.overhead()
    lines.append("(gen cpu: Locust's CPU % at its best point, 100 = one core; ceiling: the rps"
                 " Locust's CPU share allows at its measured CPU cost per request;"
                 " others: CPU % used meanwhile by processes not ours)")
    lines.append("")
    lines.append("loadlab cell overhead beyond warmup + duration (median s): "
                 + ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {_s(v)}"
                             for k, v in o.items()))
    lines.append(f"verdict: {fid.verdict()}")
    return "\n".join(lines)


def _rps(p: Point | None) -> str:
    return f"{p.rps:,.0f}" if p else "-"


def _n(p: Point | None) -> str:
    return str(p.concurrency) if p else "-"


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"
