"""Where a server's time goes, by layer: the table that names layers, as data, and the
attribution of sampled stacks (py-spy's folded stacks) to them.

A sample goes to the layer of its innermost (leaf-most) frame that the table names.
Frames of unnamed modules (json, logging, socket, ...) take the layer of the nearest
named frame that called them, so a JSON encoder under a view is view code and the same
encoder under Django's JsonResponse is Django's: what a team could change is the code
that made the call. A few shared modules belong to their caller when one of its layer
is outside them (`WITHIN`: h11 under httpcore is the HTTP client, not the server), and
a thread with no Python frame yet (or any more) is a thread being born or ended:
a thread hop.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

OTHER = "other"
THREAD_HOPS = "thread hops"
VIEW = "view code"
# module-path prefix -> layer; the longest matching prefix wins
TABLE: dict[str, str] = {
    **dict.fromkeys(("gunicorn", "uvicorn", "uvicorn_worker", "granian", "hypercorn",
                     "daphne", "twisted", "autobahn", "h11", "h2", "httptools", "wsproto",
                     "websockets", "channels"), "server"),
    **dict.fromkeys(("asyncio", "uvloop", "selectors"), "event loop"),
    **dict.fromkeys(("django.core.handlers", "django.http", "django.urls",
                     "django.dispatch", "django.core.signals"), "django request handling"),
    **dict.fromkeys(("django.middleware", "django.contrib.sessions.middleware",
                     "django.contrib.auth.middleware", "django.contrib.messages.middleware",
                     "app.middleware"), "middleware"),
    **dict.fromkeys(("asgiref.sync", "asgiref.current_thread_executor", "asgiref.local",
                     "concurrent.futures", "threading", "queue"), THREAD_HOPS),
    **dict.fromkeys(("app.stories", "app.catalog"), VIEW),
    **dict.fromkeys(("django.db.models", "django.db.transaction", "django.db.utils"), "ORM"),
    # Django's backend runs the driver's C calls (sqlite3 has no Python frame of its own)
    **dict.fromkeys(("psycopg", "psycopg_pool", "psycopg_binary", "psycopg_c", "sqlite3",
                     "django.db.backends"), "database driver"),
    **dict.fromkeys(("django.template", "jinja2"), "templates"),
    **dict.fromkeys(("httpx", "httpcore", "anyio", "sniffio", "aiohttp", "aiohappyeyeballs",
                     "yarl", "multidict", "app.clients"), "HTTP client"),
}
LAYERS = ("server", "event loop", "django request handling", "middleware", THREAD_HOPS,
          VIEW, "ORM", "database driver", "templates", "HTTP client", OTHER)
# (shared module, the layer it joins, when any of these modules called it)
WITHIN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("h11", "HTTP client", ("httpcore",)),
    ("asyncio", "HTTP client", ("httpcore", "anyio", "aiohttp")),
    ("selectors", "HTTP client", ("httpcore", "anyio", "aiohttp")),
    ("threading", "HTTP client", ("httpcore", "httpx")),
    ("threading", "database driver", ("psycopg", "psycopg_pool")),
)
# a stack with no Python frame: by its thread's name (py-spy --threads), else other
FRAMELESS: dict[str, str] = {"ThreadPoolExecutor": THREAD_HOPS, "asyncio_": THREAD_HOPS,
                             "Thread-": THREAD_HOPS, "thread (0)": THREAD_HOPS}
NO_FRAME = "(no Python frame)"
MIN_SAMPLES = 200  # fewer on-CPU samples than this: the shares are too coarse to print
# a pool's thread waiting for work: its leaf frame (module, function); not a request
IDLE_WAITS = frozenset({("concurrent.futures.thread", "_worker")})
_INDEX = re.compile(r"[-_]\d+$")  # ThreadPoolExecutor-0_12, asyncio_3: one pool's threads

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Sample:
    """One folded stack: its frames outermost first (py-spy's process and thread
    pseudo-frames taken out), the thread's name, its process id and its count."""

    frames: tuple[str, ...]
    thread: str
    pid: str
    count: int


