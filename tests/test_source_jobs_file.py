"""The jobs.toml source: parsing, per-job validation with line numbers, and real runs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.jobs import LocalJob
from worker.process import ProcessStarted
from worker.sources.jobs_file import JobsFileSource, parse_jobs_file

PY = sys.executable

GOOD = f"""
# CronMirror jobs
[jobs.backup]
name = "Nightly backup"
cron = "0 3 * * *"
tz = "Europe/Berlin"
command = ["{PY}", "-c", "import os; print('backup', os.environ['REPO'])"]
env = {{ REPO = "/Volumes/backup" }}
timeout = "20m"
instructions = "Back up the home directory"

[jobs.inbox]
every = "30m"
command = ["{PY}", "-c", "print('inbox')"]
enabled = false
timeout = 90

[jobs.once]
at = 2026-12-01T09:00:00+01:00
command = ["/usr/bin/env", "true"]

[jobs.manual]
command = ["/usr/bin/env", "true"]
"""


def by_id(jobs: tuple[LocalJob, ...]) -> dict[str, LocalJob]:
    return {j.job_id: j for j in jobs}


def test_parses_every_kind_of_job() -> None:
    parsed = parse_jobs_file(GOOD)
    assert parsed.error is None
    assert parsed.warnings == ()
    jobs = by_id(parsed.jobs)
    assert list(jobs) == ["jobs:backup", "jobs:inbox", "jobs:once", "jobs:manual"]
    backup = jobs["jobs:backup"]
    assert backup.mirror_fields() == {
        "job_id": "jobs:backup",
        "name": "Nightly backup",
        "schedule_kind": "cron",
        "schedule_expr": "0 3 * * *",
        "tz": "Europe/Berlin",
        "enabled": True,
        "next_run_at": None,
        "last_run_at": None,
        "last_status": None,
        "last_duration_ms": None,
        "instructions": "Back up the home directory",
        "source": "jobs",
        "host": None,
    }
    assert backup.timeout_s == 1200
    assert backup.run_spec is not None
    assert backup.run_spec.argv[0] == PY
    assert dict(backup.run_spec.env) == {"REPO": "/Volumes/backup"}
    inbox = jobs["jobs:inbox"]
    assert (inbox.schedule_kind, inbox.schedule_expr, inbox.enabled, inbox.timeout_s) == (
        "every",
        "1800000",
        False,
        90,
    )
    assert (jobs["jobs:once"].schedule_kind, jobs["jobs:once"].schedule_expr) == (
        "at",
        "2026-12-01T08:00:00.000Z",
    )
    assert (jobs["jobs:manual"].schedule_kind, jobs["jobs:manual"].schedule_expr) == ("event", "on demand")
    # next_run_at in the job's own zone: 03:00 Berlin is 02:00 UTC in winter.
    filled = backup.with_next_run(datetime(2026, 1, 10, 12, tzinfo=UTC))
    assert filled.next_run_at == datetime(2026, 1, 11, 2, tzinfo=UTC)


def test_bad_jobs_are_reported_with_line_and_key_and_the_others_still_list() -> None:
    text = """
[jobs.ok]
command = ["true"]

[jobs.shell]
command = "rm -rf ~"

[jobs.badcron]
cron = "99 * * * *"
command = ["true"]

[jobs.badtz]
cron = "0 7 * * *"
tz = "Mars/Base"
command = ["true"]

[jobs.both]
cron = "0 7 * * *"
every = "1h"
command = ["true"]

[jobs.badevery]
every = "soon"
command = ["true"]

[jobs."bad key!"]
command = ["true"]

[jobs.typo]
comand = ["true"]

