"""cron(8)'s crontab grammar, as cronie parses it (src/entry.c, `get_list`/`get_range`/`get_number`).

Used for crontab lines, launchd calendar intervals and jobs.toml (which our own scheduler runs by the same
rules). What cronie accepts, and nothing more:
- exactly 5 fields: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7 (0 and 7 are
  Sunday); each a comma list of `*`, `*/S`, `N`, `A-B`, `A-B/S`; names (three letters, any case) in month
  and day-of-week, also in ranges. `N/S`, `?`, `L`, `W`, `#`, seconds and years are refused.
- cronie quirks kept: `A-0` means `A-7` (so `FRI-SUN` works), any other backwards range selects nothing,
  a step larger than its range is allowed (cronie only warns).
- `A~B` (a random value cron picks when it loads the crontab) is valid, but nobody can predict it: the
  pattern says so (`random`) and `core.schedule` reports "cannot be predicted" instead of run times.
- Macros `@yearly @annually @monthly @weekly @daily @midnight @hourly`, lower case as cronie compares them.
Which fields start with `*` matters (see `CronPattern.wild` and `day_ok`), so the pattern records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cronmirror_desktop.core.wallclock import NICKNAMES, weekday_sun0

#: cron(8) calls them macros and compares them in lower case only.
MACROS = NICKNAMES
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: (name, lowest, highest, names and the number of the first name)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_RANGE = re.compile(r"^(?P<a>[A-Za-z0-9]+)(?:-(?P<b>[A-Za-z0-9]+)(?:/(?P<s>[0-9]+))?)?$")
_STAR = re.compile(r"^\*(?:/(?P<s>[0-9]+))?$")
#: Searching further than this finds nothing new (the calendar repeats every 400 years).
LAST_YEAR = 9998


class CronieError(ValueError):
    """An expression cron(8) refuses; the message says which field and why."""


@dataclass(frozen=True)
class CronPattern:
    """A parsed cron(8) expression (implements `core.wallclock.CalendarPattern`)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    #: cronie's MIN_STAR/HR_STAR: the minute or hour field starts with `*`. Such a job runs by the wall clock
    #: at daylight-saving changes; the others ("fixed-time" jobs) get the special treatment (core.schedule).
    wild: bool
    #: cronie's DOM_STAR/DOW_STAR: either day field starts with `*`, so the day fields combine with AND.
    day_and: bool
    #: A field uses `~`: cron picked a value at random, so the run times are unknown.
    random: bool = False
    seconds: tuple[int, ...] = (0,)
    last_year: int = LAST_YEAR

    def year_ok(self, year: int) -> bool:
        return True

    def day_ok(self, year: int, month: int, day: int) -> bool:
        in_month = day in self.days
        in_week = weekday_sun0(year, month, day) in self.weekdays
        return (in_month and in_week) if self.day_and else (in_month or in_week)


@lru_cache(maxsize=4096)
def expand(expr: str) -> str:
    """Whitespace normalised and a macro replaced by its five fields; raises CronieError if unknown."""
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text == "@reboot":
            raise CronieError("@reboot has no clock time")
        macro = MACROS.get(text)
        if macro is None:
            hint = " (cron(8) macros are lower case)" if text.lower() in MACROS else ""
            raise CronieError(f"unknown cron macro {text!r}{hint}")
        return macro
    return text


@lru_cache(maxsize=4096)
def parse(expr: str) -> CronPattern:
    """Parse like cronie's crontab reader; raise CronieError for what it refuses."""
    fields = expand(expr).split(" ")
    if len(fields) != 5:
        raise CronieError(
            f"{len(fields)} fields; cron(8) needs 5 (minute hour day-of-month month day-of-week)"
        )
    random = any("~" in field for field in fields)
    values = [_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
    weekdays = values[4]
    if 0 in weekdays or 7 in weekdays:  # cronie: "make sundays equivalent"
        weekdays = weekdays | {0}
    return CronPattern(
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=frozenset(w for w in weekdays if w != 7),
        wild=fields[0].startswith("*") or fields[1].startswith("*"),
        day_and=fields[2].startswith("*") or fields[4].startswith("*"),
        random=random,
    )


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    selected: set[int] = set()
    for item in text.split(","):
        if "~" in item:
            _check_random(item, name, low, high, names)
            continue
        star = _STAR.match(item)
        if star:
            first, last, step_text = low, high, star.group("s")
        else:
            match = _RANGE.match(item)
            if match is None:
                why = " (cron(8) has no 'N/S' steps: use '*/S' or 'A-B/S')" if "/" in item else ""
                raise CronieError(f"{name} {item!r} is not a number, a range or '*'{why}")
            first = _number(match.group("a"), name, names, low)
            last = first if match.group("b") is None else _number(match.group("b"), name, names, low)
            step_text = match.group("s")
            if match.group("b") is not None and step_text is None and first > last and last == 0:
                last = 7  # cronie's "A-0" (e.g. FRI-SUN) means A-7, in every field
        step = int(step_text) if step_text is not None else 1
        if step == 0:
            raise CronieError(f"{name} {item!r}: step 0")
        for value in range(first, last + 1, step):
            if not low <= value <= high:
                raise CronieError(f"{name} {value} is out of range ({low}-{high})")
            selected.add(value)
    return selected


def _check_random(item: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    """`[A]~[B]`: both ends optional, within the field, A <= B (what cronie checks)."""
    pieces = item.split("~")
    if len(pieces) != 2:
        raise CronieError(f"{name} {item!r} is not a random range [A]~[B]")
    first = _number(pieces[0], name, names, low) if pieces[0] else low
    last = _number(pieces[1], name, names, low) if pieces[1] else high
    if not (low <= first <= last <= high):
        raise CronieError(f"{name} {item!r}: the random range must lie within {low}-{high}, lowest first")


def _number(text: str, name: str, names: tuple[str, ...], low: int) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if name == "month" else 0)
    raise CronieError(f"{name} {text!r} is not a number" + (" or a name" if names else ""))
