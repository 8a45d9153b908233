"""The launchd source on Linux: plist fixtures (XML and binary), calendar → cron, a fake launchctl."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.launchctl import calls, install_fake_launchctl
from worker.jobs import LocalJob
from worker.sources.launchd import LaunchdSource
from worker.sources.launchd_parse import (
    CalendarError,
    calendar_to_schedule,
    parse_agents_dir,
    parse_print_disabled,
)

AGENTS: dict[str, dict[str, Any]] = {
    "com.example.backup": {
        "Label": "com.example.backup",
        "ProgramArguments": ["/usr/local/bin/restic", "backup", "/Users/me/My Files"],
        "StartCalendarInterval": {"Hour": 3, "Minute": 15},
    },
    "com.example.twice": {
        "Label": "com.example.twice",
        "Program": "/usr/local/bin/sync",
        "StartCalendarInterval": [{"Hour": 7, "Minute": 0}, {"Hour": 19, "Minute": 0}],
    },
    "com.example.odd": {
        "Label": "com.example.odd",
        "Program": "/bin/date",
        "StartCalendarInterval": [{"Hour": 7, "Minute": 0}, {"Hour": 8, "Minute": 30, "Weekday": 1}],
    },
    "com.example.interval": {
        "Label": "com.example.interval",
        "ProgramArguments": ["/usr/bin/true"],
        "StartInterval": 1800,
        "Disabled": True,
    },
    "com.example.keepalive": {
        "Label": "com.example.keepalive",
        "Program": "/usr/bin/true",
        "KeepAlive": True,
    },
    "com.example.badcal": {
        "Label": "com.example.badcal",
        "Program": "/usr/bin/true",
        "StartCalendarInterval": {"Hour": 25},
    },
    "com.example.missing": {"Label": "com.example.missing", "Program": "/usr/bin/true"},
}


def write_agents(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, (label, data) in enumerate(AGENTS.items()):
        fmt = plistlib.FMT_BINARY if i % 2 else plistlib.FMT_XML
        (directory / f"{label}.plist").write_bytes(plistlib.dumps(data, fmt=fmt))
    (directory / "broken.plist").write_text("<?xml version='1.0'?><plist><dict><key>Label</oops>")
    (directory / "array.plist").write_bytes(plistlib.dumps(["not", "a", "dict"]))
    (directory / "nolabel.plist").write_bytes(plistlib.dumps({"Program": "/bin/true"}))
    (directory / "slash.plist").write_bytes(
        plistlib.dumps({"Label": "../system/com.apple.x", "Program": "/bin/true"})
    )
    (directory / "notes.txt").write_text("not a plist, not looked at")


def by_id(jobs: tuple[LocalJob, ...]) -> dict[str, LocalJob]:
    return {j.job_id: j for j in jobs}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Hour": 3, "Minute": 15}, ("cron", "15 3 * * *")),
        ({}, ("cron", "* * * * *")),
        ({"Weekday": 7, "Hour": 9, "Minute": 0}, ("cron", "0 9 * * 0")),
        ({"Day": 1, "Month": 6}, ("cron", "* * 1 6 *")),
        ([{"Hour": 7, "Minute": 0}, {"Hour": 19, "Minute": 0}], ("cron", "0 7,19 * * *")),
        (
            [{"Hour": h, "Minute": m, "Weekday": d} for h in (8, 17) for m in (0, 30) for d in (1, 5)],
            ("cron", "0,30 8,17 * * 1,5"),
        ),
        ([{"Hour": 7, "Minute": 0}, {"Hour": 7, "Minute": 0}], ("cron", "0 7 * * *")),
        (
            [{"Hour": 8, "Minute": 30, "Weekday": 1}, {"Hour": 7, "Minute": 0}],
            ("calendar", "0 7 * * *; 30 8 * * 1"),
        ),
        ([{"Hour": 7, "Minute": 0}, {"Hour": 19, "Minute": 30}], ("calendar", "0 7 * * *; 30 19 * * *")),
    ],
)
def test_calendar_to_schedule(value: object, expected: tuple[str, str]) -> None:
    assert calendar_to_schedule(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"Hour": 25}, "Hour must be an integer 0-23"),
        ({"Minute": "5"}, "Minute must be an integer"),
        ({"Hour": True}, "Hour must be an integer"),
        ({"Hours": 3}, "unknown StartCalendarInterval key(s): Hours"),
        ([], "empty list"),
        ("daily", "must be dictionaries"),
    ],
)
def test_calendar_errors(value: object, fragment: str) -> None:
    with pytest.raises(CalendarError, match=None) as info:
        calendar_to_schedule(value)
    assert fragment in str(info.value)


def test_parse_agents_dir_lists_good_plists_and_reports_bad_ones(tmp_path: Path) -> None:
    write_agents(tmp_path)
    parsed = parse_agents_dir(tmp_path)
    jobs = by_id(parsed.jobs)
    assert sorted(jobs) == sorted(f"launchd:{label}" for label in AGENTS)
    backup = jobs["launchd:com.example.backup"]
    assert backup.mirror_fields() == {
        "job_id": "launchd:com.example.backup",
        "name": "com.example.backup",
        "schedule_kind": "cron",
        "schedule_expr": "15 3 * * *",
        "tz": None,
        "enabled": True,
        "next_run_at": None,
        "last_run_at": None,
        "last_status": None,
        "last_duration_ms": None,
        "instructions": "/usr/local/bin/restic backup '/Users/me/My Files'",
        "source": "launchd",
        "host": None,
    }
    assert jobs["launchd:com.example.twice"].schedule_expr == "0 7,19 * * *"
    odd = jobs["launchd:com.example.odd"]
    assert (odd.schedule_kind, odd.describe_schedule()) == ("calendar", "At 07:00; At 08:30, only on Monday")
    interval = jobs["launchd:com.example.interval"]
    assert (interval.schedule_kind, interval.schedule_expr, interval.enabled) == ("every", "1800000", False)
    keep = jobs["launchd:com.example.keepalive"]
    assert (keep.schedule_kind, keep.schedule_expr) == ("event", "KeepAlive")
    assert jobs["launchd:com.example.missing"].schedule_expr == "on demand"
    bad = jobs["launchd:com.example.badcal"]
    assert bad.schedule_kind is None
    assert "Hour must be an integer 0-23" in bad.problems[0]
    warnings = "\n".join(parsed.warnings)
    assert "broken.plist: not a readable property list" in warnings
    assert "array.plist: the top level is not a dictionary" in warnings
    assert "nolabel.plist: missing or unusable Label None" in warnings
    assert "slash.plist: missing or unusable Label '../system/com.apple.x'" in warnings
    assert "notes.txt" not in warnings


def test_parse_print_disabled_old_and_new_formats() -> None:
    text = (
        'disabled services = {\n\t"com.a" => disabled\n\t"com.b" => enabled\n'
        '\t"com.c" => true\n\t"com.d" => false\n}\n'
    )
    assert parse_print_disabled(text) == {"com.a": True, "com.b": False, "com.c": True, "com.d": False}


async def test_without_launchctl_the_source_is_unavailable(tmp_path: Path) -> None:
    write_agents(tmp_path / "agents")
    source = LaunchdSource(tmp_path / "agents", launchctl="launchctl-that-does-not-exist-here")
    listing = await source.list_jobs()
    assert (listing.state, listing.jobs) == ("unavailable", ())
    assert "macOS" in listing.message
    job = LocalJob("launchd:com.example.backup", "x", "launchd", None, None, native_id="com.example.backup")
    outcome = await source.run(job, timeout=5)
    assert (outcome.verdict, outcome.ran) == ("error", False)


async def test_lists_with_launchd_overrides_and_kickstarts(tmp_path: Path) -> None:
    write_agents(tmp_path / "agents")
    launchctl, log = install_fake_launchctl(
        tmp_path / "bin", {"com.example.backup": True, "com.example.interval": False}
    )
    source = LaunchdSource(tmp_path / "agents", launchctl=str(launchctl), uid=501)
    listing = await source.list_jobs()
    assert listing.state == "ok"
    jobs = by_id(listing.jobs)
    assert jobs["launchd:com.example.backup"].enabled is False  # launchd's database wins over the plist
    assert jobs["launchd:com.example.interval"].enabled is True
    assert len(listing.warnings) == 5
    started: list[int] = []
    outcome = await source.run(
        jobs["launchd:com.example.twice"], timeout=60, on_started=lambda s: started.append(s.pid)
    )
    assert outcome.verdict == "done"
    assert outcome.reason.startswith("launchd started com.example.twice (pid 4242)")
    assert "no exit status" in outcome.reason
    assert len(started) == 1
    missing = await source.run(jobs["launchd:com.example.missing"], timeout=60)
    assert missing.verdict == "error"
    assert "exit code 113" in missing.reason
    assert 'Could not find service "com.example.missing"' in missing.reason
    assert calls(log) == [
        "print-disabled gui/501",
        "kickstart -p gui/501/com.example.twice",
        "kickstart -p gui/501/com.example.missing",
    ]


async def test_default_uid_is_ours(tmp_path: Path) -> None:
    assert LaunchdSource(tmp_path).uid == os.getuid()
