"""The matrix as data: servers, clients, upstream and app settings, rules, profiles.

Frozen dataclasses and nothing else: no file reading (reader.py), no process
command lines (run/services.py builds those from these fields). Like uvicorn's
`Config`, it is the single source of truth every other part reads.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import LOOPBACK
from ..stories import Faults
from .thresholds import Thresholds

INTERFACES = ("wsgi", "asgi")
ARRIVALS = ("uniform", "poisson")
# How a server serves requests at once: the three ways a Django team weighs (threads,
# greenlets, an event loop) and one process per request as the baseline.
MODELS = ("processes", "threads", "greenlets", "event-loop")
# What a server's `args` may say in braces; the plan fills them in.
PLACEHOLDERS = ("host", "port", "workers", "threads", "connections", "app")
# What `{app}` is when the plan names no project: loadlab's own app.
BUILTIN_APPLICATIONS = {"wsgi": "app.wsgi:application", "asgi": "app.asgi:application"}


# --- the pieces --------------------------------------------------------------------------


def default_model(interface: str, threads: int | None) -> str:
    """The concurrency model a server without a `model` key has: ASGI serves on an
    event loop; WSGI on threads when it has a thread pool, else one request per process."""
    if interface == "asgi":
        return "event-loop"
    return "threads" if threads and threads > 1 else "processes"


@dataclass(frozen=True)
class ServerSpec:
    """One named way to serve the app, defined once in the matrix."""

    name: str
    interface: str
    module: str
    args: tuple[str, ...]
    workers: int
    concurrency: int
    summary: str = ""
    threads: int | None = None
    connections: int | None = None
    optional: bool = False
    requires: tuple[str, ...] = ()
    ready_timeout_s: float = 30.0  # from start until it answers, else the cell fails
    model: str = ""  # one of MODELS; the reader fills it in (default_model)
    # The stack an ASGI server runs on, as its args choose it: its event loop (uvloop,
    # asyncio, ...) and HTTP parser (httptools, h11, ...). The loop is also observed in
    # the running server (run/transport.py); the parser can only be declared.
    loop: str | None = None
    http: str | None = None
    # Serves websockets (an ASGI server with a websocket protocol): `websocket = false`
    # in the matrix leaves the websocket story out on it, said once.
    websocket: bool = True

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.module, *self.requires)

    @property
    def missing(self) -> tuple[str, ...]:
        """Importable modules this server needs and this interpreter lacks."""
        return tuple(m for m in self.packages if importlib.util.find_spec(m) is None)

    @property
    def available(self) -> bool:
        return not self.missing

    def resolved_args(self, port: int, host: str = LOOPBACK,
                      app: str | None = None) -> list[str]:
        """`args` with their placeholders filled in (run/services.py makes the argv);
        `app` is the project's application for this interface (default: loadlab's)."""
        values = {
            "app": app or BUILTIN_APPLICATIONS[self.interface],
            "host": host,
            "port": port,
            "workers": self.workers,
            "threads": self.threads,
            "connections": self.connections,
        }
        return [a.format(**values) for a in self.args]

    def describe(self) -> dict[str, Any]:
        """What the run records about this server: every flag that shapes results."""
        return {
            "name": self.name,
            "interface": self.interface,
            "module": self.module,
            "workers": self.workers,
            "threads": self.threads,
            "connections": self.connections,
            "concurrency": self.concurrency,
            "model": self.model,
            "loop": self.loop,
            "http": self.http,
            "websocket": self.websocket,
            "args": list(self.args),
            "available": self.available,
            "optional": self.optional,
            "ready_timeout_s": self.ready_timeout_s,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class ClientSpec:
    """An HTTP client the app uses for upstream calls (LOADLAB_CLIENT)."""

    name: str
    sync: bool
    summary: str = ""


@dataclass(frozen=True)
class UpstreamSettings(Faults):
    """Defaults of the upstream stand-in (its environment), recorded in the run.

    The fields and their defaults are the stand-in's own (app.upstream.Faults).
    """

    def env(self) -> dict[str, str]:
        return {f"UPSTREAM_{k.upper()}": _num(v) for k, v in self.__dict__.items()}



@dataclass(frozen=True)
class AppSettings:
    client_timeout_s: float = 2.0
    catalog_rows: int = 1000
    sync_middleware: bool = False
    async_middleware: bool = False

    def env(self) -> dict[str, str]:
        return {
            "LOADLAB_UPSTREAM_TIMEOUT": _num(self.client_timeout_s),
            "LOADLAB_SYNC_MIDDLEWARE": "1" if self.sync_middleware else "0",
            "LOADLAB_ASYNC_MIDDLEWARE": "1" if self.async_middleware else "0",
        }


@dataclass(frozen=True)
class ConnectionSettings:
    """How Django holds its database connections: CONN_MAX_AGE, or psycopg's pool."""

    conn_max_age: int = 0  # Django's CONN_MAX_AGE, seconds (0: a connection per request)
    pool: bool = False  # Django's psycopg pool (PostgreSQL only)
    pool_min_size: int = 4  # per server process (psycopg_pool's default)
    pool_max_size: int = 4

    def env(self) -> dict[str, str]:
        return {"LOADLAB_CONN_MAX_AGE": str(self.conn_max_age),
                "LOADLAB_DB_POOL": "1" if self.pool else "0",
                "LOADLAB_DB_POOL_MIN": str(self.pool_min_size),
                "LOADLAB_DB_POOL_MAX": str(self.pool_max_size)}

    def connection_describe(self) -> dict[str, Any]:
        return {"conn_max_age": self.conn_max_age, "pool": self.pool,
                "pool_min_size": self.pool_min_size, "pool_max_size": self.pool_max_size}


