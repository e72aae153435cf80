"""What a long-lived story's cell measured beyond its first answer: the held
connections' events and their lag, handshakes, abandoned connections, the neighbour
beside them, and what the server kept after the load.

The long-lived locustfiles (locustfiles/longlived.py) record under these names, one
HdrHistogram per second each, in the same latency files as every cell:
`<flavor>` the first event, echo or upload completion (the cell's latency), `<flavor>
lag` each event's delay behind its due time, `<flavor> spread` a stream's first to last
event, `<flavor> handshake` a websocket's
opening, `<flavor> gone` a connection the client abandoned halfway, `neighbour` the
short view's requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..archive.records import CellRecord
from ..config.longlived import params
from ..errors import MeasurementError
from ..plan import Cell, Plan
from ..proc.sampler import Snapshot
from ..stories import get as get_scenario
from .loadgen import Measurement, read_measurement

BUFFERED_SHARE = 0.5  # events closer together than this share of their schedule
LEAK_CPU_PCT = 20.0  # the server still busy this long after its clients left


def locust_env(cell: Cell, plan: Plan) -> dict[str, Any]:
    """loadgen.env's long-lived settings for a cell: the query (the user's parameters),
    the share abandoned halfway, and the neighbour beside the held connections; none
    for a short request's story."""
    if cell.scenario.connection == "request":
        return {}
    return {"query": plan.query(cell.scenario), "disconnect": plan.long_lived.disconnect,
            "neighbour_users": cell.neighbours, "neighbour_path": neighbour_path(cell.flavor)}


def neighbour_path(flavor: str) -> str:
    """The short view beside held connections: hello, in the held flavor's kind."""
    return get_scenario("hello").flavor("async" if flavor.startswith("async")
                                        else "sync").path


def settle_s(query: str) -> float:
    """How long the server gets to notice its clients left: two intervals (a generator
    learns it at its next write), at least a second (a server closing hundreds of them
    is still busy for a moment), at most 5."""
    return min(5.0, max(1.0, 2 * params(query).get("interval_ms", 250.0) / 1000))


def _extra(cell_dir: Path, name: str) -> Measurement | None:
    """One extra name's steady-state seconds (the files stay for the cell's own read)."""
    try:
        m = read_measurement(cell_dir, name=name, keep_raw=True)
    except MeasurementError:
        return None
    return m if m.requests + m.failures else None


def collect(record: CellRecord, cell_dir: Path, connection: str, query: str,
            neighbour_path: str | None) -> None:
    """The held connections' numbers into `record.held` (and the neighbour's into
    `record.neighbour`). Call before the cell's own read_measurement, which removes the
    files."""
    flavor = record.flavor
    held: dict[str, Any] = {"connection": connection, "query": query}
    lag = _extra(cell_dir, f"{flavor} lag")
    if lag is not None:
        held["events"] = lag.requests
        held["lag_ms"] = lag.latency_ms
    spread = _extra(cell_dir, f"{flavor} spread")
    if spread is not None:
        held["spread_ms"] = spread.latency_ms
    handshake = _extra(cell_dir, f"{flavor} handshake")
    if handshake is not None:
        held["handshake_ms"] = handshake.latency_ms
        held["handshake_failures"] = handshake.failures
    gone = _extra(cell_dir, f"{flavor} gone")
    held["gone"] = (gone.requests + gone.failures) if gone else 0
    record.held = held
    if neighbour_path is not None:
        near = _extra(cell_dir, "neighbour")
        record.neighbour = {
            "users": record.neighbours, "path": neighbour_path,
            "requests": near.requests if near else 0,
            "failures": near.failures if near else 0,
            "rps": round(near.rps, 2) if near else 0.0,
            "latency_ms": near.latency_ms if near else {}}


def finish(record: CellRecord, min_requests: int, before: Snapshot | None = None,
           after: Snapshot | None = None) -> None:
    """Once the cell's own numbers are in: events per session, `buffered` (a stream
    whose events came less than half their schedule apart: the server held them back
    and sent them at once, as Django does with a generator its interface cannot step),
    and what
    the server kept after the load. A session's events count towards `few-requests`
    (each is a measured sample); a cell of no held connection measures its neighbour."""
    held = record.held
    if held is None:
        return
    sessions = record.requests - record.failures
    held["sessions"] = sessions
    enough = held.get("events", 0) >= min_requests or (record.users == 0 and sessions == 0)
    if enough and "few-requests" in record.warnings:
        record.warnings.remove("few-requests")
    if before is not None and after is not None:
        _after_load(record, before, after)
    if "events" in held and sessions:
        held["events_per_session"] = round(held["events"] / sessions, 2)
    p = params(held["query"])
    length_ms = p.get("events", p.get("messages", 0)) * p.get("interval_ms", 0)
    held["length_ms"] = length_ms or None
    live_ms = (p.get("events", 0) - 1) * p.get("interval_ms", 0)  # first to last event
    spread = (held.get("spread_ms") or {}).get("p50")
    if live_ms > 0 and spread is not None and spread < BUFFERED_SHARE * live_ms:
        record.warnings.append("buffered")


def _after_load(record: CellRecord, before: Snapshot, after: Snapshot) -> None:
    """What the server kept once every client had gone; `leak` when it still holds
    client connections or still works for them. Threads and memory are reported, not
    judged: thread pools (gthread's, asgiref's) and Python's allocator keep what a
    load made them take."""
    record.held["after_load"] = {
        "threads_before": before.threads, "threads": after.threads,
        "rss_mb_before": before.rss_mb, "rss_mb": after.rss_mb,
        "connections": after.connections, "cpu_pct": after.cpu_pct}
    if after.connections or after.cpu_pct > LEAK_CPU_PCT:
        record.warnings.append("leak")
