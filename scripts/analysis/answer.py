"""The answer first: per scenario, the configuration that served the most, and whether
the runner-up is really behind it.

One line a reader can act on before the tables: the best server/flavor (with its client
and settings), the runner-up, the difference as compare calls it (or "~" within the
noise), and the flags that make the number soft. A best cell that is load-bound measured
latency, not capacity; one with a hot generator may be Locust's limit. Those are said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..archive.records import CellRecord
from ..cells import CellKey
from ..stories import story_rank
from . import stats, why
from .fold import fold
from .rows import Row, make_row

# The flags that change what the best number means (the others are in the tables).
MATTERS = ("load-bound", "generator-hot", "generator-behind", "upstream-hot", "nagle",
           "overloaded", "high-failure-ratio", "few-requests", "unstable")


@dataclass(frozen=True)
class Answer:
    """One scenario's best configuration and its runner-up (A = runner-up, B = best)."""

    scenario: str
    best: CellKey
    best_rps: float
    runner_up: CellKey | None = None
    row: Row | None = None  # best against the runner-up, as compare calls it
    flags: tuple[str, ...] = ()  # the best's flags that matter
    configurations: int = 1
    why: str = ""  # profiled (--why): the layer the best spends most in, what sinks the other

    @property
    def significant(self) -> bool:
        return bool(self.row and self.row.verdicts["rps"].significant)

    @property
    def delta_pct(self) -> float | None:
        """How far ahead the best is, in % of the runner-up."""
        return self.row.delta("rps") if self.row else None


def answers(cells: Iterable[CellRecord],
            min_effect: stats.Floor | float | None = None) -> list[Answer]:
    """Per scenario (in the literature's order), the best of every closed-loop
    configuration by throughput, against the next best; the floor is compare's own
    unless given, so the terminal, summary.md and `compare RUN` call alike."""
    min_effect = stats.Floor() if min_effect is None else min_effect
    groups: dict[CellKey, list[CellRecord]] = {}
    for cell in cells:
        if cell.rate is None:  # at an offered rate, throughput is the rate: capacity's
            groups.setdefault(cell.key, []).append(cell)  # table answers those
    out = []
    for scenario in sorted({k.scenario for k in groups}, key=lambda s: (story_rank(s), s)):
        ranked = _ranked([k for k in groups if k.scenario == scenario], groups)
        if not ranked:
            continue
        best, best_rps = ranked[0]
        flags = tuple(f for f in fold(groups[best]).flags if f in MATTERS)
        if len(ranked) == 1:
            out.append(Answer(scenario, best, best_rps, flags=flags))
            continue
        runner = ranked[1][0]
        row = make_row(best.label, best, groups[runner], groups[best], min_effect)
        out.append(Answer(scenario, best, best_rps, runner, row, flags, len(ranked),
                          because(groups[best], groups[runner])))
    return out


def because(best: Sequence[CellRecord], other: Sequence[CellRecord]) -> str:
    """Where the best's CPU goes, and the layer where the other spends most beyond it
    (us/request): "the best spends most in view code (1,671 us/request); the
    runner-up +1,011 us/request in thread hops". Empty unless both were profiled."""
    won, lost = why.median_layers(best), why.median_layers(other)
    if not won or not lost:
        return ""
    top = max(won, key=lambda k: won[k])
    text = f"the best spends most in {top} ({won[top]:,.0f} us/request)"
    extra = {k: lost.get(k, 0.0) - won.get(k, 0.0) for k in set(won) | set(lost)}
    sink = max(extra, key=lambda k: (extra[k], k))
    if extra[sink] >= why.MOVED_MIN_US:
        text += f"; the runner-up {extra[sink]:+,.0f} us/request in {sink}"
    return text


def _ranked(keys: Sequence[CellKey],
            groups: dict[CellKey, list[CellRecord]]) -> list[tuple[CellKey, float]]:
    """The measured configurations, most throughput first (failed ones left out)."""
    measured = []
    for key in keys:
        folded = fold(groups[key])
        rps = folded.values["rps"]
        if not folded.failed and rps:
            measured.append((key, rps))
    return sorted(measured, key=lambda kv: (-kv[1], kv[0].sort_key()))
