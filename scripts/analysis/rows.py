"""One row of a comparison: B against A for one cell key, every metric called on its
own evidence (stats.py). compare.py builds its tables of rows; answer.py its one line
per scenario."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..archive.records import CellRecord
from ..cells import CellKey
from . import stats, why
from .fold import METRICS, Folded, fold, metric_value, ok

LOWER_IS_BETTER = {"rps": False, "p50": True, "p95": True, "p99": True}


@dataclass
class Row:
    """B against A for one cell key (or one pair of cells inside a run)."""

    label: str
    key: CellKey
    a: Folded
    b: Folded
    verdicts: dict[str, stats.Verdict]
    note: str = ""
    # profiled cells (--why): the layers whose CPU us/request moved most, A to B
    layers_moved: list[dict] = field(default_factory=list)
    # between runs: why no metric of this row is called (analysis/trust.py), else ""
    held: str = ""

    def delta(self, metric: str) -> float | None:
        v = self.verdicts.get(metric)
        return v.delta_pct if v else None

    def worse(self, metric: str) -> bool:
        """Significantly worse in B (lower rps, higher latency)."""
        v = self.verdicts.get(metric)
        if v is None or not v.significant or v.ratio is None:
            return False
        return v.ratio > 1 if LOWER_IS_BETTER[metric] else v.ratio < 1

    def better(self, metric: str) -> bool:
        v = self.verdicts.get(metric)
        return bool(v and v.significant and not self.worse(metric))

    @property
    def flags(self) -> list[str]:
        """Both sides' flags, each saying which side it belongs to."""
        return [f"A:{f}" for f in self.a.flags] + [f"B:{f}" for f in self.b.flags]


def _per_second(cells: Sequence[CellRecord], metric: str) -> list[list[float]]:
    """Per-second samples per trial, each metric its own: no percentile stands in for
    another (a run recorded before they were kept has p95's seconds only, and its
    other percentiles then have too few samples to call)."""
    return [c.per_second(metric) for c in cells]


def verdict(
    cells_a: Sequence[CellRecord],
    cells_b: Sequence[CellRecord],
    metric: str,
    a: Folded,
    b: Folded,
    min_effect: stats.Floor | float,
) -> stats.Verdict:
    ok_a, ok_b = ok(cells_a), ok(cells_b)
    sa, sb = stats.pick_samples(
        _per_second(ok_a, metric),
        _per_second(ok_b, metric),
        [metric_value(c, metric) for c in ok_a],
        [metric_value(c, metric) for c in ok_b],
    )
    busy = stats.saturated(a.cpu_pct, b.cpu_pct)  # a saturated side swings more
    v = stats.compare_samples(
        sa, sb, value_a=a.values[metric], value_b=b.values[metric],
        min_effect=stats.as_floor(min_effect).of(metric, busy),
    )
    if not v.significant and (a.failed or b.failed):
        return _with_reason(v, "a side failed")
    return v


def _with_reason(v: stats.Verdict, reason: str) -> stats.Verdict:
    return stats.Verdict(
        v.ratio, v.delta_pct, v.p_value, False, v.test, v.level, v.n_a, v.n_b, reason
    )


def make_row(
    label: str,
    key: CellKey,
    cells_a: Sequence[CellRecord],
    cells_b: Sequence[CellRecord],
    min_effect: stats.Floor | float,
    note: str = "",
) -> Row:
    a, b = fold(cells_a), fold(cells_b)
    verdicts = {m: verdict(cells_a, cells_b, m, a, b, min_effect) for m in METRICS}
    return Row(label, key, a, b, verdicts, note, why.moved(cells_a, cells_b))
