"""Tolerant reading of single values from JSON another program wrote (the Control API, a gateway, a row).

Each function returns the value when it is a clean value of its type and None for anything else, never
raising: a field that is missing, of the wrong type or out of range is simply not known. Callers that must
say *why* a value was refused (the mirror's rows) record that themselves.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any


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
