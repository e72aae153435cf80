"""Every format renders the same comparison: md tables, valid JSON, 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts.analysis.compare import Between, Within, between, within
from scripts.archive.folder import load_run
from scripts.render import html, md, table
from scripts.render import json as render_json
from tests.harness.runfactory import Spec, make_run

LONG = Spec(
    servers=("gunicorn-uvicorn", "gunicorn-sync"),
    scenarios={"home": ("sync", "async-sequential", "async")},
    clients={"home": ("httpx-per-call", "aiohttp")},
    warnings=lambda k: ["generator-hot", "high-failure-ratio"] if k[0] == "gunicorn-sync" else [],
)


@pytest.fixture(scope="module")
def comparisons(tmp_path_factory: pytest.TempPathFactory) -> tuple[Within, Between]:
    root = tmp_path_factory.mktemp("runs")
    a = load_run(make_run(root, "20260101-100000-before", LONG, seed=1))
    b = load_run(make_run(root, "20260101-110000-after", Spec(
        servers=LONG.servers, scenarios=LONG.scenarios, clients=LONG.clients,
        shift=lambda k: 0.7 if k[2] == "async" else 1.0,
        manifest={"git": {"commit": "fff", "dirty": True}}), seed=2))
    return within(a), between(a, b)


@pytest.mark.parametrize("kind", [0, 1])
def test_table_fits_80_columns(comparisons: tuple, kind: int) -> None:
    text = table.render_table(comparisons[kind], width=80)
    lines = text.splitlines()
    assert len(lines) > 5
    assert max(len(line) for line in lines) <= 80
    assert "permutation test" in text and "~" in text
    assert "[httpx-per-call]" in text  # a client, not swallowed as rich markup


@pytest.mark.parametrize("kind", [0, 1])
def test_table_for_a_pipe_cuts_no_number_and_no_name(comparisons: tuple, kind: int) -> None:
    """Not a terminal: as wide as the tables need (rich would otherwise assume 80
    columns and cut names and numbers to "weath…" and "1,41…")."""
    from scripts.render.common import num

    text = table.render_table(comparisons[kind])
    assert "…" not in text
    rows = comparisons[kind].rows if kind else [
        sa.row for s in comparisons[kind].scenarios for sa in s.sync_async]
    for row in rows:
        assert num(row.b.values["rps"]) in text, row.label


def test_table_marks_flagged_cells(comparisons: tuple) -> None:
    text = table.render_table(comparisons[1], width=80)
    assert "gunicorn-sync async u10 !" not in text  # clients are in the label
    assert "! gunicorn-sync home/sync [aiohttp] u10: A:generator-hot" in text
    assert "geometric mean" in text and "Settings that differ" in text


def test_md_has_tables(comparisons: tuple) -> None:
    for c in comparisons:
        text = md.render_md(c)
        assert "| --- |" in text and "---: |" in text
        assert "permutation test" in text
    between_md = md.render_md(comparisons[1])
    assert "**geometric mean**" in between_md and "| git.commit | abc1234 | fff |" in between_md


def test_json_is_valid_and_has_rows(comparisons: tuple) -> None:
    w, b = (json.loads(render_json.render_json(c)) for c in comparisons)
    assert b["kind"] == "between" and len(b["rows"]) == 12
    row = b["rows"][0]
    assert set(row["verdicts"]) == {"rps", "p50", "p95", "p99"}
    assert {"ratio", "delta_pct", "p_value", "significant", "test", "marker"} <= set(
        row["verdicts"]["rps"])
    assert any(r["verdicts"]["rps"]["significant"] for r in b["rows"])
    assert "permutation test" in b["method"] and b["geomean"]["rps"] < 1
    # run A draws every flavor from one distribution: no flavor may be called a winner
    assert w["kind"] == "within"
    winners = [sa["winner"] for s in w["scenarios"] for sa in s["sync_async"]]
    assert len(winners) == 8 and set(winners) == {None}, winners


@pytest.mark.parametrize(("shift", "winner"), [(0.7, "sync"), (1.3, "async")])
def test_within_names_the_flavor_that_is_faster(tmp_path: Path, shift: float,
                                                 winner: str) -> None:
    """async's throughput shifted by `shift`, async-sequential's left alone."""
    spec = Spec(servers=LONG.servers, scenarios=LONG.scenarios, clients=LONG.clients,
                shift=lambda k: shift if k[2] == "async" else 1.0)
    w = json.loads(render_json.render_json(within(load_run(make_run(tmp_path, "r", spec,
                                                                    seed=2)))))
    found = {(sa["server"], sa["async_flavor"], sa["winner"])
             for s in w["scenarios"] for sa in s["sync_async"]}
    assert found == {(server, flavor, winner if flavor == "async" else None)
                     for server in LONG.servers for flavor in ("async", "async-sequential")}


def test_html_is_self_contained(comparisons: tuple, tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, "r", LONG, seed=3))
    for page in (html.render_html_run(run), html.render_html_compare(run, run)):
        assert page.count("plotly.js v") == 1  # inlined once, reused by every figure
        assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=["\']?(https?:)?//',
                             page)
    # in its run folder, report.html loads the folder's one copy of plotly.js
    target = html.write_report(run)
    assert target == run.path / "report.html" and target.stat().st_size < 1_000_000
    (shared,) = (run.path / "assets").glob("plotly-*.min.js")
    assert "plotly.js v" in shared.read_text()[:2000]
    page = target.read_text()
    assert f'src="assets/{shared.name}"' in page and "plotly.js v" not in page
    # written anywhere else it carries its own copy
    away = html.write_report(run, tmp_path / "elsewhere.html")
    assert away.read_text().count("plotly.js v") == 1


def test_error_bars_are_observed_ranges_that_never_reach_below_zero() -> None:
    """A mean minus a deviation drew bars below 0 rps for a spiky cell; the bars are now
    the trials' range, or the middle half of the seconds, measured from the bar."""
    from scripts.archive.records import CellRecord
    from scripts.render.charts import interval as _interval

    def cell(trial: int, rps: float, seconds: list[float]) -> CellRecord:
        return CellRecord(server="uvicorn", interface="asgi", scenario="sleep", flavor="sync",
                          client=None, users=20, trial=trial, rps=rps,
                          rps_per_second=seconds)

    spiky = [cell(1, 10.0, [0.0, 0.0, 1.0, 0.0, 49.0])]  # pstdev 19.4 > the value 10
    below, above = _interval(spiky, "rps", 10.0)
    assert below == 10.0 and above == 0.0  # the middle half is 0..1: down to 0, not -9
    trials = [cell(1, 8.0, []), cell(2, 12.0, []), cell(3, 10.0, [])]
    assert _interval(trials, "rps", 10.0) == (2.0, 2.0)
    assert _interval([cell(1, 5.0, [5.0])], "rps", 5.0) == (None, None)  # one second


