"""Schedule math shared by the worker and the UI: validation and the next N run times.

Kinds (the `cron_mirror.schedule_kind` values):
  cron      5-field expression (or croner's 6-field with seconds first, or an `@daily`-style macro), evaluated
            in the job's IANA zone; `tz=None` means the host's zone, as ClawdBot and cron do.
  every     fixed interval in milliseconds from an anchor (or the last run when there is no anchor).
  at        one instant; nothing after it has passed.
  calendar  several cron expressions joined by "; " (a launchd StartCalendarInterval list that no single
            cron expression can express).
  event     no clock at all (`@reboot`, launchd RunAtLoad/KeepAlive...): listed, never predicted.
Anything else (a future gateway kind) is reported as an `InvalidSchedule`, never guessed.

Daylight saving follows cron(8): a fixed-time job (no `*` in the minute or hour field) whose wall time is
skipped at spring-forward runs once, right after the change; in the repeated hour at fall-back it runs once.
Wildcard jobs run by the new wall clock: skipped times do not happen, repeated ones happen twice.
Every returned instant is timezone-aware UTC.
"""

from __future__ import annotations

import heapq
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from cronmirror_desktop.core.errors import InvalidRow
from cronmirror_desktop.core.timeutil import MAX_INSTANT, MIN_INSTANT, in_range, iso_z, now_utc, parse_iso

CRON, EVERY, AT, CALENDAR, EVENT = "cron", "every", "at", "calendar", "event"
KNOWN_KINDS = frozenset({CRON, EVERY, AT, CALENDAR, EVENT})
CALENDAR_SEPARATOR = "; "

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

#: Longer than any UTC offset change on record, so no wall time near `after` is missed at a transition.
_DST_LOOKBACK = timedelta(hours=3)
#: Stop looking after this many candidates (an expression that matches almost never, e.g. Feb 29 + Monday).
_MAX_CANDIDATES = 20_000
_MEMO_SIZE = 8192
#: The longest `every` interval: 100 years. A row may say 99999999999999999999 ms; no clock gets there.
MAX_EVERY_MS = 100 * 365 * 86_400_000
_MAX_INSTANT_MS = int(MAX_INSTANT.timestamp() * 1000)
_memo_lock = threading.Lock()
_memo: OrderedDict[tuple[object, ...], tuple[datetime, tuple[datetime, ...]]] = OrderedDict()


class InvalidSchedule(InvalidRow):
    """A schedule that cannot be evaluated: bad expression, unknown time zone, unknown kind."""

    default_hint = "Fix the job's schedule where it is defined (gateway, crontab, plist or jobs file)."


@dataclass(frozen=True)
class Schedule:
    """A job's schedule as the mirror stores it (kind, expr, tz) plus the anchor of an `every` job."""

    kind: str
    expr: str | None
    tz: str | None = None
    anchor: datetime | None = None

    @classmethod
    def cron(cls, expr: str, tz: str | None = None) -> Schedule:
        return cls(CRON, " ".join(expr.split()), tz)

    @classmethod
    def every(cls, every_ms: int, anchor: datetime | None = None) -> Schedule:
        return cls(EVERY, str(every_ms), None, anchor)

    @classmethod
    def at(cls, when: datetime) -> Schedule:
        return cls(AT, iso_z(when))


@dataclass(frozen=True)
class NextRuns:
    """The non-raising answer: the runs found, or an `error` sentence (then `runs` is empty)."""

    runs: tuple[datetime, ...] = ()
    error: str | None = None
    hint: str = field(default="", compare=False)

    @property
    def next(self) -> datetime | None:
        return self.runs[0] if self.runs else None


# -- time zones -----------------------------------------------------------------------------------


def host_zone() -> tzinfo:
    """The host's zone as cron sees it: `$TZ`, else the `/etc/localtime` link, else the current offset."""
    name = os.environ.get("TZ", "").lstrip(":").strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        marker = "zoneinfo/"
        if marker in target:
            return ZoneInfo(target.split(marker, 1)[1])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    return datetime.now().astimezone().tzinfo or UTC


