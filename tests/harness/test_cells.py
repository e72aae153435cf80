"""cells.py: a cell's identity, its labels, its folder and its order.

The spellings checked here are the documented ones (cells.py's docstrings and the run
folder layout in archive/folder.py): `server scenario/flavor [client] [mw=stack] uN` and
`cells/<server>/<scenario>-<flavor>[-<client>][-mw-<stack>]-(u<users>|r<rate>)-t<trial>`.
"""

from __future__ import annotations

import json
import random

import pytest

from scripts.cells import CellKey

WEATHER = CellKey("uvicorn", "weather", "async", "httpx", 20)
HELLO = CellKey("gunicorn-sync", "hello", "sync", None, 4)
OPEN = CellKey("uvicorn", "weather", "async", "httpx", users=64, rate=40.0)


def test_a_stack_and_a_connection_setting_are_in_the_label_folder_and_json():
    stacked = CellKey("uvicorn", "hello", "sync", None, 20, middleware="default+sync-only")
    assert stacked.label == "uvicorn hello/sync mw=default+sync-only u20"
    assert stacked.path(1) == "cells/uvicorn/hello-sync-mw-default+sync-only-u20-t1"
    assert stacked.as_list() == ["uvicorn", "hello", "sync", None, 20, None,
                                 "default+sync-only", None]
    pooled = CellKey("gunicorn-gthread", "catalog", "sync", None, 20, connections="pool")
    assert pooled.label == "gunicorn-gthread catalog/sync conn=pool u20"
    assert pooled.path(2) == "cells/gunicorn-gthread/catalog-sync-conn-pool-u20-t2"
    assert pooled.as_list()[-2:] == [None, "pool"]
    assert CellKey("uvicorn", "hello", "sync", None, 20, middleware="none") == CellKey(
        "uvicorn", "hello", "sync", None, 20)  # runs from before the axis compare
    assert stacked.with_flavor("async").middleware == "default+sync-only"
    assert stacked.setting != CellKey("uvicorn", "hello", "async", None, 20).setting


def test_labels_with_and_without_a_client():
    assert WEATHER.label == "uvicorn weather/async [httpx] u20"
    assert HELLO.label == "gunicorn-sync hello/sync u4"
    assert WEATHER.variant == "async [httpx] u20"
    assert HELLO.variant == "sync u4"
    assert WEATHER.name() == "uvicorn async [httpx] u20"
    assert WEATHER.name(with_scenario=True) == WEATHER.label
    assert HELLO.trial_label(3) == "gunicorn-sync hello/sync u4 t3"


def test_folders_with_and_without_a_client():
    assert WEATHER.dirname(2) == "weather-async-httpx-u20-t2"
    assert WEATHER.path(2) == "cells/uvicorn/weather-async-httpx-u20-t2"
    assert HELLO.dirname(1) == "hello-sync-u4-t1"
    assert HELLO.path(1) == "cells/gunicorn-sync/hello-sync-u4-t1"


def test_an_open_model_key_is_its_rate_not_its_user_cap():
    assert OPEN.users == 0
    assert CellKey("uvicorn", "weather", "async", "httpx", users=8, rate=40.0) == OPEN
    assert CellKey("uvicorn", "weather", "async", "httpx", users=64, rate=41.0) != OPEN
    assert OPEN.load == "r40" and OPEN.label == "uvicorn weather/async [httpx] r40"
    assert CellKey("s", "hello", "sync", rate=12.5).load == "r12.5"
    assert OPEN.path(1) == "cells/uvicorn/weather-async-httpx-r40-t1"


def test_every_field_tells_keys_apart():
    keys = {WEATHER, WEATHER.with_flavor("sync"), CellKey("gunicorn-asgi", "weather", "async",
                                                          "httpx", 20),
            CellKey("uvicorn", "home", "async", "httpx", 20),
            CellKey("uvicorn", "weather", "async", "aiohttp", 20),
            CellKey("uvicorn", "weather", "async", "httpx", 21), OPEN}
    assert len(keys) == 7
    assert len({k.label for k in keys}) == 7 and len({k.path(1) for k in keys}) == 7


