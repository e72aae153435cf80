"""Planning: matrix + profile + command-line choices -> the ordered list of cells.

Pure logic, no processes. Trials are the outermost loop, so repeated trials interleave
across servers (A B A B, not A A B B) and slow drift of the machine hits all alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Any

from .cells import CellKey
from .config import (
    ConnectionSpec,
    LeaveOut,
    Matrix,
    Profile,
    ServerSpec,
    UpstreamSettings,
)
from .config.longlived import NONE as NO_OVERRIDES
from .config.longlived import LongLived
from .config.project import BUILTIN, Project
from .config.target import Target
from .errors import ConfigError
from .stories import STACKS, Scenario

# The time-left estimate's parts, measured on this lab's 2 cores (a quick run of 93 cells,
# 670 s; each phase timed on 8 of them). A cell: its server's boot to ready (0.4-0.9 s,
# Locust booting beside it) and Locust's exit and the read (0.2 s), plus warmup and
# duration; a 1-user probe before its load where it has one (1.45 s: the probe's window
# is 1.15 s, its Locust's boot overlaps the server's only in part). With stability
# windows a cell measures past its duration until it settles: there 0.43 s of a possible
# 2 s on average (67 cells stopped at 3 s, 12 at 4, 14 at 5). A run: the upstream, the
# database, the reference workload twice and the seal.
CELL_OVERHEAD_S = 0.9
PROBE_S = 1.45
UNSETTLED_SHARE = 0.25  # of the seconds between duration and max_duration
RUN_OVERHEAD_S = 20.0


@dataclass(frozen=True)
class Choices:
    """What the user chose on the command line; None keeps the profile's value."""

    profile: str | None = None
    servers: tuple[str, ...] | None = None
    scenarios: tuple[str, ...] | None = None
    flavors: tuple[str, ...] | None = None
    clients: tuple[str, ...] | None = None
    users: tuple[int, ...] | None = None
    rates: tuple[float, ...] | None = None  # the open model instead of users
    middleware: tuple[str, ...] | None = None  # stacks (app.middleware.STACKS)
    connections: tuple[str, ...] | None = None  # names of [connections.*]
    arrival: str | None = None
    duration_s: float | None = None
    max_duration_s: float | None = None  # stability windows' cap (Profile)
    warmup_s: float | None = None
    trials: int | None = None
    pin: bool = True
    target: Target | None = None  # an app already running, instead of servers
    long_lived: LongLived = NO_OVERRIDES  # stream, websocket and upload parameters


@dataclass(frozen=True)
class Cell:
    """One measurement: server x scenario x flavor x client x load x middleware x
    connections x trial. The load is `users` (closed loop), or an offered `rate` with
    `users` as its concurrency cap; `middleware` is a stack's name, None for the
    baseline; `connections` a named connection setting, None for [database]'s own."""

    index: int
    server: ServerSpec
    scenario: Scenario
    flavor: str
    client: str | None
    users: int
    trial: int
    rate: float | None = None
    middleware: str | None = None
    connections: ConnectionSpec | None = None
    neighbours: int = 0  # users on a short view beside a long-lived story's connections

    @property
    def key(self) -> CellKey:
        return CellKey(self.server.name, self.scenario.name, self.flavor, self.client,
                       self.users, self.rate, self.middleware, self._connections,
                       self.neighbours)

    @property
    def _connections(self) -> str | None:
        return self.connections.name if self.connections else None

    @property
    def key_one(self) -> CellKey:
        """The same configuration at one user: whose unloaded latency bounds this one."""
        return CellKey(self.server.name, self.scenario.name, self.flavor, self.client, 1,
                       middleware=self.middleware, connections=self._connections)

    @property
    def probed(self) -> bool:
        """Its bound needs its configuration's unloaded R0 from a 1-user probe: closed
        loop above one user on a short request (a 1-user cell is its own probe; an
        offered rate and a held connection are bounded by other things)."""
        return self.rate is None and self.users > 1 and self.scenario.connection == "request"

    @property
    def path(self) -> str:
        return self.key.path(self.trial)

    @property
    def label(self) -> str:
        return self.key.trial_label(self.trial)

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "server": self.server.name,
                "scenario": self.scenario.name, "flavor": self.flavor,
                "client": self.client, "users": self.users, "rate": self.rate,
                "middleware": self.key.middleware, "connections": self._connections,
                "trial": self.trial,
                "path": self.path}


