"""Trials -> one value per metric: the one folding policy every output uses.

The median over the trials that measured (status ok): one trial disturbed by steal
time or a neighbour moves a mean, not a median (docs/FIELD-NOTES.md: quote medians,
keep trials). With one or two trials the median is the value or the mean. Flags
travel with the folded value: a flagged or failed trial is never folded away.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..archive.records import CellRecord

METRICS = ("rps", "p50", "p95", "p99")


@dataclass
class Folded:
    """One cell key's trials folded into the numbers a row shows."""

    values: dict[str, float | None]  # rps, p50, p95, p99: median over ok trials
    trials: int
    failed_trials: int
    flags: list[str]  # every trial's warnings, then "failed" (k/n with several trials)
    cpu_pct: float | None = None
    error: str | None = None
    requests: int = 0  # over the ok trials
    failures: int = 0

    @property
    def failed(self) -> bool:
        return self.trials > 0 and self.failed_trials == self.trials

    @property
    def warnings(self) -> list[str]:
        """The trials' own warnings, without the failure marker."""
        return [f for f in self.flags if not f.startswith("failed")]

    @property
    def failure_ratio(self) -> float:
        return self.failures / max(1, self.requests)


def ok(cells: Iterable[CellRecord]) -> list[CellRecord]:
    return [c for c in cells if c.status == "ok"]


def metric_value(cell: CellRecord, metric: str) -> float | None:
    """A trial's own value of `metric` (rps, or a latency percentile in ms)."""
    value = cell.rps if metric == "rps" else cell.latency_ms.get(metric)
    return float(value) if isinstance(value, int | float) else None


def median(values: Iterable[float | None]) -> float | None:
    """The folding function: median of the values that exist."""
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def fold(cells: Sequence[CellRecord]) -> Folded:
    """Fold a cell's trials: medians over the ok trials, flags from all of them."""
    good = ok(cells)
    flags: list[str] = []
    for c in cells:
        for w in c.warnings:
            if w not in flags:
                flags.append(w)
    failed = len(cells) - len(good)
    if failed:
        flags.append(f"failed {failed}/{len(cells)}" if len(cells) > 1 else "failed")
    errors = [c.error for c in cells if c.error]
    return Folded(
        values={m: median(metric_value(c, m) for c in good) for m in METRICS},
        trials=len(cells),
        failed_trials=failed,
        flags=flags,
        cpu_pct=median(c.server_cpu_pct for c in good),
        error=errors[0] if errors else None,
        requests=sum(c.requests for c in good),
        failures=sum(c.failures for c in good),
    )
