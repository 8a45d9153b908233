"""croner 10's cron grammar, as the OpenClaw gateway evaluates it (`new Cron(expr, {timezone})`, defaults).

No maintained Python library matches croner (croniter, cronsim and cronexpr each differ in `?`, `+`,
`n#L`, 7 fields or steps; docs/schedules.md), so this module implements croner's documented pattern grammar
(https://croner.56k.guru/usage/pattern/) plus the quirks measured against the real croner 10.0.1 that the
gateway bundles; `tests/test_schedule_gateway_diff.py` checks it against the gateway's own code.

Grammar, as croner applies it (defaults: OR of day fields, "auto" 5-7 fields, no sloppy ranges):
- `@yearly @annually @monthly @weekly @daily @midnight @hourly` (any case); `@reboot` is refused.
- 5 fields (seconds = 0), 6 (seconds first) or 7 (seconds first, year last; 1-9999). A missing year is `*`.
- Each field is a comma list of `*`, `N`, `A-B`, `*/S`, `A-B/S`. `N/S` and `/S` are refused. `?` is an
  alias of `*` in every field, but *not* a wildcard for the day-of-month/day-of-week logic below.
- Names: JAN-DEC in month, SUN-SAT in day-of-week (any case; replaced as text, so only in fields of three
  or more characters; `-SUN` as an upper bound is 7). Day-of-week 7 is Sunday.
- Day of month: `L` (last day; every `L` is removed and the rest still counts, so `5L` = the 5th and the
  last day), `LW` (last weekday; only the whole field), `NW` (weekday nearest the Nth, not leaving the
  month).
- Day of week: `N#K` (K-th of the month, 1-5, or `#L`), `NL` (last), ranges with them (`5-6#L`); a
  leading `+` makes the day fields combine with AND.
- Day fields: AND when the day-of-week starts with `+`, or when day-of-month is exactly `*`; otherwise OR.
  So `0 0 ? * MON` and `0 0 15 * ?` run every day (the "?" side allows every day), as the gateway does.
- `*/S` in the year field is refused by croner (it starts at year 0), and so is an empty field.
- With a year `*`, croner gives up looking in the year 3000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cronmirror_desktop.core.wallclock import NICKNAMES, days_in_month, weekday_sun0

#: Occurrence bits of a weekday in its month (1st..5th) and "the last one".
_NTH_BITS = (0b1, 0b10, 0b100, 0b1000, 0b10000)
_LAST = 0b100000
_ANY = 0b111111
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: JavaScript's `\s` (croner splits fields on it), which is not quite Python's idea of whitespace.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_FIELD = re.compile(f"[^{_JS_SPACE}]+")
_LEADING_INT = re.compile(r"[+-]?[0-9]+")
_RANGE_STEP = re.compile(r"^([0-9]+)-([0-9]+)/([0-9]+)$")
_ALLOWED = {
    "dom": re.compile(r"^[/*0-9,\-WwLl]*$"),
    "dow": re.compile(r"^[/*0-9,\-#Ll]*$"),
    "other": re.compile(r"^[/*0-9,\-]*$"),
}
#: croner stops looking at this year when the year field is `*`.
STAR_YEAR_LIMIT = 3000
_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week", "year")


class CronerError(ValueError):
    """An expression croner refuses; the message says which part and why."""


@dataclass(frozen=True)
class CronerPattern:
    """A parsed croner expression (implements `core.wallclock.CalendarPattern`)."""

    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    #: Occurrence bit mask per weekday, Sunday first (0 = that weekday is not allowed).
    weekdays: tuple[int, ...]
    years: frozenset[int] | None
    last_day: bool
    last_weekday: bool
    nearest: frozenset[int]
    star_dom: bool
    star_dow: bool
    and_logic: bool
    #: The seven fields as croner evaluates them: macro expanded, names as numbers, no `+`, `?` as `*`,
    #: and no `L`/`LW` in day-of-month (see `last_day`/`last_weekday`). For descriptions.
    fields: tuple[str, ...] = ()

    @property
    def last_year(self) -> int:
        if self.years is None:
            return STAR_YEAR_LIMIT - 1
        return max(self.years, default=0)

    def year_ok(self, year: int) -> bool:
        return self.years is None or year in self.years

    def day_ok(self, year: int, month: int, day: int) -> bool:
        match = day in self.days
        if not match and self.nearest:
            match = any(_nearest_weekday(year, month, n) == day for n in self.nearest)
        if self.last_weekday and day == _last_weekday(year, month):
            match = True
        if self.last_day and day == days_in_month(year, month):
            match = True
        if self.star_dow:
            return match
        mask = self.weekdays[weekday_sun0(year, month, day)]
        dow = bool(mask) and _is_occurrence(year, month, day, mask)
        if self.and_logic or self.star_dom:
            return match and dow
        return match or dow


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The weekday (Mon-Fri) nearest `day` without leaving the month; -1 when the month is shorter."""
    last = days_in_month(year, month)
    if day > last:
        return -1
    weekday = weekday_sun0(year, month, day)
    if weekday == 0:  # Sunday: the Monday after, unless that leaves the month
        return day - 2 if day == last else day + 1
    if weekday == 6:  # Saturday: the Friday before, unless that leaves the month
        return day + 2 if day == 1 else day - 1
    return day


