"""proc/profiler.py: py-spy's command lines, and real samplers on a real busy child,
stopped on time, early, or before they began; none outlives the test."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from scripts.analysis import layers
from scripts.proc import profiler, supervise

BUSY = [sys.executable, "-c", "while True: sum(range(1000))"]
needs_spy = pytest.mark.skipif(profiler.executable() is None, reason="py-spy not installed")


def test_argv_is_whole_seconds_of_both_views():
    out = Path("/x/samples-cpu.folded")
    argv = profiler.argv(123, 250, 2.2, out, ("--gil",))
    assert argv[:2] == ["py-spy", "record"]
    assert argv[argv.index("--pid") + 1] == "123"
    assert argv[argv.index("--rate") + 1] == "250"
    assert argv[argv.index("--duration") + 1] == "3"  # py-spy takes whole seconds
    assert argv[argv.index("-o") + 1] == str(out)
    for flag in ("--subprocesses", "--threads", "--nonblocking", "--gil"):
        assert flag in argv
    assert argv[argv.index("--format") + 1] == "raw"
    assert profiler.argv(1, 100, 2.0, out, ())[argv.index("--duration") + 1] == "2"
    assert "--duration" not in profiler.argv(1, 100, None, out, ())  # until stopped
    delayed = profiler.argv(1, 100, 2.0, out, ("--idle",), delay_s=1.25)
    assert delayed[:4] == ["sh", "-c", 'sleep "$0" && exec "$@"', "1.250"]
    assert delayed[4:6] == ["py-spy", "record"] and "--idle" in delayed
    assert set(profiler.SAMPLERS) == {"cpu", "wall"}


def _spies() -> list[psutil.Process]:
    """py-spy processes (or their delay's shell) that this test process started."""
    me = psutil.Process(os.getpid())
    return [p for p in me.children(recursive=True)
            if "py-spy" in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def busy(tmp_path):
    with supervise.Process("busy", BUSY, log_path=tmp_path / "busy.log") as proc:
        for _ in range(400):  # past the launcher's exec: py-spy attaches to the busy code
            if "while True" in " ".join(psutil.Process(proc.pid).cmdline()):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        yield proc


@needs_spy
def test_samplers_record_the_window_and_end(busy, tmp_path):
    spy = profiler.Profiler.start(busy.pid, tmp_path, rate=100, duration_s=1.0)
    problems = spy.finish()
    assert problems == {}
    assert not _spies()
    assert set(spy.errors()) == {"cpu", "wall"}  # each log's count of lost samples
    cpu = layers.parse(spy.files["cpu"].read_text().splitlines())
    wall = layers.parse(spy.files["wall"].read_text().splitlines())
    assert sum(s.count for s in cpu) > 0 and sum(s.count for s in wall) > 0
    # the busy child's own code, with its pid: the samples are of the right process
    assert any(f.startswith("<module> (<string>") for s in cpu for f in s.frames)
    assert {s.pid for s in cpu} == {str(busy.pid)}


@needs_spy
def test_stopped_early_it_writes_what_it_has(busy, tmp_path):
    spy = profiler.Profiler.start(busy.pid, tmp_path, rate=100, duration_s=60.0)
    samples = spy.files["cpu"]
    log = tmp_path / "profiler-cpu.log"
    for _ in range(400):  # until py-spy says it samples (a safety net, not a measure)
        if log.exists() and "Sampling process" in log.read_text():
            break
        time.sleep(0.05)
    time.sleep(0.5)
    problems = spy.stop()
    assert not _spies()
    assert problems == {}, problems
    assert samples.exists() and samples.read_text().strip()


@needs_spy
def test_stopped_before_its_window_nothing_is_left(busy, tmp_path):
    spy = profiler.Profiler.start(busy.pid, tmp_path, rate=100, duration_s=1.0, delay_s=60)
    assert len(supervise.live()) >= 3  # busy + two samplers, tracked for stop_all
    problems = spy.stop()
    assert not _spies()
    assert set(problems) == {"cpu", "wall"}  # said, not raised: the cell keeps its numbers
    assert "wrote no samples" in problems["cpu"]
    assert spy.stop() == problems  # twice is fine


def test_a_missing_py_spy_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(profiler, "executable", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install py-spy"):
        profiler.Profiler.start(1, tmp_path, 100, 1.0)