[jobs.extra]
command = ["true"]
colour = "blue"
"""
    parsed = parse_jobs_file(text)
    assert [j.job_id for j in parsed.jobs] == ["jobs:ok", "jobs:extra"]
    w = "\n".join(parsed.warnings)
    assert "jobs.toml:5 [jobs.shell] command: must be a non-empty list of strings" in w
    assert "jobs.toml:8 [jobs.badcron] invalid cron expression '99 * * * *'" in w
    assert "jobs.toml:12 [jobs.badtz] unknown time zone 'Mars/Base'" in w
    assert "jobs.toml:17 [jobs.both] every: choose one of cron, every, at" in w
    assert "jobs.toml:22 [jobs.badevery] every: must be a duration" in w
    assert "jobs.toml:26 [jobs.bad key!] key:" in w
    assert "jobs.toml:29 [jobs.typo] command:" in w
    assert "jobs.toml:32 [jobs.extra] unknown key 'colour' (ignored)" in w


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ('"none"', 0.0), ('"30m"', 1800.0), ('"2h"', 7200.0), ("600", 600.0), ('"NONE"', 0.0)],
)
def test_catch_up_is_a_duration_or_none(value: str | None, seconds: float | None) -> None:
    line = f"catch_up = {value}\n" if value is not None else ""
    parsed = parse_jobs_file(f'[jobs.a]\ncron = "0 3 * * *"\ncommand = ["true"]\n{line}')
    assert parsed.warnings == ()
    (job,) = parsed.jobs
    assert job.catch_up_s == seconds


def test_a_bad_catch_up_leaves_the_job_out_and_says_why() -> None:
    parsed = parse_jobs_file('[jobs.a]\ncron = "0 3 * * *"\ncommand = ["true"]\ncatch_up = "soonish"\n')
    assert parsed.jobs == ()
    (warning,) = parsed.warnings
    assert warning == (
        'jobs.toml:1 [jobs.a] catch_up: must be a duration like "1h", or "none", got \'soonish\'; '
        "job left out"
    )


def test_a_file_that_is_not_toml_is_one_clear_error() -> None:
    parsed = parse_jobs_file('[jobs.x]\ncommand = ["a" "b"]\n')
    assert parsed.jobs == ()
    assert parsed.error is not None
    assert parsed.error.startswith("jobs.toml: not valid TOML:")
    assert "(at line 2, column" in parsed.error


async def test_source_lists_missing_and_broken_files_honestly(tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    listing = await JobsFileSource(path).list_jobs()
    assert (listing.state, listing.jobs) == ("unavailable", ())
    assert str(path) in listing.message
    path.write_text("not = [toml")
    listing = await JobsFileSource(path).list_jobs()
    assert listing.state == "error"
    assert "not valid TOML" in listing.message
    path.write_bytes(b"\xff\xfe garbage")
    assert (await JobsFileSource(path).list_jobs()).state == "error"


async def test_runs_the_argument_list_with_its_env(tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(GOOD)
    source = JobsFileSource(path)
    listing = await source.list_jobs()
    job = by_id(listing.jobs)["jobs:backup"]
    started: list[ProcessStarted] = []
    outcome = await source.run(job, timeout=10, on_started=started.append)
    assert outcome.verdict == "done"
    assert outcome.ran
    assert outcome.exit_code == 0
    assert outcome.stdout_tail == "backup /Volumes/backup\n"
    assert outcome.source == "jobs"
    assert outcome.reason == "the job finished (exit code 0)"
    assert len(started) == 1


async def test_failures_and_missing_programs_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(
        f"""
[jobs.fails]
command = ["{PY}", "-c", "import sys; print('disk full', file=sys.stderr); sys.exit(4)"]
[jobs.missing]
command = ["/nonexistent/tool", "--now"]
[jobs.slow]
command = ["{PY}", "-c", "import time; time.sleep(30)"]
"""
    )
    source = JobsFileSource(path)
    jobs = by_id((await source.list_jobs()).jobs)
    fails = await source.run(jobs["jobs:fails"], timeout=10)
    assert (fails.verdict, fails.exit_code) == ("error", 4)
    assert fails.reason == "the job failed with exit code 4: disk full"
    missing = await source.run(jobs["jobs:missing"], timeout=10)
    assert (missing.verdict, missing.ran) == ("error", False)
    assert "cannot start '/nonexistent/tool'" in missing.reason
    slow = await source.run(jobs["jobs:slow"], timeout=0.3)
    assert slow.verdict == "error"
    assert slow.timed_out
    assert "timed out" in slow.reason


async def test_refuses_a_job_of_another_source(tmp_path: Path) -> None:
    foreign = LocalJob("crontab:abc", "x", "crontab", None, None)
    outcome = await JobsFileSource(tmp_path / "jobs.toml").run(foreign, timeout=5)
    assert (outcome.verdict, outcome.ran) == ("error", False)
