"""Demo data for `--demo`: realistic jobs of every schedule kind, requests in every status, and a worker.

Everything lives in a temp dir: an embedded store, a `jobs.toml` of harmless shell commands (echo, sleep,
one that fails like OpenClaw does) and the worker's run history. The mirror is filled by the real worker
code (`MirrorSync` over the jobs-file source), and the app hosts the real worker on it, so Run works end
to end. Two rows are written the way ClawdOS's own worker writes them (a gateway agent job with a target
agent, and an unreadable schedule), to show how those look. Requests are queued, claimed, completed and
cancelled through the Store API; only their timestamps are moved into the past, with SQL, so the dock
reads "2 h ago" instead of "just now". Each job that has run has a run history (`demo_runs`: a few weeks of
runs on its schedule, with the durations and failures a real Mac mini shows; the nightly backup's last
run was unusually slow), and the running request has printed its first lines. Qt-free.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cronmirror_desktop import __version__
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.presence import presence_row
from cronmirror_desktop.core.run_log import run_entry
from cronmirror_desktop.core.schedule import CRON_DIALECT, Schedule, next_runs
from cronmirror_desktop.core.timeutil import format_timestamp, iso_z
from cronmirror_desktop.core.worker_report import (
    DETAILS_PREFIX,
    SourceReport,
    bookkeeping_row,
    details_instructions,
    presence_fields,
)
from worker.history import RunHistory
from worker.jobs import command_details
from worker.sources.jobs_file import JobsFileSource
from worker.sources.registry import SourceSet
from worker.sync import MirrorSync

if TYPE_CHECKING:
    from worker.configured import WorkerParts

DEMO_PROJECT = "front-office"
SECOND_PROJECT = "home-lab"
#: The worker that "is busy" with the running demo request (not ours: ours would finish it).
OTHER_WORKER = "mac-mini:4242:demo"
#: The demo's Mac mini (its jobs' `host`) and its time zone, the same on every machine that shows the demo.
DEMO_HOST = "mac-mini"
DEMO_ZONE = "Europe/Berlin"


@dataclass(frozen=True)
class DemoJob:
    key: str
    name: str
    schedule: tuple[str, str] | None  # ("cron" | "every" | "at", value)
    script: str  # run with /bin/sh -c: harmless, fixed text from this file, never request data
    tz: str | None = None
    enabled: bool = True
    instructions: str | None = None
    #: (how long ago, status, duration ms); None as the age: at its latest scheduled time, so that only
    #: the job meant to be Late is Late whenever the demo runs.
    last: tuple[timedelta | None, str, int] | None = None

    @property
    def job_id(self) -> str:
        return f"jobs:{self.key}"


def demo_jobs(now: datetime) -> list[DemoJob]:
    dentist = (now + timedelta(days=3)).replace(hour=16, minute=30, second=0, microsecond=0)
    return [
        DemoJob(
            "inbox",
            "Inbox check",
            ("every", "30m"),
            "echo 'Checked 42 messages.'; sleep 2; "
            'echo \'2 flagged as urgent: "Invoice overdue", "Server alert".\'',
            instructions="Check for urgent email and flag it.",
            last=(timedelta(minutes=12), "ok", 4_230),
        ),
        DemoJob(
            "morning-briefing",
            "Morning briefing",
            ("cron", "0 7 * * 1-5"),
            "echo 'Collecting calendar, weather and messages…'; sleep 3; "
            "echo 'Briefing posted to #daily (3 meetings, 11 °C, 5 messages).'",
            tz="Europe/Berlin",
            instructions="Summarise today's calendar, the weather in Berlin and overnight messages.\n"
            "Post the summary to the #daily channel.",
            last=(None, "ok", 38_900),
        ),
        DemoJob(
            "weekly-review",
            "Weekly review",
            ("cron", "0 17 * * 5"),
            "echo 'Collecting merged pull requests…'; sleep 1; "
            "echo \"error: unknown option '--force'\" >&2; exit 1",
            tz="America/New_York",
            instructions="Collect the week's merged pull requests and draft the review note.",
            last=(None, "error", 2_140),
        ),
        DemoJob(
            "nightly-backup",
            "Nightly backup",
            ("cron", "30 2 * * *"),
            "echo 'snapshot 5f1c2a9e saved'; sleep 4; echo 'Added to the repository: 1.204 GiB'",
            tz="Europe/Berlin",
            instructions="restic backup ~/Documents ~/Projects --tag nightly",
            last=(None, "ok", 184_000),
        ),
        DemoJob(
            "calendar-sync",
            "Calendar sync",
            ("cron", "*/15 * * * *"),
            "sleep 1; echo 'Synced 3 calendars (214 events).'",
            instructions="Pull shared calendars into the local cache.",
            last=(None, "ok", 1_250),
        ),
        DemoJob(
            "dentist",
            "Dentist reminder",
            ("at", iso_z(dentist)),
            "echo 'Reminder sent: dentist at 17:00, bring the insurance card.'",
            instructions="Remind me: dentist at 17:00, bring the insurance card.",
        ),
        DemoJob(
            "quarterly-report",
            "Quarterly report",
            ("cron", "0 9 1 1,4,7,10 *"),
            "echo 'Drafted Q4 numbers.'",
            tz="Europe/London",
            instructions="Draft the quarterly numbers from the finance sheet.",
            last=(None, "skipped", 0),
        ),
        DemoJob(
            "log-rotation",
            "Log rotation",
            ("every", "1d"),
            "echo 'Rotated 6 logs, freed 312 MB.'",
            last=(timedelta(hours=20), "ok", 830),
        ),
        DemoJob(
            "newsletter",
            "Newsletter digest (paused)",
            ("cron", "0 8 * * 1"),
            "echo 'Digest of 9 newsletters sent.'",
            tz="Europe/Berlin",
            enabled=False,
            instructions="Summarise unread newsletters into one digest.",
            last=(timedelta(days=23), "ok", 12_400),
        ),
        DemoJob(
            "heartbeat",
            "Gateway heartbeat",
            ("every", "5m"),
            "echo 'gateway ok, 38 ms'",
            instructions="Ping the gateway and record latency.",
            last=(timedelta(minutes=3), "ok", 310),
        ),
        DemoJob(
            "standup",
            "Stand-up notes",
            ("cron", "45 9 * * 1-5"),
            "echo 'Reading the commits of yesterday…'; sleep 2; "
            "echo 'fatal: not a git repository' >&2; exit 128",
            tz="Asia/Tokyo",
            instructions="Prepare stand-up notes from yesterday's commits.",
            last=(None, "error", 4_900),
        ),
        DemoJob(
            "uptime",
            "Website uptime check",
            ("every", "15m"),
            "echo 'https://example.org: 200 OK in 212 ms'",
            instructions="Check that the website answers; alert on anything but 200.",
            # Its last run was 52 minutes ago: the run due 37 minutes ago never happened. Late.
            last=(timedelta(minutes=52), "ok", 640),
        ),
    ]


def _toml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string or list is valid TOML


def jobs_toml(jobs: list[DemoJob]) -> str:
    blocks = []
    for job in jobs:
        lines = [f"[jobs.{job.key}]", f"name = {_toml(job.name)}"]
        if job.schedule is not None:
            kind, value = job.schedule
            lines.append(f"{kind} = {_toml(value)}")
        if job.tz:
            lines.append(f"tz = {_toml(job.tz)}")
        lines.append(f"command = {_toml(['/bin/sh', '-c', job.script])}")
        lines.append(f"enabled = {'true' if job.enabled else 'false'}")
        lines.append('timeout = "2m"')
        if job.instructions:
            lines.append(f"instructions = {_toml(job.instructions)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def last_started(job: DemoJob, now: datetime) -> datetime | None:
    """When the demo job last ran: its age ago, or (no age) at its latest scheduled time before `now`."""
    if job.last is None:
        return None
    age = job.last[0]
    if age is not None:
        return now - age
    if job.schedule is None or job.schedule[0] != "cron":
        raise ValueError(f"demo job {job.key}: only a cron job's last run can follow its schedule")
    schedule = Schedule.cron(job.schedule[1], job.tz, CRON_DIALECT)
    for span in (timedelta(days=1), timedelta(days=8), timedelta(days=100)):
        due = [t for t in next_runs(schedule, after=now - span, count=100, default_tz=DEMO_ZONE) if t <= now]
        if due:
            return due[-1] + timedelta(seconds=2)
    raise ValueError(f"demo job {job.key} has not been due for 100 days")


def history_json(jobs: list[DemoJob], now: datetime) -> str:
    history: dict[str, dict[str, object]] = {}
    for job in jobs:
        started = last_started(job, now)
        if job.last is None or started is None:
            continue
        history[job.job_id] = {
            "started_at": iso_z(started),
            "status": job.last[1],
            "duration_ms": job.last[2],
        }
    return json.dumps(history, indent=2)


#: How often each demo job with a history runs (its schedule, roughly: enough for a trend).
_RUN_EVERY = {
    "inbox": timedelta(minutes=30),
    "morning-briefing": timedelta(days=1),
    "weekly-review": timedelta(days=7),
    "nightly-backup": timedelta(days=1),
    "calendar-sync": timedelta(minutes=15),
    "log-rotation": timedelta(days=1),
    "newsletter": timedelta(days=7),
    "heartbeat": timedelta(minutes=5),
    "standup": timedelta(days=1),
    "uptime": timedelta(minutes=15),
}
#: What each run printed (stdout, stderr when it failed).
_PRINTED = {
    "inbox": ("Checked 42 messages.\n2 flagged as urgent.", "imap: connection reset by peer"),
    "morning-briefing": ("Briefing posted to #daily (3 meetings, 11 °C, 5 messages).", "weather API: 503"),
    "weekly-review": ("Collecting merged pull requests…", "error: unknown option '--force'"),
    "nightly-backup": ("snapshot 5f1c2a9e saved\nAdded to the repository: 1.204 GiB", "repository is locked"),
    "calendar-sync": ("Synced 3 calendars (214 events).", "caldav: 401 Unauthorized"),
    "log-rotation": ("Rotated 6 logs, freed 312 MB.", "permission denied: /var/log/system.log"),
    "newsletter": ("Digest of 9 newsletters sent.", "smtp: timeout"),
    "heartbeat": ("gateway ok, 38 ms", "gateway: connection refused"),
    "standup": ("Reading the commits of yesterday…", "fatal: not a git repository"),
    "uptime": ("https://example.org: 200 OK in 212 ms", "https://example.org: 502 Bad Gateway"),
}
#: Runs per job in the demo's history.
_HISTORY_RUNS = 24


def demo_runs(jobs: list[DemoJob], now: datetime) -> list[dict[str, Any]]:
    """A run history for every job that has run: its last run as the mirror says, and earlier ones on
    its schedule with durations around the usual (seeded, so every demo and screenshot is the same).
    The nightly backup's last run took over three times its usual length (the slow-run note); the
    failing jobs failed before, too, now and then."""
    rows: list[dict[str, Any]] = []
    for job in jobs:
        last = last_started(job, now)
        every = _RUN_EVERY.get(job.key)
        if job.last is None or last is None or every is None:
            continue
        rng = random.Random(job.key)
        _, last_status, last_ms = job.last
        usual = 52_000 if job.key == "nightly-backup" else max(last_ms, 200)
        out, err = _PRINTED[job.key]
        for age in range(_HISTORY_RUNS):
            started = last - every * age
            if age == 0:
                status, duration = last_status, last_ms
            else:
                status = "error" if rng.random() < (0.25 if last_status == "error" else 0.06) else "ok"
                duration = int(usual * rng.uniform(0.75, 1.3) * (0.4 if status == "error" else 1.0))
            rows.append(
                run_entry(
                    job_id=job.job_id,
                    run_key=f"{job.job_id}:demo:{age}",
                    run_at=started,
                    finished_at=started + timedelta(milliseconds=duration),
                    duration_ms=duration,
                    status=status,  # type: ignore[arg-type]
                    trigger="schedule",
                    summary=f"exit code {1 if status == 'error' else 0}" if status != "skipped" else None,
                    stdout_tail=out if status != "skipped" else None,
                    stderr_tail=err if status == "error" else None,
                    source="jobs",
                    host=DEMO_HOST,
                )
            )
    return rows


def clawdos_rows(now: datetime) -> list[dict[str, Any]]:
    """Rows as ClawdOS's Node worker mirrors gateway jobs (no `jobs:` prefix: not ours to sync)."""
    return [
        {
            "job_id": "9b0d3c1e-7f2a-4c55-9e0b-1a2b3c4d5e6f",
            "name": "Inbox triage (agent)",
            "schedule_kind": "every",
            "schedule_expr": "3600000",
            "tz": None,
            "enabled": True,
            "next_run_at": now + timedelta(minutes=41),
            "last_run_at": now - timedelta(minutes=19),
            "last_status": "ok",
            "last_duration_ms": 27_300,
            "instructions": "Triage new email: archive newsletters, flag anything from the bank.",
        },
        {
            "job_id": "crontab:7d1e4b",
            "name": "Imported crontab line",
            "schedule_kind": "cron",
            "schedule_expr": "61 25 * * *",
            "tz": None,
            "enabled": True,
            "next_run_at": None,
            "last_run_at": None,
            "last_status": None,
            "last_duration_ms": None,
            "instructions": "/usr/local/bin/cleanup.sh --all",
        },
    ]


