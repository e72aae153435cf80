"""The transport check: before a server's first load, is its keep-alive path sound?

One keep-alive connection, 200 sequential requests to the plain sync hello
view. A healthy server answers in a millisecond or two on loopback; a server whose
socket lost TCP_NODELAY writes each response in two segments and the second waits for
the client's delayed ACK, ~40 ms (uvicorn issue 3149). A p50 above NAGLE_P50_MS is that
signature, and every cell of the server is flagged `nagle`: its latencies measure the
kernel's ACK timer, not the server.

It also asks the running server which event loop serves async views (app/urls.py's
runtime view): the loop a server's args ask for is then checked, not assumed.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from statistics import median

from ..stories import RUNTIME_PATH, SCENARIOS_BY_NAME

NAGLE_P50_MS = 30.0
REQUESTS = 200
WARM = 5  # first requests (imports, the connection) are not counted
EARLY = 20  # after this many, a p50 already over the threshold ends the check
TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Transport:
    """What the check saw on one server."""

    p50_ms: float | None = None
    requests: int = 0
    reconnects: int = 0  # answers that closed the connection (no keep-alive)
    loop: str | None = None  # the running loop's class, ASGI servers only
    error: str | None = None

    @property
    def nagle(self) -> bool:
        return nagle(self.p50_ms)

    def note(self, server: str, declared_loop: str | None) -> tuple[str, str] | None:
        """What the run should say about it (text, style), if anything."""
        if self.error:
            return f"{server}: transport check failed: {self.error}", ""
        if self.nagle:
            return (f"{server}: sequential keep-alive p50 {self.p50_ms:g} ms (over"
                    f" {NAGLE_P50_MS:g} ms, the delayed-ACK stall of a socket without"
                    " TCP_NODELAY): its cells are flagged nagle", "yellow")
        if declared_loop and self.loop and declared_loop not in self.loop:
            return f"{server}: declared loop {declared_loop} but it runs {self.loop}", "yellow"
        return None


def nagle(p50_ms: float | None) -> bool:
    """A sequential keep-alive p50 this slow on loopback is the delayed-ACK stall."""
    return p50_ms is not None and p50_ms > NAGLE_P50_MS


def check(host: str, port: int, asgi: bool, requests: int = REQUESTS) -> Transport:
    """Time `requests` sequential keep-alive GETs of the sync hello view; ask an ASGI
    server for its loop. A failure is kept in `error`: the cell itself will say more."""
    path = next(f.path for f in SCENARIOS_BY_NAME["hello"].flavors if f.name == "sync")
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    times: list[float] = []
    reconnects = 0
    try:
        for i in range(WARM + requests):
            start = time.perf_counter()
            closed = _get(conn, path)[1]
            if i >= WARM:
                times.append((time.perf_counter() - start) * 1000)
                reconnects += closed
                if len(times) == EARLY and nagle(median(times)):
                    break
        loop = json.loads(_get(conn, RUNTIME_PATH)[0])["loop"] if asgi else None
    except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
        return Transport(round(median(times), 3) if times else None, len(times),
                         reconnects, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
    return Transport(round(median(times), 3), len(times), reconnects, loop)


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[bytes, bool]:
    """One GET on the kept connection (http.client reopens it if the server closed
    it); the body, and whether the server closed the connection after it."""
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise http.client.HTTPException(f"GET {path} answered {response.status}")
    return body, response.will_close