def _last_weekday(year: int, month: int) -> int:
    last = days_in_month(year, month)
    weekday = weekday_sun0(year, month, last)
    return last - 2 if weekday == 0 else last - 1 if weekday == 6 else last


def _is_occurrence(year: int, month: int, day: int, mask: int) -> bool:
    if _NTH_BITS[(day - 1) // 7] & mask:
        return True
    return bool(mask & _LAST) and day + 7 > days_in_month(year, month)


@lru_cache(maxsize=4096)
def parse(expr: str) -> CronerPattern:
    """Parse like croner 10 does; raise CronerError with croner's reason for what it refuses."""
    if not isinstance(expr, str):
        raise CronerError("the pattern must be text")
    text = expr
    if "@" in text:
        nickname = js_trim(text).lower()
        if nickname == "@reboot":
            raise CronerError("@reboot has no clock time")
        text = js_trim(NICKNAMES.get(nickname, text))
    parts = _JS_FIELD.findall(text)
    if not 5 <= len(parts) <= 7:
        raise CronerError(f"{len(parts)} fields; croner needs 5, 6 (seconds first) or 7 (then the year)")
    if len(parts) == 5:
        parts.insert(0, "0")
    if len(parts) == 6:
        parts.append("*")
    last_weekday = last_day = False
    if parts[3].upper() == "LW":
        last_weekday, parts[3] = True, ""
    elif "L" in parts[3].upper():
        last_day, parts[3] = True, re.sub("[Ll]", "", parts[3])
    star_dom = parts[3] == "*"
    star_year = parts[6] == "*"
    if len(parts[4]) >= 3:
        parts[4] = _replace_names(parts[4], _MONTH_NAMES, 1)
    if len(parts[5]) >= 3:
        parts[5] = _replace_names(re.sub("-sun", "-7", parts[5], flags=re.IGNORECASE), _DAY_NAMES, 0)
    and_logic = parts[5].startswith("+")
    if and_logic:
        parts[5] = parts[5][1:]
        if not parts[5]:
            raise CronerError("day-of-week is empty after '+'")
    star_dow = parts[5] == "*"
    if "?" in text:
        parts = [p.replace("?", "*") for p in parts]
    for index, part in enumerate(parts):
        allowed = _ALLOWED["dom" if index == 3 else "dow" if index == 5 else "other"]
        if not allowed.match(part):
            raise CronerError(f"{_FIELD_NAMES[index]} field {part!r} has characters croner does not allow")
    builder = _Builder(last_day or last_weekday)
    seconds = builder.field("second", parts[0])
    minutes = builder.field("minute", parts[1])
    hours = builder.field("hour", parts[2])
    days = builder.field("day-of-month", parts[3])
    months = builder.field("month", parts[4])
    builder.field("day-of-week", parts[5])
    years = builder.field("year", parts[6])
    return CronerPattern(
        seconds=tuple(sorted(seconds)),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=tuple(builder.weekdays),
        years=None if star_year else frozenset(years),
        last_day=last_day,
        last_weekday=last_weekday,
        nearest=frozenset(builder.nearest),
        star_dom=star_dom,
        star_dow=star_dow,
        and_logic=and_logic,
        fields=tuple(parts),
    )


def js_trim(text: str) -> str:
    """JavaScript's String.prototype.trim (the gateway trims an expression before croner sees it)."""
    return re.sub(f"^[{_JS_SPACE}]+|[{_JS_SPACE}]+$", "", text)


def _replace_names(field: str, names: tuple[str, ...], first: int) -> str:
    for number, name in enumerate(names, start=first):
        field = re.sub(name, str(number), field, flags=re.IGNORECASE)
    return field


def _js_int(text: str) -> int | None:
    """JavaScript's parseInt(text, 10): the leading integer, or None (NaN)."""
    match = _LEADING_INT.match(js_trim(text))
    return int(match.group()) if match else None


#: (lowest value, number of slots) per field; croner keeps 0-based slots for day-of-month and month.
_SLOTS = {
    "second": (0, 60),
    "minute": (0, 60),
    "hour": (0, 24),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (0, 7),
    "year": (0, 10000),
}


class _Builder:
    """Turns field texts into value sets, refusing what croner refuses."""

    def __init__(self, day_field_may_be_empty: bool) -> None:
        self.day_field_may_be_empty = day_field_may_be_empty
        self.weekdays = [0] * 7
        self.nearest: set[int] = set()
        self.values: set[int] = set()

    def field(self, name: str, conf: str) -> set[int]:
        self.values = set()
        self._part(name, conf)
        return self.values

    def _part(self, name: str, conf: str) -> None:
        if conf == "" and not (name == "day-of-month" and self.day_field_may_be_empty):
            raise CronerError(f"{name} field is empty")
        if conf == "*":
            if name == "year":  # inside a list ("2026,*"): every year, without croner's year-3000 limit
                self.values.update(range(1, 10000))
                return
            low, slots = _SLOTS[name]
            for value in range(low, low + slots):
                self._set(name, value, None)
            return
        items = conf.split(",")
        if len(items) > 1:
            for item in items:
                self._part(name, item)
        elif "-" in conf and "/" in conf:
            self._range_step(name, conf)
        elif "-" in conf:
            self._range(name, conf)
        elif "/" in conf:
            self._step(name, conf)
        elif conf:
            self._number(name, conf)

    def _nth(self, name: str, conf: str) -> tuple[str, str | None]:
        if "#" in conf:
            if name != "day-of-week":
                raise CronerError(f"'#' is only allowed in day-of-week, not in {name}")
            pieces = conf.split("#")
            return pieces[0], pieces[1] or None
        if conf.upper().endswith("L"):
            if name != "day-of-week":
                raise CronerError(f"'L' suffix is only allowed in day-of-week, not in {name}")
            return conf[:-1], "L"
        return conf, None

    def _number(self, name: str, conf: str) -> None:
        rest, nth = self._nth(name, conf)
        nearest = "W" in conf.upper()
        if nearest and name != "day-of-month":
            raise CronerError("'W' is only allowed in day-of-month")
        value = _js_int(rest)
        if value is None:
            raise CronerError(f"{name} value {conf!r} is not a number")
        if nearest:
            if not 1 <= value <= 31:
                raise CronerError(f"day-of-month {value} is out of range (1-31)")
            self.nearest.add(value)
            return
        self._set(name, value, nth)

    def _range(self, name: str, conf: str) -> None:
        if "W" in conf.upper():
            raise CronerError("'W' is not allowed in a range")
        rest, nth = self._nth(name, conf)
        bounds = rest.split("-")
        if len(bounds) != 2:
            raise CronerError(f"illegal range {conf!r} in {name}")
        lower, upper = _js_int(bounds[0]), _js_int(bounds[1])
        if lower is None or upper is None:
            raise CronerError(f"illegal range {conf!r} in {name}")
        if lower > upper:
            raise CronerError(f"range {conf!r} in {name} runs backwards")
        for value in range(lower, upper + 1):
            self._set(name, value, nth)

    def _range_step(self, name: str, conf: str) -> None:
        if "W" in conf.upper():
            raise CronerError("'W' is not allowed in a range with a step")
        rest, nth = self._nth(name, conf)
        match = _RANGE_STEP.match(rest)
        if match is None:
            raise CronerError(f"illegal range with a step {conf!r} in {name}")
        lower, upper, step = (int(g) for g in match.groups())
        if lower > upper:
            raise CronerError(f"range {conf!r} in {name} runs backwards")
        self._check_step(name, step)
        for value in range(lower, upper + 1, step):
            self._set(name, value, nth)

    def _step(self, name: str, conf: str) -> None:
        if "W" in conf.upper():
            raise CronerError("'W' is not allowed with a step")
        rest, nth = self._nth(name, conf)
        pieces = rest.split("/")
        if len(pieces) != 2:
            raise CronerError(f"illegal step {conf!r} in {name}")
        if pieces[0] != "*":
            raise CronerError(
                f"step {conf!r} in {name} must start with '*' or a range (croner refuses 'N/S'); "
                f"use '*/S' or 'N-M/S'"
            )
        step = _js_int(pieces[1])
        if step is None:
            raise CronerError(f"illegal step {conf!r} in {name}")
        self._check_step(name, step)
        low, slots = _SLOTS[name]
        # croner steps through its 0-based slots, so `*/S` starts at the field's first value, except in
        # the year field, whose slot 0 is the invalid year 0.
        for slot in range(0, slots, step):
            self._set(name, slot + low if name != "year" else slot, nth)

    @staticmethod
    def _check_step(name: str, step: int) -> None:
        if step <= 0:
            raise CronerError(f"step 0 in {name}")
        if step > _SLOTS[name][1]:
            raise CronerError(f"step {step} in {name} is larger than the field ({_SLOTS[name][1]})")

    def _set(self, name: str, value: int, nth: str | None) -> None:
        if name == "day-of-week":
            if value == 7:
                value = 0
            if not 0 <= value <= 6:
                raise CronerError(f"day-of-week {value} is out of range (0-7)")
            self.weekdays[value] = _with_occurrence(self.weekdays[value], nth)
            return
        if name == "year":
            if not 1 <= value <= 9999:
                raise CronerError(f"year {value} is out of range (1-9999)")
        else:
            low, slots = _SLOTS[name]
            if not low <= value < low + slots:
                raise CronerError(f"{name} {value} is out of range ({low}-{low + slots - 1})")
        self.values.add(value)


def _with_occurrence(mask: int, nth: str | None) -> int:
    if nth is None:
        return _ANY
    if nth.upper() == "L":
        return mask | _LAST
    if nth.isdigit() and 1 <= int(nth) <= 5:
        return mask | _NTH_BITS[int(nth) - 1]
    raise CronerError(f"'#{nth}' is out of range; use 1-5 or L")
