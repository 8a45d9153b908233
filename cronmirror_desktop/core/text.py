"""Control characters in text another program wrote: finding them, showing them escaped, storing them safely.

Ids and names reach a terminal (the `cronmirror` tables) and log lines. A job id holding `ESC]0;…BEL`
retitles the terminal that prints it; a newline prints a fake table row. So text from rows is shown with
every control character escaped (`\\x1b`, `\\n`), while `--json` keeps it exact (JSON escapes them itself).

What a job printed is made storable before it is reported (`storable_text`): PostgreSQL's jsonb refuses
`\\u0000`, so one NUL used to lose a whole result, and ESC and the C1 controls are terminal commands, not
text. Tab and newline stay; CR-LF becomes LF and a lone CR (a progress bar redrawing its line) a newline;
every other control character becomes its visible Unicode "control picture" (NUL → ␀, ESC → ␛) or, for
DEL and C1, U+FFFD. Unpaired surrogates (which no UTF-8 store accepts) become U+FFFD as well.
"""

from __future__ import annotations

import re

#: C0 controls, DEL and C1 controls: the characters that steer a terminal instead of printing.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as an escape, so printing it cannot steer a terminal.

    `keep_newlines` leaves `\\n` (and tabs) as they are, for multi-line output such as a job's own output.
    """
    if keep_newlines:
        return CONTROL_CHARACTERS.sub(lambda m: m.group() if m.group() in "\n\t" else _escape(m), text)
    return CONTROL_CHARACTERS.sub(_escape, text)


_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"}
_TRANSLATION: dict[int, str] = {
    **_CONTROL_PICTURES,
    0x7F: "\N{REPLACEMENT CHARACTER}",
    **{code: "\N{REPLACEMENT CHARACTER}" for code in range(0x80, 0xA0)},
    **{code: "\N{REPLACEMENT CHARACTER}" for code in range(0xD800, 0xE000)},
}
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with line endings normalised and every unsafe character replaced (see the module docstring).

    Cheap for the common case: text without unsafe characters is returned as it is.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _UNSAFE.search(text) is None:
        return text
    return text.translate(_TRANSLATION)
