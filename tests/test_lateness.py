"""Late runs: the one rule every reader uses, driven by a fake clock (`now` is an argument, never read)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronmirror_desktop.core.lateness import (
    MAX_GRACE,
    MIN_GRACE,
    grace_for,
    late_rule_for_source,
    lateness,
    still_late,
)
from cronmirror_desktop.core.schedule import CRON_DIALECT, Schedule, schedule_for

T0 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
EVERY_5_MIN = Schedule.every(300_000)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def test_grace_is_a_tenth_of_the_interval_within_two_minutes_and_an_hour() -> None:
    assert grace_for(timedelta(minutes=5)) == MIN_GRACE
    assert grace_for(timedelta(hours=1)) == timedelta(minutes=6)
    assert grace_for(timedelta(hours=5)) == timedelta(minutes=30)
    assert grace_for(timedelta(days=1)) == MAX_GRACE
    assert grace_for(None) == MIN_GRACE


def test_every_5_minutes_with_a_12_minute_old_last_run_is_late_since_the_grace_ran_out() -> None:
    clock = FakeClock(T0)
    last = T0
    next_run = T0 + timedelta(minutes=5)  # what the gateway said, and still says: the run did not happen
    judged = [
        lateness(
            EVERY_5_MIN,
            now=clock.advance(minutes=m),
            next_run_at=next_run,
            last_run_at=last,
            default_tz="UTC",
        )
        for m in (4, 2, 1, 1, 4)  # 03:04, 03:06, 03:07 (exactly the grace), 03:08, 03:12
    ]
    assert [j.late for j in judged] == [False, False, False, True, True]
    assert all(j.expected_at == next_run for j in judged)
    assert judged[-1].late_since == next_run + MIN_GRACE
    assert judged[-1].grace == MIN_GRACE
    assert judged[-1].reason == "expected at 03:05 UTC, 7 min ago"
    # The run happens at last: the gateway moves next_run_at on and records the start.
    ran = lateness(
        EVERY_5_MIN,
        now=clock.advance(seconds=30),
        next_run_at=clock.now + timedelta(minutes=5),
        last_run_at=clock.now - timedelta(seconds=5),
    )
    assert not ran.late
    assert ran.reason == ""


def test_a_newer_last_run_means_it_ran_even_if_next_run_at_is_stale() -> None:
    expected = T0 + timedelta(minutes=5)
    for started in (expected, expected + timedelta(seconds=40), expected - timedelta(milliseconds=400)):
        assert not lateness(
            EVERY_5_MIN, now=T0 + timedelta(hours=1), next_run_at=expected, last_run_at=started
        ).late
    # A run that started well before the expected one (a manual run) is not it.
    assert lateness(
        EVERY_5_MIN,
        now=T0 + timedelta(hours=1),
        next_run_at=expected,
        last_run_at=expected - timedelta(minutes=3),
    ).late


def test_a_run_in_progress_that_started_on_time_is_not_late() -> None:
    expected = T0 + timedelta(minutes=5)
    now = T0 + timedelta(minutes=40)
    assert lateness(EVERY_5_MIN, now=now, next_run_at=expected, last_run_at=T0).late
    assert not lateness(
        EVERY_5_MIN, now=now, next_run_at=expected, last_run_at=T0, running_since=expected
    ).late


@pytest.mark.parametrize(
    ("expr", "interval_grace", "late_after"),
    [
        ("0 * * * *", timedelta(minutes=6), timedelta(minutes=6, seconds=1)),
        ("0 */5 * * *", timedelta(minutes=30), timedelta(minutes=30, seconds=1)),
        ("0 3 * * *", MAX_GRACE, timedelta(hours=1, seconds=1)),
        ("*/1 * * * *", MIN_GRACE, timedelta(minutes=2, seconds=1)),
    ],
)
def test_grace_follows_the_schedules_own_interval(
    expr: str, interval_grace: timedelta, late_after: timedelta
) -> None:
    schedule = Schedule.cron(expr, "UTC")
    expected = datetime(2026, 6, 1, 5, tzinfo=UTC)  # a run time of each expression but the daily one
    early = lateness(schedule, now=expected + late_after - timedelta(seconds=2), next_run_at=expected)
    late = lateness(schedule, now=expected + late_after, next_run_at=expected)
    assert early.grace == late.grace == interval_grace
    assert (early.late, late.late) == (False, True)


def test_jobs_file_jobs_are_judged_from_their_last_run_because_the_worker_moves_next_run_at() -> None:
    schedule = schedule_for("cron", "*/10 * * * *", "UTC", source="jobs")
    rule = late_rule_for_source("jobs")
    assert rule == "last_run"
    moving_next = T0 + timedelta(minutes=30)  # recomputed by the worker on each sync: says nothing
    judged = lateness(
        schedule,
        now=T0 + timedelta(minutes=25),
        next_run_at=moving_next,
        last_run_at=T0,
        rule=rule,
    )
    assert judged.late
    assert judged.expected_at == T0 + timedelta(minutes=10)
    assert judged.reason == "expected at 03:10 UTC, 15 min ago"
    # Never ran: when the first run was due is unknown, so it is not called Late.
    assert not lateness(schedule, now=T0 + timedelta(days=3), next_run_at=moving_next, rule=rule).late


def test_crontab_and_launchd_jobs_are_never_late_because_their_runs_are_not_seen() -> None:
    schedule = schedule_for("cron", "*/10 * * * *", "UTC", source="crontab")
    for source in ("crontab", "launchd", "something-new"):
        rule = late_rule_for_source(source)
        assert rule == "unknown"
        assert not lateness(
            schedule,
            now=T0 + timedelta(days=2),
            next_run_at=T0,
            last_run_at=T0 - timedelta(days=1),
            rule=rule,
        ).late
    assert late_rule_for_source(None) == late_rule_for_source("gateway") == "source_next"


def test_disabled_event_and_unscheduled_jobs_are_not_late() -> None:
    now = T0 + timedelta(days=1)
    assert not lateness(EVERY_5_MIN, now=now, next_run_at=T0, enabled=False).late
    assert not lateness(Schedule("event", "@reboot"), now=now, next_run_at=T0).late
    assert not lateness(None, now=now, next_run_at=T0).late
    assert not lateness(EVERY_5_MIN, now=now).late  # nothing expected


def test_a_one_off_job_gets_the_minimum_grace_and_a_bad_schedule_still_trusts_the_source() -> None:
    at = Schedule.at(T0)
    assert lateness(at, now=T0 + timedelta(minutes=3), next_run_at=T0).late
    broken = Schedule("cron", "not cron", "UTC")
    judged = lateness(broken, now=T0 + timedelta(minutes=3), next_run_at=T0)
    assert judged.late
    assert judged.grace == MIN_GRACE
    assert not lateness(broken, now=T0 + timedelta(days=1), last_run_at=T0, rule="last_run").late


def test_reason_names_the_day_when_it_is_not_today_in_the_display_zone() -> None:
    schedule = Schedule.cron("0 3 * * *", "Europe/Berlin")
    expected = datetime(2026, 6, 1, 1, tzinfo=UTC)  # 03:00 in Berlin, a Monday
    assert lateness(schedule, now=expected + timedelta(hours=2), next_run_at=expected).reason == (
        "expected at 03:00 CEST, 2 h ago"
    )
    assert lateness(schedule, now=expected + timedelta(hours=26, minutes=5), next_run_at=expected).reason == (
        "expected at Mon 03:00 CEST, 1 day ago"
    )
    far = lateness(schedule, now=expected + timedelta(days=9), next_run_at=expected, display_tz="UTC")
    assert far.reason == "expected at 2026-06-01 01:00 UTC, 9 days ago"
    assert lateness(
        schedule, now=expected + timedelta(hours=3, minutes=20), next_run_at=expected, display_tz="Asia/Tokyo"
    ).reason == ("expected at 10:00 JST, 3 h 20 min ago")


def test_cron8_runs_twice_at_one_instant_after_a_dst_change_and_the_grace_is_not_zero() -> None:
    # "0,30 2" in New York: both skipped times run at 03:00 EDT on 2026-03-08, then 02:00 the day after.
    schedule = Schedule.cron("0,30 2 * * *", "America/New_York", CRON_DIALECT)
    expected = datetime(2026, 3, 8, 7, tzinfo=UTC)
    judged = lateness(schedule, now=expected + timedelta(minutes=90), next_run_at=expected)
    assert judged.grace == MAX_GRACE  # the next later run is 23 h away, not 0 s
    assert judged.late


def test_a_late_verdict_stays_late_later_with_the_same_reason_a_fresh_judgement_gives() -> None:
    """What a reader that judges every 30 s relies on to skip recomputing schedules (ui/job_model.py)."""
    cron = schedule_for("cron", "0 3 * * *", "Europe/Paris")
    expected = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    first = lateness(cron, now=expected + timedelta(hours=2), next_run_at=expected, last_run_at=None)
    assert first.late
    for later in (timedelta(hours=2, minutes=1), timedelta(hours=30), timedelta(days=9)):
        now = expected + later
        fresh = lateness(cron, now=now, next_run_at=expected, last_run_at=None, display_tz="Asia/Tokyo")
        assert still_late(first, cron, now=now, display_tz="Asia/Tokyo") == fresh
    not_late = lateness(cron, now=expected, next_run_at=expected, last_run_at=None)
    with pytest.raises(ValueError, match="only a Late verdict"):
        still_late(not_late, cron, now=expected + timedelta(days=1))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        lateness(EVERY_5_MIN, now=datetime(2026, 1, 1))
