"""`loadlab history` over run folders that real smoke benches wrote (once for the module):
points in time order, whatever the folder names say, each labelled with its manifest's
commit; a partial run's points marked; the page offline; the filters; bad input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ..conftest import CRASHES_AT_BOOT, loadlab, matrix_with, read_json
from .test_usage_errors import check_one_line

# one user: each cell its own probe; no warmup: history reads what was measured, any way
FAST = ("--profile", "smoke", "--scenarios", "hello", "--flavors", "sync", "--duration", "1",
        "--warmup", "0", "--users", "1", "--quiet")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, list[Path]]:
    """Three runs: two servers, then one, then a partial one (a server that cannot boot
    beside uvicorn). The first is renamed to sort last by name, so only its start time
    can put it first."""
    tmp = tmp_path_factory.mktemp("history")
    results = tmp / "results"
    matrix = matrix_with(tmp, append=CRASHES_AT_BOOT)
    made = []
    for label, servers, code in (("first", "uvicorn,gunicorn-sync", 0),
                                 ("second", "uvicorn", 0),
                                 ("third", "crashes-at-boot,uvicorn", 1)):
        done = loadlab("bench", "--matrix", str(matrix), "--servers", servers, *FAST,
                       "--label", label, "--results", str(results), timeout=180)
        assert done.code == code, done.err
        (run,) = [p for p in results.iterdir() if p.name.endswith(label)]
        made.append(run)
    made[0] = made[0].rename(results / f"zz-{made[0].name}")
    return results, made


def commit_label(run: Path) -> str:
    git = read_json(run / "manifest.json")["git"]
    return git["commit"][:8] + ("-dirty" if git["dirty"] else "")


def only_cell(run: Path, server: str) -> dict:
    (cell,) = [c for c in read_json(run / "summary.json")["cells"] if c["server"] == server]
    return cell


def block(out: str, label: str) -> list[list[str]]:
    """The rows under a configuration's heading, split into words."""
    lines = out.splitlines()
    start = lines.index(label) + 2  # the heading, then the column names
    rows = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        rows.append(line.split())
    return rows


def test_each_configuration_in_time_order_labelled_with_its_commit(runs):
    results, (first, second, third) = runs
    assert read_json(third / "manifest.json")["status"] == "partial"
    done = loadlab("history", "--results", str(results))
    assert done.code == 0, done.err
    assert done.err == ""
    uvicorn = block(done.out, "uvicorn hello/sync u1")
    assert [r[0] for r in uvicorn] == [first.name, second.name, third.name]
    assert [r[3] for r in uvicorn] == [commit_label(r) for r in (first, second, third)]
    for row, run in zip(uvicorn, (first, second, third), strict=True):
        cell = only_cell(run, "uvicorn")
        assert float(row[4].replace(",", "")) == pytest.approx(cell["rps"], rel=0.01)
        # the run's status when it did not complete, then the cell's own flags
        status = [] if run != third else ["partial"]
        assert " ".join(row[6:]) == ", ".join(status + cell["warnings"])
    assert [r[0] for r in block(done.out, "gunicorn-sync hello/sync u1")] == [first.name]
    (boot,) = block(done.out, "crashes-at-boot hello/sync u1")
    assert only_cell(third, "crashes-at-boot")["status"] == "failed"
    assert boot[4:6] == ["-", "-"] and boot[6] == "partial," and boot[-1] == "failed"
    assert done.out.splitlines()[-1] == f"wrote {results / 'history.html'}"

    page = (results / "history.html").read_text()
    assert page.count('<div class="chart">') == 2  # hello's rps and p95
    assert "Plotly.newPlot" in page and "window.PlotlyConfig" in page  # plotly.js inline
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page)
    for run in (first, second, third):
        assert f"<td>{run.name}</td>" in page and commit_label(run) in page


def test_filters_and_another_output_file(runs, tmp_path):
    results, (first, second, third) = runs
    out = tmp_path / "trend.html"
    done = loadlab("history", "--results", str(results), "--server", "uvicorn",
                   "--scenario", "hello", "-o", str(out))
    assert done.code == 0, done.err
    headings = [line for line in done.out.splitlines() if "hello/sync" in line]
    assert headings == ["uvicorn hello/sync u1"]
    rows = block(done.out, "uvicorn hello/sync u1")
    assert [r[0] for r in rows] == [first.name, second.name, third.name]
    assert done.out.splitlines()[-1] == f"wrote {out}"
    page = out.read_text()
    assert re.findall(r"<h3>([^<]*)</h3>", page) == ["uvicorn hello/sync u1"]


@pytest.mark.parametrize(("args", "names"), [
    (("--scenario", "nope"), ("scenario 'nope'", "hello")),
    (("--server", "tornado"), ("server 'tornado'", "crashes-at-boot, gunicorn-sync, uvicorn")),
    (("--server", "gunicorn-sync", "--scenario", "hello", "--results", "/nonexistent"),
     ("/nonexistent", "no such results folder")),
])
def test_bad_input_is_one_line_and_exit_2(runs, args, names):
    results, _ = runs
    done = loadlab("history", "--results", str(results), *args)
    check_one_line(done, "loadlab history:", *names)
    assert done.out == ""


def test_unreadable_folders_are_skipped_with_a_line_and_no_runs_is_said(runs, tmp_path):
    _, (first, _, _) = runs
    results = tmp_path / "results"
    shutil.copytree(first, results / first.name)
    (results / "broken").mkdir()
    (results / "broken" / "manifest.json").write_text("{")
    done = loadlab("history", "--results", str(results))
    assert done.code == 0, done.err
    assert done.err.splitlines() == [
        f"loadlab history: skipped {results / 'broken'}: unreadable manifest.json"]
    assert [r[0] for r in block(done.out, "uvicorn hello/sync u1")] == [first.name]

    empty = tmp_path / "empty"
    empty.mkdir()
    done = loadlab("history", "--results", str(empty))
    assert (done.code, done.err) == (0, "")
    assert done.out.strip() == f"loadlab history: no measured runs in {empty}; nothing to show"
    assert not (empty / "history.html").exists()
