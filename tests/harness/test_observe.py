"""observe.py: Observers hands every hook to each observer, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.observe import Observer, Observers

# Every hook but run_sealing, with arguments an observer can tell apart.
HOOKS = [
    ("note", ("a line", "red")),
    ("plan", (3, 12.5, ["daphne: not installed"])),
    ("cell_started", ("<cell 0>", 3, 10.0)),
    ("cell_phase", ("<cell 0>", "measuring")),
    ("cell_done", ("<cell 0>", "<record>")),
    ("run_done", (Path("/r/run"), ["<record>"], "complete")),
]


class Recorder(Observer):
    """Writes every call into a shared log as (its name, hook, args)."""

    def __init__(self, name: str, log: list, problem: str | None = None) -> None:
        self.name, self.log, self.problem = name, log, problem

    def _log(self, hook, *args):
        self.log.append((self.name, hook, args))

    def note(self, *a):
        self._log("note", *a)

    def plan(self, *a):
        self._log("plan", *a)

    def cell_started(self, *a):
        self._log("cell_started", *a)

    def cell_phase(self, *a):
        self._log("cell_phase", *a)

    def cell_done(self, *a):
        self._log("cell_done", *a)

    def run_sealing(self, *a):
        self._log("run_sealing", *a)
        return self.problem

    def run_done(self, *a):
        self._log("run_done", *a)


@pytest.mark.parametrize(("hook", "args"), HOOKS, ids=[h for h, _ in HOOKS])
def test_each_hook_reaches_every_observer_in_order(hook, args):
    log: list = []
    fan = Observers([Recorder("a", log), Recorder("b", log), Recorder("c", log)])
    getattr(fan, hook)(*args)
    assert log == [(n, hook, args) for n in "abc"]


def test_a_whole_run_in_order():
    log: list = []
    fan = Observers([Recorder("a", log), Recorder("b", log)])
    for hook, args in HOOKS:
        getattr(fan, hook)(*args)
    assert [(n, h) for n, h, _ in log] == [(n, h) for h, _ in HOOKS for n in "ab"]


def test_note_without_a_style_passes_the_default():
    log: list = []
    Observers([Recorder("a", log)]).note("hello")
    assert log == [("a", "note", ("hello", ""))]


def test_an_observer_that_picks_no_hooks_is_harmless():
    log: list = []
    fan = Observers([Observer(), Recorder("b", log)])
    for hook, args in HOOKS:
        getattr(fan, hook)(*args)
    assert len(log) == len(HOOKS)
    assert Observers([Observer()]).run_sealing(Path("/r"), {}, []) is None


def test_a_closed_terminal_skips_that_observer_only():
    log: list = []

    class Hung(Observer):
        def note(self, text, style=""):
            raise OSError(5, "Input/output error")

    Observers([Hung(), Recorder("b", log)]).note("still told")
    assert log == [("b", "note", ("still told", ""))]


def test_other_errors_are_not_swallowed():
    class Buggy(Observer):
        def cell_done(self, cell, record):
            raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        Observers([Buggy()]).cell_done("<cell>", "<record>")


def test_run_sealing_joins_the_problems():
    log: list = []
    fan = Observers([Recorder("a", log, "report.html not written"), Recorder("b", log),
                     Recorder("c", log, "summary.md not written")])
    args = (Path("/r/.partial-x"), {"status": "complete"}, ["<record>"])
    assert fan.run_sealing(*args) == "report.html not written; summary.md not written"
    assert log == [(n, "run_sealing", args) for n in "abc"]  # all asked, in order


def test_run_sealing_without_problems_is_none():
    log: list = []
    assert Observers([Recorder("a", log), Recorder("b", log)]).run_sealing(
        Path("/r"), {}, []) is None
    assert len(log) == 2
    assert Observers().run_sealing(Path("/r"), {}, []) is None