def home_lab_rows(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "job_id": "jobs:plants",
            "name": "Water the plants",
            "schedule_kind": "cron",
            "schedule_expr": "0 19 * * *",
            "tz": "Europe/Berlin",
            "enabled": True,
            "next_run_at": None,
            "last_run_at": now - timedelta(hours=18),
            "last_status": "ok",
            "last_duration_ms": 2_000,
            "instructions": "Turn on the drip line for ten minutes.",
        },
        {
            "job_id": "jobs:nas-scrub",
            "name": "NAS scrub",
            "schedule_kind": "cron",
            "schedule_expr": "0 3 1 * *",
            "tz": None,
            "enabled": True,
            "next_run_at": None,
            "last_run_at": now - timedelta(days=12),
            "last_status": "ok",
            "last_duration_ms": 3_600_000,
            "instructions": "zpool scrub tank",
        },
    ]


@dataclass(frozen=True)
class Demo:
    """Where the demo's files are, and how to build the worker that serves them."""

    directory: Path
    store_file: Path
    jobs_file: Path
    history_file: Path
    project_id: str = DEMO_PROJECT

    def sources(self) -> SourceSet:
        return SourceSet(
            [JobsFileSource(self.jobs_file)],
            history=RunHistory(self.history_file),
            host=DEMO_HOST,
            default_tz=DEMO_ZONE,
        )

    def worker_parts(self) -> WorkerParts:
        """For `HostedWorker`: called on the worker's own thread, so the store is made there (and the
        worker's modules are imported there, when it starts, not with the demo)."""
        from worker.configured import WorkerParts
        from worker.service import WorkerOptions

        options = WorkerOptions(project_id=self.project_id, concurrency=2, poll_every=2.0, job_timeout=120.0)
        return WorkerParts(LocalStore(self.store_file), self.sources(), options)


