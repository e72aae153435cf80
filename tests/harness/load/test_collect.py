"""run/collect.py: a Measurement (and the sampler's numbers) into one CellRecord, with
the run's flag rules. Measurements are real loadgen.Measurement objects around real
HdrHistograms; the sampler is a real Sampler holding samples set by the test."""

from __future__ import annotations

import json

import pytest
from hdrh.histogram import HdrHistogram

from scripts.archive.records import PERCENTILES
from scripts.cells import CellKey
from scripts.config import Rules, load_matrix
from scripts.load import latencyfile, loadgen
from scripts.load.collect import fill, new_record
from scripts.proc.sampler import Sample, Sampler

SERVERS = load_matrix().servers
WINDOW = (1000.25, 1003.5)  # three whole seconds: 1001, 1002, 1003


def histogram(values_us) -> HdrHistogram:
    h = HdrHistogram(1, latencyfile.HIGHEST_US, latencyfile.SIGNIFICANT_DIGITS)
    for v in values_us:
        h.record_value(v)
    return h


def measurement(ok=(40, 50, 60), failed=(0, 0, 0), latencies_us=None,
                open_load=None) -> loadgen.Measurement:
    latencies_us = latencies_us or [1000 * (1 + i % 100) for i in range(sum(ok))]
    return loadgen.Measurement(
        requests=sum(ok), failures=sum(failed), duration_s=float(len(ok)), window=WINDOW,
        histogram=histogram(latencies_us), rps_per_second=[float(n) for n in ok],
        failures_per_second=list(failed),
        latency_ms_per_second={"p50": [0.5] * len(ok), "p95": [1.0] * len(ok)}, open=open_load)


def record(scenario="weather", client="httpx", users=20, **kw):
    key = CellKey("uvicorn", scenario, "async", client, users, **kw)
    return new_record(key, SERVERS["uvicorn"], trial=2)


def sampler(tmp_path, **cpu_by_role) -> Sampler:
    """A Sampler that saw these CPU figures, once inside the window and once outside."""
    s = Sampler({}, tmp_path / "resources.csv")
    for role, cpu in cpu_by_role.items():
        s.samples.append(Sample(WINDOW[0] + 1, role, cpu, 120.0, 9, 3))
        s.samples.append(Sample(WINDOW[1] + 60, role, 0.0, 999.0, 99, 3))  # after the cell
    return s


# --- new_record ---------------------------------------------------------------------------


def test_new_record_takes_its_identity_from_the_key():
    key = CellKey("gunicorn-sync", "weather", "async", "aiohttp", 20)
    r = new_record(key, SERVERS["gunicorn-sync"], trial=3)
    assert r.key == key and r.trial == 3
    assert (r.interface, r.model) == ("wsgi", "processes")
    assert r.path == key.path(3) and r.label == key.label
    assert r.status == "ok" and r.requests == 0 and r.warnings == []


def test_new_record_of_an_open_model_cell_keeps_its_user_cap():
    key = CellKey("uvicorn", "hello", "sync", None, rate=40.0)
    r = new_record(key, SERVERS["uvicorn"], trial=1, users=64)
    assert r.users == 64 and r.rate == 40.0
    assert r.key == key  # the cap is not part of the identity
    assert r.path == "cells/uvicorn/hello-sync-r40-t1"


# --- fill -------------------------------------------------------------------------------------


def test_numbers_come_from_the_measurement(tmp_path):
    r = record()
    m = measurement(ok=(40, 50, 60), failed=(1, 0, 2))
    fill(r, m, tmp_path, Rules())
    assert r.rps == 50.0  # 150 ok requests over 3 s; failures do not count as throughput
    assert r.requests == 153 and r.failures == 3
    assert r.duration_s == 3.0
    assert r.rps_per_second == [40.0, 50.0, 60.0]
    assert set(r.latency_ms) == {*PERCENTILES, "max", "mean"}
    assert r.latency_ms["p50"] == pytest.approx(
        m.histogram.get_value_at_percentile(50) / 1000, abs=0.001)
    assert r.latency_ms["max"] == pytest.approx(100.0, rel=0.001)  # 100 ms, 3 digits


