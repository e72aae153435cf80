"""analysis/bounds: R0 as a low percentile of warm answers, and when a measured rps
has beaten its bound beyond the window's edge and noise."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

from scripts.analysis.bounds import BOUND_TOLERANCE, beats, unloaded_ms


def hist(values_ms):
    h = HdrHistogram(1, 120_000_000, 3)
    for v in values_ms:
        h.record_value(int(v * 1000))
    return h


def test_r0_is_the_low_percentile_not_the_mean():
    """A cold tenth of the answers (50 ms slower) moves the mean 10 %, not R0."""
    answers = hist([100.0] * 90 + [150.0] * 10)
    assert unloaded_ms(answers) == 100.031  # HdrHistogram's bucket, 3 digits
    assert answers.get_mean_value() / 1000 > 104.9


def test_with_few_answers_r0_is_their_minimum():
    """A 260 ms view gives four answers a second; one cold one is not R0."""
    assert unloaded_ms(hist([301.0, 259.0, 260.0, 261.0])) == 259.071


def test_no_answers_no_r0():
    assert unloaded_ms(None) is None and unloaded_ms(hist([])) is None


def test_past_the_edge_and_the_tolerance_a_bound_is_beaten():
    """4 users, 2 s: each user may finish one request begun before the window, so 2 rps
    above the bound is the edge; past that, the tolerance."""
    bound = 80.0  # 4 users / 50 ms
    edge = 4 / 2
    assert not beats(bound + edge, bound, 4, 2.0)
    assert not beats(bound * (1 + BOUND_TOLERANCE) + edge - 0.1, bound, 4, 2.0)
    assert beats(bound * (1 + BOUND_TOLERANCE) + edge + 0.1, bound, 4, 2.0)


def test_the_edge_shrinks_as_the_window_grows():
    assert beats(85.0, 80.0, 4, 20.0) and not beats(85.0, 80.0, 4, 2.0)


def test_a_cell_without_seconds_beats_nothing():
    assert not beats(1000.0, 10.0, 4, 0.0)
