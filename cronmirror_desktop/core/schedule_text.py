"""Human-readable schedules ("Every 30 minutes", "At 07:00, Monday through Friday") for the table and CLI.

Cron text comes from cron-descriptor in English with a 24-hour clock, so it reads the same on every machine.
`describe` raises InvalidSchedule like `next_runs`; `try_describe` never raises (it shows the raw text).
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from cron_descriptor import ExpressionDescriptor, Options

from cronmirror_desktop.core.schedule import (
    AT,
    CALENDAR,
    CALENDAR_SEPARATOR,
    CRON,
    EVENT,
    EVERY,
    InvalidSchedule,
    Schedule,
    every_ms,
    expand_cron,
    next_runs,
    resolve_zone,
)
from cronmirror_desktop.core.timetext import interval
from cronmirror_desktop.core.timeutil import parse_iso

_UNITS = (
    (7 * 86_400_000, "week"),
    (86_400_000, "day"),
    (3_600_000, "hour"),
    (60_000, "minute"),
    (1_000, "second"),
    (1, "millisecond"),
)

#: What the trigger of an `event` schedule means, in words.
EVENT_TEXT = {
    "@reboot": "At startup (@reboot)",
    "RunAtLoad": "When loaded (at login or boot)",
    "KeepAlive": "Kept running by launchd",
    "WatchPaths": "When a watched path changes",
    "QueueDirectories": "When a queue directory is not empty",
    "StartOnMount": "When a file system is mounted",
    "on demand": "Only when started by hand",
}


def describe_every(interval_ms: int) -> str:
    """1800000 → "Every 30 minutes": the largest unit that divides the interval exactly."""
    for size, unit in _UNITS:
        if interval_ms % size == 0:
            n = interval_ms // size
            return f"Every {unit}" if n == 1 else f"Every {n} {unit}s"
    return f"Every {interval_ms} milliseconds"  # pragma: no cover - the 1 ms unit always divides


def describe_cron(expr: str) -> str:
    """ "0 7 * * 1-5" → "At 07:00, Monday through Friday" (macros are expanded first)."""
    expanded = expand_cron(expr)
    options = Options(use_24hour_time_format=True, locale_code="en_US")
    try:
        return str(ExpressionDescriptor(expanded, options).get_description())
    except Exception as exc:  # cron-descriptor raises its own zoo of types for odd input
        raise InvalidSchedule(f"cannot describe cron expression {expr!r}: {exc}") from exc


def describe(schedule: Schedule, *, default_tz: tzinfo | str | None = None, with_tz: bool = False) -> str:
    """One line for a person. `with_tz` appends the zone of a cron schedule ("…, Europe/Berlin time")."""
    kind = schedule.kind
    if kind in (CRON, CALENDAR):
        resolve_zone(schedule.tz, default_tz)  # an unknown zone is an error here too, not a silent UTC
        expr = schedule.expr or ""
        parts = [expr] if kind == CRON else [p for p in expr.split(CALENDAR_SEPARATOR.strip()) if p.strip()]
        text = "; ".join(describe_cron(p) for p in parts or [""])
        if with_tz:
            text += f" ({schedule.tz or 'local'} time)"
        return text
    if kind == EVERY:
        return describe_every(every_ms(schedule.expr))
    if kind == AT:
        next_runs(schedule, count=0)  # validates the ISO text
        zone = resolve_zone(schedule.tz, default_tz)
        when = parse_iso(schedule.expr or "", UTC).astimezone(zone)
        fmt = "%Y-%m-%d %H:%M:%S %Z" if when.second else "%Y-%m-%d %H:%M %Z"
        return f"Once, at {when.strftime(fmt)}"
    if kind == EVENT:
        return EVENT_TEXT.get(schedule.expr or "", f"On {schedule.expr or 'an event'}")
    raise InvalidSchedule(f"unknown schedule kind {kind!r}")


def try_describe(schedule: Schedule, *, default_tz: tzinfo | str | None = None, with_tz: bool = False) -> str:
    """`describe` that never raises: the raw kind and expression, marked, when they cannot be described."""
    try:
        return describe(schedule, default_tz=default_tz, with_tz=with_tz)
    except InvalidSchedule as exc:
        raw = " ".join(x for x in (schedule.kind, schedule.expr) if x)
        return f"{raw} (not understood: {exc.message})" if raw else f"(no schedule: {exc.message})"


def expression_text(kind: str | None, expr: str | None) -> str:
    """The schedule as stored, for people who read cron, with an `every` interval in words: "cron 0 7 *
    * 1-5", "every 30 min" (the mirror stores 1800000 milliseconds), "at 2026-12-24T17:00:00.000Z"."""
    if kind is None:
        return "—"
    if kind == EVERY:
        try:
            return f"every {interval(every_ms(expr))}"
        except InvalidSchedule:
            pass
    return f"{kind} {expr or ''}".strip()
