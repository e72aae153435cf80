"""render/outputs.py and the terminal's answer at sealing: called at the floor `loadlab
compare RUN` uses, the results folder's calibration.json when it was measured at the
run's profile, not the lab's floors."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.analysis.calibration import floor_for
from scripts.archive import calibration as calibration_file
from scripts.archive.folder import load_run
from scripts.render.outputs import RunOutputs
from scripts.render.progress import Progress
from tests.harness.runfactory import Spec, make_run

# uvicorn holds 10 % more than gunicorn-sync, 1000 +- 50 rps a second for 25 s: beyond
# the lab's 5 % rps floor, within a machine's calibrated 30 %.
SPEC = Spec(servers=("gunicorn-sync", "uvicorn"), scenarios={"hello": ("sync",)},
            shift=lambda k: 1.10 if k[0] == "uvicorn" else 1.0)
CALIBRATED = {"created": "2026-12-01T09:00:00+00:00", "profile": "smoke",
              "floors": {"rps": 0.30, "p50": 0.30, "p95": 0.30, "p99": 0.30}}


def seal(results: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, str]:
    """summary.md, report.html and the terminal's answer, as a run's sealing writes them."""
    run = load_run(make_run(results, "20260101-100000-r", SPEC, seed=4))
    assert RunOutputs().run_sealing(run.path, run.manifest, run.cells) is None
    progress = Progress(quiet=True)
    progress.run_sealing(run.path, run.manifest, run.cells)
    capsys.readouterr()
    progress.run_done(run.path, run.cells, "complete")
    return ((run.path / "summary.md").read_text(), (run.path / "report.html").read_text(),
            capsys.readouterr().out)


def answer_line(text: str) -> str:
    return next(line for line in text.splitlines() if "hello: uvicorn" in line)


def test_without_calibration_the_lab_floor_calls_the_difference(tmp_path, capsys):
    summary, report, terminal = seal(tmp_path / "results", capsys)
    for text in (summary, terminal):
        assert "over gunicorn-sync" in answer_line(text)
        assert "(significant)" in answer_line(text), answer_line(text)
    assert "measured by loadlab calibrate" not in report


def test_a_calibrated_results_folder_sets_the_floor_of_every_sealed_output(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    calibration_file.write(results, CALIBRATED)
    summary, report, terminal = seal(results, capsys)
    for text in (summary, terminal):
        assert "~ not significant" in answer_line(text), answer_line(text)
    floor = floor_for(load_run(results / "20260101-100000-r"))
    assert floor.calibrated and floor.of("rps") == 0.30  # what compare RUN uses
    assert f"noise floor {floor.short}: {floor.source}" in report  # the tables' method line


def test_a_calibration_at_another_profile_is_not_used(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    calibration_file.write(results, {**CALIBRATED, "profile": "full"})
    summary, _, terminal = seal(results, capsys)
    for text in (summary, terminal):
        assert "(significant)" in answer_line(text), answer_line(text)
