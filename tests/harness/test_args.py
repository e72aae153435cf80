"""The command line's grammar as its readers meet it: docs/cli.md is generated from the
parser (`make docs`) and must be the text the parser gives today, and README.md's verb
table names every verb the parser has, and no other."""

from __future__ import annotations

import difflib
import re

import pytest

from scripts.args import build_parser, cli_reference, verbs
from scripts.paths import ROOT

REFERENCE = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"


def test_docs_cli_md_is_the_reference_the_parser_gives_today():
    """A flag added, renamed or re-worded in scripts/args.py without `make docs` fails
    here, naming the first lines that differ and the fix."""
    written = REFERENCE.read_text() if REFERENCE.is_file() else ""
    generated = cli_reference()
    if written != generated:
        diff = "\n".join(list(difflib.unified_diff(
            written.splitlines(), generated.splitlines(), "docs/cli.md",
            "scripts/args.py cli_reference()", lineterm="", n=0))[:20])
        pytest.fail(f"docs/cli.md differs from the parser: run `make docs`\n{diff}")


def test_the_reference_holds_every_verb_and_every_flag_of_each():
    text = cli_reference()
    for name, (parser, _) in verbs().items():
        section = text.split(f"\n## loadlab {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"usage: loadlab {name} " in section, name
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in section, (name, flag)


def test_the_reference_does_not_depend_on_the_terminal(monkeypatch):
    """argparse wraps usage at the terminal's width; the reference wraps at its own."""
    monkeypatch.setenv("COLUMNS", "40")
    narrow = cli_reference()
    monkeypatch.setenv("COLUMNS", "250")
    assert cli_reference() == narrow


def test_verbs_are_the_parsers_in_help_order():
    listed = re.search(r"\{([a-z,]+)\}", build_parser().format_usage()).group(1)
    assert list(verbs()) == listed.split(",")


def test_the_readme_verb_table_names_every_verb_and_no_other():
    """README.md's table rows that start with `loadlab <verb>` are its verb table."""
    named = re.findall(r"^\| `loadlab ([a-z-]+)`", README.read_text(), flags=re.M)
    assert sorted(named) == sorted(verbs()), (
        "README.md's verb table and the parser disagree: add or remove its rows"
        f" (README: {sorted(named)}; parser: {sorted(verbs())})")
    assert len(named) == len(set(named)), named
