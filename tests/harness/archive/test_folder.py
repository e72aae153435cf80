"""archive/folder.py: run names, atomic JSON, and loading a run folder back (or one
RunFolderError line naming the path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.archive.folder import load_run, run_name, write_json, write_summary
from scripts.archive.records import SCHEMA_VERSION, CellRecord
from scripts.cells import CellKey
from scripts.errors import RunFolderError

STARTED = "20260101-093000"


# --- run_name ---------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "slug"), [
    ("smoke", "smoke"),
    ("my smoke test", "my-smoke-test"),
    ("a/b\\c", "a-b-c"),
    ("  spaced  out  ", "spaced-out"),
    ("v1.2_rc-3", "v1.2_rc-3"),
    ("--dashes--", "dashes"),
    ("../../etc/passwd", "etc-passwd"),
    ("ui gunicorn-sync/hello", "ui-gunicorn-sync-hello"),
])
def test_run_name_slugs_the_label(label, slug):
    assert run_name(STARTED, label) == f"{STARTED}-{slug}"


@pytest.mark.parametrize("label", [None, "", "///", "...", " - "])
def test_run_name_without_a_usable_label_is_the_time(label):
    assert run_name(STARTED, label) == STARTED


@pytest.mark.parametrize("label", ["..", "a/../../b", "é ü", "x\ny", "$(rm -rf ~)", "."])
def test_run_name_is_one_safe_path_component(tmp_path, label):
    name = run_name(STARTED, label)
    assert name.startswith(STARTED)
    assert (tmp_path / name).parent == tmp_path
    assert all(ch.isascii() and (ch.isalnum() or ch in "_.-") for ch in name), name


# --- write_json ---------------------------------------------------------------------------


def test_write_json_writes_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "manifest.json"
    write_json(path, {"a": [1, 2], "b": None})
    write_json(path, {"a": "replaced"})
    assert json.loads(path.read_text()) == {"a": "replaced"}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_write_json_never_leaves_half_a_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json(path, {"cells": []})
    with pytest.raises(TypeError):
        write_json(path, {"cells": [object()]})  # not serialisable
    assert json.loads(path.read_text()) == {"cells": []}  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


# --- load_run ------------------------------------------------------------------------------


def record(**kw) -> CellRecord:
    base = dict(server="uvicorn", interface="asgi", scenario="weather", flavor="async",
                client="httpx", users=20, trial=1)
    return CellRecord(**{**base, **kw})


def make_run(tmp_path: Path, cells: list[CellRecord] | None = None,
             manifest: dict | None = None) -> Path:
    run = tmp_path / "20260101-093000-x"
    run.mkdir()
    write_json(run / "manifest.json", manifest or {"schema_version": SCHEMA_VERSION,
                                                   "status": "complete"})
    write_summary(run, cells if cells is not None else [record()])
    return run


def error_of(path) -> str:
    with pytest.raises(RunFolderError) as info:
        load_run(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_missing_folder(tmp_path):
    path = tmp_path / "nope"
    message = error_of(path)
    assert str(path) in message and "no such run folder" in message


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("x")
    message = error_of(path)
    assert str(path) in message and "not a folder" in message


def test_a_folder_without_a_manifest(tmp_path):
    message = error_of(tmp_path)
    assert str(tmp_path) in message and "manifest.json" in message


@pytest.mark.parametrize("version", [None, 0, SCHEMA_VERSION + 1, "1"])
def test_an_unknown_manifest_schema(tmp_path, version):
    manifest = {"status": "complete"} | ({} if version is None else {"schema_version": version})
    run = make_run(tmp_path, manifest=manifest)
    message = error_of(run)
    assert str(run / "manifest.json") in message and "schema version" in message


def test_an_unknown_summary_schema(tmp_path):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    write_json(run / "summary.json", {**summary, "schema_version": 99})
    message = error_of(run)
    assert str(run / "summary.json") in message and "99" in message


@pytest.mark.parametrize("name", ["manifest.json", "summary.json"])
def test_corrupt_json(tmp_path, name):
    run = make_run(tmp_path)
    (run / name).write_text('{"schema_version": 1, ')
    message = error_of(run)
    assert str(run / name) in message and "corrupt JSON" in message


def test_a_manifest_that_is_not_an_object(tmp_path):
    run = make_run(tmp_path)
    (run / "manifest.json").write_text("[1, 2]")
    message = error_of(run)
    assert str(run / "manifest.json") in message and "not a JSON object" in message


def test_a_run_without_a_summary(tmp_path):
    run = make_run(tmp_path)
    (run / "summary.json").unlink()
    message = error_of(run)
    assert str(run / "summary.json") in message and "missing" in message


@pytest.mark.parametrize("summary", [[], {"schema_version": 1}, {"cells": {}},
                                     {"schema_version": 1, "cells": "x"}])
def test_a_summary_without_a_cells_list(tmp_path, summary):
    run = make_run(tmp_path)
    write_json(run / "summary.json", summary)
    message = error_of(run)
    assert str(run / "summary.json") in message and "cells" in message


def test_a_malformed_cell(tmp_path):
    run = make_run(tmp_path)
    write_json(run / "summary.json", {"schema_version": SCHEMA_VERSION,
                                      "cells": [record().to_dict(), {"server": "uvicorn"}]})
    message = error_of(run)
    assert str(run / "summary.json") in message and "cell 1 is malformed" in message


@pytest.mark.parametrize("cell", [None, 3, ["uvicorn"]], ids=["null", "number", "list"])
def test_a_cell_that_is_not_an_object(tmp_path, cell):
    run = make_run(tmp_path)
    write_json(run / "summary.json", {"schema_version": SCHEMA_VERSION, "cells": [cell]})
    message = error_of(run)
    assert str(run / "summary.json") in message and "cell 0" in message


def test_capacity_must_be_a_list(tmp_path):
    run = make_run(tmp_path)
    write_json(run / "summary.json", {"schema_version": SCHEMA_VERSION, "cells": [],
                                      "capacity": {"x": 1}})
    assert "'capacity'" in error_of(run)


# --- round trip and grouping ------------------------------------------------------------


def test_cell_records_round_trip(tmp_path):
    cells = [
        record(trial=1, requests=1200, failures=3, rps=59.85,
               latency_ms={"p50": 51.2, "p95": 60.1, "max": 99.0},
               rps_per_second=[60.0, 59.7], duration_s=20.0,
               latency_ms_per_second={"p50": [50.0, None], "p95": [60.0, 60.2]},
               ready_s=0.8, server_cpu_pct=91.5, server_rss_mb=80.2, server_threads=5,
               warnings=["few-requests", "upstream-hot"]),
        record(trial=2, status="failed", error="server exited with code 1"),
        record(flavor="sync", client=None, scenario="hello", users=4, rate=40.0,
               arrival="poisson", achieved_rps=39.5, latency="corrected",
               latency_raw_ms={"p95": 2.0}, offered_per_second=[40, 40], late=2, unsent=1,
               start_lag_p99_ms=0.5),
    ]
    for c in cells:
        c.path = c.key.path(c.trial)
    run = load_run(make_run(tmp_path, cells))
    assert run.cells == cells
    assert run.name == "20260101-093000-x" and run.status == "complete"
    assert run.capacity is None


def test_unknown_cell_fields_from_a_newer_loadlab_are_ignored(tmp_path):
    run = make_run(tmp_path)
    write_json(run / "summary.json", {"schema_version": SCHEMA_VERSION,
                                      "cells": [{**record().to_dict(), "new_axis": 7}]})
    assert load_run(run).cells == [record()]


def test_a_run_without_a_status_says_unknown(tmp_path):
    run = make_run(tmp_path, manifest={"schema_version": SCHEMA_VERSION})
    assert load_run(run).status == "unknown"


def test_by_key_groups_trials_under_one_key(tmp_path):
    cells = [record(trial=1), record(flavor="sync", trial=1), record(trial=2),
             record(users=100, trial=1), record(flavor="sync", trial=2), record(trial=3)]
    groups = load_run(make_run(tmp_path, cells)).by_key()
    key = CellKey("uvicorn", "weather", "async", "httpx", 20)
    assert list(groups) == [key, key.with_flavor("sync"),
                            CellKey("uvicorn", "weather", "async", "httpx", 100)]
    assert [c.trial for c in groups[key]] == [1, 2, 3]
    assert [c.trial for c in groups[key.with_flavor("sync")]] == [1, 2]
    assert sum(len(v) for v in groups.values()) == len(cells)
