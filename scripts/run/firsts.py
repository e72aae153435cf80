"""What bench checks once a run on each server's first fresh instance: the keep-alive
path and event loop under loadlab's own app (load/transport.py), and that a team's
project or a --target answers each planned flavor (services/project.py)."""

from __future__ import annotations

from ..errors import CellFailed
from ..load import transport
from ..observe import Observers
from ..paths import LOOPBACK
from ..plan import Cell, Plan
from ..services import project as project_run


class FirstInstance:
    """Each server's checks, made on its first ready instance and kept for the run."""

    def __init__(self, plan: Plan, progress: Observers) -> None:
        self.plan, self.project, self.progress = plan, plan.project, progress
        self.transport: dict[str, transport.Transport] = {}  # per server
        self.verified: dict[str, project_run.Verified] = {}  # per server: a team's project

    def check(self, cell: Cell, port: int, base_url: str) -> None:
        """Call when the cell's server is ready; CellFailed when a team's flavor does
        not answer as expected."""
        self._transport(cell, port)
        self._verify(cell, base_url)

    def _transport(self, cell: Cell, port: int) -> None:
        """The server's first fresh instance in this run: its keep-alive path and loop."""
        name = cell.server.name
        if name in self.transport:
            return
        if not self.project.builtin or self.plan.target:  # no hello of ours to time
            self.transport[name] = transport.Transport(error="not checked: not loadlab's app")
            return
        seen = transport.check(LOOPBACK, port, cell.server.interface == "asgi")
        self.transport[name] = seen
        if said := seen.note(name, cell.server.loop):
            self.progress.note(*said)

    def _verify(self, cell: Cell, base_url: str) -> None:
        """A team's project or a target, on the server's first instance: each planned
        flavor's path answers its expected status, else that flavor's cells fail here."""
        if self.project.builtin and not self.plan.target:
            return
        name = cell.server.name
        if name not in self.verified:
            pairs = list(dict.fromkeys((c.scenario, c.flavor) for c in self.plan.cells
                                       if c.server.name == name))
            seen = self.verified[name] = project_run.verify(base_url, pairs)
            self.progress.note(seen.summary(name, len(pairs)),
                               style="yellow" if seen.problems else "")
        if problem := self.verified[name].problem(cell.scenario.name, cell.flavor):
            raise CellFailed(problem)
