"""render/history.py: the table a person reads and the page that opens offline."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from scripts.analysis.history import History, Point, Series
from scripts.cells import CellKey
from scripts.render import history

KEY = CellKey("uvicorn", "hello", "sync", None, 10)


def point(run: str, day: int, rps: float | None, commit: str = "1111111199",
          status: str = "complete", capacity: float | None = None, **extra) -> Point:
    return Point(run=run, started=datetime(2026, 1, day, 10, 0, tzinfo=UTC),
                 commit=commit, dirty=False, status=status, rps=rps,
                 p95=None if rps is None else 20.0, capacity=capacity, **extra)


BENCH = Series(KEY, False, False, (
    point("r1", 1, 1000.0), point("r2", 2, 900.0, commit="2222222299"),
    point("r3", 3, None, status="failed", flags=("failed",))))
CAPACITY = Series(CellKey("uvicorn", "hello", "sync"), True, False, (
    point("r2", 2, 398.0, capacity=400.0, commit="2222222299"),))
HELD = Series(CellKey("uvicorn", "stream", "async"), True, True, (
    point("r3", 3, None, capacity=1536.0, status="failed"),))
HISTORY = History((BENCH, CAPACITY, HELD), ("r1", "r2", "r3"))


def test_the_table_has_a_block_per_configuration_its_runs_oldest_first():
    text = history.text(HISTORY, "results")
    lines = text.splitlines()
    assert lines[0] == "history of results: 3 run(s), 3 configuration(s)"
    block = lines[lines.index("uvicorn hello/sync u10") + 1:][:4]
    assert block[0].split() == ["run", "started", "commit", "rps", "p95", "ms", "marks"]
    assert [row.split()[:4] for row in block[1:]] == [
        ["r1", "2026-01-01", "10:00", "11111111"], ["r2", "2026-01-02", "10:00", "22222222"],
        ["r3", "2026-01-03", "10:00", "11111111"]]
    assert block[1].split()[4:] == ["1,000", "20.0"]
    assert block[3].split()[4:] == ["-", "-", "failed,", "failed"]  # the run's, the cell's
    cap = lines[lines.index("uvicorn hello/sync capacity") + 1:][:2]
    assert "capacity rps" in cap[0] and cap[1].split()[4:7] == ["400", "398", "20.0"]
    held = lines[lines.index("uvicorn stream/async capacity") + 1:][:2]
    assert "held" in held[0] and held[1].split()[4] == "1,536"  # connections are whole
    assert "levels, not verdicts" in text


def test_every_chart_shares_the_runs_in_time_order_labelled_by_commit():
    (hello, figs), (stream, held) = history.figures(go, HISTORY)
    assert (hello, stream) == ("hello", "stream")
    assert [f.layout.title.text for f in figs] == [
        "hello: throughput (requests/s)", "hello: p95 latency (ms)",
        "hello: capacity (requests/s held within the objective)"]
    assert held[0].layout.title.text == "stream: capacity (connections held within the"\
        " objective)"
    for fig in (*figs, *held):
        assert list(fig.layout.xaxis.categoryarray) == ["r1", "r2", "r3"]
        assert list(fig.layout.xaxis.ticktext) == [
            "11111111<br>2026-01-01 10:00", "22222222<br>2026-01-02 10:00",
            "11111111<br>2026-01-03 10:00"]
    (rps,) = figs[0].data
    assert list(rps.x) == ["r1", "r2", "r3"] and list(rps.y) == [1000.0, 900.0, None]
    assert list(rps.marker.symbol) == ["circle", "circle", "x"]  # the failed run marked
    (cap,) = figs[2].data
    assert list(cap.x) == ["r2"] and list(cap.y) == [400.0]


def test_the_page_carries_plotly_and_fetches_nothing(tmp_path):
    target = history.write_html(HISTORY, tmp_path, tmp_path / "history.html")
    page = target.read_text()
    assert page.count('<div class="chart">') == 4  # three hello charts and stream's
    assert page.count(get_plotlyjs()[-2000:]) == 1  # plotly.js itself, inline, once
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page)
    assert "<h3>uvicorn hello/sync u10</h3>" in page
    assert "<tr><td>r2</td><td>2026-01-02 10:00</td><td>22222222</td><td>400</td>" in page
