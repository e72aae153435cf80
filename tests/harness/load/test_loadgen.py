"""Reading Locust's output: the harness histogram, the measured window, the classes."""

from __future__ import annotations

import ast
import json

from hdrh.histogram import HdrHistogram

from app.scenarios import SCENARIOS, Flavor, Scenario, class_name
from scripts.config.project import BUILTIN, Project
from scripts.load import latencyfile, loadgen


def _hist(values_us):
    h = HdrHistogram(1, latencyfile.HIGHEST_US, 3)
    for v in values_us:
        h.record_value(v)
    return h.encode().decode()


def _write(cell, pid, names):
    (cell / f"latency-{pid}.json").write_text(json.dumps({"unit": "us", "names": names}))


def test_only_whole_seconds_inside_the_window_count(tmp_path):
    # window 100.5 .. 103.2 -> whole seconds 101 and 102
    (tmp_path / "window.json").write_text(json.dumps({"start": 100.5, "end": 103.2}))
    seconds = {
        str(s): {"ok": 10, "failed": 1 if s == 102 else 0,
                 "histogram": _hist([1000 * s] * 10)}
        for s in (100, 101, 102, 103)
    }
    _write(tmp_path, 1, {"sync": seconds})
    m = loadgen.read_measurement(tmp_path)
    assert m.rps_per_second == [10.0, 10.0]
    assert m.failures_per_second == [0, 1]
    assert m.requests == 20 and m.failures == 1 and m.duration_s == 2
    assert m.rps == 10
    # values recorded in seconds 100 and 103 (100 ms, 103 ms) are outside
    assert 100.9 < m.latency_ms["p50"] < 102.2
    assert not list(tmp_path.glob("latency-*.json"))  # merged, then removed


def test_seconds_that_start_at_the_windows_phase_all_count(tmp_path):
    """One Locust process starts its seconds where the window starts (phase 0.3 past
    the wall clock's): a 2 s window from 100.3 holds seconds 100 and 101, both whole."""
    start = 100.0 + 0.3
    (tmp_path / "window.json").write_text(json.dumps(
        {"start": start, "end": start + 2.0002, "phase": start % 1}))
    seconds = {str(s): {"ok": 10 + s, "failed": 0, "histogram": _hist([1000] * (10 + s))}
               for s in (99, 100, 101, 102)}
    (tmp_path / "latency-1.json").write_text(json.dumps(
        {"unit": "us", "phase": start % 1, "names": {"sync": seconds}}))
    m = loadgen.read_measurement(tmp_path)
    assert m.rps_per_second == [110.0, 111.0] and m.duration_s == 2


def test_a_file_on_another_phase_is_refused(tmp_path):
    import pytest

    (tmp_path / "window.json").write_text(json.dumps({"start": 10.5, "end": 12.5,
                                                      "phase": 0.5}))
    _write(tmp_path, 1, {"sync": {"10": {"ok": 3, "failed": 0, "histogram": _hist([500])}}})
    with pytest.raises(loadgen.MeasurementError, match="another edge"):
        loadgen.read_measurement(tmp_path)


def test_processes_merge_and_names_filter(tmp_path):
    (tmp_path / "window.json").write_text(json.dumps({"start": 10.0, "end": 12.0}))
    _write(tmp_path, 1, {"sync": {"10": {"ok": 3, "failed": 0, "histogram": _hist([500] * 3)}}})
    _write(tmp_path, 2, {"sync": {"10": {"ok": 5, "failed": 0, "histogram": _hist([700] * 5)}},
                         "async": {"11": {"ok": 4, "failed": 2, "histogram": _hist([900] * 4)}}})
    assert loadgen.measured_names(tmp_path) == ["async", "sync"]
    sync = loadgen.read_measurement(tmp_path, name="sync", keep_raw=True)
    assert sync.rps_per_second == [8.0, 0.0]
    assert sync.histogram.get_total_count() == 8
    assert 0.49 < sync.latency_ms["p50"] < 0.71  # sub-millisecond resolution
    everything = loadgen.read_measurement(tmp_path)
    assert everything.requests == 12 and everything.failures == 2


