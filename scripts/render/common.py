"""Number formats and labels shared by every renderer, so they all say the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scripts.stats import Verdict


def num(value: float | None, unit: str = "") -> str:
    """Throughput and latency as a person reads them: 3 significant-ish digits."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + unit


def delta(v: Verdict | None) -> str:
    """'+12.3%' when called, '~+1.2%' within the noise, '-' without a value."""
    if v is None or v.delta_pct is None:
        return "-"
    return f"{v.marker}{v.delta_pct:+.1f}%"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def geo_delta(value: float | None) -> str:
    return "-" if value is None else f"{(value - 1) * 100:+.1f}%"


def cell_name(key: Sequence[Any], with_scenario: bool = False) -> str:
    """`server flavor [client] uN` (the scenario is usually a section heading)."""
    server, scenario, flavor, client, users = key
    client_part = f" [{client}]" if client else ""
    mid = f"{scenario}/{flavor}" if with_scenario else flavor
    return f"{server} {mid}{client_part} u{users}"


def legend(min_effect: float, within: bool = False) -> str:
    what = "async against sync, server against the best" if within else "B against A"
    return (
        f"Deltas are {what}. '~' = within the noise (not significant, or under "
        f"{min_effect * 100:g}%). '!' = flagged cell: read its flags before trusting it."
    )