#: `--demo-mistake` (for docs/screenshots): a job written the way people get it wrong, a command as one
#: string; the worker leaves it out and says so (the app's Sources badge, `cronmirror doctor`).
MISTAKE = """
[jobs.typo]
name = "Clean downloads"
cron = "0 4 * * *"
command = "rm -rf ~/Downloads/tmp"
"""


def write_demo_files(directory: Path, now: datetime, *, mistake: bool = False) -> Demo:
    jobs = demo_jobs(now)
    directory.mkdir(parents=True, exist_ok=True)
    demo = Demo(directory, directory / "demo.sqlite3", directory / "jobs.toml", directory / "history.json")
    demo.jobs_file.write_text(jobs_toml(jobs) + (MISTAKE if mistake else ""), encoding="utf-8")
    demo.history_file.write_text(history_json(jobs, now), encoding="utf-8")
    return demo


async def seed_demo(directory: Path, *, now: datetime | None = None, mistake: bool = False) -> Demo:
    """Write the demo's files into `directory` and fill its store; returns where everything is.
    `mistake`: add a job jobs.toml has to leave out (see MISTAKE)."""
    now = now or datetime.now(UTC)
    demo = write_demo_files(directory, now, mistake=mistake)

    store = LocalStore(demo.store_file)
    async with store:
        sources = demo.sources()
        report = await MirrorSync(store, DEMO_PROJECT, sources).sync_once()
        broken = [w for w in report.warnings if not (mistake and "[jobs.typo]" in w)]
        if broken:
            raise RuntimeError(f"the demo jobs file is broken: {broken}")
        await store.upsert_mirror(DEMO_PROJECT, clawdos_rows(now))
        # What the Mac mini's worker says about itself (core.worker_report): readers compute jobs without
        # a zone in its zone, show what its sources found and how its command jobs run.
        inventory = sources.inventory
        listings = inventory.listings if inventory is not None else ()
        presence = presence_row(
            host=DEMO_HOST,
            worker_id=OTHER_WORKER,
            version=__version__,
            started_at=iso_z(now - timedelta(days=2)),
            time_zone=DEMO_ZONE,
            report=presence_fields(
                state="running",
                running=1,
                queued=1,
                sync_every_s=30.0,
                sources=[
                    SourceReport.build(lst.source, lst.state, lst.message, len(lst.jobs), lst.warnings)
                    for lst in listings
                ],
            ),
        )
        details = command_details(inventory.jobs if inventory is not None else ())
        text = details_instructions(details, host=DEMO_HOST, default_timeout_s=120.0)
        details_row = bookkeeping_row(
            f"{DETAILS_PREFIX}@{DEMO_HOST}", "CronMirror job details", DEMO_HOST, text
        )
        await store.upsert_mirror(DEMO_PROJECT, [presence, {**details_row, "host": DEMO_HOST}])
        await store.upsert_mirror(SECOND_PROJECT, home_lab_rows(now))
        await store.record_runs(DEMO_PROJECT, demo_runs(demo_jobs(now), now))
        ages = await _requests(store, now)
    await asyncio.to_thread(_backdate, demo.store_file, ages, now)
    return demo


