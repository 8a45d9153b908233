"""Text a job printed, made safe to store and show: no byte can make a store refuse it or drive a terminal.

PostgreSQL's jsonb refuses `\\u0000`, so one NUL in a job's output used to lose its whole result; ESC and
the C1 controls (CSI, OSC) are terminal commands, not text. Tab and newline stay; CR-LF becomes LF and a
lone CR (a progress bar redrawing its line) a newline; every other control character becomes its visible
Unicode "control picture" (NUL → ␀, ESC → ␛) or, for DEL and C1, U+FFFD. Unpaired surrogates (which no
UTF-8 store accepts) become U+FFFD as well.
"""

from __future__ import annotations

import re

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
