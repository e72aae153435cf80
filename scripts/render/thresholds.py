"""A run's thresholds as text: the lines the terminal gets after the seal, summary.md's
"Thresholds" section, and compare's regression gate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..analysis.thresholds import Check, failures


def said(verb: str, judged: Mapping[str, Any] | None) -> list[str]:
    """`loadlab bench: 1 of 4 threshold check(s) failed ...` and each failing line; one
    line when all held; nothing when no threshold was set."""
    checks = (judged or {}).get("checks", [])
    failing = failures(judged)
    if failing:
        return [f"loadlab {verb}: {len(failing)} of {len(checks)} threshold check(s) failed"
                " (summary.json's `thresholds` has each):", *(f"  {f}" for f in failing)]
    return [f"loadlab {verb}: all {len(checks)} threshold check(s) held"] if checks else []


def markdown(judged: Mapping[str, Any] | None) -> str:
    """summary.md's Thresholds: each check, the measured value, pass or FAIL."""
    if not judged:
        return ""
    checks = [Check(**c) for c in judged.get("checks", [])]
    out = ["", "## Thresholds", ""]
    if not checks:
        out += ["Set, but nothing here to hold them to (min_capacity_rps needs a capacity"
                " run, max_regression_pct two runs compared).", ""]
        return "\n".join(out)
    out += ["| cell | threshold | limit | measured | result |", "|---|---|---|---|---|"]
    for c in checks:
        out.append(f"| {c.cell} | {c.threshold} | {c.limit:g} | {c.measured:.4g} |"
                   f" {'pass' if c.ok else '**FAIL**'} |")
    return "\n".join([*out, ""])


def said_compare(failing: list[str], pct: float, metric: str, own: bool,
                 method: str) -> list[str]:
    """compare --fail-on-regression's verdict: one line when it holds, else each row."""
    beyond = f"{pct:g}%" + (" (or its scenario's max_regression_pct)" if own else "")
    if not failing:
        return [f"loadlab compare: no {metric} regression beyond {beyond}"]
    return [f"loadlab compare: {len(failing)} {metric} regression(s) beyond {beyond}:",
            *(f"  {line}" for line in failing), f"  (test: {method})"]
