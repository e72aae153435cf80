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

py-spy 0.4 now and then exits at once with "No python processes found in process N" on
a server that is serving (docs/FIELD-NOTES.md): its attach failed, not the server. A
watcher thread per sampler starts such a sampler once more, RETRY_AFTER_S later, for
what is left of the window, and `retried` says so.
"""

from __future__ import annotations

import math
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from . import supervise

SAMPLERS: dict[str, tuple[str, ...]] = {"cpu": ("--gil",), "wall": ("--idle",)}
COMMON = ("--subprocesses", "--threads", "--nonblocking", "--format", "raw")
FINISH_GRACE_S = 5.0  # past its planned end, py-spy is asked to write what it has
STOP_GRACE_S = 5.0  # after SIGINT, how long it has to write before it is killed
MAX_WAIT_S = 3600.0  # finish() never waits longer (a session's samplers: until stopped)
RETRY_AFTER_S = 0.3  # a failed attach is tried once more this much later
_ERRORS = re.compile(r"Samples: \d+ Errors: (\d+)")
_NOT_ATTACHED = re.compile(r"No python processes found in process \d+[^\n]*")


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


def attach_failed(code: int | None, log: str) -> str | None:
    """py-spy's own failure to attach, worth one more try: its line, if a sampler that
    exited non-zero said it found no Python process (while the target lives: checked
    by the caller). A stopped sampler (code None or 0) or any other error: None."""
    if not code:
        return None
    found = _NOT_ATTACHED.search(log)
    return found.group(0).strip() if found else None


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass
class Profiler:
    """The samplers of one window; `finish()` waits for them, `stop()` ends them."""

    folder: Path
    rate: int
    ends_at: float  # monotonic time the samplers should be done by
    pid: int = 0  # the sampled process
    spy: str = "py-spy"
    cpus: Sequence[int] | None = None
    procs: dict[str, supervise.Process] = field(default_factory=dict)
    retried: dict[str, str] = field(default_factory=dict)  # sampler: why it started again
    _watchers: dict[str, threading.Thread] = field(default_factory=dict, repr=False)
    _log_from: dict[str, int] = field(default_factory=dict, repr=False)  # this try's output
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, pid: int, folder: Path, rate: int, duration_s: float | None,
              delay_s: float = 0.0, cpus: Sequence[int] | None = None) -> Profiler:
        """Both samplers on `pid`'s tree, from `delay_s` from now for `duration_s`
        (None: until stopped)."""
        spy = executable()
        if spy is None:
            raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
        ends = math.inf if duration_s is None else delay_s + math.ceil(duration_s)
        profiler = cls(folder, rate, time.monotonic() + ends, pid, spy, cpus)
        try:
            for name in SAMPLERS:
                samples_path(folder, name).unlink(missing_ok=True)
                profiler.procs[name] = profiler._launch(name, duration_s, delay_s)
            for name in SAMPLERS:
                profiler._watchers[name] = threading.Thread(
                    target=profiler._watch, args=(name,), name=f"py-spy {name} watcher",
                    daemon=True)
                profiler._watchers[name].start()
        except BaseException:
            profiler.stop()
            raise
        return profiler

    def _launch(self, name: str, duration_s: float | None,
                delay_s: float = 0.0) -> supervise.Process:
        log = self.folder / f"profiler-{name}.log"
        self._log_from[name] = log.stat().st_size if log.exists() else 0
        return supervise.Process(
            f"py-spy {name}", argv(self.pid, self.rate, duration_s,
                                   samples_path(self.folder, name), SAMPLERS[name], delay_s,
                                   self.spy),
            log_path=log, cpus=self.cpus,
            stop_signal=signal.SIGINT).start()

    def _watch(self, name: str) -> None:
        """Wait for the sampler to end; if py-spy could not attach to a target that still
        runs, start it once more for the rest of the window (its log gets both tries)."""
        proc = self.procs[name]
        assert proc.popen is not None
        code = proc.popen.wait()
        try:
            with open(proc.log_path, errors="replace") as f:
                f.seek(self._log_from[name])
                failed = attach_failed(code, f.read())
        except OSError:
            return
        if failed is None or self._stopping.wait(RETRY_AFTER_S) or not _running(self.pid):
            return
        left = self.ends_at - time.monotonic()
        if left <= 0:
            return
        with self._lock:  # stop() either sees the new sampler or none is started
            if self._stopping.is_set():
                return
            proc.stop(0)  # ended: reaped and forgotten
            self.procs[name] = proc = self._launch(
                name, None if math.isinf(left) else left)
            self.retried[name] = f"{failed}; started again after {RETRY_AFTER_S:g} s"
        assert proc.popen is not None
        proc.popen.wait()  # finish() joins this thread: the second try's end

    def finish(self) -> dict[str, str]:
        """Wait for the samplers to end on their own (a little past their planned end),
        then stop any left; returns each sampler's problem, if it had one."""
        for watcher in self._watchers.values():
            watcher.join(min(max(0.0, self.ends_at + FINISH_GRACE_S - time.monotonic()),
                             MAX_WAIT_S))
        return self.stop()

    def stop(self) -> dict[str, str]:
        """SIGINT each sampler still running (py-spy then writes what it has), then
        kill it; every one is reaped and no sampler is started again. Safe to call
        twice."""
        self._stopping.set()
        with self._lock:
            procs = dict(self.procs)
        problems = {}
        for name, proc in procs.items():
            code = proc.stop(STOP_GRACE_S)  # reaps and forgets it, even one that ended
            if not samples_path(self.folder, name).exists():
                said = attach_failed(code, proc.log_tail(12)) or proc.log_tail(3).replace(
                    "\n", " | ")
                again = ", tried twice" if name in self.retried else ""
                problems[name] = f"py-spy {name} wrote no samples (exit {code}{again}): {said}"
        for watcher in self._watchers.values():
            if watcher is not threading.current_thread():
                watcher.join(STOP_GRACE_S)
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

