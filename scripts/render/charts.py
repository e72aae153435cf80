"""One run's charts per scenario (plotly figures; html.py lays them out): throughput
and p95 bars with observed ranges, the percentile spectrum, requests/s over time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..analysis.fold import fold
from ..analysis.stats import quantile
from ..archive.folder import Run
from ..archive.records import CellRecord
from ..cells import CellKey
from ..stories import story_rank

# the percentile plot's x: 1/(1-p) from 1 (p0) to 10^5 (p99.999), ten points a decade
SPECTRUM_X = tuple(10 ** (i / 10) for i in range(51))
SPECTRUM_TICKS = (0, 50, 90, 99, 99.9, 99.99, 99.999)

Groups = dict[CellKey, list[CellRecord]]


def groups(run: Run) -> dict[str, Groups]:
    out: dict[str, Groups] = {}
    for key, cells in run.by_key().items():
        out.setdefault(key.scenario, {})[key] = cells
    return {s: out[s] for s in sorted(out, key=lambda s: (story_rank(s), s))}


def bars(go: Any, scenario: str, groups: Groups, metric: str) -> Any:
    """Grouped bars: servers along x, one bar per flavor/client; '!' marks flags."""
    variants = sorted({k.variant for k in groups})
    servers = sorted({k.server for k in groups})
    fig = go.Figure()
    for variant in variants:
        ys, texts, hovers, below, above = [], [], [], [], []
        for server in servers:
            key = next((k for k in groups if k.server == server and k.variant == variant),
                       None)
            s = fold(groups[key]) if key else None
            y = s.values[metric] if s else None
            ys.append(y)
            texts.append("!" if s and s.flags else "")
            hovers.append(", ".join(s.flags) if s and s.flags else "no flags")
            low, high = interval(groups[key], metric, y) if key else (None, None)
            below.append(low)
            above.append(high)
        fig.add_bar(name=variant, x=servers, y=ys, text=texts, textposition="outside",
                    customdata=hovers,
                    error_y={"type": "data", "symmetric": False, "array": above,
                             "arrayminus": below},
                    hovertemplate="%{x}<br>%{y:.1f}<br>%{customdata}<extra>" + variant
                    + "</extra>")
    title = "throughput (requests/s)" if metric == "rps" else "p95 latency (ms)"
    fig.update_layout(title=f"{scenario}: {title}", barmode="group",
                      yaxis_title="rps" if metric == "rps" else "ms")
    return fig


def interval(cells: Sequence[CellRecord], metric: str,
              value: float | None) -> tuple[float | None, float | None]:
    """Error bar as (below, above) the bar: the range of the trials when there are
    several, else the middle half of the seconds. Observed values, never a mean minus
    a deviation: a bar of requests or milliseconds cannot reach below zero."""
    if value is None:
        return None, None
    ok = [c for c in cells if c.status == "ok"]
    if len(ok) >= 2:
        vals = [c.rps if metric == "rps" else c.latency_ms.get(metric) for c in ok]
        clean = sorted(float(v) for v in vals if isinstance(v, int | float))
        low, high = (clean[0], clean[-1]) if len(clean) >= 2 else (value, value)
    else:
        seconds = sorted(v for c in ok for v in c.per_second(metric))
        if len(seconds) < 2:
            return None, None
        low, high = quantile(seconds, 0.25), quantile(seconds, 0.75)
    return max(0.0, value - low), max(0.0, high - value)


def percentiles(go: Any, scenario: str, groups: Groups, run_path: Path) -> Any:
    """The percentile spectrum, HdrHistogram's way: latency against 1/(1-p) on a log
    axis, so the tail (99 %, 99.9 %) gets as much room as the median. From each cell's
    own histogram in latency.json (trials merged; corrected for the open model), up to
    the percentile its request count can resolve."""
    fig = go.Figure()
    for key in sorted(groups, key=CellKey.sort_key):
        hist = _histogram(groups[key], run_path)
        if hist is None:
            continue
        count = hist.get_total_count()
        xs = [x for x in SPECTRUM_X if x <= count]
        fig.add_scatter(x=xs, y=[hist.get_value_at_percentile(100 * (1 - 1 / x)) / 1000
                                 for x in xs],
                        mode="lines", name=key.name())
    ticks = [1 / (1 - p / 100) for p in SPECTRUM_TICKS]
    fig.update_layout(title=f"{scenario}: latency by percentile (ms)",
                      xaxis={"type": "log", "tickvals": ticks,
                             "ticktext": [f"{p:g}%" for p in SPECTRUM_TICKS],
                             "title": "percentile"},
                      yaxis_title="ms")
    return fig


def _histogram(cells: Sequence[CellRecord], run_path: Path) -> Any:
    """The cell's trials' histograms merged, from latency.json (None if none is kept)."""
    from hdrh.histogram import HdrHistogram

    merged = None
    for cell in cells:
        if cell.status != "ok":
            continue
        try:
            data = json.loads((run_path / cell.path / "latency.json").read_text())
        except (OSError, ValueError):
            continue
        encoded = (data.get("open") or {}).get("histogram_corrected") or data.get("histogram")
        if not encoded:
            continue
        hist = HdrHistogram.decode(encoded.encode())
        if merged is None:
            merged = hist
        else:
            merged.add(hist)
    return merged if merged is not None and merged.get_total_count() else None


def timeline(go: Any, scenario: str, groups: Groups) -> Any:
    """Requests/s over the steady-state seconds, one line per cell and trial."""
    fig = go.Figure()
    for key in sorted(groups, key=CellKey.sort_key):
        for cell in groups[key]:
            if not cell.rps_per_second:
                continue
            trial = f" t{cell.trial}" if len(groups[key]) > 1 else ""
            fig.add_scatter(x=list(range(1, len(cell.rps_per_second) + 1)),
                            y=cell.rps_per_second, mode="lines", name=key.name() + trial)
    fig.update_layout(title=f"{scenario}: requests/s over time (steady state)",
                      xaxis_title="second", yaxis_title="rps")
    return fig
