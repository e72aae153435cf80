"""The load generator of one cell: one Locust process, or a master and N workers.

Workers (`--workers N`) are processes of their own, not Locust's forks: each is pinned
by the CPU plan and runs in a working directory of its own, with nothing shared through
files, as on another host. Their seconds reach the master in their reports
(locustfiles/base.py), and the master alone writes into the cell folder. The master
waits for all of them (--expect-workers) before any user starts.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..errors import CellFailed
from ..proc import supervise

WORKER_ONLY_KEYS = ("LOADLAB_CELL_DIR", "LOADLAB_GO_FILE")  # the master's business


@dataclass
class Generator:
    master: supervise.Process
    workers: list[supervise.Process] = field(default_factory=list)
    homes: list[Path] = field(default_factory=list)

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str], log_path: Path,
              cpus: Sequence[int] | None, worker_argv: Sequence[str] = (),
              workers: int = 0) -> Generator:
        """The master (or the only process) first, then its workers; each started."""
        generator = cls(supervise.Process("locust", argv, log_path=log_path, env=env,
                                          cpus=cpus).start())
        try:
            for i in range(workers):
                home = Path(tempfile.mkdtemp(prefix=f"loadlab-worker-{i}-"))
                generator.homes.append(home)
                generator.workers.append(supervise.Process(
                    f"locust worker {i}", worker_argv,
                    log_path=log_path.with_name(f"locust-worker-{i}.log"),
                    # its own temporary folder too: Locust writes the master's file there
                    env={**env, **dict.fromkeys(WORKER_ONLY_KEYS, ""), "TMPDIR": str(home)},
                    cwd=home,
                    cpus=cpus).start())
        except BaseException:
            generator.stop(0.5)
            raise
        return generator

    def tree(self) -> list[psutil.Process]:
        return [p for proc in (self.master, *self.workers) for p in proc.tree()]

    def exited_within(self, timeout: float) -> bool:
        return self.master.exited_within(timeout)

    @property
    def returncode(self) -> int | None:
        return self.master.returncode

    def log_tail(self) -> str:
        return self.master.log_tail()

    def wait(self, server: supervise.Process, server_name: str, bound_s: float) -> None:
        """Until Locust has quit (it ends its window itself): CellFailed if the server
        dies meanwhile, if Locust overruns `bound_s` seconds or exits with an error."""
        deadline = time.monotonic() + bound_s
        while not self.exited_within(0.2):
            if not server.alive:
                raise CellFailed(f"server {server_name} exited with code"
                                 f" {server.returncode} in the middle of the cell")
            if time.monotonic() > deadline:
                raise CellFailed("Locust did not finish in time")
        if self.returncode not in (0, None):
            raise CellFailed(f"Locust exited with code {self.returncode}; see locust.log:\n"
                             + self.log_tail())

    def stop(self, grace: float) -> None:
        """The master first (it tells its workers to quit), then whatever worker is left."""
        self.master.stop(grace)
        for worker in self.workers:
            worker.stop(grace)
        for home in self.homes:
            shutil.rmtree(home, ignore_errors=True)
