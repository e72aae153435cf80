"""The long-lived stories' parameters: ranges, each story's spelling, objectives."""

from __future__ import annotations

import pytest

from scripts.config.longlived import LongLived, objective_ms, params
from scripts.errors import ConfigError


@pytest.mark.parametrize(("given", "words"), [
    ({"events": 0}, "--events must be 1 to 1000, got 0"),
    ({"interval_ms": -5}, "--interval-ms must be 1 to 10000, got -5"),
    ({"size_kb": 200_000}, "--size-kb must be 1 to 102400"),
    ({"rate_kbps": 0}, "--rate-kbps must be 1 to"),
    ({"disconnect": 1.5}, "--disconnect must be 0 to 1"),
    ({"neighbour_users": -1}, "--neighbour-users must be 0 to 1000"),
])
def test_a_value_out_of_range_is_one_line_naming_its_flag(given, words):
    with pytest.raises(ConfigError, match=words):
        LongLived(**given)


def test_each_story_spells_the_overrides_its_own_way_and_keeps_the_rest():
    chosen = LongLived(events=5, interval_ms=100, size_kb=16)
    assert params(chosen.query("stream", "events=20&interval_ms=250")) == {
        "events": 5, "interval_ms": 100}
    assert params(chosen.query("websocket", "messages=20&interval_ms=250")) == {
        "messages": 5, "interval_ms": 100}
    assert params(chosen.query("upload", "size_kb=256&rate_kbps=128")) == {
        "size_kb": 16, "rate_kbps": 128}
    assert chosen.query("request", "ms=50") == "ms=50"  # a short story: untouched
    assert LongLived().query("stream", "events=20&interval_ms=250") == (
        "events=20&interval_ms=250")


def test_the_objective_follows_the_parameters():
    assert objective_ms("stream", "events=5&interval_ms=100", 750) == 300
    assert objective_ms("upload", "size_kb=256&rate_kbps=128", 6000) == 6000
    assert objective_ms("upload", "size_kb=16&rate_kbps=8", 6000) == 6000
    assert objective_ms("upload", "size_kb=8&rate_kbps=8", 6000) == 3000
    assert objective_ms("websocket", "messages=5&interval_ms=100", 50) == 50


def test_the_flags_ranges_are_the_views_own():
    """The bounds are written where each side needs them (the harness checks flags
    before anything starts; the views answer 400; the consumers close with 4400): this
    keeps the three in step, so a flag never passes what a view then refuses."""
    from app.stories import cadence, stream, upload
    from scripts.config.longlived import BOUNDS

    assert BOUNDS["events"] == (1, stream.MAX_EVENTS) == cadence.MESSAGES[:2]
    assert BOUNDS["interval_ms"] == (1, stream.MAX_INTERVAL_MS) == cadence.INTERVAL_MS[:2]
    assert BOUNDS["size_kb"] == (1, upload.MAX_SIZE_KB)
    assert BOUNDS["rate_kbps"] == (1, upload.MAX_RATE_KBPS)
