"""LocalJob ↔ the cron_mirror table, RunOutcome ↔ the request's result, and the run history file."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from worker.history import LastRun, RunHistory
from worker.jobs import MIRROR_COLUMNS, LocalJob
from worker.outcome import RunOutcome

MIGRATIONS = Path(__file__).parent.parent / "migrations"
MIGRATION = MIGRATIONS / "20261129000100_create_cron_mirror.sql"
SOURCE_AND_HOST = MIGRATIONS / "20261214000100_mirror_source_and_host.sql"


def test_mirror_columns_are_exactly_the_tables_job_columns() -> None:
    """The seed's job columns, plus the two our worker added (ClawdOS's columns are not ours to write)."""
    sql = MIGRATION.read_text()
    body = sql[sql.index("CREATE TABLE public.cron_mirror (") :].split(");", 1)[0]
    columns = [m.group(1) for m in re.finditer(r"^\s+([a-z_]+)\s+[a-z]", body, re.MULTILINE)]
    added = re.findall(r"ADD COLUMN IF NOT EXISTS ([a-z_]+) text", SOURCE_AND_HOST.read_text())
    assert added == ["source", "host"]
    assert set(columns) - {"id", "project_id", "updated_at"} | set(added) == set(MIRROR_COLUMNS)
    job = LocalJob("j", "n", "jobs", "cron", "0 7 * * *")
    assert list(job.mirror_fields()) == list(MIRROR_COLUMNS)


def test_timestamps_become_utc_and_naive_ones_are_refused() -> None:
    berlin = timezone(timedelta(hours=1))
    job = LocalJob("j", "n", "jobs", "every", "60000", last_run_at=datetime(2026, 1, 1, 8, tzinfo=berlin))
    assert job.last_run_at == datetime(2026, 1, 1, 7, tzinfo=UTC)
    assert job.last_run_at is not None
    assert job.last_run_at.tzinfo is UTC
    assert job.mirror_fields(iso=True)["last_run_at"] == "2026-01-01T07:00:00.000Z"
    with pytest.raises(ValueError, match="naive"):
        LocalJob("j", "n", "jobs", None, None, next_run_at=datetime(2026, 1, 1))


def test_last_status_is_ok_error_or_skipped() -> None:
    for status in ("ok", "error", "skipped", None):
        assert LocalJob("j", "n", "s", None, None, last_status=status).last_status == status
    with pytest.raises(ValueError, match="last_status"):
        LocalJob("j", "n", "s", None, None, last_status="success")
    with pytest.raises(ValueError, match="job_id"):
        LocalJob("", "n", "s", None, None)
    assert LocalJob("j", "n", "s", None, None, last_duration_ms=10**12).last_duration_ms == 2**31 - 1


def test_next_run_is_filled_only_when_missing_and_enabled() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    job = LocalJob("j", "n", "jobs", "cron", "0 13 * * *", "UTC")
    assert job.with_next_run(now).next_run_at == datetime(2026, 6, 1, 13, tzinfo=UTC)
    given = datetime(2030, 1, 1, tzinfo=UTC)
    assert (
        LocalJob("j", "n", "jobs", "cron", "0 13 * * *", "UTC", next_run_at=given)
        .with_next_run(now)
        .next_run_at
        == given
    )
    assert (
        LocalJob("j", "n", "jobs", "cron", "0 13 * * *", "UTC", enabled=False).with_next_run(now).next_run_at
        is None
    )
    last = datetime(2026, 6, 1, 11, 50, tzinfo=UTC)
    every = LocalJob("j", "n", "jobs", "every", "1800000", last_run_at=last)
    assert every.with_next_run(now).next_run_at == datetime(2026, 6, 1, 12, 20, tzinfo=UTC)
    broken = LocalJob("j", "n", "jobs", "cron", "nope").with_next_run(now)
    assert broken.next_run_at is None
    assert broken.problems[0].startswith("schedule: cron expression 'nope' has 1 fields")


def test_as_dict_for_list_jobs_json() -> None:
    job = LocalJob("jobs:a", "A", "jobs", "every", "1800000", problems=("x",))
    data = job.as_dict()
    assert data["schedule_text"] == "Every 30 minutes"
    assert data["source"] == "jobs"
    assert data["problems"] == ["x"]


def test_result_payload_has_the_documented_keys_and_caps_tails() -> None:
    outcome = RunOutcome("done", "fine", "crontab", "crontab:abc", 0, 12, "o" * 5000, "e", started_at=None)
    result = outcome.result("mac-mini-1")
    assert set(result) == {
        "exitCode",
        "durationMs",
        "stdoutTail",
        "stderrTail",
        "source",
        "workerId",
        "reason",
    }
    assert len(result["stdoutTail"]) == 4000
    assert (result["workerId"], result["source"], outcome.last_status) == ("mac-mini-1", "crontab", "ok")
    refused = RunOutcome.refused("unknown job", source="worker")
    assert (refused.verdict, refused.ran, refused.last_status) == ("error", False, "error")


def test_run_history_overlays_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "state" / "runs.json"
    history = RunHistory(path)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    history.record("crontab:abc", LastRun(started, "error", 1234))
    job = LocalJob("crontab:abc", "n", "crontab", None, None)
    assert history.overlay(job).mirror_fields()["last_status"] == "error"
    reloaded = RunHistory(path)
    overlaid = reloaded.overlay(job)
    assert (overlaid.last_run_at, overlaid.last_status, overlaid.last_duration_ms) == (started, "error", 1234)
    newer = LocalJob("crontab:abc", "n", "crontab", None, None, last_run_at=started + timedelta(hours=1))
    assert reloaded.overlay(newer) is newer  # what the source knows and is newer wins
    path.write_text("{not json")
    assert RunHistory(path).get("crontab:abc") is None  # unreadable history: start afresh, don't crash


def test_two_processes_sharing_the_history_file_keep_each_others_newest_runs(tmp_path: Path) -> None:
    """The daemon and the app's hosted worker on one Mac write the same run-history file: each takes in
    what the other recorded (newest wins), so neither overwrites the other's run with an older one."""
    path = tmp_path / "run-history.json"
    t0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    daemon, hosted = RunHistory(path), RunHistory(path)
    daemon.record("jobs:a", LastRun(t0, "ok", 10))
    hosted.record("jobs:b", LastRun(t0, "error", 20))  # saves a and b: it took in the daemon's a
    assert RunHistory(path).get("jobs:a") == LastRun(t0, "ok", 10)
    daemon.record("jobs:a", LastRun(t0 + timedelta(minutes=5), "ok", 11))
    hosted.refresh()
    assert hosted.get("jobs:a") == LastRun(t0 + timedelta(minutes=5), "ok", 11)
    assert hosted.get("jobs:b") == LastRun(t0, "error", 20)
    hosted.record("jobs:a", LastRun(t0, "skipped", 0))  # older than what the daemon ran: kept out
    assert RunHistory(path).get("jobs:a") == LastRun(t0 + timedelta(minutes=5), "ok", 11)