@dataclass(frozen=True)
class Plan:
    profile: Profile
    cells: tuple[Cell, ...]
    upstream: UpstreamSettings
    skipped: tuple[str, ...] = field(default=())  # what was left out, and why
    project: Project = BUILTIN  # whose views the cells measure
    target: Target | None = None  # an app already running: no server is started
    long_lived: LongLived = NO_OVERRIDES

    def query(self, scenario: Scenario) -> str:
        """The query string a scenario's cells send: its own, with the user's
        long-lived parameters (what the view and the Locust user both read)."""
        return self.long_lived.query(scenario.connection, scenario.query)

    @property
    def servers(self) -> list[ServerSpec]:
        return list({c.server.name: c.server for c in self.cells}.values())

    def estimate_s(self, cells: int | None = None) -> float:
        """About how long the run (or its last `cells` cells) takes: measured parts
        (above), not warmup + duration alone, which missed a quick run by 30 %."""
        n = len(self.cells) if cells is None else cells
        if not self.cells or not n:
            return 0.0
        profile = self.profile
        extra = max(0.0, (profile.max_duration_s or 0.0) - profile.duration_s)
        probed = len({c.key_one for c in self.cells if c.probed})  # one per configuration
        per_cell = (profile.warmup_s + profile.duration_s + UNSETTLED_SHARE * extra
                    + CELL_OVERHEAD_S + PROBE_S * probed / len(self.cells))
        return n * per_cell + RUN_OVERHEAD_S * n / len(self.cells)

    def describe(self) -> dict[str, Any]:
        return {
            "profile": self.profile.describe(),
            "cells": [c.describe() for c in self.cells],
            "servers": [s.describe() for s in self.servers],
            "connections": {c.connections.name: c.connections.describe()
                            for c in self.cells if c.connections is not None},
            "skipped": list(self.skipped),
            "queries": {c.scenario.name: self.query(c.scenario) for c in self.cells
                        if c.scenario.connection != "request"},
            "long_lived": self.long_lived.describe(),
            "project": self.project.name,
            "target": self.target.describe() if self.target else None,
        }


def _names(chosen: tuple[str, ...] | None, profile: tuple[str, ...] | None,
           known: dict[str, Any] | tuple[str, ...], what: str) -> list[str]:
    """The user's choice, else the profile's, else all; unknown names are errors."""
    names = chosen if chosen is not None else profile
    if names is None:
        return list(known)
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown {what} {name!r} (known: {', '.join(known)})")
    return list(dict.fromkeys(names))


