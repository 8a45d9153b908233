"""Control characters in text that came from a row: finding them, and showing them escaped.

Ids and names reach a terminal (the `cronmirror` tables) and log lines. A job id holding `ESC]0;…BEL`
retitles the terminal that prints it; a newline prints a fake table row. So text from rows is shown with
every control character escaped (`\\x1b`, `\\n`), while `--json` keeps it exact (JSON escapes them itself).
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
