"""The worker hosted in a thread of its own: start/stop cycles, no leaked threads, quitting mid-job."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from cronmirror_desktop.core.errors import NotConfigured
from cronmirror_desktop.core.localstore import LocalStore
from tests.worker_harness import PROJECT, eventually, python_job, sources_for, toml_job, write_jobs
from worker.configured import WorkerParts
from worker.hosted import THREAD_NAME, HostedWorker
from worker.service import WorkerOptions, WorkerStatus


def hosted_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def make_worker(
    store_path: Path, jobs_file: Path, statuses: list[WorkerStatus], **options: object
) -> HostedWorker:
    def factory() -> WorkerParts:
        return WorkerParts(
            LocalStore(store_path),
            sources_for(jobs_file),
            WorkerOptions(project_id=PROJECT, **options),  # type: ignore[arg-type]
        )

    return HostedWorker(factory, on_status=statuses.append)


async def test_start_stop_start_cycles_leave_no_threads(tmp_path: Path) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"])])
    statuses: list[WorkerStatus] = []
    worker = make_worker(tmp_path / "store.sqlite3", jobs_file, statuses)
    for _ in range(3):
        assert worker.start()
        assert not worker.start()  # idempotent: already running
        await eventually(lambda: worker.status is not None and worker.status.state == "running")
        assert len(hosted_threads()) == 1
        assert await asyncio.to_thread(worker.stop, 10)
        assert worker.stop(1)  # stopping a stopped worker is harmless
        assert not worker.running
        assert hosted_threads() == []
    assert {s.state for s in statuses} >= {"starting", "running", "stopping", "stopped"}
    assert len({s.worker_id for s in statuses}) == 3  # a fresh service each start
    assert all(s.project_id == PROJECT for s in statuses)


async def test_stop_right_after_start_is_not_lost(tmp_path: Path) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [])
    worker = make_worker(tmp_path / "store.sqlite3", jobs_file, [])
    worker.start()
    assert await asyncio.to_thread(worker.stop, 10)
    assert hosted_threads() == []


async def test_the_hosted_worker_runs_requests_queued_by_the_app(tmp_path: Path) -> None:
    store_path = tmp_path / "store.sqlite3"
    marker = tmp_path / "ran"
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("touch", python_job(code))])
    worker = make_worker(store_path, jobs_file, [])
    app = LocalStore(store_path)
    worker.start()
    try:
        await eventually(lambda: worker.status is not None and worker.status.state == "running")
        request = (await app.queue_run(PROJECT, "jobs:touch", "app")).request
        await eventually(marker.exists)
        done = None
        for _ in range(200):
            done = await app.get_request(request.id)
            if done is not None and done.status == "done":
                break
            await asyncio.sleep(0.05)
        assert done is not None
        assert done.status == "done"
    finally:
        await asyncio.to_thread(worker.stop, 10)
        await app.close()


async def test_quitting_while_a_job_runs_ends_it_honestly(tmp_path: Path) -> None:
    store_path = tmp_path / "store.sqlite3"
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("long", python_job("import time; time.sleep(60)"))]
    )
    worker = make_worker(store_path, jobs_file, [], grace=0.5)
    app = LocalStore(store_path)
    worker.start()
    try:
        request = (await app.queue_run(PROJECT, "jobs:long", "app")).request
        await eventually(lambda: worker.status is not None and bool(worker.status.running))
        assert await asyncio.to_thread(worker.stop, 15)
        ended = await app.get_request(request.id)
        assert ended is not None
        assert ended.status == "error"
        assert ended.reason is not None
        assert "the worker was stopped" in ended.reason
    finally:
        await app.close()
    assert hosted_threads() == []


async def test_a_factory_that_fails_is_reported_not_raised(tmp_path: Path) -> None:
    failures: list[str] = []

    def factory() -> WorkerParts:
        raise NotConfigured("No service-role key is set.")

    worker = HostedWorker(factory, on_failed=failures.append)
    worker.start()
    assert await asyncio.to_thread(worker.stop, 5)
    assert failures == [
        "No service-role key is set. (Open Settings (or run `cronmirror config set`) and fill it in.)"
    ]


async def test_sync_now_reaches_the_running_service_from_another_thread(tmp_path: Path) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"])])
    statuses: list[WorkerStatus] = []
    worker = make_worker(tmp_path / "store.sqlite3", jobs_file, statuses, sync_interval=3600.0)
    assert not worker.sync_now()  # nothing to ask yet
    worker.start()
    try:
        await eventually(lambda: worker.status is not None and worker.status.state == "running")
        first = worker.status.last_sync_at if worker.status else None
        assert first is not None
        write_jobs(jobs_file, [toml_job("a", ["true"]), toml_job("b", ["true"])])
        assert worker.sync_now()  # from this (the test's) thread; the service's loop runs it
        await eventually(lambda: worker.status is not None and worker.status.last_sync_at != first)
        assert worker.status is not None
        assert worker.status.last_sync is not None
        assert worker.status.last_sync["upserted"] == 1  # the new job, without waiting an hour
    finally:
        assert await asyncio.to_thread(worker.stop, 10)
    assert not worker.sync_now()


async def test_configured_parts_follow_the_settings_on_the_local_store(tmp_path: Path) -> None:
    from cronmirror_desktop.core.config import resolve_config
    from cronmirror_desktop.core.config_write import set_value
    from worker.hosted import ConfiguredParts

    for source in ("gateway", "crontab", "launchd"):
        set_value(f"worker.sources.{source}", "false")
    set_value("worker.grace_period_s", "3")
    config = resolve_config()
    write_jobs(config.paths.config_dir / "jobs.toml", [toml_job("tidy", ["true"], name="Tidy up")])
    store_file = tmp_path / "app.sqlite3"
    factory = ConfiguredParts(project="lab", local=True, store_file=store_file)
    statuses: list[WorkerStatus] = []
    worker = HostedWorker(factory, on_status=statuses.append)
    worker.start()
    try:
        await eventually(lambda: worker.status is not None and worker.status.state == "running")
    finally:
        assert await asyncio.to_thread(worker.stop, 10)
    assert statuses[-1].project_id == "lab"
    assert statuses[-1].store == f"local: {store_file}"
    async with LocalStore(store_file) as app:
        assert [job.name for job in await app.list_jobs("lab")] == ["Tidy up"]
    parts = factory()  # and the options come from the settings
    await parts.store.close()
    assert parts.options.grace == 3.0
