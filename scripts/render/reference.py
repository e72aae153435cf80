"""The command-line reference as Markdown (docs/cli.md): every verb's usage and
arguments. args.py reads them off the parser into these records (`cli_reference`);
this module only writes text, so the reference cannot drift from `--help`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HEADER = ("<!-- Generated from scripts/args.py by `make docs`: edit the parser, not this"
          " file (tests/harness/test_args.py fails when they differ). -->")


@dataclass(frozen=True)
class Argument:
    names: tuple[str, ...]  # `--flag`, `-o, --output`, or a positional's metavar
    value: str  # what follows a flag (a metavar, or choices joined by |); "" for none
    help: str
    default: str | None = None  # None: no default worth saying
    required: bool = False  # a flag that must be given
    optional: bool = False  # a positional that may be left out


@dataclass(frozen=True)
class Verb:
    name: str
    help: str  # the one line `loadlab --help` shows
    usage: str  # argparse's usage, wrapped at a fixed width
    groups: tuple[tuple[str, tuple[Argument, ...]], ...]  # (title, arguments)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(a: Argument) -> str:
    text = a.help
    if a.default is not None and "default" not in text:
        text += f" (default: {a.default})"
    if a.required:
        text = f"required; {text}"
    value = f"`{a.value}`" if a.value else ("optional" if a.optional else "")
    names = ", ".join(f"`{n}`" for n in a.names)
    return f"| {_cell(names)} | {_cell(value)} | {_cell(text)} |"


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith(".") else ".")


def markdown(description: str, verbs: Sequence[Verb]) -> str:
    """The whole reference: an index of the verbs, then a section per verb."""
    out = ["# loadlab command-line reference", "", HEADER, "",
           f"{description} `loadlab <verb> --help` prints one verb's part of this.", "",
           "| verb | what it does |", "|---|---|",
           *[f"| [`{v.name}`](#loadlab-{v.name}) | {_cell(v.help)} |" for v in verbs], ""]
    for v in verbs:
        out += [f"## loadlab {v.name}", "", _sentence(v.help), "", "```", v.usage, "```", ""]
        for title, arguments in v.groups:
            out += [f"{_sentence(title)[:-1]}:", "", "| argument | value | what it does |",
                    "|---|---|---|", *[_row(a) for a in arguments], ""]
    return "\n".join(out)
