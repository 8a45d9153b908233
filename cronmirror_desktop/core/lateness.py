"""Late runs: one rule for every reader (the table's chip and filter, the details pane, the CLI).

A job is **Late** when the run it was expected to start has passed by more than a grace without a newer
last run. The grace is 10 % of the job's interval (the time from the expected run to the one after it),
at least 2 minutes and at most 1 hour. Where the expected run comes from depends on who runs the job
(`late_rule_for_source`):
- `source_next` (gateway jobs, and rows that name no source): the mirror's `next_run_at`. The gateway
  keeps it on a missed run until it runs the job, and records every run's start in `last_run_at`.
- `last_run` (jobs.toml, run by our worker): the first run the schedule has after `last_run_at`. The
  worker recomputes `next_run_at` on every sync, so a missed run would just move on there.
- `unknown` (crontab, launchd): cron and launchd run these without telling anyone; `last_run_at` only has
  the runs we started by hand, so nothing can be Late.
Everything takes `now` as an argument (tests move a fake clock, readers pass their own).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from cronmirror_desktop.core.schedule import (
    EVENT,
    InvalidSchedule,
    Schedule,
    resolve_zone,
    try_next_runs,
)

LateRule = Literal["source_next", "last_run", "unknown"]

GRACE_FRACTION = 0.10
MIN_GRACE = timedelta(minutes=2)
MAX_GRACE = timedelta(hours=1)
#: A last run this much before the expected time still counts as that run (timestamps are rounded).
_SAME_RUN = timedelta(seconds=1)

_RULES: dict[str | None, LateRule] = {
    None: "source_next",
    "gateway": "source_next",
    "jobs": "last_run",
    "crontab": "unknown",
    "launchd": "unknown",
}


def late_rule_for_source(source: str | None) -> LateRule:
    """How lateness is judged for jobs of a worker source (None: a row that does not say, a gateway job)."""
    return _RULES.get(source, "unknown")


def grace_for(interval: timedelta | None) -> timedelta:
    """10 % of the interval, within [2 min, 1 h]; 2 min when there is no interval (a one-off job)."""
    if interval is None or interval <= timedelta(0):
        return MIN_GRACE
    return min(MAX_GRACE, max(MIN_GRACE, interval * GRACE_FRACTION))


@dataclass(frozen=True, slots=True)
class Lateness:
    """What a reader shows: whether the job is Late, since when, and one line saying why."""

    late: bool
    #: The run that should have started (None when nothing was expected).
    expected_at: datetime | None = None
    #: When the job became Late: `expected_at` + `grace`.
    late_since: datetime | None = None
    grace: timedelta | None = None
    #: "expected at 03:10 CET, 12 min ago" when Late, else "".
    reason: str = ""


NOT_LATE = Lateness(False)


def lateness(
    schedule: Schedule | None,
    *,
    now: datetime,
    next_run_at: datetime | None = None,
    last_run_at: datetime | None = None,
    enabled: bool = True,
    rule: LateRule = "source_next",
    running_since: datetime | None = None,
    default_tz: tzinfo | str | None = None,
    display_tz: tzinfo | str | None = None,
) -> Lateness:
    """Judge one job (see the module doc). Never raises for a bad schedule (such a job is not Late).

    `running_since`: the start of a run still in progress, if the reader knows of one (the mirror's
    `last_run_at` only changes when a run ends); a run that started at or after the expected time is it.
    `display_tz`: the zone of the time in `reason` (default: the job's zone, else `default_tz`/the host's).
    """
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    if not enabled or schedule is None or schedule.kind == EVENT or rule == "unknown":
        return NOT_LATE
    expected = _expected(schedule, rule, next_run_at, last_run_at, default_tz)
    if expected is None:
        return NOT_LATE
    for started in (last_run_at, running_since):
        if started is not None and started >= expected - _SAME_RUN:
            return NOT_LATE
    grace = grace_for(_interval(schedule, expected, default_tz))
    if now - expected <= grace:
        return Lateness(False, expected, expected + grace, grace)
    reason = _reason(schedule, expected, now, default_tz, display_tz)
    return Lateness(True, expected, expected + grace, grace, reason)


def still_late(
    verdict: Lateness,
    schedule: Schedule | None,
    *,
    now: datetime,
    default_tz: tzinfo | str | None = None,
    display_tz: tzinfo | str | None = None,
) -> Lateness:
    """A Late `verdict` at a later `now`, for the same row: the expected run does not move with time, so a
    Late job stays Late until a newer run changes its row, and only the reason's "… ago" is new. Costs no
    schedule computation (a reader judges every job again every 30 s)."""
    if not verdict.late or verdict.expected_at is None or schedule is None:
        raise ValueError("only a Late verdict stays Late")
    return replace(verdict, reason=_reason(schedule, verdict.expected_at, now, default_tz, display_tz))


def _reason(
    schedule: Schedule,
    expected: datetime,
    now: datetime,
    default_tz: tzinfo | str | None,
    display_tz: tzinfo | str | None,
) -> str:
    zone = _display_zone(schedule, display_tz, default_tz)
    return f"expected at {_clock(expected, now, zone)}, {_span(now - expected)} ago"


def _expected(
    schedule: Schedule,
    rule: LateRule,
    next_run_at: datetime | None,
    last_run_at: datetime | None,
    default_tz: tzinfo | str | None,
) -> datetime | None:
    if rule == "source_next":
        return next_run_at
    if last_run_at is None:
        return None  # never ran: when the first run was due is not known
    return try_next_runs(schedule, after=last_run_at, last_run=last_run_at, default_tz=default_tz).next


def _interval(schedule: Schedule, expected: datetime, default_tz: tzinfo | str | None) -> timedelta | None:
    """From the expected run to the next one (strictly later: cron(8) may run twice at one instant)."""
    following = try_next_runs(schedule, after=expected, last_run=expected, default_tz=default_tz).next
    return following - expected if following is not None else None


def _display_zone(
    schedule: Schedule, display_tz: tzinfo | str | None, default_tz: tzinfo | str | None
) -> tzinfo:
    try:
        if display_tz is not None:
            return resolve_zone(None, display_tz)
        return resolve_zone(schedule.tz, default_tz)
    except InvalidSchedule:
        return UTC


def _clock(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """The wall time with its zone's abbreviation: a reader in another zone must not take it for its own."""
    local, today = moment.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        text = local.strftime("%H:%M")
    elif today - local < timedelta(days=6):
        text = local.strftime("%a %H:%M")
    else:
        text = local.strftime("%Y-%m-%d %H:%M")
    name = local.tzname()
    return f"{text} {name}" if name else text


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = hours // 24
    return "1 day" if days == 1 else f"{days} days"
