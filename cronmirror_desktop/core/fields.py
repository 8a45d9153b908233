"""Tolerant reading of values from JSON another program wrote (the Control API, a gateway, a mirror row).

Nothing read here is trusted and nothing here raises. The `*_or_none` functions return a clean value of
their type or None (a field that is missing, of the wrong type or out of range is simply not known).
`FieldReader` reads a whole row and also says *why* a value was refused, in the row's `problems`
(core/rows.py shows such rows as invalid instead of dropping them). Bounds live here too: text length,
number range, JSON depth.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cronmirror_desktop.core.text import has_control_characters
from cronmirror_desktop.core.timeutil import in_range, parse_timestamp

#: Longest text kept from a row; a longer value is cut and the row says so.
MAX_TEXT = 64 * 1024
MAX_SHORT_TEXT = 1024
#: Longest text `FieldReader.text(shared=True)` interns (longer ones are kept as they are).
MAX_SHARED = 128
#: Output tails are shown, never stored whole (the worker keeps the last 4000 characters).
MAX_TAIL = 4000
#: Deepest JSON a row's `result` may be. Ours and ClawdOS's are flat; far deeper would break the JSON parser
#: (RecursionError near 1,000 levels), pydantic's (about 250) and its serializer, so it is refused here.
MAX_JSON_DEPTH = 64
#: Largest whole number a row may hold (JavaScript's safe integers; also fits a Qt sort value).
MAX_NUMBER = 2**53 - 1


def text_or_none(value: Any) -> str | None:
    """Non-empty text, else None."""
    return value if isinstance(value, str) and value != "" else None


def int_or_none(value: Any) -> int | None:
    """A whole number (an integral float counts; a bool does not), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def iso_or_none(value: Any) -> datetime | None:
    """An aware datetime from ISO 8601 text (`Z` allowed; no offset means UTC), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def short(value: Any, limit: int = 60) -> str:
    """A value quoted for an error message, cut to `limit` characters (and never a 5,000-digit number)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**limit:
        return f"a {len(str(abs(value) // 10**limit)) + limit}-digit number"
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when decoded JSON nests lists/objects more than `limit` levels (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                pending.append((child, depth + 1))
    return False


def loads_bounded(text: str) -> Any:
    """`json.loads` that refuses nesting deeper than MAX_JSON_DEPTH with a ValueError of its own.

    The C decoder raises RecursionError near the interpreter's recursion limit; deeper JSON that still
    decodes would later break pydantic's serializer. Both become `TooDeep`."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep from None
    if isinstance(value, dict | list) and too_deep(value):
        raise TooDeep
    return value


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


class FieldReader:
    """Collects coerced fields and the problems found while coercing them."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[str] = []

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        limit: int = MAX_SHORT_TEXT,
        plain: bool = False,
        shared: bool = False,
    ) -> str | None:
        """Text as it is (cut to `limit`); `plain` text (ids) must hold no control characters either.
        `shared`: a value many rows repeat (a kind, a zone, a status, a host): every row gets the same
        string object (interned) instead of one copy each, 10,000 copies at 10,000 jobs."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.problems.append(f"{key} is missing")
            return None
        if not isinstance(value, str):
            self.problems.append(f"{key} is not text: {short(value)}")
            value = as_text(value)
        if "\x00" in value:
            self.problems.append(f"{key} contains NUL characters")
            value = value.replace("\x00", "\N{REPLACEMENT CHARACTER}")
        if len(value) > limit:
            self.problems.append(
                f"{key} is too long ({len(value):,} characters); showing the first {limit:,}"
            )
            value = value[:limit]
        if plain and has_control_characters(value):
            self.problems.append(f"{key} contains control characters: {short(value)}")
        if shared and len(value) <= MAX_SHARED:
            value = sys.intern(value)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key)
        if isinstance(value, bool):
            return value
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        if isinstance(value, str) and value.lower() in {"true", "false", "t", "f", "1", "0"}:
            return value.lower() in {"true", "t", "1"}
        self.problems.append(f"{key} is not true/false: {short(value)}")
        return default

    def integer(self, key: str, *, minimum: int | None = None, maximum: int = MAX_NUMBER) -> int | None:
        value = self.raw.get(key)
        if value is None:
            return None
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            self.problems.append(f"{key} is not a whole number: {short(value)}")
            return None
        if minimum is not None and number < minimum:
            self.problems.append(f"{key} is negative: {short(number)}")
            return None
        if abs(number) > maximum:
            self.problems.append(f"{key} is out of range: {short(number)}")
            return None
        return number

    def timestamp(self, key: str, *, required: bool = False) -> datetime | None:
        value = self.raw.get(key)
        try:
            parsed = parse_timestamp(value)
        except (ValueError, OverflowError, OSError):
            # Also PostgreSQL's 'infinity', '-infinity', years past 9999 and BC dates.
            self.problems.append(f"{key} is not a valid time: {short(value)}")
            return None
        if parsed is None:
            if required:
                self.problems.append(f"{key} is missing")
            return None
        if not in_range(parsed):
            self.problems.append(f"{key} is out of range: {short(value)}")
            return None
        return parsed

    def json_object(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """(object, None) for a JSON object; (None, text) when the value is something else."""
        value = self.raw.get(key)
        if value is None:
            return None, None
        if isinstance(value, str):
            try:
                decoded = loads_bounded(value)
            except TooDeep:
                self.problems.append(f"{key} too deeply nested (over {MAX_JSON_DEPTH} levels); not shown")
                return None, None
            except ValueError:
                decoded = value
            if decoded is None:  # JSON null
                return None, None
            value = decoded
        elif isinstance(value, dict | list) and too_deep(value):
            self.problems.append(f"{key} too deeply nested (over {MAX_JSON_DEPTH} levels); not shown")
            return None, None
        if isinstance(value, dict):
            return value, None
        self.problems.append(f"{key} is not a JSON object but {type(value).__name__}: {short(value)}")
        return None, as_text(value)[:MAX_TAIL]

    def result_number(self, result: Mapping[str, Any], key: str, valid: range | None = None) -> None:
        """Check a number the app reads from a result (durationMs, exitCode): a problem when unusable."""
        if key not in result or result[key] is None:
            return
        if result_number(result, key, valid) is None:
            value = result[key]
            whole = isinstance(value, int | float) and not isinstance(value, bool)
            what = "is out of range" if whole else "is not a whole number"
            self.problems.append(f"result.{key} {what}: {short(value)}")


def as_text(value: Any) -> str:
    """Any decoded JSON value as text (for a field that should have been text)."""
    if isinstance(value, dict | list):
        try:
            return json.dumps(value, default=str)
        except (RecursionError, ValueError):
            return f"<{type(value).__name__}>"
    try:
        return str(value)
    except ValueError:  # an int too long to print
        return short(value)


def result_number(result: Mapping[str, Any] | None, key: str, valid: range | None = None) -> int | None:
    """`result[key]` as a whole number within `valid`, else None. Without `valid`: a duration, 0..MAX_NUMBER,
    which may be fractional (JavaScript numbers); with it (exit codes) only integers count."""
    value = (result or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or (valid is not None and not value.is_integer()):
            return None
        value = int(value)
    return value if value in (valid if valid is not None else range(MAX_NUMBER + 1)) else None
