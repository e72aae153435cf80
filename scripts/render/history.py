"""`loadlab history` as text and as one offline page: each configuration's points in
time order, labelled with the commit each run measured (analysis/history.py).

The page is html.py's: its figures (plotly.js inlined once, in the first chart) and
its page frame, so it opens from the disk without network like report.html.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..analysis.history import History, Point, Series
from ..errors import UsageError
from .common import aligned, num
from .html import _e, _Figures, _page

READ = ("History shows levels, not verdicts: `loadlab compare A B` tests whether a"
        " change between two runs is beyond the noise.")
MARKS = "marked (x in the chart): a run that did not complete, or a flagged cell"


def _when(point: Point) -> str:
    return f"{point.started:%Y-%m-%d %H:%M}" if point.started else "-"


def _headers(series: Series) -> list[str]:
    lead = ["run", "started", "commit"]
    if series.capacity:
        lead.append("held" if series.held else "capacity rps")
    return [*lead, "rps", "p95 ms", "marks"]


def _rows(series: Series) -> list[list[str]]:
    return [[p.run, _when(p), p.commit_label,
             *([_held(series, p.capacity)] if series.capacity else []),
             num(p.rps), num(p.p95), ", ".join(p.marks)] for p in series.points]


def _held(series: Series, value: float | None) -> str:
    """Connections are whole; a rate is read like any rps."""
    return f"{int(value):,}" if series.held and value is not None else num(value)


def _right(series: Series) -> set[int]:
    first = 4 if series.capacity else 3
    return set(range(first, first + (3 if series.capacity else 2)))


def text(history: History, results: Path) -> str:
    """The table: a block per configuration, its runs oldest first."""
    out = [f"history of {results}: {len(history.runs)} run(s),"
           f" {len(history.series)} configuration(s)"]
    for series in history.series:
        out += ["", series.label,
                *aligned([_headers(series), *_rows(series)], _right(series))]
    out += ["", READ, f"{MARKS}."]
    return "\n".join(out)


# -- the page ------------------------------------------------------------------------


def _ticks(history: History) -> dict[str, str]:
    """Each run's x label: its commit over its start, in time order."""
    labels = {}
    for series in history.series:
        for p in series.points:
            labels.setdefault(p.run, f"{p.commit_label}<br>{_when(p)}")
    return {run: labels[run] for run in history.runs}


def _figure(go: Any, title: str, ytitle: str, traces: list[tuple[Series, list]],
            ticks: dict[str, str]) -> Any:
    fig = go.Figure()
    for series, values in traces:
        marked = [bool(p.marks) for p in series.points]
        fig.add_scatter(
            x=[p.run for p in series.points], y=values, mode="lines+markers",
            name=series.label, connectgaps=True,
            marker={"symbol": ["x" if m else "circle" for m in marked],
                    "size": [11 if m else 7 for m in marked]},
            customdata=[[p.commit_label, p.status, ", ".join(p.marks) or "-"]
                        for p in series.points],
            hovertemplate="%{x}<br>commit %{customdata[0]}, %{customdata[1]}<br>%{y:.1f}"
                          "<br>marks: %{customdata[2]}<extra>" + _e(series.label)
                          + "</extra>")
    fig.update_layout(title=title, yaxis_title=ytitle, xaxis={
        "type": "category", "categoryorder": "array", "categoryarray": list(ticks),
        "tickvals": list(ticks), "ticktext": list(ticks.values()), "title": "run (commit)"})
    return fig


def figures(go: Any, history: History) -> list[tuple[str, list[Any]]]:
    """Per scenario: rps and p95 of its bench configurations, then its capacity."""
    ticks = _ticks(history)
    by_scenario: dict[str, list[Series]] = {}
    for series in history.series:
        by_scenario.setdefault(series.key.scenario, []).append(series)
    out = []
    for scenario, group in by_scenario.items():
        bench = [s for s in group if not s.capacity]
        held = [s for s in group if s.capacity]
        figs = []
        if bench:
            figs.append(_figure(go, f"{scenario}: throughput (requests/s)", "rps",
                                [(s, [p.rps for p in s.points]) for s in bench], ticks))
            figs.append(_figure(go, f"{scenario}: p95 latency (ms)", "ms",
                                [(s, [p.p95 for p in s.points]) for s in bench], ticks))
        if held:
            unit = held[0].unit
            what = "connections held" if unit == "connections" else "requests/s held"
            figs.append(_figure(go, f"{scenario}: capacity ({what} within the objective)",
                                unit, [(s, [p.capacity for p in s.points]) for s in held],
                                ticks))
        out.append((scenario, figs))
    return out


def _table(series: Series) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in _headers(series))
    rows = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>"
                   for row in _rows(series))
    return f"<table><tr>{head}</tr>{rows}</table>"


def render_html(history: History, results: Path) -> str:
    import plotly.graph_objects as go

    figs = _Figures()  # plotly.js inline: the page may be copied out of the folder
    body = [f"<h1>loadlab history of {_e(results)}</h1>",
            f"<p>{len(history.runs)} run(s), {len(history.series)} configuration(s), oldest"
            f" first; each run labelled with the git commit it measured.</p>",
            f'<p class="method">{_e(READ)} {_e(MARKS)}.</p>']
    for scenario, group in figures(go, history):
        body.append(f"<h2>{_e(scenario)}</h2>")
        body += [figs.html(fig) for fig in group]
    body.append("<h2>Every point</h2>")
    for series in history.series:
        body.append(f"<h3>{_e(series.label)}</h3>")
        body.append(_table(series))
    return _page(f"loadlab history {results}", body)


def write_html(history: History, results: Path, target: Path) -> Path:
    target.write_text(render_html(history, results))
    return target


def emit(history: History, skipped: Sequence[str], results: Path,
         output: Path | None) -> None:
    """`loadlab history`'s output: a line per folder skipped (stderr), the table, the
    page (default <results>/history.html) and one line saying where it went. Nothing
    to show is said in one line and writes no page: an empty folder is a state."""
    target = output or results / "history.html"
    if target.is_dir():
        raise UsageError(f"loadlab history: {target}: -o must be a file, not a folder")
    for line in skipped:
        print(f"loadlab history: skipped {line}", file=sys.stderr)
    if not history.series:
        print(f"loadlab history: no measured runs in {results}; nothing to show")
        return
    print(text(history, results))
    try:
        write_html(history, results, target)
    except OSError as exc:
        raise UsageError(f"loadlab history: {target}: {exc.strerror}") from None
    print(f"wrote {target}")
