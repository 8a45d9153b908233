"""Schedule math shared by the worker and the UI: validation and the next N run times, per scheduler.

Kinds (the `cron_mirror.schedule_kind` values):
  cron      a cron expression (or an `@daily`-style macro), evaluated in the job's IANA zone; `tz=None`
            means the host's zone, as the gateway and cron do.
  every     fixed interval in milliseconds (`schedule_expr`), counted as the job's scheduler counts it.
  at        one instant; nothing after it has passed.
  calendar  several cron expressions joined by "; " (a launchd StartCalendarInterval list that no single
            cron expression can express).
  event     no clock at all (`@reboot`, launchd RunAtLoad/KeepAlive...): listed, never predicted.
Anything else (a future gateway kind) is reported as an `InvalidSchedule`, never guessed.

Dialects: a schedule is read the way the scheduler that runs it reads it (`Schedule.dialect`,
`dialect_for_source`). docs/schedules.md has the details and the measured agreement.
  gateway   the OpenClaw/ClawdBot gateway: croner's grammar (`core.croner`), day fields OR unless `+`
            or a day-of-month `*`. Daylight saving: a wall time that does not exist (spring-forward) does
            not run that day; a repeated wall time (fall-back) runs once, in its first occurrence. A job
            whose stagger offset is known runs that much after each cron time (`offset_ms`, see
            `gateway_stagger_offset_ms`). `every`: the last run + the interval, else the anchor's grid.
  cron      cron(8) as cronie runs it (`core.cronie`): 5 fields, day fields AND when either starts with
            `*`. Daylight saving: a fixed-time job (minute and hour fields not starting with `*`) whose
            wall time is skipped runs right after the change, once per skipped time; in a repeated hour
            it runs once. Wildcard jobs run by the wall clock: skipped times do not happen, repeated ones
            happen twice. Used for crontab, launchd calendar intervals (kind `calendar` always) and
            jobs.toml.
Rows without a dialect (ClawdOS's worker, the mirror before it recorded sources) are gateway jobs.
Every returned instant is timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import itertools
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronmirror_desktop.core import croner, cronie
from cronmirror_desktop.core.errors import InvalidRow
from cronmirror_desktop.core.timeutil import MAX_INSTANT, MIN_INSTANT, in_range, iso_z, now_utc, parse_iso
from cronmirror_desktop.core.wallclock import NICKNAMES, CalendarPattern, next_wall

CRON, EVERY, AT, CALENDAR, EVENT = "cron", "every", "at", "calendar", "event"
KNOWN_KINDS = frozenset({CRON, EVERY, AT, CALENDAR, EVENT})
CALENDAR_SEPARATOR = "; "

Dialect = Literal["gateway", "cron"]
GATEWAY_DIALECT: Dialect = "gateway"
CRON_DIALECT: Dialect = "cron"
DIALECTS: frozenset[str] = frozenset({GATEWAY_DIALECT, CRON_DIALECT})
#: Sources whose jobs cron(8)'s rules run: the crontab, launchd calendar intervals, our jobs file.
CRON_SOURCES = frozenset({"crontab", "launchd", "jobs"})

#: The gateway staggers recurring top-of-hour jobs over this window (`DEFAULT_TOP_OF_HOUR_STAGGER_MS`).
GATEWAY_TOP_OF_HOUR_STAGGER_MS = 300_000
#: Longer than any UTC offset change on record, so no wall time near `after` is missed at a transition.
_DST_LOOKBACK = timedelta(hours=3)
_SECOND = timedelta(seconds=1)
_MILLISECOND = timedelta(milliseconds=1)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEMO_SIZE = 8192
#: The longest `every` interval: 100 years. A row may say 99999999999999999999 ms; no clock gets there.
MAX_EVERY_MS = 100 * 365 * 86_400_000
_MAX_INSTANT_MS = int(MAX_INSTANT.timestamp() * 1000)
_memo_lock = threading.Lock()
_memo: OrderedDict[tuple[object, ...], tuple[datetime, tuple[datetime, ...]]] = OrderedDict()
_HOUR_PART = re.compile(r"^(?:[0-9]+|[0-9]+-[0-9]+)(?:/[0-9]+)?$|^[*?](?:/[0-9]+)?$")


class InvalidSchedule(InvalidRow):
    """A schedule that cannot be evaluated: bad expression, unknown time zone, unknown kind."""

    default_hint = "Fix the job's schedule where it is defined (gateway, crontab, plist or jobs file)."


def dialect_for_source(source: str | None) -> Dialect:
    """The dialect of the scheduler that runs a job from `source` (a worker source name, or None).

    `gateway` for gateway jobs and for rows that do not say (ClawdOS's worker writes no source);
    `cron` for crontab, launchd and jobs.toml jobs.
    """
    return CRON_DIALECT if source in CRON_SOURCES else GATEWAY_DIALECT


@dataclass(frozen=True, slots=True)
class Schedule:
    """A job's schedule as the mirror stores it (kind, expr, tz), read in the dialect of its scheduler.

    `anchor` is where an `every` job counts from (the gateway's `anchorMs`; the mirror has no column for
    it). `offset_ms` is the gateway's stagger of this job (0 = none or not known): its cron runs happen
    that long after the expression's times.
    """

    kind: str
    expr: str | None
    tz: str | None = None
    anchor: datetime | None = None
    dialect: str = GATEWAY_DIALECT
    offset_ms: int = 0

    @classmethod
    def cron(
        cls,
        expr: str,
        tz: str | None = None,
        dialect: Dialect = GATEWAY_DIALECT,
        *,
        job_id: str | None = None,
        stagger_ms: int | None = None,
    ) -> Schedule:
        """A cron schedule. For a gateway job, `job_id` (and its `staggerMs`, if the job has one) give the
        stagger offset exactly as the gateway derives it."""
        text = " ".join(expr.split())
        offset = 0
        if dialect == GATEWAY_DIALECT and job_id is not None:
            offset = gateway_stagger_offset_ms(job_id, text, stagger_ms)
        return cls(CRON, text, tz, None, dialect, offset)

    @classmethod
    def every(
        cls, every_ms: int, anchor: datetime | None = None, dialect: Dialect = GATEWAY_DIALECT
    ) -> Schedule:
        return cls(EVERY, str(every_ms), None, anchor, dialect)

    @classmethod
    def at(cls, when: datetime, dialect: Dialect = GATEWAY_DIALECT) -> Schedule:
        return cls(AT, iso_z(when), None, None, dialect)

    def with_dialect(self, dialect: Dialect) -> Schedule:
        return dataclasses.replace(self, dialect=dialect)


@lru_cache(maxsize=8192)
def schedule_for(
    kind: str,
    expr: str | None,
    tz: str | None = None,
    *,
    source: str | None = None,
    job_id: str | None = None,
    anchor: datetime | None = None,
) -> Schedule:
    """The schedule of a job as a reader has it (mirror row or listed job): the dialect from its source,
    and for a gateway cron job the stagger derived from its id (the gateway's default rule). Cached: a
    sync asks for the same thousand schedules every 30 s."""
    dialect = dialect_for_source(source)
    offset = 0
    if kind == CRON and dialect == GATEWAY_DIALECT and job_id and expr:
        offset = gateway_stagger_offset_ms(job_id, expr)
    return Schedule(kind, expr, tz, anchor, dialect, offset)


@dataclass(frozen=True)
class NextRuns:
    """The non-raising answer: the runs found, or an `error` sentence.

    With an error, `runs` is empty, except from `runs_from_source`, where it may still hold the source's
    own next run (the rest could not be computed).
    """

    runs: tuple[datetime, ...] = ()
    error: str | None = None
    hint: str = field(default="", compare=False)

    @property
    def next(self) -> datetime | None:
        return self.runs[0] if self.runs else None


# -- the gateway's stagger ------------------------------------------------------------------------


def is_top_of_hour(expr: str) -> bool:
    """The gateway's test for "recurring at the top of an hour" (`0 * * * *`, `0 */2 * * *`, `0 0 9-17 ...`):
    minute (and second, with 6 fields) exactly `0` and an hour field of numbers/ranges/steps with at least
    one part starting with `*` or `?`. Macros (`@hourly`) are not matched, as in the gateway."""
    fields = expr.split()
    if len(fields) == 5:
        zeros, hour = fields[:1], fields[1]
    elif len(fields) == 6:
        zeros, hour = fields[:2], fields[2]
    else:
        return False
    parts = hour.split(",")
    return (
        all(f == "0" for f in zeros)
        and all(_HOUR_PART.match(p) for p in parts)
        and any(p.startswith(("*", "?")) for p in parts)
    )


def gateway_stagger_offset_ms(job_id: str, expr: str, stagger_ms: int | None = None) -> int:
    """How long after each cron time the gateway runs this job: a fixed per-job offset.

    The window is the job's `staggerMs` when it has one (any expression; 0 = exact), else 5 minutes for
    top-of-hour expressions (`is_top_of_hour`), else none. The offset is the first four bytes of
    SHA-256(job id), big-endian, modulo the window (`resolveStableCronOffsetMs` in the gateway).
    """
    window = max(0, int(stagger_ms)) if stagger_ms is not None else 0
    if stagger_ms is None and is_top_of_hour(expr):
        window = GATEWAY_TOP_OF_HOUR_STAGGER_MS
    if window <= 1:
        return 0
    # Node hashes the id's UTF-8 bytes, with a lone surrogate as U+FFFD.
    data = job_id.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "big") % window


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


def expand_cron(expr: str, dialect: str = CRON_DIALECT) -> str:
    """Normalise whitespace and expand `@daily`-style macros; raise InvalidSchedule for anything the
    dialect's scheduler refuses (default: cron(8), the rules of the crontab and the jobs file)."""
    text = _cron_text(expr)
    if dialect == GATEWAY_DIALECT:
        gateway_pattern(expr)
        return NICKNAMES.get(text.lower(), text) if text.startswith("@") else text
    _cron_pattern(expr)
    return cronie.expand(text)


def _cron_text(expr: str | None) -> str:
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidSchedule("empty cron expression")
    text = " ".join(expr.split())
    if text.startswith("@") and " " not in text:
        if text.lower() == "@reboot":
            raise InvalidSchedule("@reboot has no clock time (list it as an 'event' schedule)")
        if text.lower() not in NICKNAMES:  # croner takes any case, cron(8) lower case only
            raise InvalidSchedule(f"unknown cron macro {text!r}", f"Use one of {', '.join(NICKNAMES)}.")
    return text


def gateway_pattern(expr: str | None) -> croner.CronerPattern:
    """The parsed croner expression; raises InvalidSchedule for one the gateway refuses."""
    text = _cron_text(expr)
    assert isinstance(expr, str)
    try:
        return croner.parse(croner.js_trim(expr))
    except croner.CronerError as exc:
        count = len(text.split(" "))
        if not 5 <= count <= 7:
            raise InvalidSchedule(
                f"cron expression {text!r} has {count} fields; expected 5 (minute hour day month weekday), "
                "6 (seconds first) or 7 (seconds first, year last)"
            ) from None
        raise InvalidSchedule(f"invalid cron expression {text!r}: {exc}") from None


def _cron_pattern(expr: str | None) -> cronie.CronPattern:
    text = _cron_text(expr)
    try:
        return cronie.parse(text)
    except cronie.CronieError as exc:
        if text.startswith("@"):  # a macro cron(8) does not know, e.g. "@DAILY"
            raise InvalidSchedule(str(exc), f"Use one of {', '.join(NICKNAMES)}.") from None
        count = len(text.split(" "))
        if count != 5:
            raise InvalidSchedule(
                f"cron expression {text!r} has {count} fields; expected 5 (minute hour day month weekday)"
            ) from None
        raise InvalidSchedule(f"invalid cron expression {text!r}: {exc}") from None


def _predictable(pattern: cronie.CronPattern, expr: str | None) -> cronie.CronPattern:
    if pattern.random:
        raise InvalidSchedule(
            f"cron expression {expr!r} uses '~': cron picks that time at random when it loads the crontab, "
            "so when it runs cannot be predicted",
            "Use a fixed value to see its next runs here.",
        )
    return pattern


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
    """The next `count` run instants strictly after `after` (default: now), in UTC, in the schedule's dialect.

    `last_run` is when the job last started: a gateway `every` job's next run is that plus the interval,
    and an `every` schedule without an anchor counts from it; without either the next run is unknown and
    the list is empty (guessing "now + interval" would change on every sync). A cron(8) job whose times
    are skipped at a spring-forward runs once per skipped time, so the same instant can appear twice.
    `default_tz` is the zone for a cron schedule without one (default: the host's zone).
    Raises InvalidSchedule for a schedule that cannot be evaluated.

    Memoised: an answer computed from an earlier `after` stays right until its first run passes, so a sync
    of 1,000 unchanged jobs every 30 s costs dictionary lookups, not calendar walks.
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
            computed_after, remembered = hit
            if computed_after <= after and (not remembered or after < remembered[0]):
                _memo.move_to_end(key)
                return list(remembered)
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
    kind, dialect = schedule.kind, schedule.dialect
    if dialect not in DIALECTS:
        raise InvalidSchedule(f"unknown schedule dialect {dialect!r}", "Use 'gateway' or 'cron'.")
    if kind == CRON:
        zone = resolve_zone(schedule.tz, default_tz)
        if dialect == GATEWAY_DIALECT:
            pattern = gateway_pattern(schedule.expr)
            if count == 0:
                return []
            offset = timedelta(milliseconds=schedule.offset_ms)
            base = _take(_gateway_instants(pattern, zone, after - offset), count)
            return [instant + offset for instant in base]
        cron_pattern = _predictable(_cron_pattern(schedule.expr), schedule.expr)
        return _take(_cron_instants(cron_pattern, zone, after), count) if count else []
    if kind == CALENDAR:  # launchd's calendar intervals: always cron(8)'s rules
        zone = resolve_zone(schedule.tz, default_tz)
        parts = [p for p in (schedule.expr or "").split(CALENDAR_SEPARATOR.strip()) if p.strip()]
        if not parts:
            raise InvalidSchedule("empty calendar schedule")
        patterns = [_predictable(_cron_pattern(p), p) for p in parts]
        if count == 0:
            return []
        streams = [_cron_instants(p, zone, after) for p in patterns]
        return _take(_dedupe(heapq.merge(*streams)), count)
    if kind == EVERY:
        interval = every_ms(schedule.expr)
        return _every_instants(interval, schedule.anchor or None, last_run, after, count, dialect)
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


def runs_from_source(
    schedule: Schedule,
    source_next: datetime | None,
    *,
    after: datetime | None = None,
    count: int = 1,
    last_run: datetime | None = None,
    default_tz: tzinfo | str | None = None,
) -> NextRuns:
    """The next `count` runs with the source's own next run first: the mirror's `next_run_at`, which the
    gateway computed, is what will happen; the computed runs continue from it.

    - `source_next` ahead of `after`: it, then the schedule's runs after it. An `every` job continues on
      the interval from it (the gateway counts from each run); a gateway top-of-hour job continues with
      the stagger the source's value shows (0-5 min after the hour), which covers jobs whose `staggerMs`
      the mirror does not carry.
    - `source_next` not ahead (passed: the run is due or late, or the row is stale): the computed runs
      after `after`, an `every` job still counting from `source_next`.
    - None: `try_next_runs` (with `last_run`, which only an `every` job uses).
    Never raises for a bad schedule: `error` says why, and `runs` still holds the source's own next run.
    """
    if after is None:
        after = now_utc()
    if source_next is None:
        return try_next_runs(schedule, after=after, count=count, last_run=last_run, default_tz=default_tz)
    if count <= 0:
        return NextRuns(())
    ahead = source_next > after
    continued = _continued(schedule, source_next, default_tz)
    start = source_next if ahead else after
    wanted = count - 1 if ahead else count
    rest = try_next_runs(continued, after=start, count=wanted, default_tz=default_tz)
    runs = ((source_next,) if ahead else ()) + rest.runs
    return NextRuns(runs, rest.error, rest.hint)


def _continued(schedule: Schedule, source_next: datetime, default_tz: tzinfo | str | None) -> Schedule:
    """The schedule whose runs continue the source's next run (see `runs_from_source`)."""
    if schedule.kind == EVERY:
        return dataclasses.replace(schedule, anchor=source_next)
    gateway_cron = schedule.kind == CRON and schedule.dialect == GATEWAY_DIALECT
    if not gateway_cron or not is_top_of_hour(schedule.expr or ""):
        return schedule
    window = timedelta(milliseconds=GATEWAY_TOP_OF_HOUR_STAGGER_MS)
    unstaggered = dataclasses.replace(schedule, offset_ms=0)
    base = try_next_runs(unstaggered, after=source_next - window, count=1, default_tz=default_tz).next
    if base is None or base > source_next:
        return schedule  # not a run time shifted by a stagger (e.g. an error backoff): keep the job's own
    offset_ms = (source_next - base) // timedelta(milliseconds=1)
    return dataclasses.replace(schedule, offset_ms=offset_ms)


def _take(instants: Iterator[datetime], count: int) -> list[datetime]:
    return list(itertools.islice(instants, count))


def _dedupe(instants: Iterator[datetime]) -> Iterator[datetime]:
    last: datetime | None = None
    for instant in instants:
        if instant != last:
            yield instant
            last = instant


def _local_wall(instant: datetime, zone: tzinfo) -> datetime:
    """The zone's wall clock at `instant`, naive, to the whole second (the schedulers' resolution)."""
    return instant.astimezone(zone).replace(tzinfo=None, microsecond=0, fold=0)


def _walls(pattern: CalendarPattern, start: datetime) -> Iterator[datetime]:
    """Every wall time the pattern matches from `start` on, in order."""
    wall: datetime | None = next_wall(pattern, start)
    while wall is not None:
        yield wall
        try:
            wall = next_wall(pattern, wall + _SECOND)
        except OverflowError:  # the year 9999 ends here
            return


def _gateway_instants(pattern: CalendarPattern, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    """The gateway's rule: each matching wall time runs at its first occurrence; skipped ones never run.

    First occurrences grow with the wall time, so starting at `after`'s wall time misses nothing; only in a
    repeated hour are the first few candidates already past.
    """
    for wall in _walls(pattern, _local_wall(after, zone)):
        instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant > after and _local_wall(instant, zone) == wall:
            yield instant


def _cron_instants(pattern: cronie.CronPattern, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    """cron(8)'s rule (see the module doc): match wall times, then map each to 0, 1 or 2 real instants."""
    fixed = not pattern.wild
    pending: list[datetime] = []
    for wall in _walls(pattern, _local_wall(after, zone) - _DST_LOOKBACK):
        first, instants = _instants_of(wall, zone, fixed)
        for instant in instants:
            heapq.heappush(pending, instant)
        # Later wall times never map to an instant before `first`, so everything up to it is final.
        while pending and pending[0] <= first:
            instant = heapq.heappop(pending)
            if instant > after:
                yield instant
    while pending:
        instant = heapq.heappop(pending)
        if instant > after:
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


def _floor_ms(instant: datetime) -> datetime:
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _every_instants(
    interval: int,
    anchor: datetime | None,
    last_run: datetime | None,
    after: datetime,
    count: int,
    dialect: str,
) -> list[datetime]:
    if count == 0:
        return []
    if dialect == GATEWAY_DIALECT and last_run is not None and (anchor is None or last_run >= anchor):
        # The gateway: the last run's start plus the interval, while that lies ahead.
        first_ms = (last_run - _EPOCH) // _MILLISECOND + interval
        if first_ms * 1000 > (after - _EPOCH) // _MICROSECOND:
            instants = (first_ms + i * interval for i in range(count))
            # Runs beyond the calendar's end do not exist, rather than overflow.
            return [datetime.fromtimestamp(ms / 1000, UTC) for ms in instants if ms < _MAX_INSTANT_MS]
    base = anchor or last_run
    if base is None:
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
