"""The worked CI example (examples/github-actions/loadlab-ab.yml) runs commands that
exist: each `loadlab` invocation in its `run:` steps parses with the real parser (a
renamed flag would fail a team's CI silently until their next pull request), and each
`make` target it calls is one of loadlab's Makefile."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from scripts.args import build_parser

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "loadlab-ab.yml"


def run_commands(text: str) -> list[str]:
    """Each shell line of every `run:` step (one-line or `run: |` blocks)."""
    commands, block_indent = [], None
    for line in text.splitlines():
        if block_indent is not None:
            if line.strip() and len(line) - len(line.lstrip()) >= block_indent:
                commands.append(line.strip())
                continue
            block_indent = None
        found = re.match(r"^(\s*)(?:- )?run: (.*)$", line)
        if found is None:
            continue
        if found.group(2).strip() == "|":
            block_indent = len(found.group(1)) + 2
        else:
            commands.append(found.group(2).strip())
    return commands


def loadlab_argv(command: str) -> list[str] | None:
    """The arguments after the loadlab executable, or None for another command."""
    words = shlex.split(command.split(" || ")[0])
    for i, word in enumerate(words):
        if Path(word).name == "loadlab":
            return words[i + 1:]
    return None


def test_the_workflow_runs_ab_on_pull_requests_against_main():
    text = WORKFLOW.read_text()
    assert "pull_request:" in text and "branches: [main]" in text
    assert "fetch-depth: 0" in text  # ab's worktree of main needs main's commits
    assert "actions/upload-artifact" in text and "ab-results/" in text


def test_its_loadlab_commands_parse_with_the_real_parser():
    invocations = [argv for c in run_commands(WORKFLOW.read_text())
                   if (argv := loadlab_argv(c)) is not None]
    assert invocations, "the workflow runs no loadlab command"
    for argv in invocations:
        args = build_parser().parse_args(argv)  # UsageError (a failed test) if wrong
        assert args.command == "ab"
        assert args.base == "main" and args.head is None  # head: the PR's own tree
        assert args.rounds >= 2 and str(args.results) == "ab-results"


def test_its_make_targets_are_loadlabs():
    targets = set(re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), re.M))
    called = [c for c in run_commands(WORKFLOW.read_text()) if c.startswith("make ")]
    assert called
    for command in called:
        assert shlex.split(command)[-1] in targets, command


def test_the_reader_finds_block_and_one_line_steps():
    text = "steps:\n  - run: echo a\n  - name: x\n    run: |\n      echo b\n      echo c\n"
    assert run_commands(text) == ["echo a", "echo b", "echo c"]
