"""The long-lived stories' parameters (stream, websocket, upload), as data.

A long-lived story's view and its Locust user read the same query string (the
scenario's `query`, app/scenarios.py); these are the overrides a user gives on the
command line, checked once, and how each story spells them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..errors import ConfigError

# (lowest, highest) of each parameter: the views' own bounds (app/stories/params.py)
BOUNDS: dict[str, tuple[float, float]] = {
    "events": (1, 1000), "interval_ms": (1, 10_000), "size_kb": (1, 102_400),
    "rate_kbps": (1, 1_000_000), "disconnect": (0.0, 1.0), "neighbour_users": (0, 1000),
}
# each story's query key for a parameter (websocket counts messages, not events)
KEYS: dict[str, dict[str, str]] = {
    "stream": {"events": "events", "interval_ms": "interval_ms"},
    "websocket": {"events": "messages", "interval_ms": "interval_ms"},
    "upload": {"size_kb": "size_kb", "rate_kbps": "rate_kbps"},
}


@dataclass(frozen=True)
class LongLived:
    """What the user set for long-lived stories; None keeps the story's default."""

    events: int | None = None  # a stream's events, a websocket session's messages
    interval_ms: int | None = None  # between two of them
    size_kb: int | None = None  # an upload's body
    rate_kbps: int | None = None  # the client's sending rate
    disconnect: float = 0.0  # share of connections the client abandons halfway
    neighbour_users: int = 0  # users on a short view beside the held connections

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = BOUNDS[f.name]
            if value is not None and not low <= value <= high:
                flag = "--" + f.name.replace("_", "-")
                raise ConfigError(f"{flag} must be {low:g} to {high:g}, got {value:g}")

    def query(self, connection: str, default: str) -> str:
        """The story's query string: its default with the user's overrides."""
        given = {key: getattr(self, name) for name, key in KEYS.get(connection, {}).items()
                 if getattr(self, name) is not None}
        return urlencode({**dict(parse_qsl(default)), **given}) if given else default

    def describe(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NONE = LongLived()  # no overrides: every story's own parameters


def params(query: str) -> dict[str, float]:
    """A story's query as numbers (events, interval_ms, ...): what the analysis reads."""
    out: dict[str, float] = {}
    for key, value in parse_qsl(query):
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out


def objective_ms(connection: str, query: str, default: float | None) -> float | None:
    """A long-lived story's p95 objective for its parameters: a stream's first event
    within three intervals (a queued stream waits a whole stream), an upload within
    three times its nominal time; a websocket's echo keeps the story's own."""
    p = params(query)
    if connection == "stream" and p.get("interval_ms"):
        return 3 * p["interval_ms"]
    if connection == "upload" and p.get("size_kb") and p.get("rate_kbps"):
        return round(3 * 1000 * p["size_kb"] / p["rate_kbps"], 1)
    return default
