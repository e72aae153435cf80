"""`loadlab worker --master HOST[:PORT]`: a load host joining a run's cells.

Every cell of a run starts a Locust master of its own on the run's fixed port; a worker
here joins it, receives the cell's locustfile and settings from it (`locust --worker
-f -`), runs its share of the users, reports its histograms in its messages and exits
when the cell ends. Then it waits for the next cell's master, until Ctrl-C, or until no
master has come for `idle_s` seconds.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import Interrupted, UsageError
from ..paths import is_loopback
from ..proc import supervise
from ..proc.signals import interrupts
from .loadgen import worker_argv

DEFAULT_PORT = 5557  # the masters' port for remote workers (Locust's own default)
WAIT_S = 60.0  # a cell's master waits this long for its remote workers to join
RETRY_S = 1.0


def invitation(count: int, host: str, port: int) -> tuple[str, str]:
    """What the run says on start: how many workers it expects, and the command to
    paste on each load host (a line of its own, never folded)."""
    where = host if host not in ("0.0.0.0", "::") else "<this host's address>"
    return (f"each cell waits for {count} remote Locust worker(s); on each load host run:",
            f"loadlab worker --master {where}:{port}"
            + ("" if is_loopback(host) else " --allow-remote"))


def parse_master(text: str, allow_remote: bool) -> tuple[str, int]:
    """HOST[:PORT], loopback unless allowed; UsageError (exit 2) otherwise."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(DEFAULT_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"loadlab worker: --master {text}: expected HOST[:PORT]")
    if not is_loopback(host) and not allow_remote:
        raise UsageError(f"loadlab worker: --master {text}: {host} is not this machine;"
                         " pass --allow-remote to send load from here for it")
    return host, int(port)


def serve_cells(host: str, port: int, idle_s: float, cells: int | None,
                say: Callable[[str], None]) -> int:
    """Join cell after cell; the number of cells joined. Stops on Ctrl-C or SIGTERM
    (every Locust it started is stopped), after `cells` cells, or after `idle_s`
    seconds without a master."""
    home = Path(tempfile.mkdtemp(prefix="loadlab-remote-worker-"))
    done = 0
    say(f"waiting for a cell's master at {host}:{port} (Ctrl-C to stop)")
    try:
        with interrupts():
            idle_since = time.monotonic()
            while cells is None or done < cells:
                locust = supervise.Process(
                    "locust worker", worker_argv(host, port), log_path=home / "worker.log",
                    env={"TMPDIR": str(home)}, cwd=home).start()
                while not locust.exited_within(0.5):
                    if time.monotonic() - idle_since > idle_s and not _joined(home):
                        locust.stop(2.0)
                        say(f"no master came for {idle_s:g} s: stopping")
                        return done
                if locust.returncode == 0 and _joined(home):
                    done += 1
                    say(f"cell {done} done")
                    idle_since = time.monotonic()
                else:
                    time.sleep(RETRY_S)
                (home / "worker.log").unlink(missing_ok=True)
    except Interrupted:
        say(f"stopped after {done} cell(s)")
        raise
    finally:
        supervise.stop_all()
        shutil.rmtree(home, ignore_errors=True)
    return done


def _joined(home: Path) -> bool:
    """Whether this worker's Locust got a master's locustfile and ran (its log says)."""
    try:
        return "Starting Locust" in (home / "worker.log").read_text(errors="replace")
    except OSError:
        return False
