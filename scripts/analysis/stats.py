"""Statistics for comparing cells: pure functions, no I/O, no printing.

A difference is *called* only when two things hold (docs/DESIGN.md, "Rules of measurement"):

1. a significance test rejects "same distribution" at ALPHA = 0.05, two-sided:
   - per-second samples (steady-state seconds, pooled over trials): a permutation
     test on the difference of the per-second means, the seconds being the units
     (exact over every split up to EXACT_SPLITS, else PERMUTATIONS random splits with
     a fixed seed). It assumes only that the seconds of A and B are exchangeable
     when nothing changed, so a spiky second (GC, steal time) cannot make it call
     more often than alpha; it only costs power. It replaced Mann-Whitney U: with 5
     seconds a side, three of 25 pairs out of order put U's p at 0.056, and it
     missed 2 of 8 real +20 % shifts (p95 and rps, calibration runs of 2026-12-06)
     that this test, exact under the same assumption, called. Each metric is tested
     on its own seconds: rps on each second's count, p50/p95/p99 on that percentile
     of each second's own histogram (a second without answers is left out).
   - trial means, used when *both* sides have >= 3 trials: Welch's t-test.
     Trial means are close to normal (each averages many seconds), they carry
     the run-to-run noise that per-second samples cannot see, and a rank test
     on 3 vs 3 values can never reach p < 0.05 (its smallest p is 0.1).
2. the effect is at least the noise floor, `min_effect` (default 15%): the
   field notes measured 10-25% run-to-run spread on this kind of machine, so a
   test on one run's seconds would call noise; the issue requires 20-30% shifts
   to be called. 15% sits between the two. Configurable.

Samples smaller than MIN_SAMPLES on either side are never significant.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean, median

ALPHA = 0.05
DEFAULT_MIN_EFFECT = 0.15
MIN_SAMPLES = 3
MIN_TRIALS = 3

PERMUTATION = "permutation test"
WELCH = "Welch t"
EXACT_SPLITS = 20_000  # every split of the seconds up to this many, else random ones
PERMUTATIONS = 10_000

LEVEL_SECONDS = "per-second samples"
LEVEL_TRIALS = "trial means"


@dataclass(frozen=True)
class Verdict:
    """Is B different from A? `ratio` is B/A of the compared values."""

    ratio: float | None
    delta_pct: float | None
    p_value: float | None
    significant: bool
    test: str
    level: str
    n_a: int
    n_b: int
    reason: str = ""  # why not significant, when it is not

    @property
    def marker(self) -> str:
        """'~' marks a difference within the noise (pyperf's "not significant")."""
        return "" if self.significant else "~"


@dataclass(frozen=True)
class Samples:
    """The values a test sees for one side, and at which level they were taken."""

    values: list[float]
    level: str
    trials: int


# The floors an uncalibrated compare uses for rows whose server had CPU to spare: this
# lab's own A/A data (docs/measured.md, "The noise floor": four identical quick runs,
# gthread and uvicorn, weather/home/sleep, 2026-12-06: 60 row pairs) saw identical runs
# differ there by at most rps 4.5 %, p50 4.3 %, p95 13.3 % (95th percentile 8.5 %), p99
# 28.8 %; the floors sit at or above the 95th percentile, below the 12-20 % a 20 %
# slower upstream moves rps, p50 and p95. Rows with a saturated side (25-45 % at the
# 95th percentile) have no default between runs (analysis/trust.py holds their calls);
# within a run they keep DEFAULT_MIN_EFFECT.
LAB_FLOORS = (("rps", 0.05), ("p50", 0.05), ("p95", 0.10), ("p99", 0.30))
ASSUMED = ("this lab's A/A data, not this machine's (loadlab calibrate measures yours);"
           " a saturated row between runs needs --trials 3 or calibrate")


# A server at this CPU % or more has no CPU to spare: its closed-loop throughput is its
# CPU's and its latency its queue's, and both swing far more from run to run (measured:
# 20-100 % between identical runs, against 0-4 % for a server with CPU to spare), so
# rows with such a side get a floor of their own. The same line as Rules'
# load_bound_cpu_pct: rows at 88-90 % behaved as saturated ones (A/A +-5-20 %; a 20 %
# slower upstream moved their p95 -13..+2 %), not as rows with CPU to spare.
SATURATED_CPU_PCT = 80.0


def saturated(*cpu_pcts: float | None) -> bool:
    return any(c is not None and c >= SATURATED_CPU_PCT for c in cpu_pcts)


@dataclass(frozen=True)
class Floor:
    """The noise floor: the smallest difference compare calls, per metric, for rows
    whose server had CPU to spare and for rows with a saturated side, and where it came
    from (assumed, given, or measured by `loadlab calibrate`)."""

    default: float = DEFAULT_MIN_EFFECT
    metrics: tuple[tuple[str, float], ...] = LAB_FLOORS  # (metric, floor): CPU to spare
    busy: tuple[tuple[str, float], ...] = ()  # (metric, floor): a saturated server
    source: str = ASSUMED
    calibrated: bool = False  # measured on this machine (loadlab calibrate)

    def of(self, metric: str, saturated: bool = False) -> float:
        """A saturated row's floor is its own class's, else the default (never the
        spare rows': a saturated server swings 20-100 % between identical runs)."""
        table = dict(self.busy if saturated else self.metrics)
        return table.get(metric, self.default)

    @property
    def short(self) -> str:
        """`15%`, or `rps 4%, p50 4%, ... (saturated server: rps 31%, ...)`."""
        if not self.metrics and not self.busy:
            return f"{self.default * 100:.3g}%"
        spare = ", ".join(f"{m} {v * 100:.0f}%" for m, v in self.metrics) or "default"
        busy = (", ".join(f"{m} {v * 100:.0f}%" for m, v in self.busy)
                or f"{self.default * 100:.3g}%")
        return f"{spare} (saturated server: {busy})"

    def describe(self) -> str:
        return f"noise floor {self.short}: {self.source}"


def as_floor(value: Floor | float) -> Floor:
    """A plain number is a floor for every metric, given by the caller."""
    return value if isinstance(value, Floor) else Floor(float(value), (), (), "given")


def describe_method(min_effect: Floor | float = DEFAULT_MIN_EFFECT, alpha: float = ALPHA) -> str:
    """One line for every output: which test and which threshold made the calls, and
    where the threshold came from."""
    floor = as_floor(min_effect)
    return (
        f"{PERMUTATION} (two-sided, alpha={alpha:g}) on the per-second means, seconds"
        " pooled over trials; "
        f"{WELCH} on trial means when both sides have >= {MIN_TRIALS} trials; "
        f"a difference is called only if also >= its metric's noise floor "
        f"({floor.short}; {floor.source}). '~' = not significant."
    )


def pick_samples(
    per_second_a: Sequence[Sequence[float]],
    per_second_b: Sequence[Sequence[float]],
    trial_values_a: Sequence[float | None] | None = None,
    trial_values_b: Sequence[float | None] | None = None,
) -> tuple[Samples, Samples]:
    """Choose the level both sides are tested at: trial values when both have
    >= MIN_TRIALS trials, else the per-second samples of all trials pooled.

    `per_second_*` holds one list per trial; `trial_values_*` each trial's own
    value (overall rps, exact-histogram p95), with the mean of that trial's
    seconds standing in where a value is missing.
    """
    ta, tb = len(per_second_a), len(per_second_b)
    if ta >= MIN_TRIALS and tb >= MIN_TRIALS:
        return (
            Samples(_trial_level(per_second_a, trial_values_a), LEVEL_TRIALS, ta),
            Samples(_trial_level(per_second_b, trial_values_b), LEVEL_TRIALS, tb),
        )
    return (
        Samples(_pooled(per_second_a), LEVEL_SECONDS, ta),
        Samples(_pooled(per_second_b), LEVEL_SECONDS, tb),
    )


def _pooled(trials: Sequence[Sequence[float]]) -> list[float]:
    return [float(v) for t in trials for v in t if _finite(v)]


def _trial_level(
    trials: Sequence[Sequence[float]], values: Sequence[float | None] | None
) -> list[float]:
    out = []
    for i, t in enumerate(trials):
        value = values[i] if values is not None and i < len(values) else None
        if _finite(value):
            out.append(float(value))  # type: ignore[arg-type]
            continue
        seconds = [float(v) for v in t if _finite(v)]
        if seconds:
            out.append(fmean(seconds))
    return out


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def center(values: Sequence[float], level: str) -> float:
    """Median of seconds (robust to spikes), mean of trial means (what Welch tests)."""
    return fmean(values) if level == LEVEL_TRIALS else median(values)


def compare_samples(
    a: Samples,
    b: Samples,
    *,
    value_a: float | None = None,
    value_b: float | None = None,
    min_effect: float = DEFAULT_MIN_EFFECT,
    alpha: float = ALPHA,
) -> Verdict:
    """Verdict on B against A.

    The ratio is value_b / value_a when given (the numbers a table shows, e.g.
    the exact-histogram p95), else the ratio of the samples' centers. A call
    needs p < alpha, |ratio - 1| >= min_effect, and the samples shifting the
    same way as the ratio.
    """
    test = WELCH if a.level == LEVEL_TRIALS else PERMUTATION
    n_a, n_b = len(a.values), len(b.values)
    ca = center(a.values, a.level) if n_a else None
    cb = center(b.values, b.level) if n_b else None
    va = value_a if value_a is not None else ca
    vb = value_b if value_b is not None else cb
    ratio = vb / va if va and vb is not None and va > 0 else None
    delta = (ratio - 1.0) * 100.0 if ratio is not None else None

    def no(reason: str, p: float | None = None) -> Verdict:
        return Verdict(ratio, delta, p, False, test, a.level, n_a, n_b, reason)

    if n_a < MIN_SAMPLES or n_b < MIN_SAMPLES:
        return no(f"too few samples ({n_a} vs {n_b}; need >= {MIN_SAMPLES} each)")
    if ratio is None:
        return no("no positive baseline value")
    p = _p_value(a.values, b.values, test)
    if not p < alpha:
        return no(f"p={p:.3g} >= {alpha:g}", p)
    if abs(ratio - 1.0) < min_effect:
        return no(f"|{delta:+.1f}%| below the {min_effect * 100:.3g}% noise floor", p)
    assert ca is not None and cb is not None
    if (cb - ca) * (ratio - 1.0) <= 0:
        return no("samples and values disagree on the direction", p)
    return Verdict(ratio, delta, p, True, test, a.level, n_a, n_b)


def _p_value(a: Sequence[float], b: Sequence[float], test: str) -> float:
    """Two-sided p-value; constant samples are handled without scipy's warnings."""
    if _constant(a) and _constant(b):
        return 1.0 if a[0] == b[0] else 0.0
    if test == WELCH:
        from scipy import stats  # deferred: scipy's import costs ~0.3 s

        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    else:
        p = permutation_p(a, b)
    return 1.0 if math.isnan(p) else p


def permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p of |mean(b) - mean(a)| over splits of the pooled values into groups
    of their sizes: every split when there are few, else PERMUTATIONS random ones
    (seeded: the same samples always give the same p), counting the observed one."""
    import numpy as np

    values = np.asarray([*a, *b], dtype=float)
    n, k = len(values), len(a)
    total = values.sum()
    observed = abs(float(np.mean(b)) - float(np.mean(a)))
    if math.comb(n, k) <= EXACT_SPLITS:
        groups = np.fromiter(itertools.chain.from_iterable(
            itertools.combinations(range(n), k)), dtype=np.int64).reshape(-1, k)
        extra = 0
    else:
        rng = np.random.default_rng(0)
        groups = np.argsort(rng.random((PERMUTATIONS, n)), axis=1)[:, :k]
        extra = 1  # the observed split, counted among the random ones
    sums = values[groups].sum(axis=1)
    diffs = np.abs((total - sums) / (n - k) - sums / k)
    hits = int(np.count_nonzero(diffs >= observed * (1 - 1e-12) - 1e-12))
    return (hits + extra) / (len(groups) + extra)


def _constant(values: Sequence[float]) -> bool:
    return all(v == values[0] for v in values)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating between the closest ranks."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def geometric_mean(ratios: Sequence[float | None]) -> float | None:
    """Geometric mean of positive ratios: the fair average of "x times faster"."""
    logs = [math.log(r) for r in ratios if r is not None and r > 0 and math.isfinite(r)]
    return math.exp(fmean(logs)) if logs else None


def pct(ratio: float | None) -> float | None:
    """A ratio as a signed percent change."""
    return None if ratio is None else (ratio - 1.0) * 100.0
