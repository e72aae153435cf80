"""The unloaded probe: one Locust user, alone, on a server before its load.

It gives (R0, S): the latency at one user and the view's own time (its Server-Timing),
each the 10th percentile of the warm window's answers, not their mean (analysis/bounds.py
says why). They bound a closed loop at users / R0 and concurrency / S (collect.bounds),
which is how a cell that measured latency rather than the server's capacity is flagged
`load-bound`, and one that beat its bound anyway `bound-beaten`. `bench` probes each
configuration's fresh server before its first load; the web UI probes each flavor
before the session. The window's answers stay in `out`/latency.json.

WARMUP_S discards a fresh server's first answer, 40-50 ms slower than the rest, where
it comes within 150 ms; a slower first answer, or a later cold one (another worker's
first), falls in the window as its slowest, far above the 10th percentile. The probe's
Locust starts beside the server (`Probe.start`), so a probe costs its window, 1.15 s,
plus what is left of its Locust's boot and its exit: 1.5-1.8 s per configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..archive.folder import write_json
from ..config.project import BUILTIN, Project
from ..errors import MeasurementError
from ..proc import supervise
from . import loadgen

WARMUP_S, DURATION_S = 0.15, 1.0
STOP_GRACE_S = 5.0

Unloaded = tuple[float | None, float | None]  # (R0 ms, S ms); None: not measured


def unloaded(*, scenario: str, flavor: str, base_url: str, out: Path, catalog_rows: int,
             spawn_rate: float, cpus: Sequence[int] | None, project: Project = BUILTIN,
             server_alive: Callable[[], bool] = lambda: True) -> Unloaded:
    """(R0, S) of `flavor` at one user, written into `out`; (None, None) when the probe
    could not measure (the cell or session goes on without bounds, and says nothing
    it does not know)."""
    return Probe.start(scenario=scenario, flavor=flavor, base_url=base_url, out=out,
                       catalog_rows=catalog_rows, spawn_rate=spawn_rate, cpus=cpus,
                       project=project).measure(server_alive)


@dataclass
class Probe:
    """The probe's Locust, started before its server is up (`hold_s`: how long it may
    wait): its imports, about half a second, overlap the server's boot, as the cell's
    own Locust does (loadgen.env's go file). Nothing is sent until `measure`."""

    locust: supervise.Process
    out: Path
    go: Path
    bound_s: float

    @classmethod
    def start(cls, *, scenario: str, flavor: str, base_url: str, out: Path,
              catalog_rows: int, spawn_rate: float, cpus: Sequence[int] | None,
              project: Project = BUILTIN, hold_s: float = 0.0) -> Probe:
        out.mkdir(parents=True, exist_ok=True)
        go = out / "go"
        env = loadgen.env(cell_dir=out, warmup_s=WARMUP_S, duration_s=DURATION_S,
                          catalog_rows=catalog_rows, server_timing=True, go_file=go,
                          project_scenario=loadgen.project_scenario(project, scenario))
        argv = loadgen.headless_argv(scenario=scenario, flavor=flavor, host=base_url,
                                     users=1, spawn_rate=spawn_rate, warmup_s=WARMUP_S,
                                     duration_s=DURATION_S, cell_dir=out, report=False,
                                     project=project, hold_s=hold_s)
        locust = supervise.Process("locust", argv, log_path=out / "locust.log", env=env,
                                   cpus=cpus).start()
        return cls(locust, out, go, loadgen.run_bound_s(1, spawn_rate, WARMUP_S,
                                                        DURATION_S) + 15)

    def measure(self, server_alive: Callable[[], bool] = lambda: True) -> Unloaded:
        """Go: one user for the probe's window, then its (R0, S); stopped either way."""
        deadline = time.monotonic() + self.bound_s
        self.go.touch()
        try:
            while not self.locust.exited_within(0.05):
                if not server_alive() or time.monotonic() > deadline:
                    return None, None
            if self.locust.returncode not in (0, None):
                return None, None
            measurement = loadgen.read_measurement(self.out)
            write_json(self.out / "latency.json", measurement.to_json())
            return measurement.unloaded()
        except MeasurementError:
            return None, None
        finally:
            self.stop()

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop its Locust (measured or not) and remove the go file (a signal, not part
        of the record)."""
        self.locust.stop(grace)
        self.go.unlink(missing_ok=True)