def test_no_window_is_a_measurement_error(tmp_path):
    import pytest

    with pytest.raises(loadgen.MeasurementError, match="window"):
        loadgen.read_measurement(tmp_path)
    (tmp_path / "window.json").write_text(json.dumps({"spawned": 1.0, "end": 2.0}))
    with pytest.raises(loadgen.MeasurementError, match="before the measured window"):
        loadgen.read_measurement(tmp_path)


def test_latency_json_round_trips_the_histogram(tmp_path):
    (tmp_path / "window.json").write_text(json.dumps({"start": 0.0, "end": 1.0}))
    _write(tmp_path, 1, {"sync": {"0": {"ok": 4, "failed": 0,
                                        "histogram": _hist([100, 200, 300, 400])}}})
    data = loadgen.read_measurement(tmp_path).to_json()
    h = HdrHistogram(1, latencyfile.HIGHEST_US, 3)
    h.decode_and_add(data["histogram"])
    assert h.get_total_count() == 4
    assert data["percentiles"]["max"] == 0.4
    assert data["per_second"] == [{"requests": 4, "failures": 0, "p50_ms": 0.2,
                                   "p90_ms": 0.4, "p95_ms": 0.4, "p99_ms": 0.4}]


def test_the_probes_r0_and_s_are_its_warm_windows_low_percentile(tmp_path):
    """Warm-up's view times stay out of S as its answers stay out of R0 (before, S
    summed every Server-Timing since the start), and one cold answer left in the
    window does not lift R0 as it lifted the mean (weather: 301 ms among 259s)."""
    (tmp_path / "window.json").write_text(json.dumps({"start": 10.0, "end": 12.0}))
    answers = {"10": {"ok": 4, "failed": 0, "histogram": _hist([301_000] + [259_000] * 3)},
               "11": {"ok": 4, "failed": 0, "histogram": _hist([259_000] * 4)}}
    service = {"9": _hist([400_000] * 2),  # warm-up: cold, outside the window
               "10": _hist([296_000] + [255_000] * 3), "11": _hist([255_000] * 4)}
    (tmp_path / "latency-1.json").write_text(json.dumps(
        {"unit": "us", "names": {"sync": answers}, "service": service}))
    m = loadgen.read_measurement(tmp_path)
    assert m.service.get_total_count() == 8
    r0, s = m.unloaded()
    assert 258.9 < r0 < 259.2 and 254.9 < s < 255.2
    assert m.latency_ms["mean"] > 264  # what R0 was: the cold answer in it

def test_every_flavor_has_its_user_class_in_its_locustfile():
    """The harness names user classes by flavor; each locustfile must define them all."""
    for scenario in SCENARIOS:
        tree = ast.parse(loadgen.locustfile(scenario.name).read_text())
        classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        for flavor in scenario.flavor_names:
            assert class_name(flavor) in classes, (scenario.name, flavor)


def test_headless_argv_binds_nothing_public(tmp_path):
    argv = loadgen.headless_argv(scenario="hello", flavor="async-sequential",
                                 host="http://127.0.0.1:1", users=3, spawn_rate=10,
                                 warmup_s=1, duration_s=2, cell_dir=tmp_path, processes=2)
    assert argv[-1] == "AsyncSequential"
    assert "--headless" in argv
    assert argv[argv.index("--master-bind-host") + 1] == "127.0.0.1"


def test_every_percentile_has_its_own_seconds_and_an_empty_second_has_none(tmp_path):
    """compare tests p50, p90, p95 and p99 each on its own per-second values; a second
    that answered nothing has no latency (a zero would be the fastest second of all)."""
    (tmp_path / "window.json").write_text(json.dumps({"start": 10.0, "end": 13.0}))
    fast = [1000 * (1 + i) for i in range(100)]  # 1..100 ms
    _write(tmp_path, 1, {"sync": {"10": {"ok": 100, "failed": 0, "histogram": _hist(fast)},
                                  "11": {"ok": 0, "failed": 3, "histogram": None},
                                  "12": {"ok": 1, "failed": 0, "histogram": _hist([7000])}}})
    m = loadgen.read_measurement(tmp_path)
    seconds = m.latency_ms_per_second
    assert [round(v) if v else v for v in seconds["p50"]] == [50, None, 7]
    assert [round(v) if v else v for v in seconds["p99"]] == [99, None, 7]
    assert round(seconds["p90"][0]) == 90 and round(seconds["p95"][0]) == 95
    assert m.to_json()["per_second"][1] == {"requests": 0, "failures": 3, "p50_ms": None,
                                            "p90_ms": None, "p95_ms": None, "p99_ms": None}


