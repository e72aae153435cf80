"""Reading `matrix.toml` into a frozen Matrix: every key checked before anything starts.

A problem raises ConfigError with one line naming the file and the key; a key that
is not read is a typo and an error too.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import ROOT, default_matrix
from ..stories import SCENARIOS_BY_NAME, STACKS, Faults
from ..stories import UPSTREAM_MAX_MS as MAX_MS
from .model import (
    ARRIVALS,
    ENGINES,
    INTERFACES,
    MODELS,
    PLACEHOLDERS,
    AppSettings,
    ClientSpec,
    ConnectionSpec,
    DatabaseSettings,
    LeaveOut,
    Matrix,
    Pinning,
    Profile,
    Rules,
    ServerSpec,
    UpstreamSettings,
    default_model,
)
from .table import REQUIRED, Table
from .thresholds import read_scenarios

DEFAULT_MATRIX = ROOT / "matrix.toml"


def load_matrix(path: str | Path | None = None) -> Matrix:
    """Read and check a matrix file; ConfigError names the first problem found."""
    file = Path(path) if path else default_matrix()
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such matrix file") from None
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a folder, not a matrix file") from None
    except OSError as exc:
        raise ConfigError(f"{file}: unreadable ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML ({exc})") from None

    top = Table(raw, "", file)
    servers = _read_servers(top, file)
    clients = _read_clients(top, file)
    upstream = _read_upstream(Table(top.table("upstream", {}), "upstream", file))
    app = _read_app(Table(top.table("app", {}), "app", file))
    database = _read_database(Table(top.table("database", {}), "database", file))
    connections = _read_connections(top, file)
    pinning = _read_pinning(Table(top.table("pinning", {}), "pinning", file))
    rules_table = Table(top.table("rules", {}), "rules", file)
    rules = Rules(
        hot_cpu_pct=float(rules_table.number("hot_cpu_pct", 85.0, lo=1, hi=10_000)),
        high_failure_ratio=float(rules_table.number("high_failure_ratio", 0.01, lo=0, hi=1)),
        min_requests=rules_table.number("min_requests", 50, lo=0, integer=True),
        min_achieved_ratio=float(rules_table.number("min_achieved_ratio", 0.99, lo=0,
                                                    hi=1)),
        max_start_lag_ms=float(rules_table.number("max_start_lag_ms", 50.0, lo=0)),
        load_bound_ratio=float(rules_table.number("load_bound_ratio", 0.9, lo=0, hi=1)),
        load_bound_cpu_pct=float(rules_table.number("load_bound_cpu_pct", 80.0, lo=0,
                                                    hi=10_000)),
        stolen_pct=float(rules_table.number("stolen_pct", 5.0, lo=0, hi=100)),
    )
    rules_table.done()
    profiles = _read_profiles(top, file, servers, clients, connections)
    slo = _read_slo(Table(top.table("slo", {}), "slo", file))
    thresholds = read_scenarios(top, tuple(SCENARIOS_BY_NAME))
    defaults = Table(top.table("defaults", {}), "defaults", file)
    default_profile = defaults.str("profile", "quick")
    defaults.done()
    if default_profile not in profiles:
        defaults.fail("profile", f"no profile called {default_profile!r}")
    top.done()
    return Matrix(file, default_profile, pinning, upstream, app, rules, servers, clients,
                  profiles, slo, database, connections, thresholds)


def _read_servers(top: Table, file: Path) -> dict[str, ServerSpec]:
    tables = top.table("servers", REQUIRED)
    if not isinstance(tables, dict) or not tables:
        top.fail("servers", "must define at least one server")
    servers = {}
    for name, data in tables.items():
        t = Table(data, f"servers.{name}", file)
        args = t.str_list("args", REQUIRED)
        interface = t.str("interface", REQUIRED, choices=INTERFACES)
        threads = t.number("threads", None, lo=1, hi=10_000, integer=True)
        spec = ServerSpec(
            name=name,
            interface=interface,
            module=t.str("module", REQUIRED),
            args=args,
            workers=t.number("workers", 1, lo=1, hi=256, integer=True),
            concurrency=t.number("concurrency", 1, lo=1, integer=True),
            summary=t.str("summary", ""),
            threads=threads,
            connections=t.number("connections", None, lo=1, integer=True),
            optional=t.bool("optional", False),
            requires=t.str_list("requires", ()),
            ready_timeout_s=float(t.number("ready_timeout_s", 30.0, lo=0.1, hi=3600)),
            model=t.str("model", default_model(interface, threads), choices=MODELS),
            loop=t.str("loop", None),
            http=t.str("http", None),
            websocket=t.bool("websocket", interface == "asgi"),
        )
        t.done()
        for arg in args:
            for placeholder in ("threads", "connections"):
                if "{" + placeholder + "}" in arg and getattr(spec, placeholder) is None:
                    t.fail("args", f"uses {{{placeholder}}} but {placeholder} is not set")
        try:
            spec.resolved_args(port=1)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
            t.fail("args", f"bad placeholder {exc} (known: {', '.join(PLACEHOLDERS)})")
        servers[name] = spec
    return servers


def _read_clients(top: Table, file: Path) -> dict[str, ClientSpec]:
    tables = top.table("clients", REQUIRED)
    if not isinstance(tables, dict) or not tables:
        top.fail("clients", "must define at least one client")
    clients = {}
    for name, data in tables.items():
        t = Table(data, f"clients.{name}", file)
        clients[name] = ClientSpec(name, sync=t.bool("sync", True), summary=t.str("summary", ""))
        t.done()
    return clients


_UPSTREAM_LIMITS = {name: (0, 1 if name.endswith("_rate") else MAX_MS)
                    for name in Faults.__dataclass_fields__}


def _read_upstream_values(t: Table) -> dict[str, float]:
    values = {}
    for key, (lo, hi) in _UPSTREAM_LIMITS.items():
        if t.has(key):
            values[key] = float(t.number(key, lo=lo, hi=hi))
    t.done()
    return values


def _read_upstream(t: Table) -> UpstreamSettings:
    return UpstreamSettings(**_read_upstream_values(t))


def _read_app(t: Table) -> AppSettings:
    app = AppSettings(
        client_timeout_s=float(t.number("client_timeout_s", 2.0, lo=0.01, hi=600)),
        catalog_rows=t.number("catalog_rows", 1000, lo=1, hi=10_000_000, integer=True),
        sync_middleware=t.bool("sync_middleware", False),
        async_middleware=t.bool("async_middleware", False),
    )
    t.done()
    return app


def _connection_fields(t: Table) -> dict[str, Any]:
    """conn_max_age, pool, pool_min_size, pool_max_size: checked together."""
    values = {
        "conn_max_age": t.number("conn_max_age", 0, lo=0, hi=86_400, integer=True),
        "pool": t.bool("pool", False),
        "pool_min_size": t.number("pool_min_size", 4, lo=0, hi=10_000, integer=True),
        "pool_max_size": t.number("pool_max_size", 4, lo=1, hi=10_000, integer=True),
    }
    if values["pool_max_size"] < values["pool_min_size"]:
        t.fail("pool_max_size", f"must be >= pool_min_size ({values['pool_min_size']})")
    if values["pool"] and values["conn_max_age"]:
        t.fail("conn_max_age", "must be 0 with pool = true (Django refuses both)")
    return values


def _read_database(t: Table) -> DatabaseSettings:
    database = DatabaseSettings(
        engine=t.str("engine", "sqlite", choices=ENGINES),
        **_connection_fields(t),
        max_connections=t.number("max_connections", 100, lo=5, hi=10_000, integer=True),
        shared_buffers=t.str("shared_buffers", "128MB"),
    )
    t.done()
    return database


def _read_connections(top: Table, file: Path) -> dict[str, ConnectionSpec]:
    """[connections.<name>]: the connection settings a profile can set side by side."""
    tables = top.table("connections", {})
    if not isinstance(tables, dict):
        top.fail("connections", "must be a table of named connection settings")
    out = {}
    for name, data in tables.items():
        t = Table(data, f"connections.{name}", file)
        out[name] = ConnectionSpec(**_connection_fields(t), name=name,
                                   summary=t.str("summary", ""))
        t.done()
    return out


def _read_pinning(t: Table) -> Pinning:
    pinning = Pinning(
        enabled=t.bool("enabled", True),
        server=t.int_list("server", (0,)),
        generator=t.int_list("generator", (1,)),
        upstream=t.int_list("upstream", (1,)),
    )
    t.done()
    return pinning


def _read_profiles(top: Table, file: Path, servers: dict, clients: dict,
                   connections: dict) -> dict[str, Profile]:
    tables = top.table("profiles", REQUIRED)
    if not isinstance(tables, dict) or not tables:
        top.fail("profiles", "must define at least one profile")
    flavors = {f for s in SCENARIOS_BY_NAME.values() for f in s.flavor_names}
    profiles = {}
    for name, data in tables.items():
        t = Table(data, f"profiles.{name}", file)
        upstream_table = t.table("upstream", {})
        profiles[name] = Profile(
            name=name,
            summary=t.str("summary", ""),
            users=t.int_list("users", (), lo=1),
            rates=_rates(t),
            arrival=t.str("arrival", "uniform", choices=ARRIVALS),
            spawn_rate=float(t.number("spawn_rate", 100, lo=0.1)),
            warmup_s=float(t.number("warmup_s", 2, lo=0, hi=3600)),
            duration_s=float(t.number("duration_s", REQUIRED, lo=1, hi=86_400)),
            trials=t.number("trials", 1, lo=1, hi=1000, integer=True),
            max_duration_s=_max_duration(t),
            servers=t.selection("servers", servers),
            scenarios=t.selection("scenarios", tuple(SCENARIOS_BY_NAME)),
            flavors=t.selection("flavors", tuple(sorted(flavors))),
            clients=t.selection("clients", clients),
            upstream=_read_upstream_values(
                Table(upstream_table, f"profiles.{name}.upstream", file)
            ),
            leave_out=_leave_out(t, servers, tuple(sorted(flavors))),
            middleware=_stacks(t),
            connections=_axis(t, "connections", connections),
        )
        if profiles[name].users and profiles[name].rates:
            t.fail("rates", "set users (closed loop) or rates (open model), not both")
        t.done()
    return profiles


def _max_duration(t: Table) -> float | None:
    """max_duration_s: the stability windows' cap, never under duration_s."""
    value = t.number("max_duration_s", None, lo=1, hi=86_400)
    if value is not None and value < t.data.get("duration_s", 0):
        t.fail("max_duration_s", f"must be >= duration_s ({t.data.get('duration_s')})")
    return None if value is None else float(value)


