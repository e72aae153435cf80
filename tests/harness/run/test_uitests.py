"""A web UI session's tests into cells (run/uitests.py), on a session folder as
locustfiles/session.py writes it: each test its own cell per class, same keys as
trials, tests without a window or a whole second noted and left out, and each cell
with its own slice of the server log and of the sampled resources."""

from __future__ import annotations

import json
from pathlib import Path

from hdrh.histogram import HdrHistogram

from app.scenarios import get as get_scenario
from scripts.archive.manifest import Manifest
from scripts.archive.writer import Archive
from scripts.config import load_matrix
from scripts.load import latencyfile
from scripts.proc.sampler import Sample, Sampler
from scripts.run import uitests


def _hist(values_us: list[int]) -> str:
    h = HdrHistogram(1, latencyfile.HIGHEST_US, 3)
    for v in values_us:
        h.record_value(v)
    return h.encode().decode()


def _test(session: Path, index: int, users: dict[str, int], window: list[float] | None,
          log: list[int] | None = None, ended: str = "stopped") -> None:
    folder = session / "tests" / f"{index:03d}"
    folder.mkdir(parents=True)
    (folder / "test.json").write_text(json.dumps({
        "index": index, "opened": 0, "cause": "start", "ended": ended, "window": window,
        "warmup_s": 0, "users": users, "classes": {}, "server_log": log}))
    if window is None:
        return
    (folder / "window.json").write_text(json.dumps(
        {"start": window[0], "end": window[1], "phase": 0.0}))
    seconds = {str(s): {"ok": 10 * users.get("sync", 1), "failed": 0,
                        "histogram": _hist([2000] * 10 * users.get("sync", 1))}
               for s in range(int(window[0]), int(window[1]))}
    (folder / "latency-1.json").write_text(json.dumps(
        {"unit": "us", "phase": 0.0, "names": {"sync": seconds}}))
    (folder / "locust_stats.csv").write_text(f"test {index}\n")


def test_each_test_is_a_cell_and_equal_keys_are_trials(tmp_path):
    matrix = load_matrix()
    session = uitests.Session(tmp_path / "session", matrix.servers["uvicorn"],
                              get_scenario("hello"), "httpx")
    session.folder.mkdir()
    (session.folder / "server.log").write_bytes(b"boot\nduring one\nbetween\nduring three\n")
    _test(session.folder, 1, {"sync": 2, "nope": 3}, [100.0, 104.0], log=[5, 16])
    _test(session.folder, 2, {"sync": 2}, None, ended="edited")
    _test(session.folder, 3, {"sync": 2}, [110.0, 112.0], log=[24, 37])
    _test(session.folder, 4, {"sync": 5}, [120.0, 120.6], ended="reset")
    _test(session.folder, 5, {"sync": 0}, [130.0, 133.0])
    assert session.trials() == {session.key("sync", 2): 2}

    sampler = Sampler({}, tmp_path / "all.csv")
    sampler.samples = [Sample(t, "server", 50.0 + t - 100, 10.0, 3, 1)
                       for t in (101.0, 103.0, 111.0, 131.0)]
    archive = Archive(tmp_path / "results", "ui", Manifest(mode="ui"))
    notes = uitests.archive_tests(archive, session, matrix.rules, sampler)

    assert [r.path for r in archive.records] == [
        "cells/uvicorn/hello-sync-u2-t1", "cells/uvicorn/hello-sync-u2-t2"]
    first, third = archive.records
    assert (first.trial, first.users, first.requests, first.duration_s) == (1, 2, 80, 4.0)
    assert (third.trial, third.requests, third.duration_s) == (2, 40, 2.0)
    assert first.server_cpu_pct == 52.0 and third.server_cpu_pct == 61.0  # own windows
    cell = archive.tmp / first.path
    assert (cell / "server.log").read_text() == "during one\n"
    assert (archive.tmp / third.path / "server.log").read_text() == "during three\n"
    assert (cell / "locust_stats.csv").read_text() == "test 1\n"
    assert len((cell / "resources.csv").read_text().splitlines()) == 3  # header + 2
    assert notes == [
        "test 2 ended (edited) before its window began: no cell",
        "test 4 ended (reset) within a second of its window's start (no whole second):"
        " no cell",
        "test 5: no user class of scenario hello ran: no cell"]
    assert [t["cells"] for t in archive.manifest.tests] == [
        ["cells/uvicorn/hello-sync-u2-t1"], ["cells/uvicorn/hello-sync-u2-t2"], []]


def test_the_live_view_names_the_next_trial_and_applies_the_flag_rules(tmp_path):
    """Per running class: the cell it will become, and bench's flags on its throughput
    so far: `load-bound` at users / R0 with the server's CPU to spare; a hot generator."""
    matrix = load_matrix()
    session = uitests.Session(tmp_path, matrix.servers["uvicorn"], get_scenario("weather"),
                              "httpx", unloaded={"sync": (250.0, None), "async": (250.0, None)})
    _test(tmp_path, 1, {"sync": 2}, [100.0, 103.0])
    # sync: 2 users / 0.25 s = 8 rps is its bound, and it holds 7.9; async: 4 users, 5 rps
    (tmp_path / "current.json").write_text(json.dumps(
        {"index": 2, "users": {"sync": 2, "async": 4}, "window_start": 200.0,
         "rps": {"sync": 7.9, "async": 5.0}}))
    calm = {"server": Sample(201.0, "server", 20.0, 80.0, 12, 1),
            "generator": Sample(201.0, "generator", 15.0, 50.0, 3, 1)}
    live = uitests.live(session, matrix.rules, calm)
    assert live["cells"] == {"sync": "uvicorn weather/sync [httpx] u2 t2",
                             "async": "uvicorn weather/async [httpx] u4 t1"}
    assert live["server"] == {"cpu_pct": 20.0, "rss_mb": 80.0, "threads": 12}
    assert live["flags"] == {"sync": ["load-bound"], "async": []}

    hot = {**calm, "server": Sample(202.0, "server", 97.0, 80.0, 12, 1),
           "generator": Sample(202.0, "generator", 95.0, 50.0, 3, 1)}
    live = uitests.live(session, matrix.rules, hot)  # a busy server is no longer load-bound
    assert live["flags"] == {"sync": ["generator-hot"], "async": ["generator-hot"]}
    assert live["generator"] == {"cpu_pct": 95.0}