def test_rps_is_rounded_to_two_places(tmp_path):
    r = record()
    fill(r, measurement(ok=(33, 33, 34)), tmp_path, Rules())
    assert r.rps == 33.33


def test_latency_json_holds_the_histogram(tmp_path):
    r = record()
    values = [500, 1500, 2500, 3500] * 30
    fill(r, measurement(ok=(40, 40, 40), latencies_us=values), tmp_path, Rules())
    data = json.loads((tmp_path / "latency.json").read_text())
    assert data["requests"] == 120 and data["percentiles"] == r.latency_ms
    h = HdrHistogram(1, latencyfile.HIGHEST_US, latencyfile.SIGNIFICANT_DIGITS)
    h.decode_and_add(data["histogram"])
    assert h.get_total_count() == len(values)
    assert h.get_max_value() == histogram(values).get_max_value()
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(("ok", "flagged"), [((5, 5, 0), False), ((5, 4, 0), True),
                                             ((0, 0, 0), True)])
def test_few_requests_follows_min_requests(tmp_path, ok, flagged):
    r = record()
    fill(r, measurement(ok=ok, latencies_us=[1000] * max(1, sum(ok))), tmp_path,
         Rules(min_requests=10))
    assert ("few-requests" in r.warnings) is flagged


@pytest.mark.parametrize(("failed", "flagged"), [((0, 0, 0), False), ((5, 5, 0), False),
                                                 ((5, 5, 1), True)])
def test_high_failure_ratio_follows_the_rule(tmp_path, failed, flagged):
    # 90 ok requests: 10 failures are 10 % of 100 (not above), 11 are 11/101
    r = record()
    fill(r, measurement(ok=(30, 30, 30), failed=failed), tmp_path,
         Rules(high_failure_ratio=0.1, min_requests=0))
    assert ("high-failure-ratio" in r.warnings) is flagged


def test_a_cell_with_only_failures(tmp_path):
    r = record()
    fill(r, measurement(ok=(0, 0, 0), failed=(10, 10, 10), latencies_us=[1000]), tmp_path,
         Rules(min_requests=10))
    assert r.rps == 0.0 and r.requests == 30 and r.failure_ratio == 1.0
    assert r.warnings == ["high-failure-ratio"]


def test_no_sampler_no_resource_numbers(tmp_path):
    r = record()
    fill(r, measurement(), tmp_path, Rules(min_requests=0))
    assert r.server_cpu_pct is r.server_rss_mb is r.server_threads is None
    assert r.generator_cpu_pct is r.upstream_cpu_pct is None
    assert r.warnings == []


def test_resources_come_from_the_measured_window(tmp_path):
    r = record()
    fill(r, measurement(), tmp_path, Rules(min_requests=0),
         sampler(tmp_path, server=93.5, generator=20.0, upstream=10.0))
    assert r.server_cpu_pct == 93.5 and r.server_rss_mb == 120.0 and r.server_threads == 9
    assert r.generator_cpu_pct == 20.0 and r.upstream_cpu_pct == 10.0
    assert r.warnings == []  # a hot server is what we measure, not a flag


@pytest.mark.parametrize(("cpu", "processes", "hot"), [
    (79.9, 1, False), (80.0, 1, True), (150.0, 2, False), (160.0, 2, True)])
def test_generator_hot_scales_with_its_processes(tmp_path, cpu, processes, hot):
    r = record()
    fill(r, measurement(), tmp_path, Rules(hot_cpu_pct=80.0, min_requests=0),
         sampler(tmp_path, server=50.0, generator=cpu), processes=processes)
    assert r.generator_cpu_pct == cpu
    assert ("generator-hot" in r.warnings) is hot


@pytest.mark.parametrize(("scenario", "client", "counted"), [
    ("weather", "httpx", True), ("home", "httpx", True), ("hello", None, False),
    ("catalog", None, False)])
