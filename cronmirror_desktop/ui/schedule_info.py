"""What the views need from a job's schedule: one line of words, the next few run times, and Late.

Everything comes from `core`: the schedule as the job's scheduler reads it (`CronMirrorJob.schedule`: its
dialect from the row's `source`, the gateway's stagger), the source's own next run first
(`runs_from_source`), one lateness rule (`core.lateness`). A job without a zone of its own runs in its
Mac mini's zone, which that host's worker publishes (`core.presence.HostZones`); callers pass it as
`mac_zone` (None: not published yet, then this computer's zone is the best guess). The table and the
details pane call the same functions, so the table's next run is the pane's first one.
Descriptions are cached (10,000 rows usually share a few dozen expressions, and describing is slow).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from cronmirror_desktop.core.lateness import NOT_LATE, Lateness, late_rule_for_source, lateness
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.schedule import AT, EVENT, runs_from_source, schedule_for
from cronmirror_desktop.core.schedule_text import try_describe
from cronmirror_desktop.core.timeutil import now_utc

#: What the table's Next column says for a job nothing starts on a clock.
BY_HAND = "by hand"


@lru_cache(maxsize=4096)
def _describe(
    kind: str | None, expr: str | None, tz: str | None, source: str | None, mac_zone: str | None
) -> str:
    if kind is None:
        return "No schedule"
    return try_describe(schedule_for(kind, expr, tz, source=source), default_tz=mac_zone)


def describe(job: CronMirrorJob, mac_zone: str | None = None) -> str:
    """ "Every 30 minutes", "At 07:00, Monday through Friday", "Once, at 2026-12-24 18:00 CET"."""
    return _describe(job.schedule_kind, job.schedule_expr, job.tz, job.source, mac_zone)


def expression(job: CronMirrorJob) -> str:
    """The schedule as the mirror stores it, for people who read cron: "cron 0 7 * * 1-5"."""
    if job.schedule_kind is None:
        return "—"
    return f"{job.schedule_kind} {job.schedule_expr or ''}".strip()


def by_hand_only(job: CronMirrorJob) -> bool:
    """A job that nothing starts on a clock (`event` schedules: on demand, at login, on a file change)."""
    return job.schedule_kind == EVENT


def next_runs(
    job: CronMirrorJob, count: int = 5, *, after: datetime | None = None, mac_zone: str | None = None
) -> tuple[list[datetime], str]:
    """(the next `count` runs, an explanation when there are none). The source's own next run (the
    gateway's `next_run_at`) comes first while it lies ahead; the schedule's runs continue from it."""
    schedule = job.schedule
    if schedule is None:
        return [], "This job has no schedule."
    if by_hand_only(job):
        return [], "Runs only when started (by hand, or by the event it waits for); no clock starts it."
    answer = runs_from_source(
        schedule,
        job.next_run_at,
        after=after or now_utc(),
        count=count,
        last_run=job.last_run_at,
        default_tz=mac_zone,
    )
    runs = list(answer.runs)
    if answer.error and not runs:
        return [], answer.error
    if not runs:
        if job.schedule_kind == AT:
            return [], "This one-off job's time has passed."
        return [], "No upcoming runs."
    return runs, ""


def next_run(
    job: CronMirrorJob, *, after: datetime | None = None, mac_zone: str | None = None
) -> datetime | None:
    """The first of `next_runs`: what the table's Next column shows."""
    runs, _ = next_runs(job, 1, after=after, mac_zone=mac_zone)
    return runs[0] if runs else None


def late(job: CronMirrorJob, now: datetime, mac_zone: str | None = None) -> Lateness:
    """Whether the job is Late now (core.lateness, one rule for every reader)."""
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
    )
