"""A mirrored job's next runs and whether it is Late, as every reader shows them (the app, the CLI).

One place, so the table, the details pane and `cronmirror jobs` never disagree: the schedule as the job's
scheduler reads it (`CronMirrorJob.schedule`: the dialect from `source`, the gateway's stagger), the source's
own next run first (`runs_from_source`), Late by `core.lateness`'s one rule. `mac_zone` is the zone the job's
host published (`core.presence.HostZones`), for jobs without a zone of their own; None when unknown (then the
reader's zone is the best guess).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from cronmirror_desktop.core.lateness import (
    NOT_LATE,
    Lateness,
    late_rule_for_source,
    lateness,
    still_late,
)
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.schedule import AT, EVENT, runs_from_source


def by_hand_only(job: CronMirrorJob) -> bool:
    """A job that nothing starts on a clock (`event` schedules: on demand, at login, on a file change)."""
    return job.schedule_kind == EVENT


def next_runs(
    job: CronMirrorJob, count: int, *, after: datetime, mac_zone: str | None = None
) -> tuple[list[datetime], str]:
    """(the next `count` runs, an explanation when there are none). The source's own next run (the
    gateway's `next_run_at`) comes first while it lies ahead; the schedule's runs continue from it."""
    schedule = job.schedule
    if schedule is None:
        return [], "This job has no schedule."
    if by_hand_only(job):
        return [], "Runs only when started (by hand, or by the event it waits for); no clock starts it."
    answer = runs_from_source(
        schedule, job.next_run_at, after=after, count=count, last_run=job.last_run_at, default_tz=mac_zone
    )
    runs = list(answer.runs)
    if answer.error and not runs:
        return [], answer.error
    if not runs:
        if job.schedule_kind == AT:
            return [], "This one-off job's time has passed."
        return [], "No upcoming runs."
    return runs, ""


def next_run(job: CronMirrorJob, *, after: datetime, mac_zone: str | None = None) -> datetime | None:
    runs, _ = next_runs(job, 1, after=after, mac_zone=mac_zone)
    return runs[0] if runs else None


def late(
    job: CronMirrorJob, now: datetime, mac_zone: str | None = None, *, display_tz: tzinfo | None = None
) -> Lateness:
    """Whether the job is Late at `now` (core.lateness; rows that are not jobs never are). `display_tz`:
    the zone of the time in the reason (the app passes the viewer's: instants are shown in it)."""
    if not job.is_job:
        return NOT_LATE
    return lateness(
        job.schedule,
        now=now,
        next_run_at=job.next_run_at,
        last_run_at=job.last_run_at,
        enabled=job.enabled,
        rule=late_rule_for_source(job.source),
        default_tz=mac_zone,
        display_tz=display_tz,
    )


def late_again(
    job: CronMirrorJob,
    verdict: Lateness,
    now: datetime,
    mac_zone: str | None = None,
    *,
    display_tz: tzinfo | None = None,
) -> Lateness:
    """`verdict` (Late, from `late` for this same row) at a later `now`: still Late, its reason aged."""
    return still_late(verdict, job.schedule, now=now, default_tz=mac_zone, display_tz=display_tz)
