"""config/model.py: the matrix's pieces and the little logic they carry.

Environment dictionaries are checked against their readers (the upstream stand-in's
Faults.from_env, the app's middleware_from_env), not against a copy of the writer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.middleware import ASYNC_ONLY, SYNC_ONLY, middleware_from_env
from app.upstream import Faults
from scripts.config import (
    AppSettings,
    ClientSpec,
    ConfigError,
    Matrix,
    Pinning,
    Profile,
    Rules,
    ServerSpec,
    UpstreamSettings,
)

HAVE = sorted(os.sched_getaffinity(0))
NOT_HERE = max(HAVE) + 1000  # a CPU this process may not use


# --- Pinning -----------------------------------------------------------------------------


def test_pinning_keeps_cpus_we_have():
    first = HAVE[0]
    p = Pinning(True, server=(first,), generator=(first,), upstream=(first,)).resolved()
    assert p.enabled and p.server == p.generator == p.upstream == (first,)
    assert p.cpus("server") == (first,)


def test_pinning_drops_cpus_we_do_not_have():
    p = Pinning(True, server=(HAVE[0], NOT_HERE), generator=(NOT_HERE, HAVE[-1]),
                upstream=(HAVE[-1],)).resolved()
    assert p.enabled
    assert p.server == (HAVE[0],) and p.generator == (HAVE[-1],)


@pytest.mark.parametrize("role", ["server", "generator", "upstream"])
def test_pinning_is_off_when_a_role_would_have_no_cpu(role):
    cpus = {"server": (HAVE[0],), "generator": (HAVE[0],), "upstream": (HAVE[0],)}
    cpus[role] = (NOT_HERE,)
    p = Pinning(True, **cpus).resolved()
    assert not p.enabled
    assert p.cpus("server") is None and p.cpus(role) is None


def test_pinning_switched_off_stays_off():
    p = Pinning(False, server=(HAVE[0],), generator=(HAVE[0],), upstream=(HAVE[0],))
    assert not p.resolved().enabled
    assert p.resolved().cpus("generator") is None


def test_pinning_describe_is_plain_lists():
    d = Pinning(True, server=(0,), generator=(1, 2), upstream=(1,)).describe()
    assert d == {"enabled": True, "server": [0], "generator": [1, 2], "upstream": [1]}


# --- ServerSpec ----------------------------------------------------------------------------


def spec(**kw) -> ServerSpec:
    base = dict(name="web", interface="wsgi", module="json", workers=3, concurrency=1,
                args=("app:application", "--bind", "{host}:{port}", "-w", "{workers}"))
    return ServerSpec(**{**base, **kw})


def test_resolved_args_fill_every_placeholder():
    s = spec(threads=7, connections=900,
             args=("{host}:{port}", "{workers}", "{threads}", "--c={connections}", "plain"))
    assert s.resolved_args(8123) == ["127.0.0.1:8123", "3", "7", "--c=900", "plain"]
    assert s.resolved_args(1, host="::1")[0] == "::1:1"
    assert s.args[0] == "{host}:{port}"  # the spec itself is untouched


def test_resolved_args_reject_an_unknown_placeholder():
    with pytest.raises(KeyError):
        spec(args=("{nope}",)).resolved_args(1)


def test_a_server_is_available_only_with_every_module_it_needs():
    assert spec().available and spec().missing == ()
    missing = spec(requires=("json", "loadlab_no_such_module"))
    assert not missing.available
    assert missing.missing == ("loadlab_no_such_module",)
    assert spec(module="loadlab_no_such_module").missing == ("loadlab_no_such_module",)


# --- environments -----------------------------------------------------------------------------


def test_upstream_env_is_what_the_stand_in_reads():
    settings = UpstreamSettings(latency_ms=20, jitter_ms=2.5, error_rate=0.05, hang_rate=0.0,
                                hang_ms=3000, tail_rate=0.01, tail_ms=750)
    env = settings.env()
    assert set(env) == {f"UPSTREAM_{name.upper()}" for name in Faults.__dataclass_fields__}
    assert Faults.from_env(env) == Faults(**settings.__dict__)
    # whole numbers without a trailing .0 (the stand-in's and a reader's eyes)
    assert env["UPSTREAM_LATENCY_MS"] == "20" and env["UPSTREAM_JITTER_MS"] == "2.5"
    assert env["UPSTREAM_HANG_MS"] == "3000"


def test_upstream_env_of_the_defaults_round_trips():
    assert Faults.from_env(UpstreamSettings().env()) == Faults()


@pytest.mark.parametrize(("sync_mw", "async_mw"), [(False, False), (True, False),
                                                   (False, True), (True, True)])
def test_app_env_switches_the_apps_middleware(sync_mw, async_mw):
    env = AppSettings(client_timeout_s=0.75, sync_middleware=sync_mw,
                      async_middleware=async_mw).env()
    stack = middleware_from_env(env)
    assert (SYNC_ONLY in stack) is sync_mw
    assert (ASYNC_ONLY in stack) is async_mw
    assert float(env["LOADLAB_UPSTREAM_TIMEOUT"]) == 0.75


def test_app_env_writes_a_whole_timeout_without_a_fraction():
    assert AppSettings(client_timeout_s=2.0).env()["LOADLAB_UPSTREAM_TIMEOUT"] == "2"


# --- Matrix lookups ----------------------------------------------------------------------------


@pytest.fixture
def matrix() -> Matrix:
    profiles = {name: Profile(name, users=(1,), spawn_rate=1, warmup_s=0, duration_s=1,
                              trials=1) for name in ("quick", "full")}
    return Matrix(Path("m.toml"), "quick", Pinning(), UpstreamSettings(), AppSettings(),
                  Rules(), {"web": spec(), "asgi": spec(name="asgi", interface="asgi")},
                  {"httpx": ClientSpec("httpx", True), "aiohttp": ClientSpec("aiohttp", False)},
                  profiles, {"hello": 10.0})


def test_lookups_by_name(matrix):
    assert matrix.server("asgi").interface == "asgi"
    assert matrix.client("aiohttp").sync is False
    assert matrix.profile("full").name == "full"
    assert matrix.profile(None).name == "quick"  # the default profile
    assert matrix.slo("hello", 99.0) == 10.0 and matrix.slo("sleep", 99.0) == 99.0
    assert matrix.slo("sleep", None) is None


@pytest.mark.parametrize(("lookup", "name", "known"), [
    ("server", "tornado", ("web", "asgi")),
    ("client", "requests", ("httpx", "aiohttp")),
    ("profile", "huge", ("quick", "full")),
])
def test_an_unknown_name_is_a_config_error_listing_the_known(matrix, lookup, name, known):
    with pytest.raises(ConfigError) as info:
        getattr(matrix, lookup)(name)
    message = str(info.value)
    assert f"unknown {lookup} {name!r}" in message
    assert all(k in message for k in known)


def test_pinned_processes_share_their_cores():
    """Two Locust workers pinned to one core fill one core, not two (generator-hot)."""
    import os

    from scripts.config import Pinning

    assert Pinning(True, (0,), (1,), (1,)).cores("generator") == 1
    assert Pinning(True, (0,), (1, 2), (1,)).cores("generator") == 2
    assert Pinning(False).cores("generator") == len(os.sched_getaffinity(0))