def build_plan(matrix: Matrix, choices: Choices, project: Project = BUILTIN) -> Plan:
    """Resolve a profile and the user's choices into cells, or raise ConfigError.
    A team's project brings its own scenarios: the profile's list of stories (and of
    their flavors) is the built-in app's and does not apply to it."""
    profile = matrix.profile(choices.profile)
    if not project.builtin:
        if choices.middleware and set(choices.middleware) != {"none"}:
            raise ConfigError("--middleware switches loadlab's own app's stacks; a"
                              " project's middleware is its settings' MIDDLEWARE")
        profile = replace(profile, scenarios=None, flavors=None, middleware=("none",))
    if choices.target is not None:
        _check_target_choices(choices)
        profile = replace(profile, servers=(), middleware=("none",), connections=())
    if choices.users and choices.rates:
        raise ConfigError("choose --users (closed loop) or --rate (open model), not both")
    profile = replace(
        profile,
        users=choices.users or (() if choices.rates else profile.users),
        rates=choices.rates or (() if choices.users else profile.rates),
        arrival=choices.arrival or profile.arrival,
        duration_s=choices.duration_s if choices.duration_s is not None else profile.duration_s,
        # --duration alone is the window asked for: the profile's stability windows (its
        # cap) apply only to its own duration; --max-duration asks for them again
        max_duration_s=(choices.max_duration_s if choices.max_duration_s is not None
                        else None if choices.duration_s is not None
                        else profile.max_duration_s),
        warmup_s=choices.warmup_s if choices.warmup_s is not None else profile.warmup_s,
        trials=choices.trials or profile.trials,
        middleware=choices.middleware or profile.middleware,
        connections=choices.connections or profile.connections,
    )
    if profile.max_duration_s is not None and profile.max_duration_s <= profile.duration_s:
        profile = replace(profile, max_duration_s=None)  # --duration reached the cap
    for stack in choices.middleware or ():
        if stack not in STACKS:
            raise ConfigError(f"unknown middleware stack {stack!r} (known:"
                              f" {', '.join(STACKS)})")
    for name in profile.connections:
        if name not in matrix.connections:
            known = ", ".join(matrix.connections) or "none defined"
            raise ConfigError(f"unknown connections {name!r} (known: {known})")
    settings = [matrix.connections[n] for n in profile.connections] or [None]
    skipped: list[str] = []

    server_names = _names(choices.servers, profile.servers, matrix.servers, "server")
    servers = [choices.target.server()] if choices.target else []
    for name in server_names:
        spec = matrix.servers[name]
        if not project.builtin and _unservable(spec, project, choices.servers is not None,
                                               skipped):
            continue
        if spec.available:
            servers.append(spec)
        elif choices.servers is not None or not spec.optional:
            raise ConfigError(
                f"server {name!r} needs {', '.join(spec.missing)}, which is not installed"
                f" (pip install {spec.missing[0].replace('_', '-')})"
            )
        else:
            skipped.append(f"server {name}: {', '.join(spec.missing)} not installed")

    known = {s.name: s for s in project.scenarios}
    scenario_names = _names(choices.scenarios, profile.scenarios, known, "scenario")
    scenarios = [s for s in project.scenarios if s.name in scenario_names]
    scenarios.sort(key=lambda s: scenario_names.index(s.name))

    every_flavor = {f for s in scenarios for f in s.flavor_names}
    if choices.flavors is not None:
        for flavor in choices.flavors:
            if flavor not in every_flavor:
                raise ConfigError(f"unknown flavor {flavor!r} for the chosen scenarios"
                                  f" (known: {', '.join(sorted(every_flavor))})")
    wanted_flavors = choices.flavors or profile.flavors

    client_names = _names(choices.clients, profile.clients, matrix.clients, "client")

    cells: list[Cell] = []
    left_out: dict[LeaveOut, tuple[list[str], list[str]]] = {}  # said once per rule
    unserved = _unserved(servers, scenarios, skipped)
    for trial in range(1, profile.trials + 1):
        for server in servers:
            for scenario in scenarios:
                if (server.name, scenario.name) in unserved:
                    continue
                for flavor in scenario.flavors:
                    if wanted_flavors is not None and flavor.name not in wanted_flavors:
                        continue
                    rule = _left_out(profile, server.name, flavor.name, choices.flavors)
                    if rule is not None:  # (its servers, its flavors), in plan order
                        for seen, name in zip(left_out.setdefault(rule, ([], [])),
                                              (server.name, flavor.name), strict=True):
                            if name not in seen:
                                seen.append(name)
                        continue
                    for client, stack, conns in product(
                            [None] if choices.target else
                            _clients_for(scenario, flavor.is_async, client_names, matrix),
                            profile.middleware, settings if scenario.uses_db else [None]):
                        near = _neighbours(scenario, choices)
                        # beside held connections, the neighbour's baseline: none held
                        for users in ((0, *profile.users) if near else profile.users):
                            cells.append(Cell(len(cells), server, scenario, flavor.name,
                                              client, users, trial, None, stack, conns,
                                              near))
                        for rate in profile.rates:
                            cells.append(Cell(len(cells), server, scenario, flavor.name,
                                              client, open_users(rate, scenario), trial,
                                              rate, stack, conns))
    for rule, (server_names, flavors) in left_out.items():
        which = (f"--flavors {flavors[0]} measures them" if len(flavors) == 1 else
                 "--flavors NAME measures one of them")
        skipped.append(f"{', '.join(flavors)} views on {', '.join(server_names)}:"
                       f" {rule.why}; {which}")
    if not profile.users and not profile.rates:
        raise ConfigError(f"profile {profile.name!r} sets neither users nor rates: give"
                          " --users or --rate (or use it with loadlab capacity)")
    if not cells and unserved:
        raise ConfigError(next(iter(unserved.values())))
    if not cells:
        raise ConfigError("the plan is empty: no cell matches the chosen servers, scenarios,"
                          " flavors and clients")

    upstream = replace(matrix.upstream, **profile.upstream)
    return Plan(profile=profile, cells=tuple(cells), upstream=upstream,
                skipped=tuple(skipped), project=project, target=choices.target,
                long_lived=choices.long_lived)


