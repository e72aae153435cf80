"""Head against base with the round as the unit: the comparison `loadlab ab` calls.

Each round measured both sides once, back to back on one machine (the order
alternating, ABBA), so what the machine did during a round fell on both. The question
"would another round differ?" is then answered by the rounds themselves: per row and
metric, the log of head/base in each round is one paired observation, and a paired t
test asks whether those logs centre on zero (asv's `continuous` compares two commits
run side by side; this adds the pairing). The log makes a ratio symmetric (x2 and x0.5
weigh alike) and a level shift of the whole machine cancel within a round.

A difference is called when p < ALPHA *and* the geometric mean ratio is beyond the
noise floor (stats.Floor: calibrated, or the default, saying which): a real difference
too small to matter is not a regression. Pure logic, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean, stdev
from typing import Any

from ..archive.folder import Run
from ..archive.records import CellRecord
from . import stats, why
from .compare import Between, setting_diffs
from .fold import fold, metric_value, ok
from .rows import Row

METRICS = ("rps", "p50", "p95")  # what ab calls and gates on (p99 is shown by compare)
PAIRED_T = "paired t"
LEVEL_ROUNDS = "rounds"
MIN_ROUNDS = 2  # a paired t needs two pairs (one degree of freedom)


def describe_method(floor: stats.Floor, alpha: float = stats.ALPHA) -> str:
    return (f"{PAIRED_T} (two-sided, alpha={alpha:g}) on the per-round log ratios"
            " head/base, the round as the unit (ABBA order); a difference is called only"
            f" if also >= its metric's noise floor ({floor.short}; {floor.source})."
            " '~' = not significant.")


def paired_p(logs: Sequence[float]) -> float:
    """Two-sided p of a one-sample t test that `logs` centre on 0 (paired differences).
    Identical differences have no spread: p is 0 when they are not 0, else 1."""
    if len(logs) < MIN_ROUNDS:
        return 1.0
    mean, sd = fmean(logs), stdev(logs)
    if sd == 0 or not math.isfinite(sd):
        return 1.0 if mean == 0 else 0.0
    from scipy import stats as scipy_stats  # deferred: scipy's import costs ~0.3 s

    t = mean / (sd / math.sqrt(len(logs)))
    return float(2 * scipy_stats.t.sf(abs(t), len(logs) - 1))


@dataclass(frozen=True)
class Pairs:
    """One row and metric: the rounds both sides measured, in round order."""

    rounds: tuple[int, ...]
    base: tuple[float, ...]
    head: tuple[float, ...]

    @property
    def logs(self) -> list[float]:
        return [math.log(h / b) for b, h in zip(self.base, self.head, strict=True)]

    @property
    def deltas_pct(self) -> list[float]:
        return [round((h / b - 1) * 100, 2) for b, h in zip(self.base, self.head, strict=True)]


def pairs(base: Sequence[CellRecord], head: Sequence[CellRecord], metric: str) -> Pairs:
    """Each round's value on both sides, where both measured it and both are > 0. A
    round where either side was `stolen` (the hypervisor took part of its core) is no
    pair: the machine moved under one side only, which the round cannot cancel."""
    def by_round(cells: Sequence[CellRecord]) -> dict[int, float]:
        return {c.trial: v for c in ok(cells)
                if (v := metric_value(c, metric)) is not None and v > 0
                and "stolen" not in c.warnings}

    a, b = by_round(base), by_round(head)
    shared = sorted(set(a) & set(b))
    return Pairs(tuple(shared), tuple(a[r] for r in shared), tuple(b[r] for r in shared))


def paired_verdict(found: Pairs, floor: float, alpha: float = stats.ALPHA) -> stats.Verdict:
    """Is head different from base, with the round as the unit? The ratio is the
    geometric mean of the per-round ratios."""
    n = len(found.rounds)
    if n < MIN_ROUNDS:
        return stats.Verdict(None, None, None, False, PAIRED_T, LEVEL_ROUNDS, n, n,
                             f"too few rounds measured on both sides ({n}; need"
                             f" >= {MIN_ROUNDS})")
    logs = found.logs
    ratio = math.exp(fmean(logs))
    delta = (ratio - 1.0) * 100.0
    p = paired_p(logs)
    reason = ""
    if not p < alpha:
        reason = f"p={p:.3g} >= {alpha:g}"
    elif abs(ratio - 1.0) < floor:
        reason = f"|{delta:+.1f}%| below the {floor * 100:.3g}% noise floor"
    return stats.Verdict(ratio, delta, p, not reason, PAIRED_T, LEVEL_ROUNDS, n, n, reason)


def between_rounds(base: Run, head: Run, floor: stats.Floor) -> tuple[Between,
                                                                       dict[str, dict]]:
    """Head against base on every cell key both measured, each metric a paired verdict
    over the rounds; and each row's per-round evidence (rounds, values, deltas) by
    label, for ab.json. The Between is compare's own type, so its renderers and gates
    (compare.regressions, thresholds.check_between) read it as they read any."""
    ga, gb = base.by_key(), head.by_key()
    shared = sorted(set(ga) & set(gb), key=lambda k: k.sort_key(scenario_first=True))
    rows, evidence = [], {}
    for key in shared:
        a, b = fold(ga[key]), fold(gb[key])
        busy = stats.saturated(a.cpu_pct, b.cpu_pct)
        found = {m: pairs(ga[key], gb[key], m) for m in METRICS}
        verdicts = {m: paired_verdict(found[m], floor.of(m, busy)) for m in METRICS}
        rows.append(Row(key.label, key, a, b, verdicts, "",
                        why.moved(ga[key], gb[key])))
        evidence[key.label] = {m: {"rounds": list(f.rounds), "base_rounds": list(f.base),
                                   "head_rounds": list(f.head),
                                   "round_delta_pct": f.deltas_pct}
                               for m, f in found.items()}
    geomean = {m: stats.geometric_mean([r.verdicts[m].ratio for r in rows]) for m in METRICS}
    comparison = Between(
        run_a=base.name, run_b=head.name, method=describe_method(floor), rows=rows,
        geomean=geomean, only_a=[k.label for k in set(ga) - set(gb)],
        only_b=[k.label for k in set(gb) - set(ga)],
        settings=setting_diffs(base.manifest, head.manifest), min_effect=floor)
    return comparison, evidence


def rows_json(comparison: Between, evidence: dict[str, dict]) -> list[dict[str, Any]]:
    """Per row, per metric: the paired verdict and its rounds (ab.json's `rows`)."""
    out = []
    for row in comparison.rows:
        metrics = {}
        for m in METRICS:
            v = row.verdicts[m]
            metrics[m] = {"base": row.a.values.get(m), "head": row.b.values.get(m),
                          "delta_pct": _round(v.delta_pct), "p_value": _round(v.p_value, 6),
                          "significant": v.significant, "slower": row.worse(m),
                          "reason": v.reason, **evidence.get(row.label, {}).get(m, {})}
        out.append({"row": row.label, "scenario": row.key.scenario,
                    "server": row.key.server, "flavor": row.key.flavor,
                    "flags": row.flags, "metrics": metrics})
    return out


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def slower(comparison: Between, pct: float = 0.0) -> list[tuple[Row, str]]:
    """(row, metric) where head is called worse than base (lower rps, higher latency)
    by more than `pct` percent: ab's own gate."""
    return [(row, m) for row in comparison.rows for m in METRICS
            if row.worse(m) and abs(row.delta(m) or 0.0) > pct]