def parse(lines: Iterable[str]) -> list[Sample]:
    """py-spy's `--format raw` (folded stacks: `frame;frame;... count`); bad lines skipped.
    A command line with a newline in it (`python -c` code) spans lines: joined back."""
    out, held = [], ""
    for line in lines:
        stack, _, count = (held + line.rstrip("\n")).rpartition(" ")
        if not stack or not count.isdigit():
            held = (held + line.rstrip("\n") + "\n") if line.startswith("process ") or held \
                else ""
            continue
        held = ""
        frames, thread, pid = [], "", ""
        for part in stack.split(";"):
            if part.startswith("process ") and ':"' in part:
                pid = part[8:part.index(":")]
            elif part.startswith("thread (") and not frames:
                thread = part
            else:
                frames.append(part)
        out.append(Sample(tuple(frames), thread, pid, int(count)))
    return out


@functools.lru_cache(maxsize=65536)
def module(frame: str) -> str:
    """`func (django/http/response.py:12)` -> `django.http.response`; `<frozen runpy>`
    -> `runpy`; "" for what is not a frame."""
    m = _FRAME.match(frame)
    if not m:
        return ""
    path = m["file"].strip("<>").removeprefix("frozen ")
    path = path.removesuffix(".py").removesuffix("/__init__")
    return path.replace("/", ".")


