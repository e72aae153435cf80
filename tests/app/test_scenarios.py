"""The registry's own behaviour: lookups, the sync twin of every async flavor.

Paths and routes are not checked here against the registry they are built from (that
could not fail); tests/app/test_views.py pins the public URLs to the view functions.
"""

import pytest

from app.scenarios import SCENARIOS, get, sync_counterpart


def test_get_names_the_known_scenarios_when_it_fails():
    assert get("weather").name == "weather"
    with pytest.raises(KeyError, match=r"unknown scenario 'wether' \(known: hello, sleep,"
                                       r" weather, home, catalog, queries, held, mixed, cpu"):
        get("wether")


def test_a_scenario_finds_its_flavors_by_name_only():
    home = get("home")
    assert home.flavor("async-sequential") is home.flavors[1]
    assert home.flavor_names == ("sync", "async-sequential", "async")
    with pytest.raises(KeyError):
        home.flavor("sync-list")  # catalog's flavor, not home's


def test_async_flavors_pair_with_their_sync_twin():
    catalog = ("sync", "async", "sync-list", "async-list")
    assert sync_counterpart("async-list", catalog) == "sync-list"
    assert sync_counterpart("async", catalog) == "sync"
    assert sync_counterpart("async-sequential", ("sync", "async-sequential")) == "sync"
    assert sync_counterpart("async-background", ("async-background",)) is None
    assert sync_counterpart("sync-list", catalog) is None
    assert sync_counterpart("async", ("async",)) is None


def test_every_async_flavor_has_a_sync_flavor_to_be_measured_against():
    """The verdict compares each async flavor with its sync twin: none may lack one."""
    for s in SCENARIOS:
        for f in s.flavors:
            twin = sync_counterpart(f.name, s.flavor_names)
            assert (twin is None) == (not f.is_async), (s.name, f.name)
            if twin is not None:
                assert not s.flavor(twin).is_async, (s.name, f.name, twin)
