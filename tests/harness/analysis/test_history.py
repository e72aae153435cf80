"""analysis/history.py over run folders written the way bench and capacity write them
(tests/harness/runfactory.py): points in time order, commit labels, folded trials,
capacity results, marks, filters, and the folders it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.analysis.history import History, Series, history, read_runs
from scripts.archive.folder import load_run, write_summary
from scripts.errors import UsageError
from tests.harness.runfactory import Spec, make_cells, make_run

SHA = "0123456789abcdef0123456789abcdef01234567"
ONE = Spec(servers=("uvicorn",), scenarios={"hello": ("sync",)}, seconds=5)


def run(root: Path, name: str, started: str, commit: str | None = SHA, dirty=False,
        spec: Spec = ONE, rps: float = 1000.0, **manifest) -> Path:
    git = {"commit": commit, "dirty": dirty} if commit else {}
    spec = Spec(**{**spec.__dict__, "rps": rps,
                   "manifest": {"started": started, "git": git, **manifest}})
    return make_run(root, name, spec)


def only(result: History, label: str) -> Series:
    (series,) = [s for s in result.series if s.label == label]
    return series


def test_points_follow_the_start_time_not_the_folder_name(tmp_path):
    run(tmp_path, "a-latest", "2026-03-01T10:00:00+00:00", rps=300.0)
    run(tmp_path, "z-earliest", "2026-01-01T10:00:00+00:00", rps=100.0)
    run(tmp_path, "m-middle", "2026-02-01T10:00:00+00:00", rps=200.0)
    result = history(read_runs(tmp_path).runs)
    (series,) = result.series
    assert [p.run for p in series.points] == ["z-earliest", "m-middle", "a-latest"]
    assert result.runs == ("z-earliest", "m-middle", "a-latest")
    # the levels travel with their runs (runfactory's rps is the mean of noisy seconds)
    assert [round(p.rps, -1) for p in series.points] == [100.0, 200.0, 300.0]
    assert series.label == "uvicorn hello/sync u10" and not series.capacity


def test_each_point_is_labelled_with_its_runs_commit(tmp_path):
    run(tmp_path, "clean", "2026-01-01T10:00:00+00:00", commit=SHA)
    run(tmp_path, "dirty", "2026-01-02T10:00:00+00:00", commit="fedcba9876543210",
        dirty=True)
    run(tmp_path, "nogit", "2026-01-03T10:00:00+00:00", commit=None)
    (series,) = history(read_runs(tmp_path).runs).series
    assert [p.commit_label for p in series.points] == [
        "01234567", "fedcba98-dirty", "no git"]
    assert [(p.commit, p.dirty) for p in series.points] == [
        (SHA, False), ("fedcba9876543210", True), (None, False)]


def test_trials_fold_to_their_median_and_configurations_are_apart(tmp_path):
    spec = Spec(servers=("uvicorn", "gunicorn-sync"), scenarios={"hello": ("sync", "async")},
                trials=3, trial_sd=0.2)
    path = run(tmp_path, "r", "2026-01-01T10:00:00+00:00", spec=spec)
    result = history([load_run(path)])
    assert len(result.series) == 4  # server x flavor; trials are not configurations
    trials = [c for c in load_run(path).cells
              if (c.server, c.flavor) == ("uvicorn", "async")]
    (point,) = only(result, "uvicorn hello/async u10").points
    assert len(trials) == 3
    assert point.rps == sorted(c.rps for c in trials)[1]
    assert point.p95 == sorted(c.latency_ms["p95"] for c in trials)[1]


def test_a_run_that_did_not_complete_gives_what_it_measured_marked(tmp_path):
    spec = Spec(servers=("uvicorn", "gunicorn-sync"), scenarios={"hello": ("sync",)},
                failed=lambda key: key[0] == "gunicorn-sync",
                warnings=lambda key: ["cpu-saturated"] if key[0] == "uvicorn" else [])
    run(tmp_path, "ok", "2026-01-01T10:00:00+00:00")
    run(tmp_path, "cut", "2026-01-02T10:00:00+00:00", spec=spec, status="interrupted")
    result = history(read_runs(tmp_path).runs)
    first, cut = only(result, "uvicorn hello/sync u10").points
    assert first.marks == () and first.status == "complete"
    assert cut.status == "interrupted" and cut.rps is not None
    assert cut.marks == ("interrupted", "cpu-saturated")
    (failed,) = only(result, "gunicorn-sync hello/sync u10").points
    assert failed.rps is None and failed.p95 is None
    assert failed.marks == ("interrupted", "failed")


def capacity_record(server: str, held: float, steps: list[dict], **extra) -> dict:
    return {"server": server, "scenario": "hello", "flavor": "sync", "client": None,
            "middleware": None, "connections": None, "capacity_rps": held,
            "bracket": [held, held * 1.1], "confirmed": True, "converged": True,
            "steps": steps, **extra}


def step(rate: float, passed: bool, rps: float, p95: float) -> dict:
    return {"rate": rate, "passed": passed, "achieved_rps": rps, "p95_ms": p95}


def test_a_capacity_run_gives_its_answer_not_its_steps(tmp_path):
    path = run(tmp_path, "cap", "2026-01-01T10:00:00+00:00")
    cells = make_cells(ONE, 0)  # its search steps, as cells
    write_summary(path, cells, capacity=[
        capacity_record("uvicorn", 400.0, [
            step(200.0, True, 199.0, 10.0), step(400.0, True, 398.0, 30.0),
            step(800.0, False, 500.0, 900.0), step(400.0, True, 396.0, 40.0)]),
        capacity_record("gunicorn-sync", 40.0, [step(40.0, True, 39.5, 120.0)],
                        converged=False),
    ])
    result = history([load_run(path)])
    assert [s.label for s in result.series] == [
        "gunicorn-sync hello/sync capacity", "uvicorn hello/sync capacity"]
    assert all(s.capacity and s.unit == "rps" for s in result.series)
    (point,) = only(result, "uvicorn hello/sync capacity").points
    # the rps and p95 at the rate held: the two passing steps at 400, not 200 or 800
    assert (point.capacity, point.rps, point.p95) == (400.0, 397.0, 35.0)
    (unsure,) = only(result, "gunicorn-sync hello/sync capacity").points
    assert unsure.marks == ("unconverged",)


def test_held_capacity_is_connections(tmp_path):
    path = run(tmp_path, "held", "2026-01-01T10:00:00+00:00")
    rec = capacity_record("uvicorn", 0, [
        {"users": 64, "ok": True, "p95_ms": 12.0}, {"users": 128, "ok": False,
                                                   "p95_ms": 800.0}])
    del rec["capacity_rps"]
    write_summary(path, [], capacity=[{**rec, "scenario": "stream", "held_connections": 64}])
    (series,) = history([load_run(path)]).series
    assert series.held and series.unit == "connections"
    (point,) = series.points
    assert (point.capacity, point.rps, point.p95) == (64.0, None, 12.0)


def test_filters_choose_a_scenario_and_a_server(tmp_path):
    spec = Spec(servers=("uvicorn", "gunicorn-sync"),
                scenarios={"hello": ("sync",), "sleep": ("sync",)})
    run(tmp_path, "r", "2026-01-01T10:00:00+00:00", spec=spec)
    runs = read_runs(tmp_path).runs
    assert len(history(runs).series) == 4
    assert {s.key.scenario for s in history(runs, scenario="sleep").series} == {"sleep"}
    assert {s.key.server for s in history(runs, server="uvicorn").series} == {"uvicorn"}
    (both,) = history(runs, scenario="hello", server="gunicorn-sync").series
    assert both.label == "gunicorn-sync hello/sync u10"


@pytest.mark.parametrize(("scenario", "server", "says"), [
    ("nope", None, "no run measured scenario 'nope' (the runs have: hello, sleep)"),
    (None, "tornado", "no run measured server 'tornado' (the runs have: uvicorn)"),
])
def test_a_filter_no_run_has_is_bad_input(tmp_path, scenario, server, says):
    run(tmp_path, "r", "2026-01-01T10:00:00+00:00",
        spec=Spec(servers=("uvicorn",), scenarios={"hello": ("sync",), "sleep": ("sync",)}))
    with pytest.raises(UsageError) as exc:
        history(read_runs(tmp_path).runs, scenario, server)
    assert str(exc.value) == f"loadlab history: {says}"


def test_a_combination_no_run_has_is_bad_input(tmp_path):
    run(tmp_path, "a", "2026-01-01T10:00:00+00:00",
        spec=Spec(servers=("uvicorn",), scenarios={"hello": ("sync",)}))
    run(tmp_path, "b", "2026-01-02T10:00:00+00:00",
        spec=Spec(servers=("gunicorn-sync",), scenarios={"sleep": ("sync",)}))
    with pytest.raises(UsageError, match="no run measured scenario 'sleep' on server"
                                         " 'uvicorn'"):
        history(read_runs(tmp_path).runs, "sleep", "uvicorn")


def test_unreadable_folders_are_skipped_and_named(tmp_path):
    run(tmp_path, "good", "2026-01-01T10:00:00+00:00")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "manifest.json").write_text("{not json")
    nosummary = run(tmp_path, "nosummary", "2026-01-02T10:00:00+00:00")
    (nosummary / "summary.json").unlink()
    (tmp_path / "not-a-run").mkdir()  # no manifest: not a run folder at all
    found = read_runs(tmp_path)
    assert [r.name for r in found.runs] == ["good"]
    assert sorted(found.skipped) == sorted([
        f"{tmp_path / 'corrupt'}: unreadable manifest.json",
        f"{nosummary / 'summary.json'}: missing (the run wrote no summary)"])


def test_no_results_folder_is_bad_input_and_an_empty_one_is_no_runs(tmp_path):
    with pytest.raises(UsageError, match="no such results folder"):
        read_runs(tmp_path / "absent")
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="must be a folder"):
        read_runs(tmp_path / "file")
    empty = read_runs(tmp_path)
    assert empty.runs == () and empty.skipped == ()
    assert history(empty.runs) == History((), ())


def test_a_manifest_without_git_or_start_still_gives_its_points(tmp_path):
    path = run(tmp_path, "old", "2026-01-01T10:00:00+00:00")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["git"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    (point,) = history(read_runs(tmp_path).runs).series[0].points
    assert point.commit is None and point.commit_label == "no git"
