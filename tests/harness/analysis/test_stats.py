"""The statistics against known truths: calibration, power, and the edges."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.analysis import stats
from scripts.analysis.stats import (
    LEVEL_SECONDS,
    LEVEL_TRIALS,
    Samples,
    compare_samples,
    pick_samples,
)


def seconds(values: np.ndarray) -> Samples:
    return Samples([float(v) for v in values], LEVEL_SECONDS, 1)


def draw(rng: np.random.Generator, mean: float, n: int = 25, sd: float = 50.0) -> Samples:
    return seconds(rng.normal(mean, sd, n))


def test_identical_distributions_are_rarely_called_even_without_a_floor() -> None:
    """The test alone is calibrated: about alpha false positives, at most 10%."""
    rng = np.random.default_rng(1)
    calls = [compare_samples(draw(rng, 1000), draw(rng, 1000), min_effect=0.0).significant
             for _ in range(300)]
    assert sum(calls) / len(calls) <= 0.10


def test_identical_distributions_with_the_default_floor_are_never_called() -> None:
    rng = np.random.default_rng(2)
    calls = [compare_samples(draw(rng, 1000, sd=150), draw(rng, 1000, sd=150)).significant
             for _ in range(300)]
    assert sum(calls) == 0


@pytest.mark.parametrize("shift", [0.7, 1.3])
def test_a_30_percent_shift_is_called_with_the_right_sign(shift: float) -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        v = compare_samples(draw(rng, 1000), draw(rng, 1000 * shift))
        assert v.significant, v
        assert v.marker == ""
        assert v.test == stats.PERMUTATION
        assert v.delta_pct is not None and (v.delta_pct > 0) == (shift > 1)
        assert abs(v.delta_pct - (shift - 1) * 100) < 8


def test_a_20_percent_shift_is_called_at_n_20() -> None:
    rng = np.random.default_rng(4)
    calls = [compare_samples(draw(rng, 1000, n=20), draw(rng, 800, n=20)).significant
             for _ in range(100)]
    assert sum(calls) >= 95


def test_a_real_shift_below_the_floor_is_not_called_and_says_why() -> None:
    rng = np.random.default_rng(5)
    v = compare_samples(draw(rng, 1000, sd=10), draw(rng, 1100, sd=10))
    assert v.p_value is not None and v.p_value < 0.001
    assert not v.significant and v.marker == "~"
    assert "noise floor" in v.reason
    assert compare_samples(draw(rng, 1000, sd=10), draw(rng, 1100, sd=10),
                           min_effect=0.05).significant


def test_tiny_samples_are_never_significant() -> None:
    v = compare_samples(seconds(np.array([1000.0, 1001.0])),
                        seconds(np.array([10.0, 11.0, 12.0])))
    assert not v.significant
    assert "too few samples (2 vs 3" in v.reason
    assert v.delta_pct is not None and v.delta_pct < -98


def test_constant_samples_do_not_crash() -> None:
    same = compare_samples(seconds(np.full(5, 7.0)), seconds(np.full(5, 7.0)))
    assert not same.significant and same.p_value == 1.0
    moved = compare_samples(seconds(np.full(5, 7.0)), seconds(np.full(5, 14.0)))
    assert moved.significant and moved.ratio == pytest.approx(2.0)


def test_three_trials_each_use_trial_values_and_welch() -> None:
    per_second = [[100.0, 101.0, 99.0]] * 3
    a, b = pick_samples(per_second, per_second, [100.0, 101.0, 99.0], [130.0, 131.0, 129.0])
    assert a.level == b.level == LEVEL_TRIALS
    assert b.values == [130.0, 131.0, 129.0]
    v = compare_samples(a, b)
    assert v.test == stats.WELCH and v.significant and v.ratio == pytest.approx(1.3)


def test_fewer_trials_pool_the_seconds_and_fill_missing_trial_values() -> None:
    a, _ = pick_samples([[1.0, 2.0], [3.0]], [[4.0, 5.0, 6.0]])
    assert a.level == LEVEL_SECONDS and a.values == [1.0, 2.0, 3.0]
    t, _ = pick_samples([[1.0, 3.0], [5.0], []], [[1.0]] * 3, [None, None, 9.0], None)
    assert t.values == [2.0, 5.0, 9.0]


def test_the_shown_values_decide_the_ratio() -> None:
    rng = np.random.default_rng(6)
    v = compare_samples(draw(rng, 1000), draw(rng, 700), value_a=2.0, value_b=1.0)
    assert v.ratio == pytest.approx(0.5) and v.significant
    contrary = compare_samples(draw(rng, 1000), draw(rng, 700), value_a=1.0, value_b=2.0)
    assert not contrary.significant and "direction" in contrary.reason


def test_geometric_mean_ignores_missing_ratios() -> None:
    assert stats.geometric_mean([2.0, 0.5, None]) == pytest.approx(1.0)
    assert stats.geometric_mean([None]) is None


def test_the_method_line_names_test_and_threshold() -> None:
    text = stats.describe_method(0.1)
    assert "permutation test" in text and "alpha=0.05" in text and "10%" in text


def test_the_permutation_test_is_exact_on_few_seconds_and_seeded_on_many() -> None:
    """5 seconds a side: 252 splits; fully apart is the smallest p there is (2/252,
    both directions), where Mann-Whitney's three inversions already gave 0.056."""
    assert stats.permutation_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert stats.permutation_p([5, 4, 3, 2, 1], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    shifted = [10.0, 10.4, 9.8, 10.2, 10.1], [11.5, 11.9, 10.3, 11.7, 10.25]
    assert stats.permutation_p(*shifted) < 0.05
    many = [float(v) for v in range(30)], [v + 3.0 for v in range(30)]  # C(60,30) splits
    p = stats.permutation_p(*many)
    assert p == stats.permutation_p(*many) and 0.05 < p < 0.9  # seeded: the same p
