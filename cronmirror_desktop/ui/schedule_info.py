"""What the views need from a job's schedule: one line of words, the next few run times, and Late.

Everything comes from `core.job_times` (which the CLI uses too): the schedule as the job's scheduler reads
it (`CronMirrorJob.schedule`: its dialect from the row's `source`, the gateway's stagger), the source's own
next run first (`runs_from_source`), one lateness rule (`core.lateness`). A job without a zone of its own
runs in its Mac mini's zone, which that host's worker publishes (`core.presence.HostZones`); callers pass it
as `mac_zone` (None: not published yet, then this computer's zone is the best guess). The table and the
details pane call the same functions, so the table's next run is the pane's first one.
Descriptions are cached (10,000 rows usually share a few dozen expressions, and describing is slow).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cronmirror_desktop.core import job_times
from cronmirror_desktop.core.job_times import by_hand_only
from cronmirror_desktop.core.lateness import Lateness
from cronmirror_desktop.core.rows import CronMirrorJob, zone_or_none
from cronmirror_desktop.core.schedule import schedule_for
from cronmirror_desktop.core.schedule_text import expression_text, try_describe
from cronmirror_desktop.core.timeutil import now_utc

#: What the table's Next column says for a job nothing starts on a clock.
BY_HAND = "by hand"
__all__ = ["BY_HAND", "by_hand_only", "describe", "expression", "late", "next_run", "next_runs"]


@lru_cache(maxsize=4096)
def _describe(
    kind: str | None, expr: str | None, tz: str | None, source: str | None, mac_zone: str | None
) -> str:
    if kind is None:
        return "No schedule"
    return try_describe(schedule_for(kind, expr, tz, source=source), default_tz=mac_zone)


def describe(job: CronMirrorJob, mac_zone: str | None = None) -> str:
    """ "Every 30 minutes", "At 07:00, Monday through Friday", "Once, at 2026-12-24 18:00 CET". A wall
    clock schedule in a zone other than the viewer's names it: "At 07:00, Monday through Friday
    (Europe/Berlin)" (the one place the job's zone is shown; instants are in the viewer's)."""
    text = _describe(job.schedule_kind, job.schedule_expr, job.tz, job.source, mac_zone)
    zone = job.tz or mac_zone
    if zone and job.schedule_kind in _WALL_CLOCK_KINDS and not is_viewers_zone(zone):
        text += f" ({zone})"
    return text


#: Schedules read on a wall clock, whose words depend on the zone.
_WALL_CLOCK_KINDS = frozenset({"cron", "calendar"})


def is_viewers_zone(tz: str, *, at: datetime | None = None) -> bool:
    """Whether the zone called `tz` keeps the viewer's time now (and a day either side, so a DST switch
    of one of them this week does not count as the same zone). An unknown zone is not."""
    zone = zone_or_none(tz)
    if zone is None:
        return False
    at = at or datetime.now(UTC)
    return all(
        (at + timedelta(days=d)).astimezone(zone).utcoffset()
        == (at + timedelta(days=d)).astimezone().utcoffset()
        for d in (-1, 0, 1)
    )


def _relation(tz: str) -> str:
    """How the zone called `tz` stands to the viewer's: "this computer's time too", "CET, 1 h ahead of
    this computer"."""
    zone = zone_or_none(tz)
    if zone is None:
        return "unknown time zone"
    if is_viewers_zone(tz):
        return "this computer's time too"
    now = datetime.now(UTC)
    hours = (now.astimezone(zone).utcoffset() or timedelta()) - (now.astimezone().utcoffset() or timedelta())
    diff = hours.total_seconds() / 3600
    side = "ahead of" if diff > 0 else "behind"
    return f"{now.astimezone(zone).tzname()}, {abs(diff):g} h {side} this computer"


def zone_text(job: CronMirrorJob, mac_zone: str | None = None) -> str:
    """The zone a job's schedule is read in, for the details pane: its own, else its Mac mini's."""
    machine = f"{job.host}'s" if job.host else "the Mac mini's"
    if job.tz:
        return f"{job.tz} ({_relation(job.tz)})"
    if mac_zone:
        return f"{mac_zone} ({machine} local time zone; {_relation(mac_zone)})"
    return f"{machine} local time zone (not published yet: times shown in this computer's zone)"


def expression(job: CronMirrorJob) -> str:
    """The schedule as the mirror stores it, for people who read cron: "cron 0 7 * * 1-5", "every 30
    min"."""
    return expression_text(job.schedule_kind, job.schedule_expr)


def next_runs(
    job: CronMirrorJob, count: int = 5, *, after: datetime | None = None, mac_zone: str | None = None
) -> tuple[list[datetime], str]:
    """(the next `count` runs, an explanation when there are none): `core.job_times.next_runs`."""
    return job_times.next_runs(job, count, after=after or now_utc(), mac_zone=mac_zone)


def next_run(
    job: CronMirrorJob, *, after: datetime | None = None, mac_zone: str | None = None
) -> datetime | None:
    """The first of `next_runs`: what the table's Next column shows."""
    return job_times.next_run(job, after=after or now_utc(), mac_zone=mac_zone)


def late(job: CronMirrorJob, now: datetime, mac_zone: str | None = None) -> Lateness:
    """Whether the job is Late now (core.lateness, one rule for every reader); the expected time in the
    reason is in the viewer's zone, as every instant the app shows."""
    return job_times.late(job, now, mac_zone, display_tz=now.astimezone().tzinfo)


def late_again(job: CronMirrorJob, verdict: Lateness, now: datetime, mac_zone: str | None = None) -> Lateness:
    """A Late `verdict` of `late` for this row at a later `now` (its reason in the viewer's zone)."""
    return job_times.late_again(job, verdict, now, mac_zone, display_tz=now.astimezone().tzinfo)