async def _requests(store: LocalStore, now: datetime) -> dict[str, timedelta]:
    """One request in every status, through the Store API; returns each one's age to back-date. The
    running one has printed its first lines, as a worker publishes them while it runs."""
    morning = await _finish(store, "jobs:morning-briefing", "done", {
        "exitCode": 0, "durationMs": 38_900,
        "stdoutTail": "Collecting calendar, weather and messages…\n"
        "Briefing posted to #daily (3 meetings, 11 °C, 5 messages).\n",
    })  # fmt: skip
    inbox = await _finish(store, "jobs:inbox", "done", {
        "exitCode": 0, "durationMs": 4_230,
        "stdoutTail": "Checked 42 messages.\n2 flagged as urgent: \"Invoice overdue\", \"Server alert\".\n",
    })  # fmt: skip
    weekly = await _finish(store, "jobs:weekly-review", "error", {
        "exitCode": 1, "durationMs": 2_140,
        "stdoutTail": "Collecting merged pull requests…\n", "stderrTail": "error: unknown option '--force'\n",
    })  # fmt: skip
    cancelled = (await store.queue_run(DEMO_PROJECT, "jobs:nightly-backup", "ui")).request
    await store.cancel_request(DEMO_PROJECT, cancelled.id)
    running = (await store.queue_run(DEMO_PROJECT, "jobs:calendar-sync", "ui")).request
    await store.claim_next(DEMO_PROJECT, OTHER_WORKER, lease_seconds=600, host=DEMO_HOST)
    printed = "Fetching 3 calendars…\nwork: 214 events\nfamily: 38 events\n"
    await store.report_progress(
        running.id, OTHER_WORKER, {"jobId": "jobs:calendar-sync", "stdoutTail": printed}
    )
    # The history has each of these runs, as the worker records them (started 3 s after the request).
    runs = [
        _request_run(
            running.id, "jobs:calendar-sync", now - timedelta(seconds=37), "running", {"stdoutTail": printed}
        )
    ]
    finished = [
        (morning, "jobs:morning-briefing", timedelta(hours=5, minutes=3), "ok"),
        (inbox, "jobs:inbox", timedelta(hours=2, minutes=14), "ok"),
        (weekly, "jobs:weekly-review", timedelta(minutes=35), "error"),
    ]
    for request_id, job_id, age, status in finished:
        request = await store.get_request(request_id)
        result = (request.result if request is not None else None) or {}
        runs.append(_request_run(request_id, job_id, now - age + timedelta(seconds=3), status, result))
    await store.record_runs(DEMO_PROJECT, runs)
    queued = (await store.queue_run(DEMO_PROJECT, "jobs:standup", "ui")).request
    # An action waiting for the Mac mini: its row says "Disable requested 5 s ago".
    disable = (await store.queue_run(DEMO_PROJECT, "jobs:uptime", "ui", action="disable")).request
    await _finish(store, "jobs:plants", "done", {"exitCode": 0, "durationMs": 2_000}, project=SECOND_PROJECT)
    return {
        morning: timedelta(hours=5, minutes=3),
        inbox: timedelta(hours=2, minutes=14),
        weekly: timedelta(minutes=35),
        cancelled.id: timedelta(minutes=12),
        running.id: timedelta(seconds=40),
        queued.id: timedelta(seconds=8),
        disable.id: timedelta(seconds=5),
    }


