"""The crontab source: parsing per crontab(5), stable ids, honest @reboot, and real runs through /bin/sh."""

from __future__ import annotations

import sys
from pathlib import Path

from worker.jobs import LocalJob
from worker.sources.crontab import CRON_PATH, CrontabSource
from worker.sources.crontab_parse import entry_ids, parse_crontab, split_percent

PY = sys.executable

CRONTAB = """\
# m h dom mon dow command
MAILTO=""
SHELL=/bin/sh
GREETING = "hello world"

# Morning report
0 7 * * 1-5 echo "$GREETING" from cron

@daily   /usr/local/bin/cleanup --old
@reboot /usr/local/bin/start-agent
*/15 * * * * date +\\%H:\\%M
0 0 * * * cat % line one%line two
CRON_TZ=Europe/Berlin
30 2 * * * echo berlin
this is not a cron line
61 * * * * echo bad minute
@fortnightly echo nope
@hourly
0 7 * * 1-5 echo "$GREETING" from cron
"""


def by_name(jobs: tuple[LocalJob, ...]) -> dict[str, LocalJob]:
    return {j.name: j for j in jobs}


def test_parse_entries_env_comments_and_bad_lines() -> None:
    parsed = parse_crontab(CRONTAB)
    assert [e.line_no for e in parsed.entries] == [7, 9, 10, 11, 12, 14, 19]
    first = parsed.entries[0]
    assert (first.schedule, first.command, first.comment) == (
        "0 7 * * 1-5",
        'echo "$GREETING" from cron',
        "Morning report",
    )
    assert dict(first.env) == {"MAILTO": "", "SHELL": "/bin/sh", "GREETING": "hello world"}
    assert parsed.entries[1].comment is None  # a blank line separates it from any comment
    assert parsed.entries[2].schedule == "@reboot"
    assert parsed.entries[5].zone == "Europe/Berlin"
    assert parsed.entries[0].zone is None
    assert parsed.warnings == (
        "crontab line 15: invalid cron expression 'this is not a cron': "
        "minute 'this' is not a number: 'this is not a cron line'",
        "crontab line 16: invalid cron expression '61 * * * *': "
        "minute 61 is out of range (0-59): '61 * * * * echo bad minute'",
        "crontab line 17: unknown cron macro '@fortnightly': '@fortnightly echo nope'",
        "crontab line 18: a macro needs a command after it: '@hourly'",
    )


def test_percent_handling_per_crontab5() -> None:
    assert split_percent("date +\\%H:\\%M") == ("date +%H:%M", None)
    assert split_percent("cat % line one%line two") == ("cat ", b" line one\nline two")
    assert split_percent("mail -s hi me%body with \\% sign%") == ("mail -s hi me", b"body with % sign\n")
    # A backslash escapes only a %: "\\\\%" is an escaped backslash for the shell, then a real %.
    assert split_percent("echo 100\\\\%x") == ("echo 100\\\\", b"x")
    assert split_percent("printf 'a\\nb'") == ("printf 'a\\nb'", None)


def test_ids_are_stable_and_duplicates_are_told_apart() -> None:
    parsed = parse_crontab(CRONTAB)
    ids = entry_ids(parsed.entries)
    assert len(set(ids)) == len(ids)
    assert ids[6] == ids[0] + "-2"  # the repeated "Morning report" line
    # Editing an unrelated line (and the comment) keeps every other id.
    edited = CRONTAB.replace("# Morning report", "# Renamed").replace(
        "@daily   /usr/local/bin/cleanup --old", ""
    )
    edited_ids = entry_ids(parse_crontab(edited).entries)
    assert edited_ids[0] == ids[0]
    assert set(edited_ids) == set(ids) - {ids[1]}
    assert all(i.startswith("crontab:") for i in ids)


async def test_lists_jobs_with_mirror_fields(tmp_path: Path) -> None:
    crontab = tmp_path / "crontab.txt"
    crontab.write_text(CRONTAB)
    listing = await CrontabSource(["cat", str(crontab)]).list_jobs()
    assert listing.state == "ok"
    assert len(listing.warnings) == 4
    jobs = by_name(listing.jobs)
    report = jobs["Morning report"]
    assert report.mirror_fields()["schedule_kind"] == "cron"
    assert report.mirror_fields()["schedule_expr"] == "0 7 * * 1-5"
    assert report.instructions == 'echo "$GREETING" from cron'
    assert report.describe_schedule() == "At 07:00, Monday through Friday"
    reboot = jobs["/usr/local/bin/start-agent"]
    assert (reboot.schedule_kind, reboot.schedule_expr) == ("event", "@reboot")
    assert reboot.describe_schedule() == "At startup (@reboot)"
    assert jobs["echo berlin"].tz == "Europe/Berlin"


async def test_runs_the_entry_like_cron_does(tmp_path: Path) -> None:
    crontab = tmp_path / "crontab.txt"
    crontab.write_text(CRONTAB.replace("from cron", 'from cron; echo "PATH=$PATH"; pwd'))
    source = CrontabSource(["cat", str(crontab)])
    jobs = by_name((await source.list_jobs()).jobs)
    outcome = await source.run(jobs["Morning report"], timeout=10)
    assert outcome.verdict == "done"
    lines = outcome.stdout_tail.splitlines()
    assert lines[0] == "hello world from cron"
    assert lines[1] == f"PATH={CRON_PATH}"
    stdin_job = jobs["cat"]
    outcome = await source.run(stdin_job, timeout=10)
    assert outcome.stdout_tail == " line one\nline two"
    pct = await source.run(jobs["date +%H:%M"], timeout=10)
    assert pct.verdict == "done"
    assert len(pct.stdout_tail.strip()) == 5


async def test_failing_entry_is_an_error_with_its_stderr(tmp_path: Path) -> None:
    crontab = tmp_path / "crontab.txt"
    crontab.write_text("# broken\n* * * * * echo nope >&2; exit 7\n")
    source = CrontabSource(["cat", str(crontab)])
    job = (await source.list_jobs()).jobs[0]
    outcome = await source.run(job, timeout=10)
    assert (outcome.verdict, outcome.exit_code) == ("error", 7)
    assert outcome.reason == "the crontab entry failed with exit code 7: nope"


async def test_no_crontab_missing_binary_and_failures() -> None:
    none = CrontabSource(
        [PY, "-c", "import sys; print('crontab: no crontab for me', file=sys.stderr); sys.exit(1)"]
    )
    listing = await none.list_jobs()
    assert (listing.state, listing.jobs, listing.message) == ("ok", (), "this user has no crontab")
    missing = await CrontabSource(["/nonexistent/crontab", "-l"]).list_jobs()
    assert missing.state == "unavailable"
    broken = await CrontabSource(
        [PY, "-c", "import sys; print('permission denied', file=sys.stderr); sys.exit(2)"]
    ).list_jobs()
    assert broken.state == "error"
    assert "permission denied" in broken.message