def _inside(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


class Table:
    """The layer table with a team's own packages as view code."""

    def __init__(self, view_packages: Sequence[str] = ()) -> None:
        self.prefixes = {**TABLE, **dict.fromkeys(view_packages, VIEW)}
        self._cache: dict[str, str | None] = {}

    def named(self, name: str) -> str | None:
        """The table's layer of a module, by its longest matching prefix."""
        if name not in self._cache:
            best = max((p for p in self.prefixes if _inside(name, p)), key=len, default=None)
            self._cache[name] = self.prefixes[best] if best else None
        return self._cache[name]

    def layer(self, sample: Sample) -> str:
        """The layer a sample goes to (see the module's docstring)."""
        modules = [module(f) for f in sample.frames]
        for i in range(len(modules) - 1, -1, -1):
            layer = self.named(modules[i])
            if layer is None:
                continue
            callers = modules[:i]
            for shared, joins, owners in WITHIN:
                if _inside(modules[i], shared) and any(
                        _inside(c, o) for c in callers for o in owners):
                    return joins
            return layer
        if not sample.frames:
            name = sample.thread.split(": ", 1)[-1] if sample.thread else ""
            return next((layer for prefix, layer in FRAMELESS.items()
                         if name.startswith(prefix) or sample.thread.startswith(prefix)),
                        OTHER)
        return OTHER

    def shares(self, samples: Sequence[Sample]) -> dict[str, float]:
        """Each layer's share of the samples, largest first (layers with none left out)."""
        counts: Counter[str] = Counter()
        for s in samples:
            counts[self.layer(s)] += s.count
        total = sum(counts.values())
        return {k: v / total for k, v in counts.most_common()} if total else {}


def leaf(sample: Sample) -> str:
    return sample.frames[-1] if sample.frames else NO_FRAME


def top_frames(samples: Sequence[Sample], table: Table, n: int = 10) -> list[dict]:
    """The leaf frames with the most samples: where the time is spent, line by line."""
    counts: Counter[tuple[str, str]] = Counter()
    for s in samples:
        counts[(leaf(s), table.layer(s))] += s.count
    total = sum(counts.values()) or 1
    return [{"frame": frame, "layer": layer, "share": round(c / total, 4)}
            for (frame, layer), c in counts.most_common(n)]


def idle(sample: Sample) -> bool:
    """A pool's thread waiting for work (its executor's queue), not serving anything."""
    if not sample.frames:
        return False
    m = _FRAME.match(sample.frames[-1])
    return bool(m) and (module(sample.frames[-1]), m["name"].rsplit(".", 1)[-1]) in IDLE_WAITS


def pools(wall: Sequence[Sample], table: Table, intervals: float) -> list[dict]:
    """Thread pools on the wall clock: per process, two or more threads whose names differ
    only by a trailing index (gthread's ThreadPoolExecutor-0_N, the loop's asyncio_N).
    `threads` seen, how many were alive and how many busy (not waiting for work) on
    average as sampled, `busy_share` (busy / alive: py-spy falls behind with many
    threads and samples each less often, alike) and the layers the busy ones sat in: a
    pool busy nearly all the time is the limit. An executor per request (asgiref's,
    under ASGI) has one thread: no pool."""
    groups: dict[tuple[str, str], tuple[set[str], Counter[str]]] = {}
    for s in wall:
        name = s.thread.split(": ", 1)[-1]
        base = _INDEX.sub("", name)
        if base == name:
            continue
        names, counts = groups.setdefault((s.pid, base), (set(), Counter()))
        names.add(name)
        counts["(alive)"] += s.count
        if not idle(s):
            counts[table.layer(s)] += s.count
    out = []
    for (pid, base), (names, counts) in groups.items():
        alive = counts.pop("(alive)")
        busy = sum(counts.values())
        if len(names) < 2 or not intervals:
            continue
        out.append({"pid": pid, "name": base, "threads": len(names),
                    "alive": round(alive / intervals, 2), "busy": round(busy / intervals, 2),
                    "busy_share": round(busy / alive, 3),
                    "layers": {k: round(v / busy, 3) for k, v in counts.most_common(3)}})
    return sorted(out, key=lambda p: -p["busy"])


def blocked(cpu: Sequence[Sample], wall: Sequence[Sample], table: Table,
            n: int = 5) -> list[dict]:
    """Where threads sat without the GIL while serving: per leaf frame, the wall samples
    beyond its on-CPU ones, as a share of the wall samples of threads not waiting for
    work (a pool's idle threads left out). A lock at the top is what requests queue on."""
    walls = 0
    counts: Counter[tuple[str, str]] = Counter()
    for s in wall:
        if not idle(s):
            walls += s.count
            counts[(leaf(s), table.layer(s))] += s.count
    for s in cpu:
        counts[(leaf(s), table.layer(s))] -= s.count
    return [{"frame": frame, "layer": layer, "share": round(c / walls, 4)}
            for (frame, layer), c in counts.most_common(n) if c > 0] if walls else []


def gil_held(cpu: Sequence[Sample], intervals: float) -> dict[str, float]:
    """Per process, the share of the window some thread held its GIL (a process near
    1.0 runs Python all the time: any thread more only waits for the GIL)."""
    held: Counter[str] = Counter()
    for s in cpu:
        held[s.pid] += s.count
    return {pid: round(min(1.0, n / intervals), 3) for pid, n in held.most_common()
            } if intervals else {}


def summarise(cpu: Sequence[Sample], wall: Sequence[Sample], *, rate: int,
              duration_s: float, cpu_s: float | None, requests: int,
              table: Table) -> dict:
    """profile.json: the on-CPU view in microseconds per request by layer (the server's
    CPU seconds, as the harness's sampler measured them, x each layer's share of the
    GIL-holding samples / requests), the wall view (every thread, idle too) and the
    GIL; a window with fewer than MIN_SAMPLES on-CPU samples gets no table, only why."""
    n = sum(s.count for s in cpu)
    walls = sum(s.count for s in wall)
    out: dict = {"samples": n, "cpu_s": round(cpu_s, 3) if cpu_s is not None else None,
                 "rate": rate, "duration_s": duration_s, "requests": requests,
                 "sampled_cpu_s": round(n / rate, 3) if rate else None,
                 "layers": {}, "wall": {}, "gil": {}, "top": []}
    busy = table.shares(cpu)
    if n < MIN_SAMPLES:
        out["note"] = f"too few samples ({n} on-CPU < {MIN_SAMPLES}): no table"
    else:
        per_request = (cpu_s * 1e6 / requests) if cpu_s is not None and requests else None
        out["layers"] = {name: {"share": round(share, 4),
                                "cpu_us_per_request": (round(share * per_request, 1)
                                                       if per_request is not None else None)}
                         for name, share in busy.items()}
        out["top"] = top_frames(cpu, table)
    if walls:  # plenty even when the CPU was not: every thread, every interval
        out["wall"] = {
            "samples": walls,
            "idle_share": round(max(0.0, 1 - n / walls), 4),  # not holding a GIL
            "layers": {k: round(v, 4) for k, v in table.shares(wall).items()},
            "waiting": {k: round(max(0.0, v * walls - busy.get(k, 0.0) * n) / walls, 4)
                        for k, v in table.shares(wall).items()},
            "top": top_frames(wall, table),
            "pools": pools(wall, table, rate * duration_s),
            "blocked": blocked(cpu, wall, table),
        }
    out["gil"] = {"held_share": gil_held(cpu, rate * duration_s)}
    return out
