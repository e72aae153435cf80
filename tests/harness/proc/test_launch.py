"""launch.py: the argv grammar, and the parent-death signal on a real child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from scripts.paths import ROOT
from scripts.proc import launch, supervise


def test_parse():
    assert launch.parse(["--parent", "42", "--", "a", "b"]) == (42, None, None, ["a", "b"])
    assert launch.parse(["--cpus", "0,1", "--parent", "7", "--", "x"]) == (7, {0, 1}, None,
                                                                         ["x"])
    assert launch.parse(["--parent", "7", "--user", "postgres", "--", "x"]) == (
        7, None, "postgres", ["x"])
    for bad in ([], ["--parent", "1"], ["--", "x"], ["--parent", "z", "--", "x"],
                ["--parent", "1", "--"], ["--bogus", "1", "--parent", "1", "--", "x"]):
        with pytest.raises(SystemExit):
            launch.parse(bad)


def test_launched_wraps_with_our_pid_and_cpus():
    argv = supervise.launched(["prog", "arg"], [1])
    assert argv[:3] == [sys.executable, "-m", "scripts.proc.launch"]
    assert argv[argv.index("--parent") + 1] == str(os.getpid())
    assert argv[argv.index("--cpus") + 1] == "1" and argv[-3:] == ["--", "prog", "arg"]
    assert "--cpus" not in supervise.launched(["prog"], None)


def test_a_launched_child_dies_with_its_parent(tmp_path):
    """A middle process starts a launched sleeper and is SIGKILLed: the sleeper goes."""
    pidfile = tmp_path / "child.pid"
    middle_code = (
        "import subprocess, sys, time\n"
        "from scripts.proc.supervise import launched\n"
        f"p = subprocess.Popen(launched([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " None), start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n")
    middle = subprocess.Popen([sys.executable, "-c", middle_code], cwd=supervise.ROOT,
                              env=supervise.child_env())
    try:
        deadline = time.monotonic() + 20
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        child = psutil.Process(int(pidfile.read_text()))
        deadline = time.monotonic() + 20
        while "time.sleep(60)" not in " ".join(child.cmdline()):  # exec'd past launch
            assert time.monotonic() < deadline, child.cmdline()
            time.sleep(0.05)
        middle.send_signal(signal.SIGKILL)
        middle.wait(5)
        gone, alive = psutil.wait_procs([child], timeout=10)
        assert gone and not alive, "the child outlived its killed parent"
    finally:
        middle.kill()
        middle.wait()


def test_a_child_gets_the_hard_limit_on_open_files_as_its_soft_one():
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    probe = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    lowered = f"import resource, os; resource.setrlimit(resource.RLIMIT_NOFILE, (256, {hard}))"
    out = subprocess.run(
        [sys.executable, "-c", f"{lowered}; os.execvp({sys.executable!r}, "
         f"[{sys.executable!r}, '-m', 'scripts.proc.launch', '--parent', str(os.getppid()),"
         f" '--', {sys.executable!r}, '-c', {probe!r}])"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert int(out) == hard > 256  # raised from the 256 it was started with
