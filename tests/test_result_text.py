"""What a job printed, made storable and free of secrets: properties over any text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from cronmirror_desktop.core.text import storable_text
from worker.redact import REDACTED, Redactor

UNSAFE = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


@given(st.text())
def test_storable_text_has_no_control_character_and_is_stable(text: str) -> None:
    safe = storable_text(text)
    assert not UNSAFE & set(safe)
    assert storable_text(safe) == safe
    safe.encode("utf-8")  # no lone surrogate: every UTF-8 store takes it
    assert "\\u0000" not in json.dumps(safe)  # what PostgreSQL's jsonb refuses


def test_storable_text_keeps_tabs_and_newlines_and_shows_the_rest() -> None:
    assert storable_text("a\tb\nc") == "a\tb\nc"
    assert storable_text("line\r\nnext\rover") == "line\nnext\nover"
    assert storable_text("\x00\x1b[31mred\x07") == "\u2400\u241b[31mred\u2407"
    assert storable_text("\x7f\x9b\ud800") == "\ufffd\ufffd\ufffd"


@given(st.text(min_size=8, max_size=80), st.text(), st.text())
def test_a_held_secret_never_survives_redaction(secret: str, before: str, after: str) -> None:
    redacted = Redactor([secret])(before + secret + after)
    assert secret not in redacted


def test_short_values_are_not_secrets_and_a_cut_secret_is_still_redacted() -> None:
    assert Redactor(["abc"])("abc abc") == "abc abc"
    secret = "s3cr3t-value-0123456789"
    assert Redactor([secret])(secret[-9:] + " rest") == REDACTED + " rest"
    assert Redactor([secret])(secret[-5:] + " rest") == secret[-5:] + " rest"  # too short to tell