# Why an interface cannot serve a kind of connection (Scenario.interfaces says which can).
CANNOT = {"websocket": "WSGI has no websockets: Django Channels consumers need an ASGI"
                       " server (uvicorn, hypercorn, daphne, ...)"}


def _unserved(servers: list[ServerSpec], scenarios: list[Scenario],
              skipped: list[str]) -> dict[tuple[str, str], str]:
    """(server, scenario) pairs a server cannot serve, each said once in `skipped`:
    a story whose interfaces leave the server's out, or a websocket story on a server
    the matrix marks `websocket = false`."""
    out: dict[tuple[str, str], str] = {}
    for server in servers:
        for scenario in scenarios:
            if server.interface not in ("wsgi", "asgi"):  # an app already running: its own
                continue
            if server.interface not in scenario.interfaces:
                why = CANNOT.get(scenario.connection,
                                 f"it has no {server.interface} flavor")
            elif scenario.connection == "websocket" and not server.websocket:
                why = "the matrix says it serves no websockets (websocket = false)"
            else:
                continue
            out[server.name, scenario.name] = f"{scenario.name} on {server.name}: {why}"
            skipped.append(f"{out[server.name, scenario.name]}; left out")
    return out


def _neighbours(scenario: Scenario, choices: Choices) -> int:
    """--neighbour-users applies to the long-lived stories' closed-loop cells."""
    return choices.long_lived.neighbour_users if scenario.connection != "request" else 0


def _check_target_choices(choices: Choices) -> None:
    """What a running app's own configuration decides cannot be chosen here."""
    for given, flag in ((choices.servers, "--servers"), (choices.clients, "--clients"),
                        (choices.middleware, "--middleware"),
                        (choices.connections, "--connections")):
        if given:
            raise ConfigError(f"{flag} and --target: the running app's own configuration"
                              " decides that; loadlab starts no server for a target")


def _unservable(spec: ServerSpec, project: Project, named: bool,
                skipped: list[str]) -> bool:
    """A server that cannot serve this project: an error if the user named it, else
    left out with the reason (a project may have a wsgi or an asgi application only)."""
    if "{app}" not in " ".join(spec.args):
        why = f"server {spec.name}: its args do not say {{app}}, so it serves loadlab's app"
    elif project.application(spec.interface) is None:
        why = f"server {spec.name}: project {project.name} names no {spec.interface} application"
    else:
        return False
    if named:
        raise ConfigError(why)
    skipped.append(why)
    return True


# The open model's user cap: Little's law at HEADROOM x the unloaded latency, plus a
# few. Past that latency arrivals wait for a free user, and corrected latency counts it.
HEADROOM = 3.0
MAX_OPEN_USERS = 2000


def open_users(rate: float, scenario: Scenario) -> int:
    """Users (concurrency cap) for `rate` requests/s on `scenario`."""
    return min(MAX_OPEN_USERS, math.ceil(rate * scenario.typical_ms / 1000 * HEADROOM) + 2)


def _left_out(profile: Profile, server: str, flavor: str,
              chosen_flavors: tuple[str, ...] | None) -> LeaveOut | None:
    """The profile's rule that skips this (server, flavor), unless the user named the
    flavor."""
    if chosen_flavors is not None and flavor in chosen_flavors:
        return None
    return next((r for r in profile.leave_out if r.covers(server, flavor)), None)


def _clients_for(scenario: Scenario, is_async: bool, clients: list[str],
                 matrix: Matrix) -> list[str | None]:
    """Clients matter only where views call upstream; sync-less clients skip sync views."""
    if not scenario.uses_upstream:
        return [None]
    usable = [c for c in clients if is_async or matrix.clients[c].sync]
    return list(usable)
