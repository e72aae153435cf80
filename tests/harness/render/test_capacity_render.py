"""render/capacity.py: the capacity table's text and the report's two capacity charts."""

from __future__ import annotations

import plotly.graph_objects as go

from scripts.render import capacity


def step(rate, achieved, p95, passed):
    return {"rate": rate, "achieved_rps": achieved, "p95_ms": p95, "passed": passed}


RECORDS = [
    {"scenario": "sleep", "server": "gunicorn-sync", "flavor": "sync", "client": None,
     "interface": "wsgi", "model": "processes", "capacity_rps": 38.0,
     "bracket": [38.0, 40.0], "confirmed": True, "converged": True,
     "slo": {"p95_ms": 150.0}, "limit": "server concurrency",
     "steps": [step(20.0, 20.0, 55.0, True), step(40.0, 36.0, 900.0, False),
               step(38.0, 38.0, 120.0, True), step(38.0, 38.0, 125.0, True)]},
    {"scenario": "sleep", "server": "uvicorn", "flavor": "async", "client": None,
     "interface": "asgi", "model": "event-loop", "capacity_rps": 700.0,
     "bracket": [700.0, 730.0], "confirmed": True, "converged": True,
     "slo": {"p95_ms": 150.0}, "limit": "server CPU (99%)",
     "steps": [step(500.0, 500.0, 55.0, True), step(1000.0, 650.0, 2000.0, False),
               step(700.0, 700.0, 60.0, True)]},
]


def test_two_charts_with_each_capacity_starred_and_the_objective_drawn():
    offered, stick = capacity.figures(go, "sleep", RECORDS)
    stars = [t for t in offered.data if t.marker.symbol == "star"]
    assert sorted(t.x[0] for t in stars) == [38.0, 700.0]  # at each capacity's offered rate
    lines = [t for t in offered.data if t.mode == "lines+markers"]
    # one line per configuration, by offered rate, a rate measured twice kept once
    assert [list(t.x) for t in lines] == [[20.0, 38.0, 40.0], [500.0, 700.0, 1000.0]]
    assert any(t.name == "achieved = offered" for t in offered.data)
    stick_lines = [t for t in stick.data if t.mode == "lines+markers"]
    assert list(stick_lines[0].y) == [55.0, 125.0, 900.0]  # p95 against achieved
    assert stick.layout.shapes[0].y0 == 150.0  # the objective
    assert capacity.figures(go, "weather", RECORDS) == []


def test_the_text_table_and_the_ways_beside_it():
    text = capacity.text(RECORDS)
    assert "38.0" in text and "700.0" in text and "server CPU (99%)" in text
    ways = text[text.index("the ways side by side"):]
    assert "processes   38.0" in ways and "async      700.0" in ways
    assert "x " not in ways.split("\n", 2)[2]  # no threads measured: no ratio to them


def test_a_stack_keeps_its_configurations_apart_in_the_table_and_the_ratios():
    """Two middleware stacks on one server: each async flavor is set against the sync
    flavor of its own stack, and every row says which stack it is."""
    def rec(flavor, stack, rps):
        return {"scenario": "hello", "server": "uvicorn", "flavor": flavor, "client": None,
                "middleware": stack, "connections": None, "capacity_rps": rps,
                "bracket": [rps, rps * 1.1], "confirmed": True, "converged": True,
                "slo": {"p95_ms": 25.0}, "limit": "server CPU (99%)", "steps": []}
    records = [rec("sync", None, 1000.0), rec("async", None, 1200.0),
               rec("sync", "default+sync-only", 800.0),
               rec("async", "default+sync-only", 400.0)]
    assert capacity.versus_lines(records) == [
        "hello on uvicorn: async holds 1.20x the load of sync",
        "hello on uvicorn mw=default+sync-only: async holds 0.50x the load of sync"]
    flavors = [row[2] for row in capacity.rows(records)]
    assert flavors == ["sync", "async", "sync mw=default+sync-only",
                       "async mw=default+sync-only"]
