"""report.html: one self-contained page with charts, working offline.

Charts are plotly figures; plotly.js (~4.8 MB) is inlined once, in the first
figure, and every later figure reuses it. No CDN, no MathJax, no fonts fetched:
the page opens from a results folder on a laptop without network.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..analysis.calibration import floor_for
from ..analysis.compare import Between, Row, Within, between, within
from ..archive.assets import plotly_script
from ..archive.folder import Run
from . import answer, capacity, charts, md, usl, why
from .common import legend

GREEN, RED, GREY = "#2a9d55", "#d1495b", "#9aa5b1"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2933}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde3ea}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
td,th{border:1px solid #dde3ea;padding:.25rem .5rem;text-align:right}
td:first-child,th:first-child{text-align:left}
.facts td{text-align:left}.flag{color:#b7791f}.method{color:#52606d;font-style:italic}
.worse{color:#d1495b;font-weight:600}.better{color:#2a9d55;font-weight:600}
.chart{margin:.5rem 0 1.5rem}
"""


class _Figures:
    """Turns figures into HTML, with plotly.js the first time only: inlined, or from
    `plotly_src` (a path relative to the page: the run folder's one shared copy)."""

    def __init__(self, plotly_src: str | None = None) -> None:
        self.count = 0
        self.plotly_src = plotly_src

    def html(self, fig: Any) -> str:
        fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 60},
                          height=380, legend={"orientation": "h", "y": -0.2})
        first: bool | str = self.plotly_src or True
        out = fig.to_html(full_html=False, include_plotlyjs=first if self.count == 0 else False,
                          include_mathjax=False,
                          config={"displaylogo": False, "responsive": True})
        self.count += 1
        return f'<div class="chart">{out}</div>'


def _e(value: Any) -> str:
    return _html.escape("" if value is None else str(value))


def _page(title: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body) + "\n</body></html>\n"
    )


# -- header and tables -----------------------------------------------------------


def _facts(run: Run) -> str:
    m = run.manifest
    profile = m.get("profile")
    profile_text = (", ".join(f"{k}={v}" for k, v in profile.items())
                    if isinstance(profile, dict) else profile)
    git = m.get("git") or {}
    host = m.get("host") or {}
    rows = [
        ("run", run.name), ("label", m.get("label")), ("status", run.status),
        ("started", m.get("started")), ("finished", m.get("finished")),
        ("command", m.get("command")), ("profile", profile_text),
        ("git", f"{git.get('commit', '?')}{' (dirty)' if git.get('dirty') else ''}"),
        ("host", f"{host.get('cpu_model', '?')}, {host.get('cores', '?')} cores, "
                 f"{host.get('memory_gb', '?')} GB, kernel {host.get('kernel', '?')}"),
        ("versions", _kv(m.get("versions"))), ("pinning", _kv(m.get("pinning"))),
        ("upstream", _kv(m.get("upstream"))),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v)
    return f'<table class="facts">{body}</table>'


