"""What the views need from a job's schedule: one line of words and the next few run times.

The words and the DST-correct run times come from `core.schedule` / `core.schedule_text`; this module
only adapts a mirror row to them and caches descriptions (10,000 rows usually share a few dozen
expressions, and cron-descriptor is slow enough to matter at that scale).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cronmirror_desktop.core.rows import CronMirrorJob, zone_or_none
from cronmirror_desktop.core.schedule import Schedule, try_next_runs
from cronmirror_desktop.core.schedule_text import expression_text, try_describe


def _schedule(job: CronMirrorJob) -> Schedule:
    return Schedule(job.schedule_kind or "", job.schedule_expr, job.tz)


@lru_cache(maxsize=4096)
def _describe(kind: str | None, expr: str | None, tz: str | None) -> str:
    if kind is None:
        return "No schedule"
    return try_describe(Schedule(kind, expr, tz))


def describe(job: CronMirrorJob) -> str:
    """ "Every 30 minutes", "At 07:00, Monday through Friday", "Once, at 2026-12-24 18:00 CET". A wall
    clock schedule in a zone other than the viewer's names it: "At 07:00, Monday through Friday
    (Europe/Berlin)" (the one place the job's zone is shown; instants are in the viewer's)."""
    text = _describe(job.schedule_kind, job.schedule_expr, job.tz)
    if job.tz and job.schedule_kind in _WALL_CLOCK_KINDS and not is_viewers_zone(job.tz):
        text += f" ({job.tz})"
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


def zone_text(job: CronMirrorJob) -> str:
    """The zone a job's schedule is read in, for the details pane."""
    if not job.tz:
        return "the Mac mini's local time zone"
    zone = job.zone
    if zone is None:
        return f"{job.tz} (unknown time zone)"
    if is_viewers_zone(job.tz):
        return f"{job.tz} (this computer's time too)"
    now = datetime.now(UTC)
    hours = (now.astimezone(zone).utcoffset() or timedelta()) - (now.astimezone().utcoffset() or timedelta())
    diff = hours.total_seconds() / 3600
    side = "ahead of" if diff > 0 else "behind"
    return f"{job.tz} ({now.astimezone(zone).tzname()}, {abs(diff):g} h {side} this computer)"


def expression(job: CronMirrorJob) -> str:
    """The schedule as the mirror stores it, for people who read cron: "cron 0 7 * * 1-5", "every 30
    min"."""
    return expression_text(job.schedule_kind, job.schedule_expr)


def next_runs(
    job: CronMirrorJob, count: int = 5, *, after: datetime | None = None
) -> tuple[list[datetime], str]:
    """(the next `count` runs, an explanation when there are none). DST-correct in the job's zone.

    An `every` job is anchored on its last run, as the gateway does; the mirror's `next_run_at` is
    preferred as the first run when it lies ahead, because the gateway knows best.
    """
    if job.schedule_kind is None:
        return [], "This job has no schedule."
    answer = try_next_runs(_schedule(job), after=after, count=count, last_run=job.last_run_at)
    if answer.error:
        return [], answer.error
    runs = list(answer.runs)
    if not runs:
        if job.schedule_kind == "at":
            return [], "This one-off job's time has passed."
        return [], "No upcoming runs."
    return runs, ""


def next_run(job: CronMirrorJob, *, after: datetime | None = None) -> datetime | None:
    """The next run when the mirror does not say (computed from the schedule), else None."""
    runs, _ = next_runs(job, 1, after=after)
    return runs[0] if runs else None
