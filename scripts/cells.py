"""A cell's identity: one typed key, its label and its folder, spelled in one place.

A `CellKey` names what a cell measures across trials and across runs (server,
scenario, flavor, client, load, middleware stack). New axes (an arrival rate, a
middleware stack, a database, a project) join here as fields with defaults, and every
label, folder name, grouping and comparison picks them up.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from typing import Any

from .stories import BASELINE as BASELINE_STACK
from .stories import story_rank


@dataclass(frozen=True)
class CellKey:
    """server x scenario x flavor x client x load x middleware: a cell without its trial.

    The load is `users` in a closed loop, or an offered `rate` (requests/s) in the open
    model, where `users` is only the concurrency cap and not part of the identity.
    `middleware` names a stack (app.middleware.STACKS); None is the baseline, `none`,
    so runs from before the axis are the baseline's.
    """

    server: str
    scenario: str
    flavor: str
    client: str | None = None
    users: int = 0
    rate: float | None = None
    middleware: str | None = None
    connections: str | None = None  # [connections.<name>]; None: [database]'s own
    # users on a short view (the neighbour) beside a long-lived story's held connections
    neighbours: int = 0

    def __post_init__(self) -> None:
        if self.rate is not None:  # the open model: users is a cap, not the load
            object.__setattr__(self, "users", 0)
        if self.middleware == BASELINE_STACK:
            object.__setattr__(self, "middleware", None)

    @property
    def setting(self) -> tuple:
        """What two flavors must share to be set side by side: the load, the stack and
        the connection setting."""
        return self.users, self.rate, self.middleware, self.connections, self.neighbours

    @property
    def load(self) -> str:
        """`u20` (closed loop, 20 users) or `r40` (open model, 40 requests/s);
        `u4+n2` with two neighbour users beside four held connections."""
        load = f"r{self.rate:g}" if self.rate is not None else f"u{self.users}"
        return load + (f"+n{self.neighbours}" if self.neighbours else "")

    @property
    def client_part(self) -> str:
        """` [httpx]`, or nothing for scenarios that make no upstream call."""
        return f" [{self.client}]" if self.client else ""

    @property
    def stack_part(self) -> str:
        """` mw=default conn=pool`: the middleware stack and the connection setting, each
        left out when it is the run's default."""
        mw = f" mw={self.middleware}" if self.middleware else ""
        return mw + (f" conn={self.connections}" if self.connections else "")

    @property
    def variant(self) -> str:
        """`flavor [client] [mw=stack] [conn=name] uN`: the cell inside one scenario
        and server."""
        return f"{self.flavor}{self.client_part}{self.stack_part} {self.load}"

    @property
    def label(self) -> str:
        """`server scenario/flavor [client] uN`: the cell anywhere."""
        return f"{self.server} {self.scenario}/{self.variant}"

    def name(self, with_scenario: bool = False) -> str:
        """`server flavor [client] uN` (the scenario is usually a heading)."""
        return self.label if with_scenario else f"{self.server} {self.variant}"

    def trial_label(self, trial: int) -> str:
        return f"{self.label} t{trial}"

    def dirname(self, trial: int) -> str:
        client = f"-{self.client}" if self.client else ""
        stack = f"-mw-{self.middleware}" if self.middleware else ""
        stack += f"-conn-{self.connections}" if self.connections else ""
        return f"{self.scenario}-{self.flavor}{client}{stack}-{self.load}-t{trial}"

    def path(self, trial: int) -> str:
        """The cell's folder, relative to the run folder."""
        return f"cells/{self.server}/{self.dirname(trial)}"

    def with_flavor(self, flavor: str, client: str | bool | None = False) -> CellKey:
        """The same cell with another flavor (and, if given, another client)."""
        return replace(self, flavor=flavor,
                       client=self.client if client is False else client)

    def as_list(self) -> list[Any]:
        """The key as JSON keeps it: [server, scenario, flavor, client, users], the rate
        after them for open-model cells, then the middleware stack and the connection
        setting (null where not given) when either is set."""
        parts = list(astuple(self))
        if parts.pop():  # neighbours: last, and only where there are any
            return [*parts, self.neighbours]
        if self.middleware is not None or self.connections is not None:
            return parts
        return parts[:6] if self.rate is not None else parts[:5]

    def sort_key(self, scenario_first: bool = False) -> tuple:
        """A total order (None and numbers made comparable); scenario first if asked."""
        parts = self.as_list()
        if scenario_first:  # stories in the literature's order (app.scenarios.STORY_ORDER)
            parts = [f"{story_rank(parts[1]):03d}{parts[1]}", parts[0], *parts[2:]]
        return tuple("" if p is None else f"{p:016.3f}" if isinstance(p, int | float) else p
                     for p in parts)