def _request_run(
    request_id: str, job_id: str, started: datetime, status: str, result: dict[str, Any]
) -> dict[str, Any]:
    duration = result.get("durationMs")
    code = result.get("exitCode")
    return run_entry(
        job_id=job_id,
        run_key=f"request:{request_id}",
        run_at=started,
        status=status,  # type: ignore[arg-type]
        trigger="request",
        finished_at=started + timedelta(milliseconds=duration) if isinstance(duration, int) else None,
        duration_ms=duration if isinstance(duration, int) else None,
        summary=f"exit code {code}" if isinstance(code, int) else None,
        stdout_tail=result.get("stdoutTail"),
        stderr_tail=result.get("stderrTail"),
        request_id=request_id,
        source="jobs",
        host=DEMO_HOST,
    )


async def _finish(
    store: LocalStore, job_id: str, status: str, result: dict[str, Any], *, project: str = DEMO_PROJECT
) -> str:
    request = (await store.queue_run(project, job_id, "ui")).request
    claimed = await store.claim_next(project, OTHER_WORKER, lease_seconds=600, host=DEMO_HOST)
    if claimed is None or claimed.id != request.id:
        raise RuntimeError("the demo store was not empty")
    await store.complete(request.id, OTHER_WORKER, status, {"jobId": job_id, **result})  # type: ignore[arg-type]
    return request.id


