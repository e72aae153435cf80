"""latency-<pid>.json: what the recorder writes, the harness reads back the same."""

from __future__ import annotations

import ast
import json
import random

import pytest

from scripts.errors import MeasurementError
from scripts.load import latencyfile
from scripts.load.latencyfile import Arrivals, LatencyFile, Slot
from scripts.paths import ROOT


def _blob(hist):
    return None if hist is None else hist.encode().decode()


def _same(a: Slot, b: Slot) -> bool:
    """Equal counts and histograms (a blob holds every bucket's count)."""
    return ((a.ok, a.failed, a.late) == (b.ok, b.failed, b.late)
            and all(_blob(x) == _blob(y) for x, y in ((a.raw, b.raw),
                                                      (a.corrected, b.corrected),
                                                      (a.lag, b.lag))))


def _seconds(seed: int = 1) -> latencyfile.Seconds:
    """A closed-model name, an open-model name, a second of failures only, a second
    with start lags but no success (its corrected histogram stays empty)."""
    rng = random.Random(seed)
    seconds: latencyfile.Seconds = {}
    for second in (100, 101, 102):
        closed = seconds[("sync", second)] = Slot()
        for _ in range(50):
            closed.record(rng.randint(1, 5_000_000), failed=rng.random() < 0.1)
        opened = seconds[("async", second)] = Slot()
        for _ in range(40):
            failed = rng.random() < 0.2
            opened.record(rng.randint(1, 900_000), failed)
            opened.record_open(rng.randint(1, 40_000), late=rng.random() < 0.3,
                               corrected_us=None if failed else rng.randint(1, 2_000_000))
    seconds[("sync", 103)] = Slot(failed=4)
    lagging = seconds[("async", 103)] = Slot()
    lagging.record_open(7_000, late=True, corrected_us=None)
    return seconds


def test_write_then_read_gives_the_same_slots_service_and_arrivals(tmp_path):
    service = latencyfile.histogram()
    for us in (800, 900, 1_000):
        service.record_value(us)
    written = LatencyFile(phase=0.25, seconds=_seconds(), service={101: service},
                          arrivals=Arrivals(rate=40.0, arrival="poisson",
                                            offered={100: 40, 101: 41}, unsent={102: 3}))
    path = tmp_path / "latency-1.json"
    latencyfile.write(path, written)
    read = latencyfile.read(path)

    assert read.phase == 0.25 and read.names == ["async", "sync"]
    assert sorted(read.seconds) == sorted(written.seconds)
    assert all(_same(read.seconds[k], written.seconds[k]) for k in written.seconds)
    assert read.seconds[("sync", 103)].raw is None  # failures only: no latency
    assert read.seconds[("async", 103)].corrected is None  # lagged, never answered
    assert _blob(read.service[101]) == _blob(service)
    assert read.arrivals == written.arrivals
    # and the bytes: writing what was read gives the same file
    again = tmp_path / "latency-2.json"
    latencyfile.write(again, read)
    assert again.read_bytes() == path.read_bytes()


def test_the_file_names_its_version_unit_and_digits():
    data = LatencyFile(seconds=_seconds()).to_json()
    assert (data["version"], data["unit"], data["significant_digits"]) == (1, "us", 3)
    assert "service" not in data and "open" not in data  # only when there are some
    slot = data["names"]["async"]["100"]
    assert set(slot) == {"ok", "failed", "histogram", "corrected", "lag", "late"}
    assert set(data["names"]["sync"]["100"]) == {"ok", "failed", "histogram"}


def test_a_workers_report_round_trips_and_absorb_counts_its_requests():
    """A worker ships encode()'s map; the master decodes and adds it to its own."""
    shipped = json.loads(json.dumps(latencyfile.encode(_seconds(1))))
    mine = _seconds(2)
    before = sum(s.requests for s in mine.values())
    count = latencyfile.absorb(mine, latencyfile.decode(shipped))
    theirs = _seconds(1)
    assert count == sum(s.requests for s in theirs.values())
    assert sum(s.requests for s in mine.values()) == before + count
    merged = mine[("async", 101)]
    assert merged.lag.get_total_count() == 80  # 40 starts each
    assert merged.late == _seconds(1)[("async", 101)].late + _seconds(2)[("async", 101)].late


def test_a_file_from_before_the_version_field_still_reads(tmp_path):
    """Files written before `version` existed: the same format without the field."""
    path = tmp_path / "latency-7.json"
    slot = Slot()
    slot.record(1_500, failed=False)
    path.write_text(json.dumps({"unit": "us", "significant_digits": 3, "phase": 0.5,
                                "names": {"sync": {"10": slot.to_json()}}}))
    read = latencyfile.read(path)
    assert read.phase == 0.5 and _same(read.seconds[("sync", 10)], slot)


def test_keep_decodes_only_the_slots_asked_for(tmp_path):
    path = tmp_path / "latency-1.json"
    latencyfile.write(path, LatencyFile(seconds=_seconds()))
    read = latencyfile.read(path, keep=lambda name, second: name == "sync" and second < 102)
    assert sorted(read.seconds) == [("sync", 100), ("sync", 101)]
    assert read.names == ["async", "sync"]  # every name, read or not


@pytest.mark.parametrize("content, says", [
    (json.dumps({"version": 2, "unit": "us", "names": {}}), "format 2"),
    (json.dumps({"unit": "ms", "names": {}}), "'ms'"),
    ("{not json", "unreadable"),
    ("[1, 2]", "unreadable"),
    (json.dumps({"unit": "us"}), "unreadable"),
    (json.dumps({"names": {"sync": {"1": {"ok": 1, "failed": 0,
                                          "histogram": "HISTFAAAAbroken"}}}}), "unreadable"),
    (json.dumps({"names": {"sync": {"one": {"ok": 1, "failed": 0, "histogram": None}}}}),
     "unreadable"),
])
def test_a_file_this_version_cannot_read_is_one_line_naming_it(tmp_path, content, says):
    path = tmp_path / "latency-9.json"
    path.write_text(content)
    with pytest.raises(MeasurementError) as caught:
        latencyfile.read(path)
    message = str(caught.value)
    assert "latency-9.json" in message and says in message and "\n" not in message


def _harness_imports(path) -> set[str]:
    """The harness modules a file imports (`from scripts.load import x`: scripts.load.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative, from inside scripts/load/
                module = "scripts." + module if module == "errors" else "scripts.load." + module
            found |= ({f"{module}.{a.name}" for a in node.names} if module == "scripts.load"
                      else {module})
    return {m for m in found if m.split(".")[0] == "scripts"}


def test_locusts_side_imports_nothing_of_the_harness_but_the_file_format():
    """Locust's processes (locustfiles/, on a remote worker too) import this module, and
    it imports only errors: no config, no process, nothing that starts anything."""
    for path in sorted((ROOT / "locustfiles").glob("*.py")):
        assert _harness_imports(path) <= {"scripts.load.latencyfile"}, path.name
    assert _harness_imports(ROOT / "scripts/load/latencyfile.py") == {"scripts.errors"}
