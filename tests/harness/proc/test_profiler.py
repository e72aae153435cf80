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


NOT_ATTACHED = ("Error: No python processes found in process 3167 or any of its"
                " subprocesses\n\nStack backtrace:\n   0: anyhow::error::msg\n")


def test_only_py_spys_failure_to_attach_is_tried_again():
    """py-spy's own line (as a serving uvicorn once drew it, with its backtrace) is worth
    one more try; a sampler stopped by us, or any other error, is not."""
    line = "No python processes found in process 3167 or any of its subprocesses"
    assert profiler.attach_failed(1, NOT_ATTACHED) == line
    assert profiler.attach_failed(None, NOT_ATTACHED) is None  # still running
    assert profiler.attach_failed(0, NOT_ATTACHED) is None
    assert profiler.attach_failed(1, "Error: Permission denied (os error 13)\n") is None
    assert profiler.attach_failed(-2, "") is None  # SIGINT before its window


# py-spy's attach failure cannot be drawn on demand: a stand-in fails the first try
# with py-spy's own words (every try, with OUT.always) and samples on the second.
FLAKY_SPY = """\
#!/bin/sh
out=""
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done
if [ ! -e "$out.tried" ] || [ -e "$out.always" ]; then
  touch "$out.tried"
  printf 'Error: No python processes found in process 1 or any of its subprocesses\\n'
  exit 1
fi
printf 'p;f (x.py:1) 1\\n' > "$out"
printf "py-spy> Wrote raw flamegraph data to '%s'. Samples: 1 Errors: 0\\n" "$out"
"""


@pytest.fixture
def flaky_spy(monkeypatch, tmp_path):
    spy = tmp_path / "bin" / "py-spy"
    spy.parent.mkdir()
    spy.write_text(FLAKY_SPY)
    spy.chmod(0o755)
    monkeypatch.setattr(profiler, "executable", lambda: str(spy))
    return spy


def test_a_failed_attach_is_tried_once_more_and_said(flaky_spy, busy, tmp_path):
    folder = tmp_path / "cell"
    folder.mkdir()
    spy = profiler.Profiler.start(busy.pid, folder, rate=100, duration_s=1.0)
    assert spy.finish() == {}
    assert set(spy.retried) == {"cpu", "wall"}
    assert spy.retried["cpu"].startswith("No python processes found in process 1 ")
    assert spy.errors() == {"cpu": 0, "wall": 0}  # the second try's own count
    assert all(path.read_text() for path in spy.files.values())
    log = (folder / "profiler-cpu.log").read_text()
    assert "No python processes" in log and "Samples: 1" in log  # both tries kept
    assert not _spies()


def test_a_second_failed_attach_is_the_cells_problem(flaky_spy, busy, tmp_path):
    for name in profiler.SAMPLERS:
        profiler.samples_path(tmp_path, name).with_suffix(".folded.always").touch()
    spy = profiler.Profiler.start(busy.pid, tmp_path, rate=100, duration_s=1.0)
    problems = spy.finish()
    assert set(spy.retried) == {"cpu", "wall"}  # once each, not more
    assert problems["wall"] == ("py-spy wall wrote no samples (exit 1, tried twice): No"
                                " python processes found in process 1 or any of its"
                                " subprocesses")
    assert (tmp_path / "profiler-wall.log").read_text().count("No python processes") == 2
    assert not _spies()


def test_no_second_try_on_a_target_that_is_gone(flaky_spy, tmp_path):
    gone = supervise.Process("gone", [sys.executable, "-c", "pass"],
                             log_path=tmp_path / "gone.log").start()
    pid = gone.pid
    gone.wait(30)
    spy = profiler.Profiler.start(pid, tmp_path, rate=100, duration_s=1.0)
    problems = spy.finish()
    assert spy.retried == {}
    assert set(problems) == {"cpu", "wall"}
    assert problems["cpu"] == ("py-spy cpu wrote no samples (exit 1): No python processes"
                               " found in process 1 or any of its subprocesses")
    assert not _spies()


def test_stopped_before_the_second_try_none_starts(flaky_spy, busy, tmp_path):
    spy = profiler.Profiler.start(busy.pid, tmp_path, rate=100, duration_s=30.0)
    log = tmp_path / "profiler-cpu.log"
    for _ in range(400):  # the first try has failed (a safety net, not a measure)
        if log.exists() and "No python processes" in log.read_text():
            break
        time.sleep(0.01)
    problems = spy.stop()  # within RETRY_AFTER_S of the failure, as a cell that ends
    assert set(problems) == {"cpu", "wall"}
    time.sleep(profiler.RETRY_AFTER_S + 0.2)  # past when a second try would have begun
    assert spy.retried == {} and not any(p.exists() for p in spy.files.values())
    assert not _spies()
