"""The USL fit of closed-loop sweeps: a section of summary.md and a chart of the fitted
curve over the measured points for report.html."""

from __future__ import annotations

from typing import Any

from ..analysis.usl import NotFittable, fit, sweeps
from ..archive.records import CellRecord


def _name(key: tuple) -> str:
    server, scenario, flavor, client = key
    return f"{server} {scenario}/{flavor}" + (f" [{client}]" if client else "")


def markdown(records: list[CellRecord]) -> str:
    """One line per swept configuration: its fit, or why it cannot be fitted."""
    found = sweeps(records)
    if not found:
        return ""
    lines = ["## Scalability (Universal Scalability Law, closed-loop sweep)", ""]
    for key, points in found.items():
        try:
            f = fit(points)
        except NotFittable as exc:
            lines.append(f"- {_name(key)}: not fitted: {exc}")
            continue
        peak = (f"peak {f.peak_rps:,.0f} rps at N* = {f.peak_users:.0f} users"
                if f.peak_users is not None else f"no peak (kappa 0): flattens at"
                f" {f.peak_rps:,.0f} rps")
        lines.append(f"- {_name(key)}: sigma {f.sigma:.4f} (contention), kappa"
                     f" {f.kappa:.6f} (coherency); {peak}; fit error {f.rmse:,.1f} rps"
                     f" RMSE, R2 {f.r2:.3f} over {f.levels} levels")
    return "\n".join(lines) + "\n"


def figure(go: Any, scenario: str, records: list[CellRecord]) -> Any | None:
    """Throughput against users, measured points and fitted curves, or None."""
    found = {k: v for k, v in sweeps(records).items() if k[1] == scenario}
    if not found:
        return None
    fig = go.Figure()
    for key, points in found.items():
        fig.add_scatter(x=[n for n, _ in points], y=[x for _, x in points], mode="markers",
                        name=_name(key))
        try:
            f = fit(points)
        except NotFittable:
            continue
        top = max(n for n, _ in points)
        grid = [1 + i * (top - 1) / 99 for i in range(100)]
        fig.add_scatter(x=grid, y=[f.throughput(n) for n in grid], mode="lines",
                        name=f"{_name(key)} USL (sigma {f.sigma:.3f}, kappa {f.kappa:.5f})")
    fig.update_layout(title=f"{scenario}: throughput against users (closed loop)",
                      xaxis_title="users", yaxis_title="rps", xaxis_type="log")
    return fig
