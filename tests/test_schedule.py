"""Schedule math in both dialects: next runs across DST, day-field logic, stagger, every-jobs, bad input.

The gateway dialect's expectations here are the real gateway's answers (tests/test_schedule_gateway.py
checks the same cases against it); the cron dialect's come from cronie's documented behaviour (cron.c's
DST handling, crontab(5)'s day-field rule), see docs/schedules.md.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cronmirror_desktop.core.schedule import (
    AT,
    CALENDAR,
    CRON,
    CRON_DIALECT,
    EVENT,
    GATEWAY_DIALECT,
    InvalidSchedule,
    Schedule,
    dialect_for_source,
    expand_cron,
    gateway_stagger_offset_ms,
    host_zone,
    is_top_of_hour,
    next_run,
    next_runs,
    resolve_zone,
    runs_from_source,
    schedule_for,
    try_next_runs,
    validate,
)
from cronmirror_desktop.core.schedule_text import describe, describe_every, try_describe

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
BOTH = pytest.mark.parametrize("dialect", [GATEWAY_DIALECT, CRON_DIALECT])


def local(runs: list[datetime], zone: ZoneInfo) -> list[str]:
    return [r.astimezone(zone).strftime("%m-%d %H:%M%z") for r in runs]


# -- cron across DST ------------------------------------------------------------------------------


def test_cron8_spring_forward_fixed_time_runs_once_right_after_the_gap_los_angeles() -> None:
    # 2026-03-08: 02:00 PST jumps to 03:00 PDT; 02:30 does not exist that day.
    runs = next_runs(
        Schedule.cron("30 2 * * *", "America/Los_Angeles", CRON_DIALECT),
        after=datetime(2026, 3, 7, 12, tzinfo=LA),
        count=3,
    )
    assert local(runs, LA) == ["03-08 03:00-0700", "03-09 02:30-0700", "03-10 02:30-0700"]
    assert all(r.tzinfo is UTC for r in runs)


def test_gateway_spring_forward_fixed_time_does_not_run_that_day() -> None:
    runs = next_runs(
        Schedule.cron("30 2 * * *", "America/Los_Angeles"), after=datetime(2026, 3, 7, 12, tzinfo=LA), count=3
    )
    assert local(runs, LA) == ["03-09 02:30-0700", "03-10 02:30-0700", "03-11 02:30-0700"]
    assert all(r.tzinfo is UTC for r in runs)


@BOTH
def test_spring_forward_wildcard_hour_skips_the_missing_hour_berlin(dialect: str) -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    runs = next_runs(
        Schedule("cron", "15 * * * *", "Europe/Berlin", dialect=dialect),
        after=datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN),
        count=3,
    )
    assert local(runs, BERLIN) == ["03-29 01:15+0100", "03-29 03:15+0200", "03-29 04:15+0200"]
    # ... and consecutive runs are exactly one real hour apart: nothing skipped, nothing doubled.
    assert [b - a for a, b in itertools.pairwise(runs)] == [timedelta(hours=1)] * 2


def test_cron8_spring_forward_runs_each_skipped_fixed_time_once_right_after_the_gap() -> None:
    # cron.c, "DST begins": the fixed-time jobs of every skipped minute run, one after the other.
    runs = next_runs(
        Schedule.cron("0,30 2 * * *", "Europe/Berlin", CRON_DIALECT),
        after=datetime(2026, 3, 28, 12, tzinfo=BERLIN),
        count=3,
    )
    assert local(runs, BERLIN) == ["03-29 03:00+0200", "03-29 03:00+0200", "03-30 02:00+0200"]


def test_gateway_spring_forward_skips_every_time_inside_the_gap() -> None:
    runs = next_runs(
        Schedule.cron("0,30 2 * * *", "Europe/Berlin"),
        after=datetime(2026, 3, 28, 12, tzinfo=BERLIN),
        count=3,
    )
    assert local(runs, BERLIN) == ["03-30 02:00+0200", "03-30 02:30+0200", "03-31 02:00+0200"]


@BOTH
def test_fall_back_fixed_time_runs_once_in_the_repeated_hour(dialect: str) -> None:
    # 2026-11-01 (LA): 02:00 PDT falls back to 01:00 PST; 01:30 happens twice on the wall clock.
    runs = next_runs(
        Schedule("cron", "30 1 * * *", "America/Los_Angeles", dialect=dialect),
        after=datetime(2026, 10, 31, 12, tzinfo=LA),
        count=3,
    )
    assert local(runs, LA) == ["11-01 01:30-0700", "11-02 01:30-0800", "11-03 01:30-0800"]


def test_cron8_fall_back_wildcard_runs_by_real_time_through_the_repeated_hour() -> None:
    runs = next_runs(
        Schedule.cron("*/30 * * * *", "America/Los_Angeles", CRON_DIALECT),
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


def test_gateway_fall_back_wildcard_runs_in_the_first_copy_of_the_repeated_hour_only() -> None:
    runs = next_runs(
        Schedule.cron("*/30 * * * *", "America/Los_Angeles"),
        after=datetime(2026, 11, 1, 0, 10, tzinfo=LA),
        count=5,
    )
    assert local(runs, LA) == [
        "11-01 00:30-0700",
        "11-01 01:00-0700",
        "11-01 01:30-0700",
        "11-01 02:00-0800",
        "11-01 02:30-0800",
    ]


def test_fall_back_berlin_fixed_and_starting_inside_the_second_pass() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    for dialect in (GATEWAY_DIALECT, CRON_DIALECT):
        fixed = next_runs(
            Schedule.cron("30 2 * * *", "Europe/Berlin", dialect),
            after=datetime(2026, 10, 24, 12, tzinfo=BERLIN),
            count=2,
        )
        assert local(fixed, BERLIN) == ["10-25 02:30+0200", "10-26 02:30+0100"]
    # `after` = 02:10 CET, the second 02:10 of the night. cron(8): the next quarter-hour is 02:15 CET, not a
    # past one; the gateway ran 02:15 in the first pass, so its next is 03:00 CET.
    after = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    runs = next_runs(Schedule.cron("*/15 * * * *", "Europe/Berlin", CRON_DIALECT), after=after, count=2)
    assert local(runs, BERLIN) == ["10-25 02:15+0100", "10-25 02:30+0100"]
    runs = next_runs(Schedule.cron("*/15 * * * *", "Europe/Berlin"), after=after, count=2)
    assert local(runs, BERLIN) == ["10-25 03:00+0100", "10-25 03:15+0100"]
    assert all(r > after for r in runs)


@BOTH
def test_runs_are_strictly_after_and_sorted_over_a_whole_year(dialect: str) -> None:
    after = datetime(2026, 1, 1, tzinfo=UTC)
    runs = next_runs(
        Schedule("cron", "0 */6 * * *", "Europe/Berlin", dialect=dialect), after=after, count=4 * 366
    )
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


def test_macros_and_six_and_seven_field_croner_expressions() -> None:
    after = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert expand_cron("@daily") == "0 0 * * *"
    assert expand_cron("@Daily", GATEWAY_DIALECT) == "0 0 * * *"
    assert next_run(Schedule.cron("@hourly", "UTC"), after=after) == datetime(2026, 1, 1, 13, tzinfo=UTC)
    assert next_run(Schedule.cron("@weekly", "UTC"), after=after) == datetime(2026, 1, 4, tzinfo=UTC)
    assert next_run(Schedule.cron("30 0 7 * * *", "UTC"), after=after) == datetime(
        2026, 1, 2, 7, 0, 30, tzinfo=UTC
    )
    assert next_run(Schedule.cron("0 0 9 * * * 2027", "UTC"), after=after) == datetime(
        2027, 1, 1, 9, tzinfo=UTC
    )
    assert next_runs(Schedule.cron("0 0 9 * * * 2025", "UTC"), after=after, count=3) == []


@BOTH
def test_expression_that_never_matches_gives_no_runs_quickly(dialect: str) -> None:
    started = time.monotonic()
    assert next_runs(Schedule("cron", "0 0 30 2 *", "UTC", dialect=dialect), count=3) == []
    assert time.monotonic() - started < 2


def test_calendar_merges_several_expressions() -> None:
    sched = Schedule(CALENDAR, "0 7 * * *; 30 19 * * *", "UTC")
    runs = next_runs(sched, after=datetime(2026, 1, 1, tzinfo=UTC), count=3)
    assert [r.strftime("%d %H:%M") for r in runs] == ["01 07:00", "01 19:30", "02 07:00"]
    assert describe(sched) == "At 07:00; At 19:30"


# -- the gateway's grammar (croner 10) ------------------------------------------------------------


def _g(expr: str, after: str, count: int = 3, tz: str = "UTC") -> list[str]:
    start = datetime.fromisoformat(after).replace(tzinfo=UTC)
    return [
        r.strftime("%Y-%m-%d %H:%M:%S") for r in next_runs(Schedule.cron(expr, tz), after=start, count=count)
    ]


@pytest.mark.parametrize(
    ("expr", "after", "runs"),
    [
        (
            "0 0 L * *",
            "2026-02-27 12:00",
            ["2026-02-28 00:00:00", "2026-03-31 00:00:00", "2026-04-30 00:00:00"],
        ),
        (
            "0 0 5L * *",
            "2026-04-05 12:00",
            ["2026-04-30 00:00:00", "2026-05-05 00:00:00", "2026-05-31 00:00:00"],
        ),
        (
            "0 0 LW * *",
            "2026-05-01 00:00",
            ["2026-05-29 00:00:00", "2026-06-30 00:00:00", "2026-07-31 00:00:00"],
        ),
        (
            "0 9 1W * *",
            "2026-08-01 00:00",
            ["2026-08-03 09:00:00", "2026-09-01 09:00:00", "2026-10-01 09:00:00"],
        ),
        (
            "0 9 31W * *",
            "2026-04-01 00:00",
            ["2026-05-29 09:00:00", "2026-07-31 09:00:00", "2026-08-31 09:00:00"],
        ),
        (
            "0 9 * * 5#L",
            "2026-01-01 00:00",
            ["2026-01-30 09:00:00", "2026-02-27 09:00:00", "2026-03-27 09:00:00"],
        ),
        (
            "0 9 * * 5L",
            "2026-01-01 00:00",
            ["2026-01-30 09:00:00", "2026-02-27 09:00:00", "2026-03-27 09:00:00"],
        ),
        (
            "0 9 * * 5-6#L",
            "2026-01-01 00:00",
            ["2026-01-30 09:00:00", "2026-01-31 09:00:00", "2026-02-27 09:00:00"],
        ),
        (
            "0 9 * * MON#1",
            "2026-01-06 00:00",
            ["2026-02-02 09:00:00", "2026-03-02 09:00:00", "2026-04-06 09:00:00"],
        ),
        (
            "0 12 13 * +FRI",
            "2026-01-01 00:00",
            ["2026-02-13 12:00:00", "2026-03-13 12:00:00", "2026-11-13 12:00:00"],
        ),
        (
            "0 12 1 * MON",
            "2026-01-02 00:00",
            ["2026-01-05 12:00:00", "2026-01-12 12:00:00", "2026-01-19 12:00:00"],
        ),
        # `?` is `*` in the field, but not a wildcard for the day logic: these run every day.
        (
            "0 0 ? * MON",
            "2026-01-06 12:00",
            ["2026-01-07 00:00:00", "2026-01-08 00:00:00", "2026-01-09 00:00:00"],
        ),
        (
            "0 0 15 * ?",
            "2026-01-06 12:00",
            ["2026-01-07 00:00:00", "2026-01-08 00:00:00", "2026-01-09 00:00:00"],
        ),
        (
            "0 0 ? * +MON",
            "2026-01-06 12:00",
            ["2026-01-12 00:00:00", "2026-01-19 00:00:00", "2026-01-26 00:00:00"],
        ),
        ("0 0 0 1 1 * 2026-2030/2", "2026-06-01 00:00", ["2028-01-01 00:00:00", "2030-01-01 00:00:00"]),
        (
            "0 9 * jan,Jul mon-fri",
            "2026-06-30 12:00",
            ["2026-07-01 09:00:00", "2026-07-02 09:00:00", "2026-07-03 09:00:00"],
        ),
        (
            "0 9 * * FRI-SUN",
            "2026-01-01 00:00",
            ["2026-01-02 09:00:00", "2026-01-03 09:00:00", "2026-01-04 09:00:00"],
        ),
        (
            "*/60 * * * *",
            "2026-01-01 00:20",
            ["2026-01-01 01:00:00", "2026-01-01 02:00:00", "2026-01-01 03:00:00"],
        ),
    ],
)
def test_gateway_reads_croner_syntax_as_the_gateway_does(expr: str, after: str, runs: list[str]) -> None:
    assert _g(expr, after) == runs


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("2/15 * * * *", "croner refuses 'N/S'"),
        ("/15 * * * *", "must start with '*'"),
        ("0 0 0 1 1 * */2", "year 0 is out of range"),
        ("0 9 * * 1#6", "'#6' is out of range"),
        ("0 0 W * *", "not a number"),
        ("0 0 1-5W * *", "'W' is not allowed in a range"),
        ("0 0 L-2 * *", "illegal range"),
        ("0 0 1#1 * *", "characters croner does not allow"),
        ("5-1 * * * *", "runs backwards"),
        ("0 12 * * +", "empty after '+'"),
        ("0 0 0 0 * * * *", "has 8 fields"),
    ],
)
def test_gateway_refuses_what_croner_refuses(expr: str, fragment: str) -> None:
    with pytest.raises(InvalidSchedule) as info:
        validate(Schedule.cron(expr, "UTC"))
    assert fragment in info.value.message


def test_gateway_top_of_hour_stagger_is_the_gateways_offset_for_the_job_id() -> None:
    # Measured on the real gateway: job "job-1" runs its hourly job 47.897 s after the hour.
    assert gateway_stagger_offset_ms("job-1", "0 * * * *") == 47_897
    runs = next_runs(
        Schedule.cron("0 * * * *", "UTC", job_id="job-1"), after=datetime(2026, 1, 1, tzinfo=UTC), count=2
    )
    assert runs == [
        datetime(2026, 1, 1, 0, 0, 47, 897_000, UTC),
        datetime(2026, 1, 1, 1, 0, 47, 897_000, UTC),
    ]
    # Only recurring top-of-hour expressions by default; `staggerMs` (0 = exact) wins for any expression.
    assert [is_top_of_hour(e) for e in ("0 */2 * * *", "0 0 9-17/2,* * * *")] == [True, True]
    assert [is_top_of_hour(e) for e in ("0 9-17 * * *", "@hourly", "5 * * * *")] == [False, False, False]
    assert gateway_stagger_offset_ms("job-1", "0 9 * * *") == 0
    assert gateway_stagger_offset_ms("job-1", "0 * * * *", stagger_ms=0) == 0
    assert 0 < gateway_stagger_offset_ms("job-1", "30 9 * * *", stagger_ms=90_000) < 90_000
    # Without the job id, the offset is not known: the expression's own times.
    assert next_run(Schedule.cron("0 * * * *", "UTC"), after=datetime(2026, 1, 1, tzinfo=UTC)) == datetime(
        2026, 1, 1, 1, tzinfo=UTC
    )


def test_gateway_every_job_runs_an_interval_after_its_last_run_else_on_the_anchor_grid() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    every = Schedule.every(3_600_000, anchor)
    last = datetime(2026, 1, 1, 5, 7, 13, 250_000, UTC)  # ran late: the gateway counts from the real start
    assert next_runs(every, after=last, count=2, last_run=last) == [
        last + timedelta(hours=1),
        last + timedelta(hours=2),
    ]
    # Overdue (the last run + interval has passed): the anchor's grid again.
    assert next_run(every, after=last + timedelta(hours=3), last_run=last) == datetime(
        2026, 1, 1, 9, tzinfo=UTC
    )
    # A last run from before the anchor does not count.
    assert next_run(every, after=anchor, last_run=anchor - timedelta(minutes=1)) == datetime(
        2026, 1, 1, 1, tzinfo=UTC
    )
    # cron(8)-side every-jobs (launchd StartInterval, jobs.toml) keep counting on the anchor's grid.
    assert next_run(every.with_dialect(CRON_DIALECT), after=last, last_run=last) == datetime(
        2026, 1, 1, 6, tzinfo=UTC
    )


# -- cron(8) as cronie runs it --------------------------------------------------------------------


def _c(expr: str, after: datetime, count: int, tz: str = "UTC") -> list[str]:
    zone = ZoneInfo(tz)
    runs = next_runs(Schedule.cron(expr, tz, CRON_DIALECT), after=after, count=count)
    return [r.astimezone(zone).strftime("%m-%d %a %H:%M%z") for r in runs]


JAN1 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "after", "tz", "runs"),
    [
        # crontab(5): both day fields restricted (no '*'): either matches: the 1st, the 15th and Fridays.
        (
            "30 4 1,15 * 5",
            JAN1,
            "UTC",
            ["01-01 Thu 04:30+0000", "01-02 Fri 04:30+0000", "01-09 Fri 04:30+0000"],
        ),
        # cron.c: a day field that *starts* with '*' makes it AND: Wednesdays that are day 1, 4, 7, ...
        (
            "0 12 */3 * WED",
            JAN1,
            "UTC",
            ["01-07 Wed 12:00+0000", "01-28 Wed 12:00+0000", "02-04 Wed 12:00+0000"],
        ),
        (
            "0 12 1 * */2",
            JAN1,
            "UTC",
            ["01-01 Thu 12:00+0000", "02-01 Sun 12:00+0000", "03-01 Sun 12:00+0000"],
        ),
        (
            "0 0 * * SUN",
            JAN1,
            "UTC",
            ["01-04 Sun 00:00+0000", "01-11 Sun 00:00+0000", "01-18 Sun 00:00+0000"],
        ),
        ("0 0 * * 7", JAN1, "UTC", ["01-04 Sun 00:00+0000", "01-11 Sun 00:00+0000", "01-18 Sun 00:00+0000"]),
        (
            "0 9 * * Fri-0",
            JAN1,
            "UTC",
            ["01-02 Fri 09:00+0000", "01-03 Sat 09:00+0000", "01-04 Sun 09:00+0000"],
        ),
        (
            "0 0 1 jan-mar/2 *",
            JAN1,
            "UTC",
            ["03-01 Sun 00:00+0000", "01-01 Fri 00:00+0000", "03-01 Mon 00:00+0000"],
        ),
        (
            "*/35 1 1 1 *",
            JAN1,
            "UTC",
            ["01-01 Thu 01:00+0000", "01-01 Thu 01:35+0000", "01-01 Fri 01:00+0000"],
        ),
        # Macros: @yearly/@monthly/@weekly/@daily/@midnight are fixed-time, @hourly a wildcard job.
        ("@yearly", JAN1, "UTC", ["01-01 Fri 00:00+0000", "01-01 Sat 00:00+0000", "01-01 Mon 00:00+0000"]),
        ("@annually", JAN1, "UTC", ["01-01 Fri 00:00+0000", "01-01 Sat 00:00+0000", "01-01 Mon 00:00+0000"]),
        ("@monthly", JAN1, "UTC", ["02-01 Sun 00:00+0000", "03-01 Sun 00:00+0000", "04-01 Wed 00:00+0000"]),
        ("@weekly", JAN1, "UTC", ["01-04 Sun 00:00+0000", "01-11 Sun 00:00+0000", "01-18 Sun 00:00+0000"]),
        ("@midnight", JAN1, "UTC", ["01-02 Fri 00:00+0000", "01-03 Sat 00:00+0000", "01-04 Sun 00:00+0000"]),
        # DST begins (New York, 2026-03-08 02:00 EST -> 03:00 EDT): fixed-time jobs of the skipped hour run
        # at once, each of their times once; a job whose minute or hour starts with '*' does not.
        (
            "5,*/20 2 * * *",
            datetime(2026, 3, 8, 6, tzinfo=UTC),
            "America/New_York",
            [*["03-08 Sun 03:00-0400"] * 4, "03-09 Mon 02:00-0400"],
        ),
        ("*/20 2 * * *", datetime(2026, 3, 8, 6, tzinfo=UTC), "America/New_York", ["03-09 Mon 02:00-0400"]),
        ("@daily", datetime(2026, 3, 7, 12, tzinfo=UTC), "America/Havana", ["03-08 Sun 01:00-0400"]),
        # DST ends (2026-11-01 02:00 EDT -> 01:00 EST): fixed-time jobs run once, wildcard jobs twice.
        (
            "5,*/20 1 * * *",
            datetime(2026, 11, 1, 4, tzinfo=UTC),
            "America/New_York",
            [
                *["11-01 Sun 01:00-0400", "11-01 Sun 01:05-0400", "11-01 Sun 01:20-0400"],
                *["11-01 Sun 01:40-0400", "11-02 Mon 01:00-0500"],
            ],
        ),
        (
            "40 * * * *",
            datetime(2026, 11, 1, 4, tzinfo=UTC),
            "America/New_York",
            ["11-01 Sun 00:40-0400", "11-01 Sun 01:40-0400", "11-01 Sun 01:40-0500", "11-01 Sun 02:40-0500"],
        ),
        (
            "@hourly",
            datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
            "America/New_York",
            ["11-01 Sun 01:00-0400", "11-01 Sun 01:00-0500", "11-01 Sun 02:00-0500"],
        ),
    ],
)
def test_cron8_table_from_cronies_documented_behaviour(
    expr: str, after: datetime, tz: str, runs: list[str]
) -> None:
    assert _c(expr, after, len(runs), tz) == runs


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("2/15 * * * *", "cron(8) has no 'N/S' steps"),
        ("0 0 ? * *", "is not a number, a range or '*'"),
        ("0 0 L * *", "is not a number"),
        ("0 9 * * 5#2", "is not a number"),
        ("30 0 7 * * *", "has 6 fields; expected 5"),
        ("@DAILY", "cron(8) macros are lower case"),
        ("50-70 * * * *", "minute 60 is out of range"),
        ("*/0 * * * *", "step 0"),
        ("5~20 * * * *", "cannot be predicted"),
        ("@reboot", "@reboot has no clock time"),
    ],
)
def test_cron8_refuses_what_cronie_refuses(expr: str, fragment: str) -> None:
    with pytest.raises(InvalidSchedule) as info:
        validate(Schedule.cron(expr, "UTC", CRON_DIALECT))
    assert fragment in info.value.message + " " + info.value.hint


def test_cron8_random_minute_is_valid_crontab_syntax_but_has_no_predictable_runs() -> None:
    assert expand_cron("5~20 * * * *") == "5~20 * * * *"  # the crontab source lists the job...
    answer = try_next_runs(Schedule.cron("5~20 * * * *", None, CRON_DIALECT), count=3)
    assert answer.runs == ()  # ...without a next run
    assert "cannot be predicted" in (answer.error or "")


def test_cron8_quirks_kept_backwards_ranges_select_nothing_and_a_zero_end_means_seven() -> None:
    assert next_runs(Schedule.cron("5-3 * * * *", "UTC", CRON_DIALECT), after=JAN1, count=2) == []
    assert _c("0 0 * * 5-0", JAN1, 3) == [
        "01-02 Fri 00:00+0000",
        "01-03 Sat 00:00+0000",
        "01-04 Sun 00:00+0000",
    ]


# -- which dialect, and the source's own next run first -------------------------------------------


def test_dialect_comes_from_the_source_and_rows_without_one_are_gateway_jobs() -> None:
    assert dialect_for_source(None) == GATEWAY_DIALECT
    assert dialect_for_source("gateway") == GATEWAY_DIALECT
    assert [dialect_for_source(s) for s in ("crontab", "launchd", "jobs")] == [CRON_DIALECT] * 3
    assert Schedule.cron("0 7 * * *").dialect == GATEWAY_DIALECT
    assert schedule_for(CRON, "0 * * * *", None, source="gateway", job_id="job-1").offset_ms == 47_897
    assert schedule_for(CRON, "0 * * * *", None, source="crontab", job_id="job-1").offset_ms == 0
    assert schedule_for(CRON, "0 7 * * *", "UTC", source="jobs").dialect == CRON_DIALECT


def test_source_next_run_comes_first_and_the_computed_runs_continue_from_it() -> None:
    now = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    # An hourly gateway job that the gateway staggers 3 min 20 s (its staggerMs is not in the mirror).
    source_next = datetime(2026, 1, 1, 11, 3, 20, tzinfo=UTC)
    answer = runs_from_source(Schedule.cron("0 * * * *", "UTC"), source_next, after=now, count=3)
    assert answer.runs == (source_next, source_next + timedelta(hours=1), source_next + timedelta(hours=2))
    # `--exact` (staggerMs 0) while the id would give an offset: the source says 11:00, so it is 11:00.
    exact = runs_from_source(
        Schedule.cron("0 * * * *", "UTC", job_id="job-1"),
        datetime(2026, 1, 1, 11, tzinfo=UTC),
        after=now,
        count=2,
    )
    assert exact.runs == (datetime(2026, 1, 1, 11, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC))
    # An error backoff put the next run off the grid: it comes first, then the schedule's own times.
    backoff = datetime(2026, 1, 1, 10, 35, 13, tzinfo=UTC)
    minutely = runs_from_source(Schedule.cron("*/10 * * * *", "UTC"), backoff, after=now, count=3)
    assert minutely.runs == (
        backoff,
        datetime(2026, 1, 1, 10, 40, tzinfo=UTC),
        datetime(2026, 1, 1, 10, 50, tzinfo=UTC),
    )


def test_source_next_run_of_an_every_job_without_anchor_or_last_run_is_not_lost() -> None:
    now = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    every = Schedule.every(1_800_000)  # the mirror has no anchor column
    assert try_next_runs(every, after=now, count=3).runs == ()  # alone, nothing to count from
    source_next = datetime(2026, 1, 1, 10, 41, 2, 123_000, UTC)
    answer = runs_from_source(every, source_next, after=now, count=3)
    assert answer.runs == (
        source_next,
        source_next + timedelta(minutes=30),
        source_next + timedelta(minutes=60),
    )
    # The source's value has passed (due, late or a stale row): continue on its grid, strictly after now.
    later = runs_from_source(every, source_next, after=source_next + timedelta(minutes=45), count=2)
    assert later.runs == (source_next + timedelta(minutes=60), source_next + timedelta(minutes=90))


def test_source_next_run_without_a_usable_schedule_is_still_shown_with_the_reason() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    source_next = now + timedelta(hours=1)
    answer = runs_from_source(Schedule.cron("L * * * *", "UTC"), source_next, after=now, count=3)
    assert answer.runs == (source_next,)
    assert "invalid cron expression" in (answer.error or "")
    assert runs_from_source(Schedule.cron("0 * * * *", "UTC"), None, after=now, count=1).runs == (
        now + timedelta(hours=1),
    )
    assert runs_from_source(Schedule.cron("0 * * * *", "UTC"), source_next, after=now, count=0).runs == ()


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


@pytest.mark.parametrize(
    ("expr", "dialect", "text"),
    [
        ("0 12 1 * MON", GATEWAY_DIALECT, "At 12:00, on day 1 of the month, or on Monday"),
        ("0 12 1 * +MON", GATEWAY_DIALECT, "At 12:00, on day 1 of the month, but only on Monday"),
        ("0 0 15 * ?", GATEWAY_DIALECT, "At 00:00"),  # croner runs it every day
        ("0 0 ? * MON", GATEWAY_DIALECT, "At 00:00"),
        ("0 0 ? * +MON", GATEWAY_DIALECT, "At 00:00, only on Monday"),
        ("0 0 * * 5#L", GATEWAY_DIALECT, "At 00:00, on the last Friday of the month"),
        ("0 0 LW * *", GATEWAY_DIALECT, "At 00:00, on the last weekday of the month"),
        ("30 0 7 * * *", GATEWAY_DIALECT, "At 07:00:30"),
        ("0 0 0 * * * 2027", GATEWAY_DIALECT, "At 00:00, only in 2027"),
        ("0 0 5L * *", GATEWAY_DIALECT, "Cron 0 0 5L * *"),  # the 5th and the last day: shown as written
        ("*/12 * */3 * WED", GATEWAY_DIALECT, "Every 12 minutes, every 3 days, or on Wednesday"),
        ("*/12 * */3 * WED", CRON_DIALECT, "Every 12 minutes, every 3 days, but only on Wednesday"),
        ("0 0 1 * MON", CRON_DIALECT, "At 00:00, on day 1 of the month, or on Monday"),
        ("5~20 * * * *", CRON_DIALECT, "Cron 5~20 * * * * (cron picks the '~' times at random)"),
    ],
)
def test_describe_says_what_the_dialects_scheduler_runs(expr: str, dialect: str, text: str) -> None:
    assert describe(Schedule("cron", expr, None, dialect=dialect)) == text


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
