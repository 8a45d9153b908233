"""A `.env` parser for the files people already have (the ClawdOS web app's, a worker's).

Understands what those files use: `NAME=value`, an `export ` prefix, `#` comment lines and ` # ` comments
after unquoted values, single quotes (literal), double quotes (with `\\n`, `\\t`, `\\"`, `\\\\` escapes, may
span lines), and backticks (literal). Variable expansion (`${OTHER}`) is not done: the value is kept as
written. Problems are reported per line by line number and name only, because values may be secrets.

Why not python-dotenv's `dotenv_values` (measured with python-dotenv 1.x on this module's tests): it drops
a line it cannot parse and only logs "could not parse statement starting at line N" — an unterminated
quote loses that secret, and `SECRET="eyJ" trailing` loses a value we keep with a warning — so the import
dialog could not tell the user which variable was left out and why. It also keeps backticks as part of
the value and accepts names like `1BAD`. Everything else (export, comments, quotes, escapes, multi-line
values, BOM) it parses exactly as this module does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


@dataclass
class DotenvParse:
    """Names in file order (a later duplicate wins, as in a shell) and the problems found."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_dotenv(text: str) -> DotenvParse:
    result = DotenvParse()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    index = 0
    while index < len(lines):
        line_no = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        match = _NAME.match(line)
        rest = line[match.end() :].lstrip() if match else ""
        if not match or not rest.startswith("="):
            result.problems.append(f"line {line_no}: expected NAME=value")
            continue
        name = match.group(0)
        raw = rest[1:].lstrip()
        if raw[:1] in {"'", '"', "`"}:
            quote = raw[0]
            body = raw[1:]
            value, after, consumed = _read_quoted(body, quote, lines, index)
            if value is None:
                result.problems.append(f"line {line_no}: {name} has an opening {quote} without a closing one")
                index = len(lines)
                continue
            index += consumed
            after = after.strip()
            if after and not after.startswith("#"):
                result.problems.append(f"line {line_no}: {name} has text after its closing quote (ignored)")
            result.values[name] = value
        else:
            result.values[name] = _strip_inline_comment(raw)
    return result


def _read_quoted(body: str, quote: str, lines: list[str], next_index: int) -> tuple[str | None, str, int]:
    """(value, text after the closing quote, extra lines consumed); value None when never closed."""
    out: list[str] = []
    consumed = 0
    text = body
    while True:
        position = 0
        while position < len(text):
            char = text[position]
            if quote == '"' and char == "\\" and position + 1 < len(text):
                following = text[position + 1]
                out.append(_ESCAPES.get(following, "\\" + following))
                position += 2
                continue
            if char == quote:
                return "".join(out), text[position + 1 :], consumed
            out.append(char)
            position += 1
        if next_index + consumed >= len(lines):
            return None, "", consumed
        out.append("\n")
        text = lines[next_index + consumed]
        consumed += 1


def _strip_inline_comment(raw: str) -> str:
    for position, char in enumerate(raw):
        if char == "#" and (position == 0 or raw[position - 1] in " \t"):
            return raw[:position].rstrip()
    return raw.rstrip()