def test_with_flavor_keeps_everything_else():
    sync = WEATHER.with_flavor("sync")
    assert sync == CellKey("uvicorn", "weather", "sync", "httpx", 20)
    assert WEATHER.flavor == "async"  # frozen: a new key, the old one unchanged
    assert OPEN.with_flavor("sync").rate == 40.0
    assert OPEN.with_flavor("sync").client == "httpx"


def test_with_flavor_can_change_or_drop_the_client():
    assert WEATHER.with_flavor("sync", "aiohttp").client == "aiohttp"
    dropped = WEATHER.with_flavor("sync", None)
    assert dropped.client is None and dropped.label == "uvicorn weather/sync u20"


def test_as_list_is_what_json_keeps_and_round_trips():
    assert WEATHER.as_list() == ["uvicorn", "weather", "async", "httpx", 20]
    assert HELLO.as_list() == ["gunicorn-sync", "hello", "sync", None, 4]
    assert OPEN.as_list() == ["uvicorn", "weather", "async", "httpx", 0, 40.0]
    for key in (WEATHER, HELLO, OPEN):
        assert CellKey(*json.loads(json.dumps(key.as_list()))) == key


def test_sort_key_orders_numbers_as_numbers():
    users = [100, 5, 20, 1, 1000]
    keys = [CellKey("s", "hello", "sync", None, u) for u in users]
    random.Random(1).shuffle(keys)
    assert [k.users for k in sorted(keys, key=CellKey.sort_key)] == sorted(users)
    rates = [40.0, 9.5, 10.0, 100.0, 0.5]
    open_keys = [CellKey("s", "hello", "sync", rate=r) for r in rates]
    assert [k.rate for k in sorted(open_keys, key=CellKey.sort_key)] == sorted(rates)


def test_sort_key_puts_no_client_first_and_is_total():
    keys = [CellKey("s", "weather", "sync", c, 1) for c in ("httpx", None, "aiohttp")]
    assert [k.client for k in sorted(keys, key=CellKey.sort_key)] == [None, "aiohttp", "httpx"]


def test_sort_key_server_first_or_scenario_first():
    keys = [CellKey(s, sc, "sync", None, 1) for s in ("uvicorn", "gunicorn-sync")
            for sc in ("weather", "hello")]
    by_server = sorted(keys, key=CellKey.sort_key)
    assert [(k.server, k.scenario) for k in by_server] == [
        ("gunicorn-sync", "hello"), ("gunicorn-sync", "weather"),
        ("uvicorn", "hello"), ("uvicorn", "weather")]
    by_scenario = sorted(keys, key=lambda k: k.sort_key(scenario_first=True))
    assert [(k.scenario, k.server) for k in by_scenario] == [  # the literature's order
        ("weather", "gunicorn-sync"), ("weather", "uvicorn"),
        ("hello", "gunicorn-sync"), ("hello", "uvicorn")]


@pytest.mark.parametrize("scenario_first", [False, True])
def test_sort_key_is_consistent_with_equality(scenario_first):
    a = CellKey("s", "hello", "sync", None, 5)
    b = CellKey("s", "hello", "sync", None, 5)
    c = CellKey("s", "hello", "sync", None, 50)
    assert a.sort_key(scenario_first) == b.sort_key(scenario_first)
    assert a.sort_key(scenario_first) != c.sort_key(scenario_first)


def test_neighbours_join_the_load_and_the_json_only_where_there_are_any():
    key = CellKey("uvicorn", "upload", "sync", None, 2, neighbours=2)
    assert key.load == "u2+n2" and key.dirname(1) == "upload-sync-u2+n2-t1"
    assert key.as_list() == ["uvicorn", "upload", "sync", None, 2, None, None, None, 2]
    assert CellKey("uvicorn", "upload", "sync", None, 2).as_list() == [
        "uvicorn", "upload", "sync", None, 2]
    assert key.setting != CellKey("uvicorn", "upload", "sync", None, 2).setting