def _backdate(path: Path, ages: dict[str, timedelta], now: datetime) -> None:
    """Move each request's times into the past by its age (keeping durations), and give the ClawdOS
    row its later columns, which only their worker writes."""
    with sqlite3.connect(path) as conn:
        for request_id, age in ages.items():
            row = conn.execute(
                "SELECT picked_up_at, completed_at, result FROM cron_run_requests WHERE id = ?", (request_id,)
            ).fetchone()
            requested = now - age
            duration = int(json.loads(row[2]).get("durationMs") or 0) if row[2] else 0
            picked = requested + timedelta(seconds=3) if row[0] else None
            completed = picked + timedelta(milliseconds=duration) if row[1] and picked else None
            conn.execute(
                "UPDATE cron_run_requests SET requested_at = ?, picked_up_at = ?, completed_at = ?, "
                "heartbeat_at = CASE WHEN status = 'running' THEN ? ELSE heartbeat_at END WHERE id = ?",
                (
                    format_timestamp(requested),
                    format_timestamp(picked),
                    format_timestamp(completed),
                    format_timestamp(picked),
                    request_id,
                ),
            )
        conn.execute(
            "UPDATE cron_mirror SET target_agent_key = ?, job_intent = ? WHERE job_id = ?",
            ("agent:main:main", "triage", "9b0d3c1e-7f2a-4c55-9e0b-1a2b3c4d5e6f"),
        )