@dataclass(frozen=True)
class ConnectionSpec(ConnectionSettings):
    """A named connection setting, an axis like servers and clients ([connections.*])."""

    name: str = ""
    summary: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, **self.connection_describe()}


ENGINES = ("sqlite", "postgres")


@dataclass(frozen=True)
class DatabaseSettings(ConnectionSettings):
    """The catalog's database: SQLite (embedded, the default) or a PostgreSQL cluster
    the harness starts for the run (or DATABASE_URL's server). Recorded in the manifest.
    Its connection settings are every cell's, but where a cell names [connections.*]."""

    engine: str = "sqlite"
    max_connections: int = 100  # the cluster's
    shared_buffers: str = "128MB"  # the cluster's

    def cluster_settings(self) -> dict[str, str]:
        """postgres -c settings: the ones that shape results, and synchronous_commit off
        (faster seeding; the measured reads commit nothing)."""
        return {"max_connections": str(self.max_connections),
                "shared_buffers": self.shared_buffers, "synchronous_commit": "off"}

    def describe(self) -> dict[str, Any]:
        return {"engine": self.engine, **self.connection_describe(),
                "max_connections": self.max_connections,
                "shared_buffers": self.shared_buffers}


@dataclass(frozen=True)
class Rules:
    """When a cell is flagged rather than silently reported."""

    hot_cpu_pct: float = 85.0
    high_failure_ratio: float = 0.01
    min_requests: int = 50
    # The open model held its schedule: achieved >= this share of offered, and the
    # start lag's p99 under max_start_lag_ms; else `generator-behind` or `overloaded`.
    min_achieved_ratio: float = 0.99
    max_start_lag_ms: float = 50.0
    # A closed-loop cell within this share of users / R0 while its server's CPU is under
    # load_bound_cpu_pct is `load-bound`: it measured latency, not the server's capacity.
    load_bound_ratio: float = 0.9
    load_bound_cpu_pct: float = 80.0
    # The hypervisor took at least this % of each core (steal time, averaged over the
    # cores) during the window: `stolen`, and compare will not call its row.
    stolen_pct: float = 5.0


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the server, the load generator and the upstream stand-in may use."""

    enabled: bool = True
    server: tuple[int, ...] = (0,)
    generator: tuple[int, ...] = (1,)
    upstream: tuple[int, ...] = (1,)

    def resolved(self) -> Pinning:
        """Only CPUs this process may use; pinning off if a role would have none."""
        have = set(os.sched_getaffinity(0))
        roles = {r: tuple(c for c in getattr(self, r) if c in have)
                 for r in ("server", "generator", "upstream")}
        if not self.enabled or not all(roles.values()):
            return replace(self, enabled=False)
        return replace(self, **roles)

    def cpus(self, role: str) -> tuple[int, ...] | None:
        return getattr(self, role) if self.enabled else None

    def cores(self, role: str) -> int:
        """How many cores a role's processes can fill: several pinned to one core share
        its 100 % (the generator-hot threshold), however many they are."""
        return len(self.cpus(role) or os.sched_getaffinity(0))

    def describe(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "server": list(self.server),
                "generator": list(self.generator), "upstream": list(self.upstream)}


@dataclass(frozen=True)
class LeaveOut:
    """Configurations a profile skips on purpose, and why: the run says so, and naming
    the flavor with --flavors measures them after all."""

    servers: tuple[str, ...]
    flavors: tuple[str, ...]
    why: str

    def covers(self, server: str, flavor: str) -> bool:
        return server in self.servers and flavor in self.flavors

    def describe(self) -> dict[str, Any]:
        return {"servers": list(self.servers), "flavors": list(self.flavors),
                "why": self.why}


@dataclass(frozen=True)
class Profile:
    """A load shape and what it covers; None in a selection means "all"."""

    name: str
    users: tuple[int, ...]  # closed loop: Locust users per cell (or none: open model)
    spawn_rate: float
    warmup_s: float
    duration_s: float
    trials: int
    summary: str = ""
    # Stability windows: measure at least duration_s, then on until the last 3 seconds'
    # throughput and p95 agree within 10 % (perf_analyzer's rule), at most this long.
    # None: exactly duration_s.
    max_duration_s: float | None = None
    rates: tuple[float, ...] = ()  # open model: offered requests/s per cell
    arrival: str = "uniform"  # the open model's schedule: uniform | poisson
    servers: tuple[str, ...] | None = None
    scenarios: tuple[str, ...] | None = None
    flavors: tuple[str, ...] | None = None
    clients: tuple[str, ...] | None = None
    upstream: dict[str, float] = field(default_factory=dict)
    leave_out: tuple[LeaveOut, ...] = ()
    middleware: tuple[str, ...] = ("none",)  # stacks under test (app.middleware.STACKS)
    connections: tuple[str, ...] = ()  # [connections.*] under test; () -> [database]'s

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "summary": self.summary, "users": list(self.users),
            "rates": list(self.rates), "arrival": self.arrival,
            "spawn_rate": self.spawn_rate, "warmup_s": self.warmup_s,
            "duration_s": self.duration_s, "max_duration_s": self.max_duration_s,
            "trials": self.trials,
            "servers": _all_or(self.servers), "scenarios": _all_or(self.scenarios),
            "flavors": _all_or(self.flavors), "clients": _all_or(self.clients),
            "upstream": dict(self.upstream),
            "leave_out": [r.describe() for r in self.leave_out],
            "middleware": list(self.middleware),
            "connections": list(self.connections),
        }


@dataclass(frozen=True)
class Matrix:
    path: Path
    default_profile: str
    pinning: Pinning
    upstream: UpstreamSettings
    app: AppSettings
    rules: Rules
    servers: dict[str, ServerSpec]
    clients: dict[str, ClientSpec]
    profiles: dict[str, Profile]
    slo_p95_ms: dict[str, float] = field(default_factory=dict)  # [slo]: per scenario
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    connections: dict[str, ConnectionSpec] = field(default_factory=dict)  # an axis
    # [scenarios.<name>.thresholds]: what bench, capacity and compare gate on (exit 3)
    thresholds: dict[str, Thresholds] = field(default_factory=dict)

    def slo(self, scenario: str, default: float | None) -> float | None:
        """The p95 objective of a scenario: the matrix's [slo], else the story's."""
        return self.slo_p95_ms.get(scenario, default)

    def profile(self, name: str | None) -> Profile:
        name = name or self.default_profile
        if name not in self.profiles:
            raise ConfigError(
                f"unknown profile {name!r} (known: {', '.join(self.profiles)})"
            )
        return self.profiles[name]

    def server(self, name: str) -> ServerSpec:
        if name not in self.servers:
            raise ConfigError(f"unknown server {name!r} (known: {', '.join(self.servers)})")
        return self.servers[name]

    def client(self, name: str) -> ClientSpec:
        if name not in self.clients:
            raise ConfigError(f"unknown client {name!r} (known: {', '.join(self.clients)})")
        return self.clients[name]


def _all_or(names: tuple[str, ...] | None) -> list[str] | str:
    return "all" if names is None else list(names)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


