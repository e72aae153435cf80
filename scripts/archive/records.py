"""One measured cell as the run folder keeps it (summary.json's `cells`), and the
percentiles every record and table shows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..cells import CellKey

SCHEMA_VERSION = 1
# latency_ms keys read from the histogram at these percentiles; "max" and "mean" too
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
# the percentiles kept for every second too: what compare tests each of them on
PER_SECOND = ("p50", "p90", "p95", "p99")


@dataclass
class CellRecord:
    """One measured cell: server x scenario x flavor x client x users x trial."""

    server: str
    interface: str
    scenario: str
    flavor: str
    client: str | None
    users: int
    trial: int
    status: str = "ok"
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    rps_per_second: list[float] = field(default_factory=list)
    # PER_SECOND's percentiles of every second (None: a second without an answer);
    # corrected latency for the open model, like latency_ms
    latency_ms_per_second: dict[str, list[float | None]] = field(default_factory=dict)
    duration_s: float = 0.0
    # Stability windows (a profile's max_duration_s): whether the last 3 seconds agreed
    # within 10 % before the cap; None when the cell measured a fixed duration.
    stable: bool | None = None
    ready_s: float | None = None  # seconds from server start to its first answer
    server_cpu_pct: float | None = None
    server_rss_mb: float | None = None
    server_threads: int | None = None
    generator_cpu_pct: float | None = None
    upstream_cpu_pct: float | None = None
    # CPU the hypervisor took during the window (steal), % of each core on average
    steal_pct: float | None = None
    # The open model (an offered arrival rate; None: closed loop of `users`). Then
    # latency_ms is corrected (from each request's intended start) and latency_raw_ms
    # is from its actual start; `latency` says which latency_ms holds.
    rate: float | None = None
    arrival: str | None = None
    achieved_rps: float | None = None
    latency_raw_ms: dict[str, float] = field(default_factory=dict)
    latency: str = "raw"
    late: int = 0
    unsent: int = 0
    start_lag_p99_ms: float | None = None
    offered_per_second: list[int] = field(default_factory=list)
    # The middleware stack (app.middleware.STACKS); None: the baseline, `none`.
    middleware: str | None = None
    # The named connection setting ([connections.*]); None: [database]'s own.
    connections: str | None = None
    # Long-lived stories: users on a short view (hello) beside the `users` held
    # connections, and what that neighbour got: {users, path, requests, failures, rps,
    # latency_ms}; and what the held connections got: {connection, query, sessions,
    # events, events_per_session, lag_ms, handshake_ms, gone}. None elsewhere.
    neighbours: int = 0
    neighbour: dict[str, Any] | None = None
    held: dict[str, Any] | None = None
    # Closed-loop bounds (operational analysis): X <= users / R0, R0 the unloaded latency
    # (mean at 1 user, measured once per run); X <= C / S for a server of known
    # concurrency C (WSGI: workers x threads), S the view's own time at 1 user.
    unloaded_ms: float | None = None
    service_ms: float | None = None
    bound_users_rps: float | None = None
    bound_concurrency_rps: float | None = None
    # How the server serves requests at once (config.model.MODELS); "" in runs recorded
    # before it was kept (analysis reads them by interface).
    model: str = ""
    # The server's stack: its event loop as observed in the running server (ASGI only)
    # and its HTTP parser as its args choose it; the transport check's sequential
    # keep-alive p50 (run/transport.py: over 30 ms flags the cell `nagle`).
    loop: str | None = None
    http: str | None = None
    transport_p50_ms: float | None = None
    # The commonest exceptions in the server's log during the cell, [line, count]
    server_errors: list[list[Any]] = field(default_factory=list)
    # PostgreSQL cells: the app's connections (pg_stat_activity, every ~250 ms) in the
    # window, those still open 5 s after the load stopped, and connection errors
    # (refused, pool timeouts) counted apart from the other failures.
    db_connections_peak: int | None = None
    db_connections_mean: float | None = None
    db_active_peak: int | None = None
    db_idle_after_load: int | None = None
    db_connection_errors: int = 0
    # --why: the server's CPU per request by layer (us, from its profile.json) and one
    # line naming the dominant layer (or why there is no table); None: not profiled.
    layers: dict[str, float] | None = None
    why: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    path: str = ""  # the cell folder, relative to the run folder

    @property
    def key(self) -> CellKey:
        """What identifies a cell across trials and across runs."""
        return CellKey(self.server, self.scenario, self.flavor, self.client, self.users,
                       self.rate, self.middleware, self.connections, self.neighbours)

    def per_second(self, metric: str) -> list[float]:
        """The seconds' values of `metric` (rps or a PER_SECOND percentile), empty
        seconds left out: the samples a rank test sees."""
        values = (self.rps_per_second if metric == "rps"
                  else self.latency_ms_per_second.get(metric, []))
        return [float(v) for v in values if isinstance(v, int | float)]

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def label(self) -> str:
        return self.key.label

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellRecord:
        known = {f.name for f in fields(cls)}
        record = cls(**{k: v for k, v in data.items() if k in known})
        if not record.latency_ms_per_second and data.get("p95_ms_per_second"):
            # runs recorded before every percentile had its seconds kept only p95's
            record.latency_ms_per_second = {"p95": data["p95_ms_per_second"]}
        return record


def neighbour_rows(records: list[CellRecord]) -> list[dict[str, Any]]:
    """summary.json's top-level `neighbour` list: the short view's p95 and rps at each held
    count, beside the same with none held (the cell at 0)."""
    out = []
    cells = [r for r in records if r.neighbour is not None and r.status == "ok"]
    for r in cells:
        base = next((b for b in cells if b.users == 0 and (b.server, b.scenario, b.flavor,
                     b.client) == (r.server, r.scenario, r.flavor, r.client)), None)
        n = r.neighbour or {}
        b = (base.neighbour or {}) if base else {}
        out.append({"scenario": r.scenario, "server": r.server, "flavor": r.flavor,
                    "client": r.client, "held": r.users, "neighbour_users": r.neighbours,
                    "path": n.get("path"), "p95_ms": n.get("latency_ms", {}).get("p95"),
                    "rps": n.get("rps"), "failures": n.get("failures"),
                    "baseline_p95_ms": b.get("latency_ms", {}).get("p95"),
                    "baseline_rps": b.get("rps")})
    return out