def test_an_open_model_seconds_show_corrected_latency(tmp_path):
    """The open model's latency_ms is corrected (from intended starts): so are its
    seconds, or a test would compare one kind of latency on the other's evidence."""
    (tmp_path / "window.json").write_text(json.dumps({"start": 10.0, "end": 11.0}))
    slot = {"ok": 2, "failed": 0, "histogram": _hist([1000, 1000]), "late": 1,
            "lag": _hist([30_000]), "corrected": _hist([1000, 31_000])}
    (tmp_path / "latency-1.json").write_text(json.dumps({
        "unit": "us", "names": {"sync": {"10": slot}},
        "open": {"rate": 2.0, "arrival": "even", "offered": {"10": 2}, "unsent": {}}}))
    m = loadgen.read_measurement(tmp_path)
    assert round(m.latency_ms_per_second["p99"][0]) == 31  # the raw histogram says 1
    assert round(m.latency_corrected_ms["p99"]) == 31


def test_a_projects_scenario_runs_the_generic_users_or_the_teams_beside_the_recorder(
        tmp_path):
    """Without a locustfile: locustfiles/project.py with the scenario as JSON; with one:
    the recorder first, then the team's file (Locust's comma-separated -f)."""
    own = tmp_path / "own.py"
    own.write_text("")
    flavors = (Flavor("sync", "/o/", "", ""), Flavor("async-x", "/o/a/", "", ""))
    project = Project("shop", "shop.settings", {"asgi": "shop.asgi:application"},
                      (Scenario("orders", "", flavors, expect_status=201),
                       Scenario("own", "", flavors[:1])),
                      file=tmp_path / "loadlab.toml", root=tmp_path,
                      locustfiles={"own": own})
    assert loadgen.locustfiles(project, "orders") == str(loadgen.LOCUSTFILES / "project.py")
    assert loadgen.locustfiles(project, "own") == f"{loadgen.LOCUSTFILES / 'recorder.py'},{own}"
    assert json.loads(loadgen.project_scenario(project, "orders")) == {
        "name": "orders", "expect_status": 201, "flavors": {"sync": "/o/", "async-x": "/o/a/"}}
    argv = loadgen.headless_argv(scenario="orders", flavor="async-x", host="http://127.0.0.1:1",
                                 users=1, spawn_rate=1, warmup_s=0, duration_s=1,
                                 cell_dir=tmp_path, project=project)
    assert argv[argv.index("-f") + 1].endswith("project.py") and argv[-1] == "AsyncX"
    assert loadgen.locustfiles(BUILTIN, "hello") == str(loadgen.locustfile("hello"))
    assert loadgen.project_scenario(BUILTIN, "hello") == ""


def test_a_cells_locustfile_for_workers_carries_its_settings_and_users(tmp_path):
    """What a master hands `locust --worker -f -`: valid Python, the settings a worker
    needs (never the cell folder or the go file: the master's), the scenario's classes;
    a team's own file inlined, since another host has no copy of it."""
    settings = loadgen.env(cell_dir=tmp_path, warmup_s=1, duration_s=2, catalog_rows=10,
                           rate=50, processes=3, go_file=tmp_path / "go")
    text = loadgen.cell_locustfile(BUILTIN, "weather", settings)
    compile(text, "locustfile.py", "exec")
    assert "from locustfiles.weather import *" in text
    assert "'LOADLAB_RATE': '50'" in text and "'LOADLAB_PROCESSES': '3'" in text
    assert "LOADLAB_CELL_DIR" not in text and "LOADLAB_GO_FILE" not in text
    own = tmp_path / "own.py"
    own.write_text("from locust import HttpUser\n\nclass Sync(HttpUser):\n    pass\n")
    project = Project("shop", "shop.settings", {"asgi": "a:b"},
                      (Scenario("own", "", (Flavor("sync", "/o/", "", ""),)),),
                      file=tmp_path / "loadlab.toml", root=tmp_path, locustfiles={"own": own})
    text = loadgen.cell_locustfile(project, "own", settings)
    compile(text, "locustfile.py", "exec")
    assert "import locustfiles.base" in text and "class Sync(HttpUser)" in text
