"""Schedule math: next runs across DST in two hemispheres' worth of rules, descriptions, bad input."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cronmirror_desktop.core.schedule import (
    AT,
    CALENDAR,
    EVENT,
    InvalidSchedule,
    Schedule,
    expand_cron,
    host_zone,
    next_run,
    next_runs,
    resolve_zone,
    try_next_runs,
    validate,
)
from cronmirror_desktop.core.schedule_text import describe, describe_every, try_describe

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")


def local(runs: list[datetime], zone: ZoneInfo) -> list[str]:
    return [r.astimezone(zone).strftime("%m-%d %H:%M%z") for r in runs]


# -- cron across DST ------------------------------------------------------------------------------


def test_spring_forward_fixed_time_runs_once_right_after_the_gap_los_angeles() -> None:
    # 2026-03-08: 02:00 PST jumps to 03:00 PDT; 02:30 does not exist that day.
    runs = next_runs(
        Schedule.cron("30 2 * * *", "America/Los_Angeles"), after=datetime(2026, 3, 7, 12, tzinfo=LA), count=3
    )
    assert local(runs, LA) == ["03-08 03:00-0700", "03-09 02:30-0700", "03-10 02:30-0700"]
    assert all(r.tzinfo is UTC for r in runs)


def test_spring_forward_wildcard_hour_skips_the_missing_hour_berlin() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    runs = next_runs(
        Schedule.cron("15 * * * *", "Europe/Berlin"),
        after=datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN),
        count=3,
    )
    assert local(runs, BERLIN) == ["03-29 01:15+0100", "03-29 03:15+0200", "03-29 04:15+0200"]
    # ... and consecutive runs are exactly one real hour apart: nothing skipped, nothing doubled.
    assert [b - a for a, b in itertools.pairwise(runs)] == [timedelta(hours=1)] * 2


def test_spring_forward_fixed_times_inside_the_gap_collapse_into_one_run() -> None:
    runs = next_runs(
        Schedule.cron("0,30 2 * * *", "Europe/Berlin"),
        after=datetime(2026, 3, 28, 12, tzinfo=BERLIN),
        count=3,
    )
    assert local(runs, BERLIN) == ["03-29 03:00+0200", "03-30 02:00+0200", "03-30 02:30+0200"]


def test_fall_back_fixed_time_runs_once_in_the_repeated_hour() -> None:
    # 2026-11-01 (LA): 02:00 PDT falls back to 01:00 PST; 01:30 happens twice on the wall clock.
    runs = next_runs(
        Schedule.cron("30 1 * * *", "America/Los_Angeles"),
        after=datetime(2026, 10, 31, 12, tzinfo=LA),
        count=3,
    )
    assert local(runs, LA) == ["11-01 01:30-0700", "11-02 01:30-0800", "11-03 01:30-0800"]


def test_fall_back_wildcard_runs_by_real_time_through_the_repeated_hour() -> None:
    runs = next_runs(
        Schedule.cron("*/30 * * * *", "America/Los_Angeles"),
        after=datetime(2026, 11, 1, 0, 10, tzinfo=LA),
        count=7,
    )
    assert local(runs, LA) == [
        "11-01 00:30-0700",
        "11-01 01:00-0700",
        "11-01 01:30-0700",
        "11-01 01:00-0800",
        "11-01 01:30-0800",
        "11-01 02:00-0800",
        "11-01 02:30-0800",
    ]
    assert {b - a for a, b in itertools.pairwise(runs)} == {timedelta(minutes=30)}


def test_fall_back_berlin_fixed_and_starting_inside_the_second_pass() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    fixed = next_runs(
        Schedule.cron("30 2 * * *", "Europe/Berlin"), after=datetime(2026, 10, 24, 12, tzinfo=BERLIN), count=2
    )
    assert local(fixed, BERLIN) == ["10-25 02:30+0200", "10-26 02:30+0100"]
    # `after` = 02:10 CET, the second 02:10 of the night: the next quarter-hour is 02:15 CET, not a past one.
    after = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    runs = next_runs(Schedule.cron("*/15 * * * *", "Europe/Berlin"), after=after, count=2)
    assert local(runs, BERLIN) == ["10-25 02:15+0100", "10-25 02:30+0100"]
    assert all(r > after for r in runs)


def test_runs_are_strictly_after_and_sorted_over_a_whole_year() -> None:
    after = datetime(2026, 1, 1, tzinfo=UTC)
    runs = next_runs(Schedule.cron("0 */6 * * *", "Europe/Berlin"), after=after, count=4 * 366)
    assert runs[0] > after
    assert all(a < b for a, b in itertools.pairwise(runs))


def test_cron_without_tz_uses_the_given_default_zone_then_the_host_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    after = datetime(2026, 6, 1, tzinfo=UTC)
    sched = Schedule.cron("0 7 * * *")
    assert next_run(sched, after=after, default_tz="Asia/Tokyo") == datetime(2026, 6, 1, 22, tzinfo=UTC)
    monkeypatch.setenv("TZ", "America/New_York")
    assert str(host_zone()) == "America/New_York"
    assert next_run(sched, after=after) == datetime(2026, 6, 1, 11, tzinfo=UTC)


def test_macros_and_six_field_croner_expressions() -> None:
    after = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert expand_cron("@daily") == "0 0 * * *"
    assert next_run(Schedule.cron("@hourly", "UTC"), after=after) == datetime(2026, 1, 1, 13, tzinfo=UTC)
    assert next_run(Schedule.cron("@weekly", "UTC"), after=after) == datetime(2026, 1, 4, tzinfo=UTC)
    assert next_run(Schedule.cron("30 0 7 * * *", "UTC"), after=after) == datetime(
        2026, 1, 2, 7, 0, 30, tzinfo=UTC
    )


def test_expression_that_never_matches_gives_no_runs_quickly() -> None:
    started = time.monotonic()
    assert next_runs(Schedule.cron("0 0 30 2 *", "UTC"), count=3) == []
    assert time.monotonic() - started < 2


def test_calendar_merges_several_expressions() -> None:
    sched = Schedule(CALENDAR, "0 7 * * *; 30 19 * * *", "UTC")
    runs = next_runs(sched, after=datetime(2026, 1, 1, tzinfo=UTC), count=3)
    assert [r.strftime("%d %H:%M") for r in runs] == ["01 07:00", "01 19:30", "02 07:00"]
    assert describe(sched) == "At 07:00; At 19:30"


# -- every / at / event ---------------------------------------------------------------------------


def test_every_with_anchor_counts_from_the_anchor() -> None:
    anchor = datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    sched = Schedule.every(1_800_000, anchor)
    runs = next_runs(sched, after=datetime(2026, 1, 1, 1, 10, tzinfo=UTC), count=2)
    assert runs == [anchor + timedelta(minutes=90), anchor + timedelta(minutes=120)]
    # An anchor in the future is itself the next run.
    assert next_run(sched, after=anchor - timedelta(hours=1)) == anchor


def test_every_without_anchor_uses_the_last_run_and_is_otherwise_unknown() -> None:
    last = datetime(2026, 1, 1, 10, tzinfo=UTC)
    sched = Schedule.every(3_600_000)
    assert next_run(sched, after=last + timedelta(minutes=5), last_run=last) == last + timedelta(hours=1)
    assert next_run(sched, after=last + timedelta(hours=5, minutes=1), last_run=last) == last + timedelta(
        hours=6
    )
    # No anchor and no last run: unknown, rather than a "now + 1 h" that moves on every sync.
    assert next_runs(sched, after=last, count=3) == []


def test_at_is_one_run_and_none_once_passed() -> None:
    when = datetime(2026, 1, 27, 16, tzinfo=UTC)
    sched = Schedule.at(when)
    assert sched.kind == AT
    assert sched.expr == "2026-01-27T16:00:00.000Z"
    assert next_runs(sched, after=when - timedelta(seconds=1), count=5) == [when]
    assert next_runs(sched, after=when, count=5) == []


def test_event_schedules_have_no_runs() -> None:
    assert next_runs(Schedule(EVENT, "@reboot"), count=3) == []
    assert describe(Schedule(EVENT, "@reboot")) == "At startup (@reboot)"


# -- descriptions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (1_800_000, "Every 30 minutes"),
        (3_600_000, "Every hour"),
        (5_400_000, "Every 90 minutes"),
        (86_400_000, "Every day"),
        (1_000, "Every second"),
        (1_500, "Every 1500 milliseconds"),
    ],
)
def test_describe_every(ms: int, text: str) -> None:
    assert describe_every(ms) == text
    assert describe(Schedule.every(ms)) == text


def test_describe_cron_and_at() -> None:
    assert describe(Schedule.cron("0 7 * * 1-5")) == "At 07:00, Monday through Friday"
    assert describe(Schedule.cron("@daily", "Europe/Berlin"), with_tz=True) == "At 00:00 (Europe/Berlin time)"
    at = Schedule.at(datetime(2026, 1, 27, 16, tzinfo=UTC))
    assert describe(at, default_tz="America/Los_Angeles") == "Once, at 2026-01-27 08:00 PST"


# -- bad input: clear exceptions, and a non-raising variant ---------------------------------------


@pytest.mark.parametrize(
    ("sched", "fragment"),
    [
        (Schedule.cron("61 * * * *"), "invalid cron expression"),
        (Schedule.cron("* * *"), "has 3 fields"),
        (Schedule.cron("@fortnightly"), "unknown cron macro"),
        (Schedule.cron("@reboot"), "@reboot has no clock time"),
        (Schedule.cron(""), "empty cron expression"),
        (Schedule.cron("0 7 * * *", "Mars/Olympus_Mons"), "unknown time zone 'Mars/Olympus_Mons'"),
        (Schedule.cron("0 7 * * *", "../../etc/passwd"), "unknown time zone"),
        (Schedule.cron("0 7 * * *", "Europe/Berlin\x00"), "unknown time zone"),
        (Schedule("every", "abc"), "every-interval must be milliseconds"),
        (Schedule("every", "-5"), "must be positive"),
        (Schedule("at", "tomorrow-ish"), "'at' time must be an ISO date"),
        (Schedule("on-exit", None), "unknown schedule kind 'on-exit'"),
        # Hostile rows (issue 13): numbers and instants no clock reaches.
        (Schedule("every", "99999999999999999999"), "every-interval must be at most"),
        (Schedule("every", "9" * 5000), "every-interval must be milliseconds"),
        (Schedule("at", "0001-01-01T00:00:00+05:00"), "'at' time must be between"),
        (Schedule("at", "9999-12-31T23:00:00-05:00"), "'at' time must be between"),
        (Schedule("at", "294276-01-01T00:00:00+00:00"), "'at' time must be an ISO date"),
    ],
)
def test_bad_schedules_raise_a_clear_error_and_the_polite_variant_does_not(
    sched: Schedule, fragment: str
) -> None:
    with pytest.raises(InvalidSchedule) as info:
        next_runs(sched, after=datetime(2026, 1, 1, tzinfo=UTC), count=1)
    assert fragment in info.value.message
    with pytest.raises(InvalidSchedule):
        validate(sched)
    polite = try_next_runs(sched, count=3)
    assert polite.runs == ()
    assert polite.next is None
    assert fragment in (polite.error or "")
    assert "not understood" in try_describe(sched)
    assert next_run(sched) is None


def test_resolve_zone_defaults() -> None:
    assert resolve_zone(None, "Europe/Berlin") == BERLIN
    assert resolve_zone("UTC") == ZoneInfo("UTC")
    assert resolve_zone(None) == host_zone()


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_runs(Schedule.cron("0 7 * * *", "UTC"), after=datetime(2026, 1, 1))


def test_an_every_schedule_never_runs_past_year_9999() -> None:
    """The longest interval from the latest anchor a row may hold still gives runs, and stops before the
    calendar does (no OverflowError out of the next-run column)."""
    late = datetime(9998, 12, 1, tzinfo=UTC)
    longest = Schedule.every(100 * 365 * 86_400_000, anchor=late)
    assert next_runs(longest, after=datetime(2026, 1, 1, tzinfo=UTC), count=3) == [late]
    assert next_runs(Schedule.every(60_000), after=late, last_run=late, count=2) == [
        late + timedelta(minutes=1),
        late + timedelta(minutes=2),
    ]
    assert try_next_runs(Schedule.every(86_400_000), after=late, last_run=late, count=10_000).error is None
