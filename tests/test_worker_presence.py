"""What the worker tells readers beside the jobs (issue 19, points 2, 6, 7): its presence row (state, runs,
queue, sync interval, each source's state and warnings) and its details row (how each command job runs),
on both stores; rewritten when they change, never when nothing did; read without trusting them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cronmirror_desktop.core.presence import presence_job_id
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.worker_report import DetailsReport, JobDetails, SourceReport, WorkerReport
from tests.store_harness import Backend
from tests.worker_harness import (
    PROJECT,
    eventually,
    python_job,
    service,
    sources_for,
    toml_job,
    wait_for_request,
    write_jobs,
)

TYPO = """
[jobs.typo]
name = "Typo"
cron = "0 3 * * *"
command = "echo this is a string, not a list"
"""


async def rows_by_id(backend: Backend) -> dict[str, CronMirrorJob]:
    return {row.job_id: row for row in await backend.worker.mirror_rows(PROJECT)}


#: The host the test workers say they are (tests.worker_harness.sources_for).
HOST = "mac-mini"
PRESENCE_JOB_ID = presence_job_id(HOST)
DETAILS_JOB_ID = f"__cronmirror_details__@{HOST}"


async def presence(backend: Backend) -> WorkerReport:
    row = (await rows_by_id(backend)).get(PRESENCE_JOB_ID)
    assert row is not None, "no presence row"
    report = WorkerReport.from_row(row)
    assert report is not None
    return report


async def test_the_presence_row_says_what_the_sources_found(backend: Backend, tmp_path: Path) -> None:
    """A jobs.toml mistake vanished silently; only `cronmirror-worker list-jobs` said so."""
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("good", ["true"]), TYPO])
    worker = service(backend.worker, sources_for(jobs_file), sync_interval=45.0, presence_debounce=0.0)
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        await eventually(lambda: worker.status.state == "running")
        report = await presence(backend)
        assert report.worker_id == worker.worker_id
        assert report.host == HOST
        assert report.state == "running"
        assert (report.running, report.queued, report.sync_every_s) == (0, 0, 45.0)
        [jobs] = report.sources
        assert (jobs.source, jobs.state, jobs.jobs, jobs.left_out) == ("jobs", "ok", 1, 1)
        [warning] = jobs.warnings
        assert warning.startswith("jobs.toml:")
        assert "[jobs.typo] command: must be a non-empty list" in warning
        assert jobs.summary() == "jobs.toml: 1 job left out"
        assert report.source_problems == (jobs,)
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 10)
    assert (await presence(backend)).state == "stopped"  # said when it stopped, not guessed from silence


async def test_presence_follows_runs_and_the_queue_and_is_not_rewritten_for_nothing(
    backend: Backend, tmp_path: Path
) -> None:
    slow = python_job("import time; time.sleep(1.0)")
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("slow", slow), toml_job("other", ["true"])])
    worker = service(
        backend.worker,
        sources_for(jobs_file),
        presence_debounce=0.05,
        sync_interval=3600.0,
        poll_every=3600.0,
    )
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        await eventually(lambda: worker.status.state == "running")
        await asyncio.sleep(0.2)  # the first (empty) claim pass and presence write are over
        quiet = await rows_by_id(backend)
        for _ in range(3):  # syncs that change nothing write nothing: no job, no presence, no details
            worker.request_sync()
            await eventually(lambda: worker.status.last_sync_at is not None)
        await asyncio.sleep(0.3)
        assert {k: r.updated_at for k, r in (await rows_by_id(backend)).items()} == {
            k: r.updated_at for k, r in quiet.items()
        }

        request = (await backend.app.queue_run(PROJECT, "jobs:slow", "test")).request
        await wait_for_request(backend, request.id, {"running"})
        seen_running = False
        for _ in range(100):
            report = await presence(backend)
            if report.running == 1:
                seen_running = True
                break
            await asyncio.sleep(0.05)
        assert seen_running, "the presence row never said a job runs"
        await wait_for_request(backend, request.id, {"done"}, within=15)
        for _ in range(100):
            report = await presence(backend)
            if report.running == 0 and report.queued == 0:
                break
            await asyncio.sleep(0.05)
        assert (report.running, report.queued) == (0, 0)
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 15)


async def test_the_details_row_shows_each_command_and_never_an_env_value(
    backend: Backend, tmp_path: Path
) -> None:
    secret = "s3cret-token-value-1234"
    backup = (
        '[jobs.backup]\nname = "Backup"\nevery = "30m"\ncommand = ["restic", "backup", "/Users/me"]\n'
        f'cwd = "/tmp"\ntimeout = "20m"\n'
        f'env = {{ RESTIC_PASSWORD = "{secret}", RESTIC_REPOSITORY = "/Volumes/b" }}\n'
    )
    jobs_file = write_jobs(tmp_path / "jobs.toml", [backup, toml_job("plain", ["true"])])
    worker = service(backend.worker, sources_for(jobs_file))
    await worker.sync_once()
    rows = await rows_by_id(backend)
    details = DetailsReport.from_row(rows[DETAILS_JOB_ID])
    assert details is not None
    assert details.jobs["jobs:backup"] == JobDetails(
        source="jobs",
        command=("restic", "backup", "/Users/me"),
        cwd="/tmp",
        timeout_s=1200.0,
        env=("RESTIC_PASSWORD", "RESTIC_REPOSITORY"),
    )
    assert details.jobs["jobs:plain"].timeout_s is None
    assert details.default_timeout_s == worker.options.job_timeout
    assert all(secret not in (row.instructions or "") for row in rows.values())
    assert not rows[DETAILS_JOB_ID].is_job
    assert DETAILS_JOB_ID not in {j.job_id for j in await backend.app.list_jobs(PROJECT)}

    # Unchanged, it is never written again, not even by a new worker comparing with the store.
    stamp = rows[DETAILS_JOB_ID].updated_at
    await worker.sync_once()
    again = service(backend.worker, sources_for(jobs_file))
    await again.sync_once()
    assert (await rows_by_id(backend))[DETAILS_JOB_ID].updated_at == stamp
    # A changed command is.
    write_jobs(jobs_file, [backup.replace('"/Users/me"', '"/Users/you"'), toml_job("plain", ["true"])])
    await again.sync_once()
    changed = DetailsReport.from_row((await rows_by_id(backend))[DETAILS_JOB_ID])
    assert changed is not None
    assert changed.jobs["jobs:backup"].command[-1] == "/Users/you"


# -- reading what anyone may have written -------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(
    ["workerId", "host", "state", "running", "queued", "syncEverySeconds", "sources", "jobs", "leftOut"]
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.dictionaries(_keys, _json, max_size=8)
    | st.dictionaries(
        st.just("sources"),
        st.lists(
            st.dictionaries(
                st.sampled_from(["source", "state", "warnings", "jobs", "leftOut", "message"]), _json
            ),
            max_size=3,
        ),
    ),
    raw=st.text(max_size=40),
)
def test_a_hostile_presence_or_details_row_is_read_never_raised(data: dict[str, Any], raw: str) -> None:
    for text in (json.dumps(data, default=str), raw, "[" * 5000, json.dumps([data])):
        for job_id in (PRESENCE_JOB_ID, DETAILS_JOB_ID):
            row = CronMirrorJob.from_row(
                {
                    "id": "r",
                    "project_id": PROJECT,
                    "job_id": job_id,
                    "name": "x",
                    "schedule_kind": "state",
                    "instructions": text,
                }
            )
            report = WorkerReport.from_row(row) if job_id == PRESENCE_JOB_ID else DetailsReport.from_row(row)
            assert report is not None
            if isinstance(report, WorkerReport):
                for source in report.sources:
                    assert isinstance(source.summary(), str)
                    assert source.left_out <= len(source.warnings)
                assert report.running is None or report.running >= 0


def test_a_source_report_is_bounded() -> None:
    report = SourceReport.build("jobs", "ok", "m" * 5000, 3, [f"w{i} " * 200 for i in range(100)])
    assert len(report.warnings) == 20
    assert all(len(w) <= 300 for w in report.warnings)
    assert len(report.message) <= 300
