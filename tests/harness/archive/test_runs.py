"""runs.py and the verbs on it: `loadlab list` shows runs by status, `loadlab prune`
deletes only with --yes, only what is old enough, only the statuses asked for."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scripts import cli
from scripts.archive.folder import write_json
from scripts.archive.records import SCHEMA_VERSION
from scripts.archive.runs import list_runs, read_info


def make(results: Path, name: str, status: str, days_ago: float, cells: int = 2) -> Path:
    run = results / name
    run.mkdir(parents=True)
    started = datetime.now(UTC) - timedelta(days=days_ago)
    write_json(run / "manifest.json", {"schema_version": SCHEMA_VERSION, "status": status,
                                       "started": started.isoformat(), "cells_done": cells})
    return run


def test_list_runs_reads_status_and_orders_by_start(tmp_path):
    make(tmp_path, "b", "complete", 1)
    make(tmp_path, "a", "abandoned", 5, cells=1)
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{")
    runs = list_runs(tmp_path)
    assert [(r.name, r.status, r.cells) for r in runs] == [
        ("a", "abandoned", 1), ("b", "complete", 2), ("broken", "unreadable", 0)]
    assert read_info(tmp_path / "b").sealed
    assert list_runs(tmp_path / "missing") == []


def test_prune_is_a_dry_run_unless_yes(tmp_path, capsys):
    old_abandoned = make(tmp_path, "old-abandoned", "abandoned", 40)
    old_complete = make(tmp_path, "old-complete", "complete", 40)
    young = make(tmp_path, "young", "abandoned", 1)
    args = ["prune", "--results", str(tmp_path), "--older-than", "30"]

    assert cli.main([*args, "--status", "abandoned"]) == 0
    out = capsys.readouterr().out
    assert "would delete" in out and "old-abandoned" in out and "old-complete" not in out
    assert old_abandoned.is_dir()  # dry run

    assert cli.main([*args, "--status", "abandoned", "--yes"]) == 0
    assert not old_abandoned.exists() and old_complete.is_dir() and young.is_dir()
    assert cli.main([*args, "--yes"]) == 0
    assert not old_complete.exists() and young.is_dir()
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "nothing to prune" in capsys.readouterr().out


def test_prune_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["prune", "--older-than", "-1", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--older-than" in err
    afile = tmp_path / "file"
    afile.write_text("")
    assert cli.main(["prune", "--older-than", "1", "--results", str(afile)]) == 2
    assert "must be a folder" in capsys.readouterr().err
    assert os.path.exists(afile)


def test_list_shows_runs_by_status(tmp_path, capsys):
    make(tmp_path, "r1", "complete", 1)
    make(tmp_path, "r2", "abandoned", 2)
    assert cli.main(["list", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "abandoned (1):" in out and "complete (1):" in out and "r2  2 cell(s)" in out
    assert cli.main(["list", "--json", "--results", str(tmp_path)]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert {r["name"]: r["status"] for r in runs} == {"r1": "complete", "r2": "abandoned"}
