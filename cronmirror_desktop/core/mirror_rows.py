"""The one normal form of a mirror row that both stores write, so they store the same thing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cronmirror_desktop.core.errors import InvalidRow
from cronmirror_desktop.core.rows import (
    MAX_HOST,
    MAX_SHORT_TEXT,
    MAX_TEXT,
    MIRROR_COLUMNS,
    MIRROR_SOURCES,
    short,
)
from cronmirror_desktop.core.timeutil import format_timestamp, parse_timestamp

_TIMESTAMP_COLUMNS = frozenset({"next_run_at", "last_run_at"})
_DEFAULTS: dict[str, Any] = {"enabled": True}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def normalize_mirror_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """All of MIRROR_COLUMNS (missing ones at their defaults), timestamps as ISO UTC text.

    Raises InvalidRow for a row no store could accept (no job id or name, a column that is not
    a mirror column, an unreadable timestamp): the worker reports that instead of writing it.
    """
    unknown = set(row) - set(MIRROR_COLUMNS)
    if unknown:
        raise InvalidRow(f"not mirror columns: {', '.join(sorted(unknown))}")
    job_id, name = row.get("job_id"), row.get("name")
    if not isinstance(job_id, str) or not job_id:
        raise InvalidRow(f"mirror row without a job id: {short(dict(row))}")
    if not isinstance(name, str) or not name:
        raise InvalidRow(f"mirror row {short(job_id)} without a name")
    normal: dict[str, Any] = {}
    for column in MIRROR_COLUMNS:
        value = row.get(column, _DEFAULTS.get(column))
        if column in _TIMESTAMP_COLUMNS:
            try:
                value = format_timestamp(parse_timestamp(value))
            except (ValueError, OverflowError, OSError) as exc:
                raise InvalidRow(f"{column} of job {short(job_id)} is not a time: {short(value)}") from exc
        elif column == "enabled":
            value = bool(value)
        elif column == "source":
            if value is not None and value not in MIRROR_SOURCES:
                raise InvalidRow(f"source of job {short(job_id)} is not one of {', '.join(MIRROR_SOURCES)}")
        elif column == "host":
            value = value or None
            if value is not None and (
                not isinstance(value, str) or len(value) > MAX_HOST or _CONTROL.search(value)
            ):
                raise InvalidRow(f"host of job {short(job_id)} is not a host name: {short(value)}")
        elif isinstance(value, str):
            # The same caps readers apply (rows.py), so what is written reads back identical.
            value = value[: MAX_TEXT if column == "instructions" else MAX_SHORT_TEXT]
        normal[column] = value
    return normal
