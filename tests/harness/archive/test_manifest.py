"""archive/manifest.py: what every run records about how it was run."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import pytest

from scripts.archive import manifest
from scripts.config import Pinning, Rules, UpstreamSettings, load_matrix
from scripts.plan import Choices, build_plan
from scripts.services import servers as services


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


@pytest.fixture(scope="module")
def built(matrix):
    plan = build_plan(matrix, Choices(profile="faults"))
    app_env = services.app_env(matrix, "<upstream url>", "<cell client>")
    pinning = Pinning(True, server=(0,), generator=(1,), upstream=(1,))
    body = manifest.build(mode="bench", command=["loadlab", "bench", "--profile", "faults"],
                          matrix=matrix, profile=plan.profile.describe(), plan=plan.describe(),
                          upstream=plan.upstream, pinning=pinning, app_env=app_env,
                          processes=3)
    return plan, app_env, body


def test_it_is_plain_json(built):
    _, _, body = built
    assert json.loads(json.dumps(body)) == body


def test_rules_with_the_latency_rule(built, matrix):
    _, _, body = built
    rules = body["rules"]
    assert set(rules) == {f.name for f in fields(Rules)} | {"latency"}
    for f in fields(Rules):
        assert rules[f.name] == getattr(matrix.rules, f.name)
    assert rules["latency"] == manifest.LATENCY_RULE
    assert "HdrHistogram" in rules["latency"]


def test_app_settings_and_the_environment_servers_get(built, matrix):
    _, app_env, body = built
    assert body["app"]["env"] == app_env
    assert body["app"]["env"]["LOADLAB_CLIENT"] == "<cell client>"
    assert body["app"]["catalog_rows"] == matrix.app.catalog_rows
    assert body["app"]["client_timeout_s"] == matrix.app.client_timeout_s


def test_upstream_is_the_plans_with_no_url_yet(built, matrix):
    plan, _, body = built
    assert body["upstream"]["url"] is None
    assert {k: v for k, v in body["upstream"].items() if k != "url"} == plan.upstream.__dict__
    # the faults profile overrides the matrix's upstream: the manifest shows the override
    assert body["upstream"]["error_rate"] == matrix.profiles["faults"].upstream["error_rate"]
    assert body["upstream"]["error_rate"] != matrix.upstream.error_rate


def test_generator_pinning_plan_and_command(built, matrix):
    plan, _, body = built
    assert body["generator"]["processes"] == 3
    assert body["generator"]["tool"] == "locust"
    assert body["pinning"] == {"enabled": True, "server": [0], "generator": [1],
                               "upstream": [1]}
    assert body["mode"] == "bench"
    assert body["command"] == ["loadlab", "bench", "--profile", "faults"]
    assert body["matrix"] == str(matrix.path)
    assert body["profile"]["name"] == "faults"
    assert body["plan"] == plan.describe()


def test_processes_default_to_one(matrix):
    upstream = replace(UpstreamSettings(), latency_ms=7)
    body = manifest.build(mode="ui", command=[], matrix=matrix, profile={}, plan={},
                          upstream=upstream, pinning=Pinning(False), app_env={})
    assert body["generator"]["processes"] == 1
    assert body["upstream"]["latency_ms"] == 7 and body["pinning"]["enabled"] is False