def resolve_zone(tz: str | None, default: tzinfo | str | None = None) -> tzinfo:
    """An IANA name → ZoneInfo; None → `default` (itself None → `host_zone()`). Raises InvalidSchedule."""
    if tz is None or tz == "":
        if isinstance(default, str):
            return resolve_zone(default)
        return default if default is not None else host_zone()
    if not isinstance(tz, str):
        raise InvalidSchedule(f"time zone must be text, got {type(tz).__name__}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError) as exc:
        raise InvalidSchedule(f"unknown time zone {tz!r}", "Use an IANA name such as Europe/Berlin.") from exc


# -- validation -----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def expand_cron(expr: str) -> str:
    """Normalise whitespace and expand `@daily`-style macros; raise InvalidSchedule for anything unusable."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidSchedule("empty cron expression")
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text.lower() == "@reboot":
            raise InvalidSchedule("@reboot has no clock time (list it as an 'event' schedule)")
        macro = MACROS.get(text.lower())
        if macro is None:
            raise InvalidSchedule(f"unknown cron macro {text!r}", f"Use one of {', '.join(MACROS)}.")
        return macro
    fields = text.split(" ")
    if len(fields) not in (5, 6):
        raise InvalidSchedule(
            f"cron expression {text!r} has {len(fields)} fields; expected 5 (minute hour day month weekday)"
        )
    try:
        croniter(text, datetime(2000, 1, 1), second_at_beginning=len(fields) == 6)
    except CroniterError as exc:
        raise InvalidSchedule(f"invalid cron expression {text!r}: {exc}") from exc
    return text


def every_ms(expr: str | None) -> int:
    """The interval of an `every` schedule (`schedule_expr` holds milliseconds as text)."""
    try:
        value = int(str(expr).strip())
    except ValueError:  # also text of more than 4,300 digits
        shown = repr(expr) if len(str(expr)) <= 40 else f"{str(expr)[:37]!r}…"
        raise InvalidSchedule(f"every-interval must be milliseconds, got {shown}") from None
    if value <= 0:
        raise InvalidSchedule(f"every-interval must be positive, got {value} ms")
    if value > MAX_EVERY_MS:
        shown = str(value) if value < 10**30 else f"a {len(str(value))}-digit number"
        raise InvalidSchedule(f"every-interval must be at most {MAX_EVERY_MS} ms (100 years), got {shown}")
    return value


def validate(schedule: Schedule, default_tz: tzinfo | str | None = None) -> None:
    """Raise InvalidSchedule if `next_runs` could not evaluate this schedule."""
    next_runs(schedule, after=datetime(2000, 1, 1, tzinfo=UTC), count=0, default_tz=default_tz)


# -- next runs ------------------------------------------------------------------------------------


def next_runs(
    schedule: Schedule,
    *,
    after: datetime | None = None,
    count: int = 1,
    last_run: datetime | None = None,
    default_tz: tzinfo | str | None = None,
) -> list[datetime]:
    """The next `count` run instants strictly after `after` (default: now), in UTC.

    `last_run` anchors an `every` schedule that has no anchor of its own; without either the next run is
    unknown and the list is empty (guessing "now + interval" would change on every sync).
    `default_tz` is the zone for a cron schedule without one (default: the host's zone).
    Raises InvalidSchedule for a schedule that cannot be evaluated.

    Memoised: an answer computed from an earlier `after` stays right until its first run passes, so a sync
    of 1,000 unchanged jobs every 30 s costs dictionary lookups, not croniter walks.
    """
    if after is None:
        after = now_utc()
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    if count < 0:
        raise ValueError("`count` must be >= 0")
    key = (schedule, count, last_run, default_tz, os.environ.get("TZ") if default_tz is None else None)
    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None:
            computed_after, runs = hit
            if computed_after <= after and (not runs or after < runs[0]):
                _memo.move_to_end(key)
                return list(runs)
    computed = _compute_next_runs(schedule, after, count, last_run, default_tz)
    with _memo_lock:
        _memo[key] = (after, tuple(computed))
        if len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return computed


def _compute_next_runs(
    schedule: Schedule,
    after: datetime,
    count: int,
    last_run: datetime | None,
    default_tz: tzinfo | str | None,
) -> list[datetime]:
    """`next_runs` without the memo (its arguments already checked there)."""
    kind = schedule.kind
    if kind == CRON:
        zone = resolve_zone(schedule.tz, default_tz)
        return _take(_cron_instants(expand_cron(schedule.expr or ""), zone, after), count)
    if kind == CALENDAR:
        zone = resolve_zone(schedule.tz, default_tz)
        parts = [p for p in (schedule.expr or "").split(CALENDAR_SEPARATOR.strip()) if p.strip()]
        if not parts:
            raise InvalidSchedule("empty calendar schedule")
        streams = [_cron_instants(expand_cron(p), zone, after) for p in parts]
        return _take(_dedupe(heapq.merge(*streams)), count)
    if kind == EVERY:
        return _every_instants(every_ms(schedule.expr), schedule.anchor or None, last_run, after, count)
    if kind == AT:
        when = _at_instant(schedule)
        return [when] if when > after and count > 0 else []
    if kind == EVENT:
        return []
    raise InvalidSchedule(f"unknown schedule kind {kind!r}", "The job is listed without a next run.")


def try_next_runs(
    schedule: Schedule,
    *,
    after: datetime | None = None,
    count: int = 1,
    last_run: datetime | None = None,
    default_tz: tzinfo | str | None = None,
) -> NextRuns:
    """`next_runs` for callers that only want to show something: never raises for a bad schedule."""
    try:
        runs = next_runs(schedule, after=after, count=count, last_run=last_run, default_tz=default_tz)
    except InvalidSchedule as exc:
        return NextRuns((), exc.message, exc.hint)
    return NextRuns(tuple(runs))


def next_run(
    schedule: Schedule,
    *,
    after: datetime | None = None,
    last_run: datetime | None = None,
    default_tz: tzinfo | str | None = None,
) -> datetime | None:
    """The first of `try_next_runs`: None when there is none or the schedule is invalid."""
    return try_next_runs(schedule, after=after, count=1, last_run=last_run, default_tz=default_tz).next


def _take(instants: Iterator[datetime], count: int) -> list[datetime]:
    out: list[datetime] = []
    try:
        for instant in instants:
            if len(out) >= count:
                break
            out.append(instant)
    except CroniterBadDateError:
        pass  # a valid expression that never matches again (e.g. "0 0 30 2 *"): no more runs
    return out


def _dedupe(instants: Iterator[datetime]) -> Iterator[datetime]:
    last: datetime | None = None
    for instant in instants:
        if instant != last:
            yield instant
            last = instant


def _is_fixed_time(fields: list[str]) -> bool:
    """cron(8): only jobs without `*` in the minute and hour fields get the DST special treatment."""
    time_fields = fields[:3] if len(fields) == 6 else fields[:2]
    return not any("*" in f for f in time_fields)


def _cron_instants(expr: str, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    """Match wall times with croniter on naive local time, then map each to real instants (see module doc)."""
    fields = expr.split(" ")
    fixed = _is_fixed_time(fields)
    start = after.astimezone(zone).replace(tzinfo=None) - _DST_LOOKBACK
    walls = croniter(expr, start, ret_type=datetime, second_at_beginning=len(fields) == 6)
    pending: list[datetime] = []
    last: datetime | None = None
    for _ in range(_MAX_CANDIDATES):
        wall: datetime = walls.get_next(datetime)
        first, instants = _instants_of(wall, zone, fixed)
        for instant in instants:
            heapq.heappush(pending, instant)
        # Later wall times never map to an instant before `first`, so everything up to it is final.
        while pending and pending[0] <= first:
            instant = heapq.heappop(pending)
            if instant > after and instant != last:
                last = instant
                yield instant
    while pending:
        instant = heapq.heappop(pending)
        if instant > after and instant != last:
            last = instant
            yield instant


def _instants_of(wall: datetime, zone: tzinfo, fixed: bool) -> tuple[datetime, list[datetime]]:
    """(lower bound, instants) of a naive wall time in `zone`, applying the cron(8) DST rules."""
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if early == late:  # an ordinary wall time
        return early, [early]
    if early < late:  # repeated at fall-back: fixed-time jobs run once, wildcard jobs at both
        return early, [early] if fixed else [early, late]
    # Skipped at spring-forward (fold=0 uses the old offset, so `early` lands after the jump).
    if not fixed:
        return late, []
    return late, [_transition(late, early, zone)]


def _transition(low: datetime, high: datetime, zone: tzinfo) -> datetime:
    """The first instant in (low, high] with the post-transition offset: when the skipped hour 'ends'."""
    target = high.astimezone(zone).utcoffset()
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _every_instants(
    interval: int, anchor: datetime | None, last_run: datetime | None, after: datetime, count: int
) -> list[datetime]:
    base = anchor or last_run
    if base is None or count == 0:
        return []
    base_ms = round(base.timestamp() * 1000)
    after_ms = round(after.timestamp() * 1000)
    if anchor is not None and base_ms > after_ms:
        k = 0
    else:
        k = max(1 if anchor is None else 0, (after_ms - base_ms) // interval + 1)
    instants = (base_ms + (k + i) * interval for i in range(count))
    # Runs beyond the calendar's end (an anchor near year 9999) do not exist, rather than overflow.
    return [datetime.fromtimestamp(ms / 1000, UTC) for ms in instants if ms < _MAX_INSTANT_MS]


def _at_instant(schedule: Schedule) -> datetime:
    try:
        when = parse_iso(schedule.expr or "", UTC)
    except (ValueError, TypeError):
        raise InvalidSchedule(f"'at' time must be an ISO date and time, got {schedule.expr!r}") from None
    except OverflowError:  # e.g. year 1 at +05:00: before the calendar starts once in UTC
        when = MIN_INSTANT - timedelta(days=1)
    if not in_range(when):
        raise InvalidSchedule(
            f"'at' time must be between {MIN_INSTANT.year} and {MAX_INSTANT.year}, got {schedule.expr!r}"
        )
    return when
