"""`loadlab ab`: does this branch make the project slower than main? Two versions of a
team's project, measured in alternation on one machine, compared round by round.

Base is a committed ref, checked out as a git worktree in a scratch folder; head is the
project's working tree (may be dirty: the manifest says so) or a ref, also a worktree.
Both are served by the same interpreter and virtualenv: a version is only the folder
its code is imported from. Each round runs the (small) plan once per side, as one whole
`bench` run each, the order alternating (ABBA), so drift during the session falls on
both sides alike; a side's rounds are then joined into one run folder, a trial per
round (archive/merge.py), and analysis/ab.py calls each row with the round as the unit.

    <results>/<stamp>-<project>-ab[-label]/
      base/  head/   normal run folders (`loadlab compare <ab>` opens them)
      ab.json  ab.md refs, commits, rounds, machine references, per-row paired verdicts

The worktrees are removed at the end, also after a failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..analysis import ab as analysis
from ..analysis.calibration import floor_for
from ..analysis.compare import Between
from ..analysis.thresholds import check_between
from ..archive.folder import load_run, run_name, write_json
from ..archive.merge import join_trials
from ..archive.writer import Outputs, now
from ..config import Matrix
from ..config.project import Project, load_project
from ..config.thresholds import Thresholds, merged
from ..errors import Interrupted, UsageError
from ..observe import Observer, Observers
from ..plan import Choices, Plan, build_plan
from ..proc.machine import timed
from ..proc.signals import interrupts
from ..services.worktree import WORKING_TREE, Repository, Worktrees
from .bench import Bench, Options

DEFAULT_ROUNDS = 6  # docs/ab.md: what 6 rounds detect, and why not fewer
DEFAULT_BASE = "main"


@dataclass(frozen=True)
class Request:
    """What the user asked, checked against the repository (bad input: exit 2)."""

    project: Project  # the working tree's, as given
    repo: Repository
    base: str
    base_commit: str
    head: str | None  # None: the working tree
    head_commit: str | None
    dirty: bool  # the working tree has uncommitted changes (head measures them if None)
    rounds: int


@dataclass
class Side:
    name: str  # base | head
    ref: str
    commit: str | None
    dirty: bool
    project: Project
    plan: Plan | None = None
    runs: list[Path] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"ref": self.ref, "commit": self.commit, "dirty": self.dirty,
                "tree": str(self.project.root), "project_file": str(self.project.file)}


@dataclass
class Outcome:
    """What ab measured: its folder, the comparison, and how the rounds went."""

    folder: Path
    status: str  # complete | failed (a round did not complete; interrupted raises)
    comparison: Between | None
    data: dict[str, Any]
    thresholds: dict[str, Thresholds] = field(default_factory=dict)  # head's, as planned


def check(project_path: Path, base: str, head: str | None, rounds: int,
          warmup_s: float | None = None) -> Request:
    """Every input problem, before anything is created: rounds, the project, the
    repository, the refs, a tree whose state would make the answer wrong."""
    if warmup_s is not None and warmup_s < 0:
        raise UsageError("loadlab ab: --warmup must be >= 0")
    if rounds < analysis.MIN_ROUNDS:
        raise UsageError(f"loadlab ab: --rounds must be >= {analysis.MIN_ROUNDS} (a paired"
                         " test needs two rounds; docs/ab.md says how many detect what)")
    project = load_project(project_path)
    assert project.file is not None and project.root is not None
    repo = Repository.of(project.file.parent)
    base_commit = repo.commit(base)
    head_commit = repo.commit(head) if head is not None else None
    dirty = repo.dirty()
    if head is not None and dirty and head_commit == repo.head():
        raise UsageError(f"loadlab ab: --head {head} is the last commit, but {repo.top} has"
                         " uncommitted changes it would not measure: commit them, or leave"
                         " --head out to measure the working tree as it is")
    for name, ref, commit in (("base", base, base_commit), ("head", head, head_commit)):
        if commit is not None and not repo.tracked(commit, project.file):
            raise UsageError(f"loadlab ab: {project.file.name} is not committed in {name}"
                             f" {ref} ({commit[:10]}): ab reads each side's own file")
    return Request(project, repo, base, base_commit, head, head_commit, dirty, rounds)


def run_ab(matrix: Matrix, request: Request, choices: Choices, options: Options,
           observers: list[Observer], outputs: Outputs) -> Outcome:
    """Prepare both sides, run the rounds, join them (each side's folder written with
    `outputs`) and compare; the worktrees are removed whatever happens. Interrupted
    propagates after the cleanup."""
    say = Observers(observers).note
    folder = _new_folder(options.results, request.project.run_label(
        "-".join(filter(None, ("ab", options.label)))))
    with interrupts(), Worktrees(request.repo) as trees:
        sides = _sides(request, trees)
        _plan(matrix, sides, choices)
        say(f"ab: {sides[0].ref} ({_short(sides[0].commit)}) against {sides[1].ref}"
            f" ({_short(sides[1].commit)}{', dirty' if sides[1].dirty else ''}),"
            f" {request.rounds} rounds of {len(sides[0].plan.cells)} cell(s) a side, in {folder}")
        machine: list[dict[str, Any]] = []
        status = "complete"
        for r in range(1, request.rounds + 1):
            order = sides if r % 2 else sides[::-1]  # ABBA: drift falls on both sides
            machine.append({"round": r, "order": [s.name for s in order],
                            "reference": timed()})
            for side in order:
                say(f"round {r}/{request.rounds}: {side.name} ({side.ref})")
                bench = Bench(matrix, side.plan, replace(
                    options, results=folder / "rounds", label=f"{side.name}-r{r}"),
                    observers)
                done = bench.run()
                side.runs.append(bench.archive.final)
                if done == "interrupted":
                    raise Interrupted(f"a signal, during round {r} ({side.name})")
                if done != "complete":
                    status = "failed"  # a round without both sides pairs nothing
            if status != "complete":
                say(f"round {r} did not complete: stopping the rounds (see {folder})")
                break
        machine.append({"round": "end", "reference": timed()})
        return _finish(folder, request, sides, status, machine, options.results, outputs,
                       matrix.thresholds)


def _sides(request: Request, trees: Worktrees) -> list[Side]:
    """Base's worktree, and head's (the working tree itself when no --head)."""
    rel = request.project.file.resolve().relative_to(request.repo.top)
    base_tree = trees.add("base", request.base_commit)
    base = Side("base", request.base, request.base_commit, False,
                load_project(base_tree / rel))
    if request.head is None:
        head = Side("head", WORKING_TREE, request.repo.head(), request.dirty,
                    request.project)
    else:
        assert request.head_commit is not None
        head = Side("head", request.head, request.head_commit, False,
                    load_project(trees.add("head", request.head_commit) / rel))
    from ..services.project import check_imports

    for side in (base, head):  # its settings load, its applications import (exit 2)
        check_imports(side.project)
    return [base, head]


def _plan(matrix: Matrix, sides: list[Side], choices: Choices) -> None:
    """The same plan on both sides, one trial a round: the chosen scenarios, else
    those both versions define (a scenario new in head has nothing to compare with)."""
    names = [s.name for s in sides[1].project.scenarios
             if s.name in {t.name for t in sides[0].project.scenarios}]
    if not names and choices.scenarios is None:
        raise UsageError("loadlab ab: base and head have no scenario in common")
    chosen = replace(choices, scenarios=choices.scenarios or tuple(names), trials=1)
    for side in sides:
        side.plan = build_plan(matrix, chosen, side.project)
    keys = [{c.key for c in s.plan.cells} for s in sides]
    if keys[0] != keys[1]:
        raise UsageError("loadlab ab: base and head plan different cells (their"
                         " loadlab.toml differ): choose --scenarios and --flavors both have")


def _finish(folder: Path, request: Request, sides: list[Side], status: str,
            machine: list[dict[str, Any]], results: Path, outputs: Outputs,
            matrix_thresholds: dict[str, Thresholds]) -> Outcome:
    """Join each side's rounds into one run folder, compare, write ab.json."""
    joined = {}
    for side in sides:
        if side.runs:
            joined[side.name] = join_trials(side.runs, folder / side.name,
                                            {"ab": {"side": side.name, **side.describe()}},
                                            outputs)
    with contextlib.suppress(OSError):
        (folder / "rounds").rmdir()
    comparison, evidence = None, {}
    if status == "complete":  # a round without both sides: nothing is called
        base, head = load_run(joined["base"]), load_run(joined["head"])
        # the floor of the results folder's calibration, as compare finds it for a run
        floor = floor_for(replace(base, path=results / folder.name))
        comparison, evidence = analysis.between_rounds(base, head, floor)
    data = {
        "tool": "loadlab", "kind": "ab", "status": status,
        "finished": now().isoformat(timespec="seconds"),
        "project": request.project.name, "repository": str(request.repo.top),
        "rounds": request.rounds, "order": "ABBA (the first side alternates each round)",
        "base": sides[0].describe(), "head": sides[1].describe(),
        "machine": machine, "method": comparison.method if comparison else None,
        "floor": comparison.min_effect.short if comparison else None,
        "rows": analysis.rows_json(comparison, evidence) if comparison else [],
    }
    write_json(folder / "ab.json", data)
    planned = {c.scenario.name for c in sides[1].plan.cells} if sides[1].plan else set()
    gates = merged(matrix_thresholds, sides[1].project.thresholds)
    return Outcome(folder, status, comparison, data,
                   {name: t for name, t in gates.items() if name in planned})