def test_the_neighbour_table_sets_each_held_count_beside_none_held():
    from scripts.render import neighbour

    rows = [{"scenario": "upload", "server": "gunicorn-sync", "flavor": "sync",
             "client": None, "held": h, "neighbour_users": 2, "path": "/hello/sync/",
             "p95_ms": p95, "rps": rps, "baseline_p95_ms": 22.4, "baseline_rps": 156.3}
            for h, p95, rps in ((0, 22.4, 156.3), (2, 2001.9, 1.0))]
    text = neighbour.text(rows)
    assert "2,001.9 ms" in text and "22.4 ms, 156.3 rps" in text and "/hello/sync/" in text
    assert neighbour.markdown(rows).startswith("## The neighbour")
    assert neighbour.text([]) == neighbour.markdown([]) == ""


def test_html_tables_skip_both_separator_styles() -> None:
    """md.py writes `| --- |`, common.md_table `|---|` (capacity's table): report.html
    shows neither as a row of text."""
    from scripts.render.common import md_table
    from scripts.render.html import _md_table
    html = _md_table(md_table(["configuration", "rps"], [["uvicorn hello", "1,000"]], {1}))
    assert html.count("<tr>") == 2 and "---" not in html
    html = _md_table(["| a | b |", "| --- | ---: |", "| 1 | 2 |"])
    assert html.count("<tr>") == 2 and "---" not in html
