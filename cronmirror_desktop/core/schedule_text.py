"""Human-readable schedules ("Every 30 minutes", "At 07:00, Monday through Friday") for the table and CLI.

Cron text comes from cron-descriptor in English with a 24-hour clock, so it reads the same on every machine.
It reads day-of-month and day-of-week as the textbook does (OR when both are restricted), so each dialect
first says what really runs: a gateway `0 0 15 * ?` runs every day (croner), `+MON` and cron(8)'s
`*/3 * WED` combine the day fields with AND ("..., but only on Wednesday"). What cron-descriptor cannot
say faithfully (`5L` in day-of-month, `5-6#L`, cron(8)'s random `~`) is shown as the expression itself.
`describe` raises InvalidSchedule like `next_runs`; `try_describe` never raises (it shows the raw text).
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo

from cron_descriptor import ExpressionDescriptor, Options

from cronmirror_desktop.core import cronie
from cronmirror_desktop.core.schedule import (
    AT,
    CALENDAR,
    CALENDAR_SEPARATOR,
    CRON,
    CRON_DIALECT,
    EVENT,
    EVERY,
    GATEWAY_DIALECT,
    InvalidSchedule,
    Schedule,
    every_ms,
    expand_cron,
    gateway_pattern,
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


def describe_cron(expr: str, dialect: str = GATEWAY_DIALECT) -> str:
    """ "0 7 * * 1-5" → "At 07:00, Monday through Friday", as the dialect's scheduler runs it."""
    if dialect == GATEWAY_DIALECT:
        return _describe_gateway(expr)
    expanded = expand_cron(expr, CRON_DIALECT)
    pattern = cronie.parse(expanded)
    if pattern.random:
        return f"Cron {expanded} (cron picks the '~' times at random)"
    fields = expanded.split(" ")
    if pattern.day_and and "*" not in (fields[2], fields[4]):  # e.g. "*/3 ... WED": cron(8) ANDs them
        return _and_days(fields, 2, 4)
    return _descriptor(expanded, expr)


def _describe_gateway(expr: str) -> str:
    pattern = gateway_pattern(expr)
    second, minute, hour, dom, month, dow, year = pattern.fields
    dom_all = len(pattern.days) == 31
    dow_all = all(mask == 0b111111 for mask in pattern.weekdays)
    if pattern.last_day or pattern.last_weekday:
        if dom:
            return _raw(expr)  # "5L" = the 5th and the last day: more than cron-descriptor can say
        dom = "LW" if pattern.last_weekday else "L"
        dom_all = False
    dow_items = dow.split(",")
    if any(("#" in item or item.upper().endswith("L")) for item in dow_items):
        single = re.fullmatch(r"([0-7])(?:#([1-5])|#?([Ll]))", dow)
        if single is None:
            return _raw(expr)
        dow = f"{single.group(1)}L" if single.group(3) else dow
    if "W" in dom.upper() and not re.fullmatch(r"[0-9]+[Ww]|LW", dom):
        return _raw(expr)
    and_days = pattern.and_logic or pattern.star_dom or pattern.star_dow
    if (dom_all and dow_all) or (not and_days and (dom_all or dow_all)):
        dom, dow = "*", "*"  # every day, whatever the fields look like ("15 * ?" in croner)
    elif and_days and dom_all:
        dom = "*"
    elif and_days and dow_all:
        dow = "*"
    fields = _trimmed([second, minute, hour, dom, month, dow, year])
    if pattern.and_logic and "*" not in (dom, dow):
        return _and_days(fields, *((2, 4) if len(fields) == 5 else (3, 5)))
    return _descriptor(" ".join(fields), expr)


def _trimmed(fields: list[str]) -> list[str]:
    """Seven croner fields → five when the seconds are 0 and the year is any (reads more naturally)."""
    if fields[0] == "0" and fields[6] == "*":
        return fields[1:6]
    return fields if fields[6] != "*" else fields[:6]


def _and_days(fields: list[str], dom_index: int, dow_index: int) -> str:
    """Both day fields restricted and combined with AND: "…, on day 1 of the month, but only on Monday"."""
    base = list(fields)
    base[dow_index] = "*"
    days = _descriptor(f"0 0 * * {fields[dow_index]}", " ".join(fields)).removeprefix("At 00:00, ")
    days = days.removeprefix("only ")
    if not days.startswith("on "):
        days = "on " + days
    return f"{_descriptor(' '.join(base), ' '.join(fields))}, but only {days}"


def _descriptor(expanded: str, original: str) -> str:
    options = Options(use_24hour_time_format=True, locale_code="en_US")
    try:
        return str(ExpressionDescriptor(expanded, options).get_description())
    except Exception as exc:  # cron-descriptor raises its own zoo of types for odd input
        raise InvalidSchedule(f"cannot describe cron expression {original!r}: {exc}") from exc


def _raw(expr: str) -> str:
    return f"Cron {' '.join(expr.split())}"


def describe(schedule: Schedule, *, default_tz: tzinfo | str | None = None, with_tz: bool = False) -> str:
    """One line for a person. `with_tz` appends the zone of a cron schedule ("…, Europe/Berlin time")."""
    kind = schedule.kind
    if kind in (CRON, CALENDAR):
        resolve_zone(schedule.tz, default_tz)  # an unknown zone is an error here too, not a silent UTC
        expr = schedule.expr or ""
        parts = [expr] if kind == CRON else [p for p in expr.split(CALENDAR_SEPARATOR.strip()) if p.strip()]
        dialect = schedule.dialect if kind == CRON else CRON_DIALECT  # calendars are launchd's
        text = "; ".join(describe_cron(p, dialect) for p in parts or [""])
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
