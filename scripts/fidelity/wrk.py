"""wrk, the reference generator: its command line, its report parsed, and one point
measured against a fresh server (pinned like Locust). Only the supervisor starts it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Matrix, Pinning
from ..errors import CellError, NotReady, PortInUse, ToolMissing
from ..proc import supervise
from ..proc.sampler import Sampler
from ..services import servers as services
from .model import Point

WRK_INSTALL = "wrk not found: apt-get install wrk"
NO_UPSTREAM = "http://127.0.0.1:9"  # hello never calls upstream; the app needs a URL


class WrkOutputError(CellError):
    """wrk's output has no throughput in it."""


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
        raise ToolMissing(WRK_INSTALL)
    return path


def wrk_argv(url: str, connections: int, duration_s: float) -> list[str]:
    # One thread: the generator's CPU share is one core, as Locust's is.
    return [wrk_path(), "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
            "--latency", url]


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
    except (NotReady, PortInUse, WrkOutputError) as exc:
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
