"""py-spy on a process tree for one window: started on time, always stopped.

py-spy samples a running CPython from outside (no code in the server, no restart) and
follows a master's workers with `--subprocesses`: gunicorn's, granian's, hypercorn's
spawned ones, uvicorn's and daphne's one process alike. Two samplers watch the same
window at the same rate, each writing folded stacks (`--format raw`):

- `cpu`: `--gil`, the thread holding each process's GIL. py-spy's own idle test (the
  thread's state in /proc, else a guess from the leaf's name) counted 3-8x the CPU
  that psutil measured on a loaded 2-core machine (a woken thread waiting for a core
  reads as running, and the guess misses 3.13's `Condition.wait`); GIL-holding samples
  came within ~15 % of it for a one-process server.
- `wall`: `--idle`, every thread, waiting ones too: what a request waits on.

`--threads` puts each thread's name in its stacks (a thread-pool thread with no Python
frame yet is a thread being born); `--nonblocking` never pauses the server.
"""

from __future__ import annotations

import math
import re
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import supervise

SAMPLERS: dict[str, tuple[str, ...]] = {"cpu": ("--gil",), "wall": ("--idle",)}
COMMON = ("--subprocesses", "--threads", "--nonblocking", "--format", "raw")
FINISH_GRACE_S = 5.0  # past its planned end, py-spy is asked to write what it has
STOP_GRACE_S = 5.0  # after SIGINT, how long it has to write before it is killed
MAX_WAIT_S = 3600.0  # finish() never waits longer (a session's samplers: until stopped)
_ERRORS = re.compile(r"Samples: \d+ Errors: (\d+)")


def executable() -> str | None:
    """py-spy beside our interpreter (the venv's), else on PATH; None: not installed."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def samples_path(folder: Path, name: str) -> Path:
    return folder / f"samples-{name}.folded"


def argv(pid: int, rate: int, duration_s: float | None, out: Path, flags: Sequence[str],
         delay_s: float = 0.0, spy: str = "py-spy") -> list[str]:
    """One sampler's command: `delay_s` of sleep, then py-spy for whole seconds (its
    --duration is an integer; None: until stopped), so the process exists, and can be
    stopped, from the start."""
    seconds = () if duration_s is None else (
        "--duration", str(max(1, math.ceil(duration_s - 1e-6))))
    record = [spy, "record", "--pid", str(pid), "--rate", str(rate), *seconds,
              "-o", str(out), *COMMON, *flags]
    if delay_s <= 0:
        return record
    return ["sh", "-c", 'sleep "$0" && exec "$@"', f"{delay_s:.3f}", *record]


@dataclass
class Profiler:
    """The samplers of one window; `finish()` waits for them, `stop()` ends them."""

    folder: Path
    rate: int
    ends_at: float  # monotonic time the samplers should be done by
    procs: dict[str, supervise.Process] = field(default_factory=dict)

    @classmethod
    def start(cls, pid: int, folder: Path, rate: int, duration_s: float | None,
              delay_s: float = 0.0, cpus: Sequence[int] | None = None) -> Profiler:
        """Both samplers on `pid`'s tree, from `delay_s` from now for `duration_s`
        (None: until stopped)."""
        spy = executable()
        if spy is None:
            raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
        ends = math.inf if duration_s is None else delay_s + math.ceil(duration_s)
        profiler = cls(folder, rate, time.monotonic() + ends)
        try:
            for name, flags in SAMPLERS.items():
                samples_path(folder, name).unlink(missing_ok=True)
                profiler.procs[name] = supervise.Process(
                    f"py-spy {name}", argv(pid, rate, duration_s, samples_path(folder, name),
                                           flags, delay_s, spy),
                    log_path=folder / f"profiler-{name}.log", cpus=cpus,
                    stop_signal=signal.SIGINT).start()
        except BaseException:
            profiler.stop()
            raise
        return profiler

    def finish(self) -> dict[str, str]:
        """Wait for the samplers to end on their own (a little past their planned end),
        then stop any left; returns each sampler's problem, if it had one."""
        for proc in self.procs.values():
            proc.exited_within(min(max(0.0, self.ends_at + FINISH_GRACE_S - time.monotonic()),
                                   MAX_WAIT_S))
        return self.stop()

    def stop(self) -> dict[str, str]:
        """SIGINT each sampler still running (py-spy then writes what it has), then
        kill it; every one is reaped. Safe to call twice."""
        problems = {}
        for name, proc in self.procs.items():
            code = proc.stop(STOP_GRACE_S)  # reaps and forgets it, even one that ended
            if not samples_path(self.folder, name).exists():
                tail = proc.log_tail(3).replace("\n", " | ")
                problems[name] = f"py-spy {name} wrote no samples (exit {code}): {tail}"
        return problems

    def errors(self) -> dict[str, int]:
        """Samples py-spy could not take, per sampler, as its last line counts them (a
        thread that began or ended while read, with --nonblocking): lost, not guessed."""
        out = {}
        for name, proc in self.procs.items():
            found = _ERRORS.findall(proc.log_tail(5))
            if found:
                out[name] = int(found[-1])
        return out

    @property
    def files(self) -> dict[str, Path]:
        return {name: samples_path(self.folder, name) for name in self.procs}

