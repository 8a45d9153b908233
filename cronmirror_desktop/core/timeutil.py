"""Instants as the mirror stores them: timezone-aware UTC, epoch milliseconds, and JavaScript-style ISO text.

The gateway speaks epoch milliseconds and `Date.toISOString()`; Postgres speaks timestamptz. Converting in one
place keeps every row byte-identical from sync to sync, which is what lets the sync loop skip unchanged rows.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from typing import Any

#: Epoch milliseconds outside this range are garbage (year < 1970 or > 9999), not instants.
_MAX_MS = 253_402_300_799_999

#: The instants a row may hold. PostgreSQL accepts 'infinity', years up to 294276 and BC dates; Python
#: cannot represent most of them, and near year 9999 adding an hour or changing the zone overflows. A time
#: outside [1970, 9999) is a problem of its row, never an exception in a reader.
MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def utc_from_ms(value: object) -> datetime | None:
    """Epoch milliseconds (int or float, as JSON gives them) → aware UTC datetime; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not 0 <= value <= _MAX_MS:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def ms_from_dt(value: datetime) -> int:
    """Aware datetime → epoch milliseconds (floored, like `Date.now()`)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: attach a time zone first")
    return math.floor(value.timestamp() * 1000)


def iso_z(value: datetime) -> str:
    """`2026-01-27T16:00:00.000Z`, exactly what JavaScript's `toISOString()` prints for the same instant."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: attach a time zone first")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str, default_tz: tzinfo | None = None) -> datetime:
    """ISO 8601 text → aware UTC datetime. A naive value is read in `default_tz` (ValueError without one)."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        if default_tz is None:
            raise ValueError(f"{text!r} has no UTC offset")
        value = value.replace(tzinfo=default_tz)
    return value.astimezone(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Normalise an aware datetime to UTC (None passes through); naive ones are refused, never guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: attach a time zone first")
    return value.astimezone(UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from an ISO string, a datetime or epoch milliseconds.

    Raises ValueError for anything else; naive values are taken as UTC (PostgREST always sends offsets).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    elif isinstance(value, int | float):
        parsed = datetime.fromtimestamp(value / 1000, tz=UTC)
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def in_range(value: datetime) -> bool:
    """True for an instant the app can show and compute with (see MIN_INSTANT/MAX_INSTANT)."""
    return MIN_INSTANT <= value < MAX_INSTANT


def format_timestamp(value: datetime | None) -> str | None:
    """The wire form of a timestamp: ISO 8601 in UTC with microseconds (sorts as text, too)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")
