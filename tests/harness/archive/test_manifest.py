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
                          processes=3).to_json()
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
                          upstream=upstream, pinning=Pinning(False), app_env={}).to_json()
    assert body["generator"]["processes"] == 1
    assert body["upstream"]["latency_ms"] == 7 and body["pinning"]["enabled"] is False


def test_a_manifest_reads_back_as_written_and_keeps_keys_it_does_not_know(built):
    _, _, body = built
    again = manifest.Manifest.from_json({**body, "from_the_future": {"x": 1}})
    assert again.to_json() == {**body, "from_the_future": {"x": 1}}
    assert body["schema_version"] == 1 and body["tool"] == "loadlab"
    assert list(body)[:6] == ["schema_version", "tool", "status", "label", "started",
                              "finished"]


def test_later_facts_each_have_one_method_and_the_seal_says_how_it_ended(built):
    _, _, body = built
    m = manifest.Manifest.from_json(body)
    m.upstream_at("http://127.0.0.1:9")
    m.prepared(1.23456)
    m.add_test({"index": 1})
    m.sealed("complete", None, "2026-12-06T13:00:00+00:00", 4, 1)
    out = m.to_json()
    assert out["upstream"]["url"] == "http://127.0.0.1:9"
    assert out["project"]["prepare_s"] == 1.235 and out["tests"] == [{"index": 1}]
    assert (out["status"], out["cells_done"], out["cells_failed"]) == ("complete", 4, 1)
    assert "error" in out and out["error"] is None  # a sealed run says it had none
    assert "error" not in body and "capacity" not in body  # nor before it ended
