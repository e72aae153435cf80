"""The websocket story's cadence, `?messages=20&interval_ms=250`, read one way by the
consumers (app/stories/ws.py) and the load generator (locustfiles/websocket.py).

Plain Python, no Django: Locust's process imports it without configuring Django.
"""

from __future__ import annotations

from urllib.parse import parse_qs

MESSAGES = (1, 1000, 20)  # lowest, highest, default
INTERVAL_MS = (1, 10_000, 250)


def cadence(query: str | bytes) -> tuple[int, int]:
    """(messages, interval_ms) from a query string; ValueError says which is wrong.

    Out of range is an error, not clamped: a session of another length than asked
    would measure something else."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    fields = parse_qs(query, keep_blank_values=True)
    return (_bounded(fields, "messages", *MESSAGES),
            _bounded(fields, "interval_ms", *INTERVAL_MS))


def _bounded(fields: dict[str, list[str]], name: str, low: int, high: int, default: int) -> int:
    raw = fields.get(name, [""])[-1]
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low}..{high}")
    return value