def _kv(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "" if value is None else str(value)


def _flags(flags: Sequence[str]) -> str:
    if not flags:
        return "<p>No cell was flagged or failed.</p>"
    items = "".join(f'<li class="flag">{_e(f)}</li>' for f in flags)
    return f"<p><b>Flagged cells</b> (read before trusting their numbers):</p><ul>{items}</ul>"


def _answer(c: Within) -> str:
    """The answer before the facts and the charts: a line per scenario."""
    block = answer.lines(c.answers)
    if not block:
        return ""
    items = "".join(f"<li>{_e(x.strip())}</li>" for x in block[1:])
    return f'<h2>Answer</h2><p class="method">{_e(block[0])}</p><ul class="answer">{items}</ul>'


def _md_table(lines: list[str]) -> str:
    """Reuse the markdown renderer's tables, so html and md never disagree."""
    out, in_table = [], False
    for line in lines:
        if line.startswith("|") and set(line) <= set("|-: "):
            continue  # a separator row, `| --- |` or common.md_table's `|---|`
        if line.startswith("| "):
            cells = [c.strip().replace("\\|", "|") for c in line.strip("|").split(" | ")]
            tag = "td" if in_table else "th"
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<{tag}>{_cell(c)}</{tag}>" for c in cells) + "</tr>")
        else:
            if in_table:
                out.append("</table>")
                in_table = False
            if line.startswith("### "):
                out.append(f"<h3>{_e(line[4:])}</h3>")
            elif line.startswith("**") and line.endswith("**"):
                out.append(f"<p><b>{_e(line.strip('*'))}</b></p>")
            elif line.startswith("- "):
                out.append(f"<div class=\"flag\">{_e(line[2:])}</div>")
            elif line.startswith("_") and line.endswith("_"):
                out.append(f'<p class="method">{_e(line.strip("_"))}</p>')
            elif line and not line.startswith("## "):
                out.append(f"<p>{_e(line)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out)


def _cell(text: str) -> str:
    text = text.replace("**", "")
    return _e(text)


# -- charts for one run ----------------------------------------------------------


def _run_charts(run: Run, figs: _Figures) -> list[str]:
    import plotly.graph_objects as go

    out = []
    if run.capacity:
        out += ["<h2>Capacity: the load each configuration held at its objective</h2>",
                _md_table(capacity.markdown(run.capacity).splitlines())]
        for scenario in dict.fromkeys(c["scenario"] for c in run.capacity):
            out += [figs.html(fig) for fig in capacity.figures(go, scenario, run.capacity)]
    for scenario, groups in charts.groups(run).items():
        out.append(f"<h2>{_e(scenario)}</h2>")
        out.append(figs.html(charts.bars(go, scenario, groups, "rps")))
        out.append(figs.html(charts.bars(go, scenario, groups, "p95")))
        out.append(figs.html(charts.percentiles(go, scenario, groups, run.path)))
        if any(c.rps_per_second for cells in groups.values() for c in cells):
            out.append(figs.html(charts.timeline(go, scenario, groups)))
        sweep = usl.figure(go, scenario, run.cells)
        if sweep is not None:
            out.append(figs.html(sweep))
    return out


# -- pages -----------------------------------------------------------------------


def render_html_run(run: Run, comparison: Within | None = None,
                    plotly_src: str | None = None) -> str:
    """The page for one run: the answer, facts, flags, charts per scenario, the
    within-run tables, called at compare's floor for the run unless `comparison` is
    given. plotly.js inline, or from `plotly_src` (relative to the page)."""
    comparison = comparison or within(run, floor_for(run))
    figs = _Figures(plotly_src)
    body = [
        f"<h1>loadlab run {_e(run.name)}</h1>",
        _answer(comparison),
        _facts(run),
        _flags(comparison.flags),
        why.html_section(run.cells),
        *_run_charts(run, figs),
        "<h2>Sync against async, servers against each other</h2>",
        _md_table(md._within(comparison)),
    ]
    return _page(f"loadlab {run.name}", body)


def _delta_chart(go: Any, c: Between, metric: str) -> Any:
    """Horizontal bars of B-vs-A deltas: green better, red worse, grey within noise."""
    rows = list(reversed(c.rows))
    colors = [GREEN if r.better(metric) else RED if r.worse(metric) else GREY for r in rows]
    labels = [r.label + (" !" if r.flags else "") for r in rows]
    hover = [_hover(r, metric) for r in rows]
    fig = go.Figure()
    fig.add_bar(x=[r.delta(metric) for r in rows], y=labels, orientation="h",
                marker_color=colors, customdata=hover, name=metric,
                hovertemplate="%{y}<br>%{x:+.1f}%<br>%{customdata}<extra></extra>")
    floor = round(c.min_effect.of(metric) * 100, 1)
    fig.add_vrect(x0=-floor, x1=floor, fillcolor=GREY, opacity=0.15, line_width=0,
                  annotation_text=f"noise floor ±{floor:g}%", annotation_position="top left")
    better = "higher" if metric == "rps" else "lower"
    fig.update_layout(title=f"{metric}: B against A, % ({better} is better; grey = ~ noise)",
                      xaxis_title="%", height=max(320, 28 * len(rows) + 140),
                      showlegend=False)
    return fig


def _hover(row: Row, metric: str) -> str:
    v = row.verdicts[metric]
    p = "-" if v.p_value is None else f"{v.p_value:.3g}"
    text = f"{v.test}, p={p}, n={v.n_a}/{v.n_b}"
    if v.reason:
        text += f"<br>~ {v.reason}"
    if row.flags:
        text += f"<br>flags: {', '.join(row.flags)}"
    return text


def _ab_bars(go: Any, c: Between) -> Any:
    fig = go.Figure()
    labels = [r.label for r in c.rows]
    fig.add_bar(name=f"A {c.run_a}", x=labels, y=[r.a.values["rps"] for r in c.rows])
    fig.add_bar(name=f"B {c.run_b}", x=labels, y=[r.b.values["rps"] for r in c.rows])
    fig.update_layout(title="throughput, A and B (requests/s)", barmode="group",
                      yaxis_title="rps")
    return fig


def render_html_compare(run_a: Run, run_b: Run, comparison: Between | None = None) -> str:
    """The page for B against A: both runs' facts, delta charts, the table, differences."""
    import plotly.graph_objects as go

    comparison = comparison or between(run_a, run_b)
    figs = _Figures()
    c = comparison
    body = [
        f"<h1>loadlab compare: {_e(c.run_b)} (B) against {_e(c.run_a)} (A)</h1>",
        f'<p class="method">{_e(c.method)}</p>',
        f"<p>{_e(legend(c.min_effect))}</p>",
        "<h2>Run A</h2>", _facts(run_a), "<h2>Run B</h2>", _facts(run_b),
        figs.html(_delta_chart(go, c, "rps")),
        figs.html(_delta_chart(go, c, "p95")),
        figs.html(_delta_chart(go, c, "p99")),
        figs.html(_ab_bars(go, c)),
        "<h2>Every shared cell</h2>",
        _md_table(md._between(c)),
    ]
    return _page(f"loadlab compare {c.run_a} vs {c.run_b}", body)


def write_report(run: Run, path: str | Path | None = None) -> Path:
    """Write the run's report.html (bench calls this when a run ends); returns the path.
    In the run folder it loads the folder's one copy of plotly.js; anywhere else it
    carries its own."""
    target = Path(path) if path is not None else run.path / "report.html"
    shared = plotly_script(run.path) if target.parent == run.path else None
    target.write_text(render_html_run(run, plotly_src=shared))
    return target
