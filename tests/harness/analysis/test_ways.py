"""The ways side by side: which cell is which way, the best of each, the ratio to threads."""

from __future__ import annotations

from scripts.analysis.verdict import rows
from scripts.analysis.ways import Entry, best_ways, from_capacity, from_rows, way_of
from scripts.archive.records import CellRecord
from scripts.render import ways as render_ways

FLAVORS = frozenset({"sync", "async"})


def entry(server, model, interface, flavor, value, client="httpx", scenario="weather",
          flavors=FLAVORS) -> Entry:
    return Entry(scenario, flavor, flavors, model, interface, server, client, value)


def test_a_cell_is_a_way_only_when_its_flavor_suits_its_server():
    assert way_of(entry("gunicorn-gthread", "threads", "wsgi", "sync", 1)) == "threads"
    assert way_of(entry("gunicorn-gevent", "greenlets", "wsgi", "sync", 1)) == "greenlets"
    assert way_of(entry("gunicorn-sync", "processes", "wsgi", "sync", 1)) == "processes"
    assert way_of(entry("uvicorn", "event-loop", "asgi", "async", 1)) == "event-loop"
    # the adaptation penalty is no way of its own
    assert way_of(entry("uvicorn", "event-loop", "asgi", "sync", 1)) is None
    assert way_of(entry("gunicorn-gthread", "threads", "wsgi", "async", 1)) is None
    # a record from before the model was kept: ASGI is an event loop, WSGI unknown
    assert way_of(entry("uvicorn", "", "asgi", "async", 1)) == "event-loop"
    assert way_of(entry("gunicorn-sync", "", "wsgi", "sync", 1)) is None


def test_each_way_at_its_best_with_its_ratio_to_threads():
    found = best_ways([
        entry("gunicorn-gthread", "threads", "wsgi", "sync", 150.0),
        entry("gunicorn-gevent", "greenlets", "wsgi", "sync", 300.0),
        entry("uvicorn", "event-loop", "asgi", "async", 100.0),
        entry("gunicorn-asgi", "event-loop", "asgi", "async", 450.0, client="aiohttp"),
        entry("uvicorn", "event-loop", "asgi", "sync", 999.0),  # not a way: ignored
        entry("gunicorn-gthread", "threads", "wsgi", "async", 998.0),  # nor this
    ])
    assert [(w.way, w.entry.server, w.entry.client, w.vs_reference) for w in found] == [
        ("threads", "gunicorn-gthread", "httpx", 1.0),
        ("greenlets", "gunicorn-gevent", "httpx", 2.0),
        ("event-loop", "gunicorn-asgi", "aiohttp", 3.0),
    ]


def test_variants_are_stories_of_their_own_and_a_lone_way_is_left_out():
    flavors = frozenset({"sync", "async", "sync-list", "async-list"})
    found = best_ways([
        entry("gunicorn-gthread", "threads", "wsgi", "sync", 900.0, scenario="catalog",
              flavors=flavors, client=None),
        entry("uvicorn", "event-loop", "asgi", "async", 600.0, scenario="catalog",
              flavors=flavors, client=None),
        entry("gunicorn-gthread", "threads", "wsgi", "sync-list", 90.0, scenario="catalog",
              flavors=flavors, client=None),
        entry("uvicorn", "event-loop", "asgi", "async-list", 45.0, scenario="catalog",
              flavors=flavors, client=None),
        entry("gunicorn-gthread", "threads", "wsgi", "sync", 50.0, scenario="sleep"),
    ])
    assert sorted({w.story for w in found}) == ["catalog", "catalog list"]
    assert {w.story: w.vs_reference for w in found if w.way == "event-loop"} == {
        "catalog": 600 / 900, "catalog list": 0.5}


def test_without_threads_there_is_no_ratio_but_the_ways_still_show():
    found = best_ways([entry("gunicorn-sync", "processes", "wsgi", "sync", 8.0),
                       entry("uvicorn", "event-loop", "asgi", "async", 30.0)])
    assert [(w.way, w.vs_reference) for w in found] == [("processes", None),
                                                         ("event-loop", None)]


def _record(server, interface, model, flavor, rps, warnings=()):
    return CellRecord(server=server, interface=interface, model=model, scenario="weather",
                      flavor=flavor, client="httpx", users=20, trial=1, requests=100,
                      rps=rps, latency_ms={"p95": 10.0}, warnings=list(warnings))


def test_verdict_rows_carry_their_model_and_load_bound_rows_say_so():
    found = best_ways(from_rows(rows([
        _record("gunicorn-gthread", "wsgi", "threads", "sync", 80.0, ["load-bound"]),
        _record("gunicorn-gevent", "wsgi", "greenlets", "sync", 78.0, ["load-bound"]),
        _record("uvicorn", "asgi", "event-loop", "async", 40.0),
    ])))
    assert [(w.way, w.entry.value, w.entry.note) for w in found] == [
        ("threads", 80.0, "load-bound"), ("greenlets", 78.0, "load-bound"),
        ("event-loop", 40.0, "")]
    text = render_ways.text(found, "closed-loop rps")
    assert "greenlets" in text and "gunicorn-gevent sync [httpx]" in text
    assert "0.97x" in text and "load-bound" in text


def test_capacity_records_and_their_markdown():
    capacity = [
        {"scenario": "sleep", "server": "gunicorn-gthread", "flavor": "sync",
         "client": None, "interface": "wsgi", "model": "threads", "capacity_rps": 900.0,
         "confirmed": True},
        {"scenario": "sleep", "server": "uvicorn", "flavor": "async", "client": None,
         "interface": "asgi", "model": "event-loop", "capacity_rps": 450.0,
         "confirmed": False},
    ]
    found = best_ways(from_capacity(capacity))
    md = render_ways.markdown(found, "capacity rps")
    assert "| sleep | async | 450.0 | 0.50x | uvicorn async | unconfirmed |" in md
    assert render_ways.markdown([], "x") == "" and render_ways.text([], "x") == ""