def test_upstream_hot_only_where_views_call_upstream(tmp_path, scenario, client, counted):
    r = record(scenario=scenario, client=client)
    fill(r, measurement(), tmp_path, Rules(hot_cpu_pct=80.0, min_requests=0),
         sampler(tmp_path, server=50.0, generator=10.0, upstream=95.0))
    assert ("upstream-hot" in r.warnings) is counted
    assert (r.upstream_cpu_pct == 95.0) is counted
    if not counted:
        assert r.upstream_cpu_pct is None


# --- the open model ---------------------------------------------------------------------


def open_load(offered, late=0, lag_us=1000) -> loadgen.OpenLoad:
    return loadgen.OpenLoad(rate=50.0, arrival="poisson",
                            corrected=histogram([20_000] * 10), lag=histogram([lag_us] * 10),
                            late=late, unsent=0, offered_per_second=list(offered))


def test_an_open_model_cell_reports_corrected_latency(tmp_path):
    r = record(rate=50.0)
    m = measurement(ok=(50, 50, 50), latencies_us=[2000] * 150,
                    open_load=open_load((50, 50, 50)))
    fill(r, m, tmp_path, Rules(min_requests=0))
    assert r.latency == "corrected" and r.arrival == "poisson"
    assert r.latency_ms["p50"] == pytest.approx(20.0, rel=0.001)  # from the intended start
    assert r.latency_raw_ms["p50"] == pytest.approx(2.0, rel=0.001)
    assert r.achieved_rps == 50.0 and r.offered_per_second == [50, 50, 50]
    assert r.warnings == []  # held its schedule


def test_an_open_model_cell_behind_schedule_blames_the_server(tmp_path):
    r = record(rate=50.0)
    m = measurement(ok=(30, 30, 30), open_load=open_load((50, 50, 50)))
    fill(r, m, tmp_path, Rules(min_requests=0), sampler(tmp_path, generator=10.0))
    assert "overloaded" in r.warnings and "generator-behind" not in r.warnings


def test_an_open_model_cell_behind_schedule_with_a_hot_generator(tmp_path):
    r = record(rate=50.0)
    m = measurement(ok=(50, 50, 50), open_load=open_load((50, 50, 50), lag_us=200_000))
    fill(r, m, tmp_path, Rules(min_requests=0), sampler(tmp_path, generator=99.0))
    assert r.start_lag_p99_ms == pytest.approx(200.0, rel=0.001)
    assert r.warnings == ["generator-hot", "generator-behind"]


def test_a_cell_that_never_settled_is_flagged_unstable(tmp_path):
    """Stability windows ran to the cap without 3 agreeing seconds: the number stands,
    flagged; a settled cell and a fixed-duration one are not."""
    for stable, flagged in ((False, True), (True, False), (None, False)):
        m = measurement()
        m.stable = stable
        r = record()
        fill(r, m, tmp_path, Rules())
        assert r.stable is stable and ("unstable" in r.warnings) is flagged


@pytest.mark.parametrize(("stolen", "steal_pct", "flagged"), [
    (0.0, 0.0, False), (9.8, 4.9, False), (10.0, 5.0, True), (60.0, 30.0, True)])
def test_steal_time_is_per_core_and_flags_stolen_at_the_rule(tmp_path, stolen, steal_pct,
                                                             flagged, monkeypatch):
    """The sampler's `stolen` rows sum steal over the cores (100 = one core); the cell
    keeps the share of each core, and a cell that lost `stolen_pct` of it is flagged."""
    monkeypatch.setattr("scripts.proc.machine.cores", lambda: 2)
    r = record()
    fill(r, measurement(), tmp_path, Rules(min_requests=0, stolen_pct=5.0),
         sampler(tmp_path, server=50.0, generator=10.0, stolen=stolen))
    assert r.steal_pct == steal_pct
    assert ("stolen" in r.warnings) is flagged
