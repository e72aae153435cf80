"""The registry: names, paths and the sync counterpart of every async flavor."""

from app.scenarios import SCENARIOS, sync_counterpart


def test_paths_are_unique_and_named_after_scenario_and_flavor():
    paths = [f.path for s in SCENARIOS for f in s.flavors]
    assert len(paths) == len(set(paths))
    for s in SCENARIOS:
        assert "sync" in s.flavor_names and "async" in s.flavor_names, s.name
        for f in s.flavors:
            assert f.path == f"/{s.name}/{f.name}/"


def test_async_flavors_pair_with_their_sync_twin():
    catalog = ("sync", "async", "sync-list", "async-list")
    assert sync_counterpart("async-list", catalog) == "sync-list"
    assert sync_counterpart("async", catalog) == "sync"
    assert sync_counterpart("async-sequential", ("sync", "async-sequential")) == "sync"
    assert sync_counterpart("sync-list", catalog) is None
    assert sync_counterpart("async", ("async",)) is None
    for s in SCENARIOS:
        for f in s.flavors:
            twin = sync_counterpart(f.name, s.flavor_names)
            assert (twin is None) == (not f.is_async), (s.name, f.name)
