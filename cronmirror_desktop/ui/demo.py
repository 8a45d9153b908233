"""Demo data for `--demo`: realistic jobs of every schedule kind and requests in every status.

Written through the Store interface like a worker would, into an embedded store in a temp dir, so the app
shows exactly what it would show for real rows. Two touches go straight to the SQLite file because the
Store API (rightly) does not offer them: back-dating requests so "requested 2 h ago" looks real, and the
ClawdOS-only columns (`target_agent_key`, ...) that only their worker writes. Qt-free.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.rows import CronMirrorJob, format_timestamp

DEMO_PROJECT = "front-office"
SECOND_PROJECT = "home-lab"
DEMO_WORKER = "mac-mini.local/demo"


def _job(
    job_id: str,
    name: str,
    kind: str | None,
    expr: str | None,
    *,
    tz: str | None = None,
    enabled: bool = True,
    last: timedelta | None = None,
    status: str | None = None,
    duration_ms: int | None = None,
    instructions: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "name": name,
        "schedule_kind": kind,
        "schedule_expr": expr,
        "tz": tz,
        "enabled": enabled,
        "next_run_at": None,
        "last_run_at": now - last if last is not None else None,
        "last_status": status,
        "last_duration_ms": duration_ms,
        "instructions": instructions,
    }


def demo_jobs(now: datetime) -> list[dict[str, Any]]:
    """Jobs of every kind: every, cron (with and without a zone, across DST), at, disabled, broken."""
    soon = (now + timedelta(days=3)).replace(hour=16, minute=30, second=0, microsecond=0)
    rows = [
        _job(
            "9b0d1c2e-inbox",
            "Inbox check",
            "every",
            "1800000",
            last=timedelta(minutes=12),
            status="ok",
            duration_ms=4_230,
            instructions="Check for urgent email and flag it.",
            now=now,
        ),
        _job(
            "4f1a-morning",
            "Morning briefing",
            "cron",
            "0 7 * * 1-5",
            tz="Europe/Berlin",
            last=timedelta(hours=5, minutes=2),
            status="ok",
            duration_ms=38_900,
            instructions="Summarise today's calendar, the weather in Berlin and overnight messages.\n"
            "Post the summary to the #daily channel.",
            now=now,
        ),
        _job(
            "7c22-weekly",
            "Weekly review",
            "cron",
            "0 17 * * 5",
            tz="America/New_York",
            last=timedelta(days=2, hours=3),
            status="error",
            duration_ms=61_000,
            instructions="Collect the week's merged pull requests and draft the review note.",
            now=now,
        ),
        _job(
            "a1b2-backup",
            "Nightly backup",
            "cron",
            "30 2 * * *",
            tz="Europe/Berlin",
            last=timedelta(hours=9),
            status="ok",
            duration_ms=184_000,
            instructions="restic backup ~/Documents ~/Projects --tag nightly",
            now=now,
        ),
        _job(
            "d3e4-calendar",
            "Calendar sync",
            "cron",
            "*/15 * * * *",
            last=timedelta(minutes=7),
            status="ok",
            duration_ms=1_250,
            instructions="Pull shared calendars into the local cache.",
            now=now,
        ),
        _job(
            "e5f6-dentist",
            "Dentist reminder",
            "at",
            format_timestamp(soon),
            last=None,
            instructions="Remind me: dentist at 17:00, bring the insurance card.",
            now=now,
        ),
        _job(
            "f7a8-quarterly",
            "Quarterly report",
            "cron",
            "0 9 1 1,4,7,10 *",
            tz="Europe/London",
            last=timedelta(days=40),
            status="skipped",
            duration_ms=0,
            instructions="Draft the quarterly numbers from the finance sheet.",
            now=now,
        ),
        _job(
            "0b1c-logs",
            "Log rotation",
            "every",
            "86400000",
            last=timedelta(hours=20),
            status="ok",
            duration_ms=830,
            instructions=None,
            now=now,
        ),
        _job(
            "2d3e-newsletter",
            "Newsletter digest (paused)",
            "cron",
            "0 8 * * 1",
            tz="Europe/Berlin",
            enabled=False,
            last=timedelta(days=23),
            status="ok",
            duration_ms=12_400,
            instructions="Summarise unread newsletters into one digest.",
            now=now,
        ),
        _job(
            "4f5a-heartbeat",
            "Gateway heartbeat",
            "every",
            "300000",
            last=timedelta(minutes=3),
            status="ok",
            duration_ms=310,
            instructions="Ping the gateway and record latency.",
            now=now,
        ),
        _job(
            "6b7c-standup",
            "Stand-up notes",
            "cron",
            "45 9 * * 1-5",
            tz="Asia/Tokyo",
            last=timedelta(hours=27),
            status="error",
            duration_ms=4_900,
            instructions="Prepare stand-up notes from yesterday's commits.",
            now=now,
        ),
        _job(
            "8d9e-broken",
            "Imported crontab line",
            "cron",
            "61 25 * * *",
            last=None,
            instructions="/usr/local/bin/cleanup.sh",
            now=now,
        ),
    ]
    return rows


def second_project_jobs(now: datetime) -> list[dict[str, Any]]:
    return [
        _job(
            "h1-plants",
            "Water the plants",
            "cron",
            "0 19 * * *",
            tz="Europe/Berlin",
            last=timedelta(hours=18),
            status="ok",
            duration_ms=2_000,
            instructions="Turn on the drip line.",
            now=now,
        ),
        _job(
            "h2-nas",
            "NAS scrub",
            "cron",
            "0 3 1 * *",
            last=timedelta(days=12),
            status="ok",
            duration_ms=3_600_000,
            instructions="zpool scrub tank",
            now=now,
        ),
    ]


def _with_next_runs(rows: Iterable[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Fill next_run_at as a worker would (from the schedule, DST-correct), so the table is realistic."""
    from cronmirror_desktop.ui import schedule_info

    out = []
    for row in rows:
        job = CronMirrorJob.from_row({**row, "project_id": "x", "id": "x"})
        if row["enabled"] and not job.problems:
            row = {**row, "next_run_at": schedule_info.next_run(job, after=now)}
        out.append(row)
    return out