def _leave_out(t: Table, servers: dict, flavors: tuple[str, ...]) -> tuple[LeaveOut, ...]:
    """leave_out = [{servers = [...], flavors = [...], why = "..."}, ...]"""
    value = t.table("leave_out", [])
    if not isinstance(value, list):
        t.fail("leave_out", "must be a list of tables {servers, flavors, why}")
    rules = []
    for i, data in enumerate(value):
        r = Table(data, f"{t.where}.leave_out[{i}]", t.file)
        picked = r.selection("servers", servers), r.selection("flavors", flavors)
        why = r.str("why", REQUIRED)
        r.done()
        rules.append(LeaveOut(picked[0] or tuple(servers), picked[1] or flavors, why))
    return tuple(rules)


def _axis(t: Table, key: str, known: dict) -> tuple[str, ...]:
    """An optional axis: absent is (), "all" every name, else the names given."""
    if not t.has(key):
        return ()
    chosen = t.selection(key, known)
    return tuple(known) if chosen is None else chosen


def _stacks(t: Table) -> tuple[str, ...]:
    """middleware = ["none", "default", ...] (default: the baseline alone)."""
    value = t.str_list("middleware", ("none",))
    if not value:
        t.fail("middleware", "must name at least one stack")
    for name in value:
        if name not in STACKS:
            t.fail("middleware", f"unknown stack {name!r} (known: {', '.join(STACKS)})")
    return tuple(dict.fromkeys(value))


def _rates(t: Table) -> tuple[float, ...]:
    value = t.table("rates", [])
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0
               for v in values):
        t.fail("rates", "must be a number > 0 or a list of them (requests/s)")
    return tuple(float(v) for v in values)


def _read_slo(t: Table) -> dict[str, float]:
    """[slo]: scenario = p95 objective in ms, overriding the story's own."""
    slo = {}
    for name in list(t.data):
        if name not in SCENARIOS_BY_NAME:
            t.fail(name, f"unknown scenario (known: {', '.join(SCENARIOS_BY_NAME)})")
        slo[name] = float(t.number(name, lo=0.001))
    t.done()
    return slo
