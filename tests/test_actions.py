"""core/actions.py: what people type becomes a schedule, read in the job's own dialect; actions in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronmirror_desktop.core import actions
from cronmirror_desktop.core.schedule import InvalidSchedule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 3 * * 1-5", {"kind": "cron", "expr": "0 3 * * 1-5"}),
        ("  0   3 * * *  ", {"kind": "cron", "expr": "0 3 * * *"}),
        ("@daily", {"kind": "cron", "expr": "@daily"}),
        ("30m", {"kind": "every", "expr": "1800000"}),
        ("every 2h", {"kind": "every", "expr": "7200000"}),
        ("90s", {"kind": "every", "expr": "90000"}),
        ("1.5h", {"kind": "every", "expr": "5400000"}),
        ("2026-12-24T18:00Z", {"kind": "at", "expr": "2026-12-24T18:00:00.000Z"}),
        ("2026-12-24 18:00", {"kind": "at", "expr": "2026-12-24T17:00:00.000Z"}),  # in Europe/Berlin
    ],
)
def test_what_people_type_becomes_a_schedule(text: str, expected: dict[str, str]) -> None:
    assert actions.schedule_from_text(text, default_tz="Europe/Berlin") == expected


def test_a_zone_goes_with_a_cron_expression_and_reads_an_offsetless_time() -> None:
    assert actions.schedule_from_text("0 9 * * *", tz="Asia/Tokyo") == {
        "kind": "cron",
        "expr": "0 9 * * *",
        "tz": "Asia/Tokyo",
    }
    at = actions.schedule_from_text("2026-12-24 18:00", kind="at", tz="Asia/Tokyo")
    assert at == {"kind": "at", "expr": "2026-12-24T09:00:00.000Z"}
    with pytest.raises(InvalidSchedule, match="not an interval"):
        actions.schedule_from_text("soon", kind="every")
    with pytest.raises(InvalidSchedule, match="not a date and time"):
        actions.schedule_from_text("2026-13-45 99:00", kind="at")


@pytest.mark.parametrize(
    ("source", "schedule", "problem"),
    [
        ("jobs", {"kind": "cron", "expr": "0 3 * * *"}, None),
        ("jobs", {"kind": "cron", "expr": "0 0 3 * * *"}, "has 6 fields"),  # cron(8) has five
        ("gateway", {"kind": "cron", "expr": "0 0 3 * * *"}, None),  # croner takes seconds
        (None, {"kind": "cron", "expr": "0 0 3 * * *"}, None),  # a row without a source: the gateway's
        ("crontab", {"kind": "every", "expr": "60000"}, "cron schedule, not every"),
        ("launchd", {"kind": "cron", "expr": "0 3 * * *"}, "property list"),
        ("gateway", {"kind": "cron", "expr": "0 3 * * *", "tz": "Mars/Olympus"}, "unknown time zone"),
        ("jobs", {"kind": "cron", "expr": "61 * * * *"}, "61"),
        ("jobs", {"kind": "cron", "expr": "0 3 * * *; rm -rf ~"}, "must be a cron expression"),
        ("gateway", {"kind": "every", "expr": "999999999999999"}, "at most"),
    ],
)
def test_a_schedule_is_read_in_the_jobs_own_dialect(
    source: str | None, schedule: dict[str, str], problem: str | None
) -> None:
    found = actions.schedule_problem(schedule, source=source)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_capabilities_and_why_not() -> None:
    assert actions.capabilities(None) == actions.capabilities("gateway")
    assert actions.why_not("jobs", "delete") is None
    assert actions.why_not("gateway", "delete") == (
        "only jobs.toml jobs are added and removed from CronMirror; a gateway job is not"
    )
    assert "comment above it" in (actions.why_not("crontab", "rename") or "")
    assert actions.capabilities("nonsense") == frozenset({"run"})


def test_actions_in_words() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert actions.pending_words("disable", "queued", now - timedelta(seconds=5), now) == (
        "Disable requested 5 s ago"
    )
    assert actions.pending_words("set_schedule", "running", now, now) == "Schedule change in progress"
    assert actions.describe("set_schedule", {"kind": "every", "expr": "1800000"}) == "Schedule → every 30 min"
    assert actions.describe("set_schedule", {"kind": "cron", "expr": "0 3 * * *", "tz": "UTC"}) == (
        "Schedule → 0 3 * * * (UTC)"
    )
    assert actions.describe("create", {"key": "x", "name": "X"}) == "Add job “X”"
    assert actions.describe("frobnicate", None) == "frobnicate"
    assert actions.key_from_name("Nightly backup (Mac)") == "nightly-backup-mac"
    assert actions.key_from_name("…") == "job"