async def seed_demo(store: LocalStore, *, now: datetime | None = None) -> None:
    """Fill an empty store with the demo projects; requests end up queued/running/done/error/cancelled."""
    now = now or datetime.now(UTC)
    await store.upsert_mirror(DEMO_PROJECT, _with_next_runs(demo_jobs(now), now))
    await store.upsert_mirror(SECOND_PROJECT, _with_next_runs(second_project_jobs(now), now))

    done = await _finish(
        store,
        "9b0d1c2e-inbox",
        "done",
        {
            "exitCode": 0,
            "durationMs": 4_230,
            "stdoutTail": 'Checked 42 messages.\n2 flagged as urgent: "Invoice overdue", "Server alert".',
        },
    )
    failed = await _finish(
        store,
        "7c22-weekly",
        "error",
        {
            "exitCode": 1,
            "durationMs": 2_140,
            "stdoutTail": "",
            "stderrTail": "error: unknown option '--force'\n(Did you mean --due?)",
        },
    )
    morning = await _finish(
        store,
        "4f1a-morning",
        "done",
        {
            "exitCode": 0,
            "durationMs": 38_900,
            "stdoutTail": "Briefing posted to #daily (3 meetings, 11 °C, 5 messages).",
        },
    )
    cancelled = (await store.queue_run(DEMO_PROJECT, "a1b2-backup", "ui")).request
    await store.cancel_request(cancelled.id)
    running = (await store.queue_run(DEMO_PROJECT, "d3e4-calendar", "ui")).request
    await store.claim_next(DEMO_PROJECT, DEMO_WORKER, lease_seconds=3600)
    queued = (await store.queue_run(DEMO_PROJECT, "6b7c-standup", "ui")).request
    await _finish(store, "h1-plants", "done", {"exitCode": 0, "durationMs": 2_000}, project=SECOND_PROJECT)

    ages = {
        morning: timedelta(hours=5, minutes=3),
        done: timedelta(hours=2, minutes=14),
        failed: timedelta(minutes=35),
        cancelled.id: timedelta(minutes=12),
        running.id: timedelta(seconds=40),
        queued.id: timedelta(seconds=8),
    }
    await asyncio.get_running_loop().run_in_executor(None, _backdate, store.path, ages, now)


async def _finish(
    store: LocalStore, job_id: str, status: str, result: dict[str, Any], *, project: str = DEMO_PROJECT
) -> str:
    request = (await store.queue_run(project, job_id, "ui")).request
    claimed = await store.claim_next(project, DEMO_WORKER, lease_seconds=3600)
    if claimed is None or claimed.id != request.id:
        raise RuntimeError("the demo store was not empty")
    await store.complete(request.id, DEMO_WORKER, status, {"jobId": job_id, **result})  # type: ignore[arg-type]
    return request.id


def _backdate(path: Path, ages: dict[str, timedelta], now: datetime) -> None:
    """Move each request's times into the past by its age, keeping their order and durations."""
    with sqlite3.connect(path) as conn:
        for request_id, age in ages.items():
            row = conn.execute(
                "SELECT requested_at, picked_up_at, completed_at, result FROM cron_run_requests WHERE id = ?",
                (request_id,),
            ).fetchone()
            requested = now - age
            duration = 0
            if row[3]:
                duration = int(json.loads(row[3]).get("durationMs") or 0)
            picked = requested + timedelta(seconds=3) if row[1] else None
            completed = picked + timedelta(milliseconds=duration) if row[2] and picked else None
            conn.execute(
                "UPDATE cron_run_requests SET requested_at = ?, picked_up_at = ?, completed_at = ?, "
                "heartbeat_at = coalesce(?, heartbeat_at) WHERE id = ?",
                (
                    format_timestamp(requested),
                    format_timestamp(picked),
                    format_timestamp(completed),
                    format_timestamp(picked) if picked and not completed else None,
                    request_id,
                ),
            )
        conn.execute(
            "UPDATE cron_mirror SET target_agent_key = ?, job_intent = ? WHERE job_id = ?",
            ("agent:main:main", "briefing", "4f1a-morning"),
        )
        conn.execute(
            "UPDATE cron_mirror SET target_agent_key = ? WHERE job_id IN (?, ?)",
            ("isolated", "9b0d1c2e-inbox", "7c22-weekly"),
        )
