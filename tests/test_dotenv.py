"""The `.env` parser, on the forms real files use."""

from __future__ import annotations

import pytest

from cronmirror_desktop.core.dotenv import parse_dotenv


def test_the_common_forms() -> None:
    text = (
        "\ufeff# ClawdOS web app\n"
        "VITE_SUPABASE_URL=https://abc.supabase.co\r\n"
        "export VITE_API_BASE_URL = http://127.0.0.1:3737   # the Control API\n"
        "  SINGLE='literal $HOME \\n # not a comment'\n"
        'DOUBLE="tab\\tnew\\nline \\"quoted\\" \\\\ # kept"  # comment\n'
        "TICKS=`x y`\n"
        "EMPTY=\n"
        "EMPTY_QUOTED=''\n"
        "HASH_IN_VALUE=abc#def\n"
        "\n"
        "   # indented comment\n"
        "DUP=first\n"
        "DUP=second\n"
    )
    parsed = parse_dotenv(text)
    assert parsed.problems == []
    assert parsed.values == {
        "VITE_SUPABASE_URL": "https://abc.supabase.co",
        "VITE_API_BASE_URL": "http://127.0.0.1:3737",
        "SINGLE": "literal $HOME \\n # not a comment",
        "DOUBLE": 'tab\tnew\nline "quoted" \\ # kept',
        "TICKS": "x y",
        "EMPTY": "",
        "EMPTY_QUOTED": "",
        "HASH_IN_VALUE": "abc#def",
        "DUP": "second",
    }


def test_multi_line_quoted_values() -> None:
    parsed = parse_dotenv('KEY="-----BEGIN-----\nline two\n-----END-----"\nNEXT=1\n')
    assert parsed.values == {"KEY": "-----BEGIN-----\nline two\n-----END-----", "NEXT": "1"}
    assert parsed.problems == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("just some words\nOK=1", "line 1: expected NAME=value"),
        ("OK=1\n=no-name", "line 2: expected NAME=value"),
        ("1BAD=x", "line 1: expected NAME=value"),
        (
            "SECRET_KEY='eyJ-unterminated\nOTHER=1",
            "line 1: SECRET_KEY has an opening ' without a closing one",
        ),
        ('SECRET_KEY="eyJ" trailing', "line 1: SECRET_KEY has text after its closing quote (ignored)"),
    ],
)
def test_problems_name_the_line_and_never_the_value(text: str, problem: str) -> None:
    parsed = parse_dotenv(text)
    assert problem in parsed.problems
    for line in parsed.problems:
        assert "eyJ" not in line


def test_good_lines_survive_bad_neighbours() -> None:
    parsed = parse_dotenv("garbage line\nSUPABASE_URL=https://a.supabase.co\n")
    assert parsed.values == {"SUPABASE_URL": "https://a.supabase.co"}
    assert len(parsed.problems) == 1
