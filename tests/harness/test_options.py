"""The command line's value types: a flag's text into its value, or argparse's one line
(which args.Parser turns into exit 2)."""

from __future__ import annotations

import argparse

import pytest

from scripts.options import positive_list


def test_a_list_of_whole_numbers_keeps_its_order():
    assert positive_list(int)("10,50,5") == (10, 50, 5)


def test_a_list_of_numbers_reads_fractions():
    assert positive_list(float)("20,0.5") == (20.0, 0.5)


@pytest.mark.parametrize(("kind", "text", "message"), [
    (int, "0", "expected numbers >= 1, got '0'"),
    (int, "10,-1", "expected numbers >= 1, got '10,-1'"),
    (int, "1.5", "expected whole numbers, got '1.5'"),
    (int, "10,", "expected whole numbers, got '10,'"),
    (float, "0", "expected numbers > 0, got '0'"),
    (float, "20,inf", "expected numbers > 0, got '20,inf'"),
    (float, "nan", "expected numbers > 0, got 'nan'"),
    (float, "fast", "expected numbers, got 'fast'"),
])
def test_a_bad_list_is_one_line_naming_what_was_expected(kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        positive_list(kind)(text)
    assert str(caught.value) == message


def test_the_parser_turns_a_bad_list_into_a_usage_error():
    from scripts.args import build_parser
    from scripts.errors import UsageError

    with pytest.raises(UsageError, match=r"--users: expected numbers >= 1, got '0'"):
        build_parser().parse_args(["bench", "--users", "0"])