def _new_folder(results: Path, label: str | None) -> Path:
    """<results>/<stamp>-<label>, never an existing one."""
    base = run_name(now().strftime("%Y%m%d-%H%M%S"), label)
    for n in range(1, 1000):
        folder = results / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"loadlab ab: {results}: no free folder name for {base}")


def _short(commit: str | None) -> str:
    return commit[:10] if commit else "no commit"


def read(folder: Path) -> dict[str, Any] | None:
    """An ab folder's ab.json, or None when `folder` is not one."""
    try:
        return json.loads((folder / "ab.json").read_text())
    except (OSError, ValueError):
        return None


def gate(done: Outcome, pct: float | None) -> list[str]:
    """ab's exit-3 lines: each row and metric head is called slower on (beyond `pct`,
    else beyond the noise floor alone), then each scenario's max_regression_pct that a
    called regression breaks (analysis/thresholds.py, as compare gates)."""
    if done.comparison is None:
        return []
    out = [f"REGRESSION {row.label}: {metric} {row.delta(metric):+.1f}% (p="
           f"{row.verdicts[metric].p_value:.3g}, {row.verdicts[metric].n_a} rounds)"
           for row, metric in analysis.slower(done.comparison, pct or 0.0)]
    for metric in ("rps", "p95"):  # the metrics a scenario's regression gate reads
        out += check_between(done.comparison, done.thresholds, metric)
    return out
