"""archive/writer.py: a run folder is written under `.partial-<name>`, sealed by a
rename, and never written over an existing folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.archive import writer
from scripts.archive.folder import PARTIAL_PREFIX, load_run, run_name
from scripts.archive.manifest import Manifest
from scripts.archive.records import SCHEMA_VERSION, CellRecord
from scripts.archive.writer import Archive

FIXED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
NAME = run_name(FIXED.strftime("%Y%m%d-%H%M%S"), "my label")  # what the folder is called


@pytest.fixture
def frozen(monkeypatch):
    """Every Archive starts in the same second (the collisions this module guards)."""
    monkeypatch.setattr(writer, "now", lambda: FIXED)


def record(status="ok", trial=1) -> CellRecord:
    return CellRecord(server="uvicorn", interface="asgi", scenario="hello", flavor="sync",
                      client=None, users=4, trial=trial, status=status, requests=100,
                      rps=50.0)


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_written_under_a_temporary_name_then_renamed(tmp_path, frozen):
    results = tmp_path / "results"  # created on demand
    archive = Archive(results, "my label", Manifest(mode="bench", plan=[1, 2]))
    assert archive.tmp == results / f"{PARTIAL_PREFIX}{NAME}"
    assert archive.final == results / NAME
    assert archive.tmp.is_dir() and not archive.final.exists()
    running = manifest_of(archive.tmp)
    assert running["status"] == "running" and running["finished"] is None
    assert running["schema_version"] == SCHEMA_VERSION and running["label"] == "my label"
    assert running["mode"] == "bench" and running["plan"] == [1, 2]  # the base, kept
    assert running["started"] == FIXED.isoformat(timespec="seconds")
    for part in ("owner", "versions", "git", "host"):
        assert part in running

    archive.add(record())
    assert [c["trial"] for c in json.loads((archive.tmp / "summary.json").read_text())
            ["cells"]] == [1]  # each cell is on disk as soon as it is added
    path = archive.finish("complete")
    assert path == archive.final and path.is_dir() and not archive.tmp.exists()
    assert [p.name for p in results.iterdir()] == [NAME]


def test_finish_records_status_and_counts(tmp_path, frozen):
    archive = Archive(tmp_path, "my label", Manifest())
    for i, status in enumerate(["ok", "failed", "ok", "failed", "failed"], start=1):
        archive.add(record(status, trial=i))
    path = archive.finish("partial", "2 of 5 cells failed")
    m = manifest_of(path)
    assert m["status"] == "partial" and m["error"] == "2 of 5 cells failed"
    assert m["cells_done"] == 5 and m["cells_failed"] == 3
    assert m["finished"] == FIXED.isoformat(timespec="seconds")
    run = load_run(path)  # a sealed folder is a readable run
    assert [c.status for c in run.cells] == ["ok", "failed", "ok", "failed", "failed"]


def test_an_existing_folder_is_never_overwritten(tmp_path, frozen):
    taken = tmp_path / NAME
    taken.mkdir()
    (taken / "manifest.json").write_text('{"mine": true}')
    archive = Archive(tmp_path, "my label", Manifest())
    assert archive.final == tmp_path / f"{NAME}-2"
    assert archive.tmp == tmp_path / f"{PARTIAL_PREFIX}{NAME}-2"
    archive.finish("complete")
    assert (taken / "manifest.json").read_text() == '{"mine": true}'
    assert manifest_of(tmp_path / f"{NAME}-2")["status"] == "complete"


def test_the_suffix_counts_past_every_taken_name(tmp_path, frozen):
    (tmp_path / NAME).mkdir()
    (tmp_path / f"{NAME}-2").mkdir()
    (tmp_path / f"{PARTIAL_PREFIX}{NAME}-3").mkdir()  # another run still being written
    archive = Archive(tmp_path, "my label", Manifest())
    assert archive.final == tmp_path / f"{NAME}-4"


def test_two_runs_in_the_same_second(tmp_path, frozen):
    first = Archive(tmp_path, "my label", Manifest())
    second = Archive(tmp_path, "my label", Manifest())  # while the first is still running
    assert first.final != second.final and first.tmp != second.tmp
    assert second.final == tmp_path / f"{NAME}-2"
    first.add(record(trial=1))
    second.add(record(trial=2))
    a, b = second.finish("complete"), first.finish("complete")
    assert [c.trial for c in load_run(a).cells] == [2]
    assert [c.trial for c in load_run(b).cells] == [1]


def test_finish_without_rename_keeps_the_temporary_name(tmp_path, frozen):
    archive = Archive(tmp_path, "my label", Manifest())
    path = archive.finish("failed", "RuntimeError: boom (see crash.log)", rename=False)
    assert path == archive.tmp and path.is_dir() and not archive.final.exists()
    assert path.name.startswith(PARTIAL_PREFIX)
    assert manifest_of(path)["status"] == "failed"


def test_outputs_see_the_unsealed_folder_and_their_problem_is_kept(tmp_path, frozen):
    archive = Archive(tmp_path, "my label", Manifest())
    archive.add(record())
    seen = {}

    def outputs(folder: Path) -> str | None:
        seen["folder"] = folder
        seen["sealed"] = archive.final.exists()
        seen["status"] = manifest_of(folder)["status"]
        seen["cells"] = len(json.loads((folder / "summary.json").read_text())["cells"])
        (folder / "summary.md").write_text("# verdict\n")
        return "report.html not written: no browser"

    path = archive.finish("complete", outputs=outputs)
    assert seen == {"folder": archive.tmp, "sealed": False, "status": "complete", "cells": 1}
    assert archive.report_error == "report.html not written: no browser"
    assert (path / "summary.md").read_text() == "# verdict\n"  # went along with the rename


def test_outputs_without_a_problem(tmp_path, frozen):
    archive = Archive(tmp_path, "my label", Manifest())
    archive.finish("complete", outputs=lambda folder: None)
    assert archive.report_error is None


def test_outputs_that_raise_do_not_lose_the_run(tmp_path, frozen):
    archive = Archive(tmp_path, "my label", Manifest())

    def outputs(folder: Path) -> str | None:
        raise OSError(28, "No space left on device")

    path = archive.finish("complete", outputs=outputs)
    assert path == archive.final and archive.report_error


def test_add_capacity_is_kept_in_the_summary(tmp_path, frozen):
    archive = Archive(tmp_path, "my label", Manifest())
    archive.add_capacity({"server": "uvicorn", "capacity_rps": 120.0})
    archive.add_capacity({"server": "gunicorn-sync", "capacity_rps": 40.0})
    run = load_run(archive.finish("complete"))
    assert [c["server"] for c in run.capacity] == ["uvicorn", "gunicorn-sync"]
