"""The fidelity check's results as data: one point per tool and concurrency, the best
point per server, their ratio, what limited loadlab, and the per-cell overhead."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCENARIO, FLAVOR = "hello", "sync"
DEFAULT_SERVERS = ("gunicorn-sync", "uvicorn")
DEFAULT_USERS = (8, 32)
DEFAULT_CONNECTIONS = (8, 32)
DEFAULT_DURATION_S = 5.0
DEFAULT_WARMUP_S = 1.0
TARGET = 0.95
BUSY_PCT = 15.0  # CPU % (of one core) used by others that makes a run noisy


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
