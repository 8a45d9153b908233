"""The next wall-clock time a calendar pattern matches: shared by the croner (gateway) and cron(8) grammars.

A pattern is the set of seconds, minutes, hours and months it allows plus a day rule (`day_ok`) and a year
rule (`year_ok`). Wall times are naive local datetimes; turning them into instants, with each scheduler's
daylight-saving rules, is `core.schedule`'s job. The search walks months and days, never single seconds,
and gives up at the pattern's `last_year`. A whole year is searched at most once per position in the
400-year Gregorian cycle (dates and weekdays repeat exactly), so an expression that never matches, such
as `0 0 30 2 *`, costs at most 400 year scans, not a walk to the year 9999.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from datetime import datetime
from functools import lru_cache
from typing import Protocol

#: The @-words both grammars accept, and the patterns they stand for.
NICKNAMES: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

#: The Gregorian calendar (dates and weekdays) repeats exactly every 400 years.
CALENDAR_CYCLE_YEARS = 400


class CalendarPattern(Protocol):
    """What the search needs from a parsed cron expression. Tuples are sorted."""

    @property
    def seconds(self) -> tuple[int, ...]: ...
    @property
    def minutes(self) -> tuple[int, ...]: ...
    @property
    def hours(self) -> tuple[int, ...]: ...
    @property
    def months(self) -> frozenset[int]: ...
    @property
    def last_year(self) -> int: ...

    def year_ok(self, year: int) -> bool: ...

    def day_ok(self, year: int, month: int, day: int) -> bool: ...


@lru_cache(maxsize=4096)
def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def weekday_sun0(year: int, month: int, day: int) -> int:
    """0 = Sunday ... 6 = Saturday, as cron counts."""
    return (calendar.weekday(year, month, day) + 1) % 7


def next_wall(pattern: CalendarPattern, start: datetime) -> datetime | None:
    """The first wall time at or after `start` (naive, whole seconds) that the pattern matches, or None."""
    if not (pattern.seconds and pattern.minutes and pattern.hours and pattern.months):
        return None
    clock: tuple[int, int, int] | None = (start.hour, start.minute, start.second)
    year, month, day = start.year, start.month, start.day
    fruitless: set[int] = set()  # year % 400 of whole years already searched without a match
    while year <= pattern.last_year:
        whole_year = month == 1 and day == 1 and clock is None
        if pattern.year_ok(year) and not (whole_year and year % CALENDAR_CYCLE_YEARS in fruitless):
            for m in range(month, 13):
                if m not in pattern.months:
                    clock = None
                    continue
                for d in range(day if m == month else 1, days_in_month(year, m) + 1):
                    if pattern.day_ok(year, m, d):
                        hit = _first_time(pattern, clock)
                        if hit is not None:
                            return datetime(year, m, d, *hit)
                    clock = None
            if whole_year:
                fruitless.add(year % CALENDAR_CYCLE_YEARS)
        year, month, day, clock = year + 1, 1, 1, None
    return None


def _first_time(pattern: CalendarPattern, clock: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
    """The earliest (hour, minute, second) of the pattern at or after `clock` (None: the day's first)."""
    hours, minutes, seconds = pattern.hours, pattern.minutes, pattern.seconds
    if clock is None:
        return hours[0], minutes[0], seconds[0]
    h0, m0, s0 = clock
    i = bisect_left(hours, h0)
    if i == len(hours):
        return None
    if hours[i] > h0:
        return hours[i], minutes[0], seconds[0]
    j = bisect_left(minutes, m0)
    if j < len(minutes):
        if minutes[j] > m0:
            return h0, minutes[j], seconds[0]
        k = bisect_left(seconds, s0)
        if k < len(seconds):
            return h0, m0, seconds[k]
        if j + 1 < len(minutes):
            return h0, minutes[j + 1], seconds[0]
    if i + 1 < len(hours):
        return hours[i + 1], minutes[0], seconds[0]
    return None
