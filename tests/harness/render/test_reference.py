"""render/reference.py: the command-line reference's Markdown from plain records."""

from __future__ import annotations

from scripts.render.reference import Argument, Verb, markdown


def _one(*arguments: Argument) -> str:
    verb = Verb("bench", "run the plan", "usage: loadlab bench [-h]",
                (("options", arguments),))
    return markdown("Measure.", [verb])


def test_a_verb_is_indexed_then_has_its_usage_and_a_table_of_arguments():
    text = _one(Argument(("--users",), "USERS", "Locust users"))
    assert "| [`bench`](#loadlab-bench) | run the plan |" in text
    assert "## loadlab bench\n\nRun the plan.\n\n```\nusage: loadlab bench [-h]\n```" in text
    assert "Options:\n\n| argument | value | what it does |" in text
    assert "| `--users` | `USERS` | Locust users |" in text


def test_choices_and_text_with_a_pipe_keep_the_table_whole():
    text = _one(Argument(("--db",), "sqlite|postgres", "a | b"))
    assert "| `--db` | `sqlite\\|postgres` | a \\| b |" in text


def test_a_default_is_said_once_and_a_required_flag_says_so():
    text = _one(Argument(("--port",), "PORT", "server port", default="8000"),
                Argument(("--web",), "W", "where (default: 1)", default="1"),
                Argument(("--older-than",), "DAYS", "runs older", required=True),
                Argument(("DIR",), "", "the folder", optional=True))
    assert "| `--port` | `PORT` | server port (default: 8000) |" in text
    assert "| `--web` | `W` | where (default: 1) |" in text
    assert "| `--older-than` | `DAYS` | required; runs older |" in text
    assert "| `DIR` | optional | the folder |" in text
