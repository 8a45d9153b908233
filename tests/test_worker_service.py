"""The worker end to end: real subprocesses, a real store, the request lifecycle and the mirror."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cronmirror_desktop.core.errors import InvalidRow
from cronmirror_desktop.core.presence import presence_job_id
from tests.store_harness import Backend
from tests.worker_harness import (
    PROJECT,
    eventually,
    marker_job,
    python_job,
    run_one_job,
    service,
    sources_for,
    toml_job,
    wait_for_request,
    write_jobs,
)


async def mirror_versions(backend: Backend) -> dict[str, object]:
    """job_id -> updated_at: every write sets it, so comparing two of these counts the writes."""
    return {row.job_id: row.updated_at for row in await backend.worker.mirror_rows(PROJECT)}


def writes_between(before: dict[str, object], after: dict[str, object]) -> int:
    changed = sum(1 for job_id, stamp in after.items() if before.get(job_id) != stamp)
    return changed + sum(1 for job_id in before if job_id not in after)


# -- the mirror ----------------------------------------------------------------------------------


async def test_sync_writes_only_what_changed(backend: Backend, tmp_path: Path) -> None:
    jobs = [toml_job(f"job{i}", ["true"], cron=f"{i % 60} 3 * * *") for i in range(1000)]
    jobs_file = write_jobs(tmp_path / "jobs.toml", jobs)
    worker = service(backend.worker, sources_for(jobs_file))

    first = await worker.sync_once()
    assert (first.upserted, first.deleted) == (1000, 0)
    assert len(await backend.app.list_jobs(PROJECT)) == 1000

    before = await mirror_versions(backend)
    idle = await worker.sync_once()
    assert idle.writes == 0
    assert writes_between(before, await mirror_versions(backend)) == 0

    jobs[500] = toml_job("job500", ["true"], name="Renamed", cron="20 3 * * *")
    write_jobs(jobs_file, jobs)
    one = await worker.sync_once()
    assert (one.upserted, one.deleted, one.unchanged) == (1, 0, 999)
    assert writes_between(before, await mirror_versions(backend)) == 1

    write_jobs(jobs_file, jobs[:-1])
    gone = await worker.sync_once()
    assert (gone.upserted, gone.deleted) == (0, 1)
    names = {j.job_id: j.name for j in await backend.app.list_jobs(PROJECT)}
    assert names["jobs:job500"] == "Renamed"
    assert "jobs:job999" not in names


async def test_a_restarted_worker_compares_with_the_store_and_writes_nothing(
    backend: Backend, tmp_path: Path
) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"]), toml_job("b", ["true"])])
    await service(backend.worker, sources_for(jobs_file)).sync_once()
    before = await mirror_versions(backend)
    report = await service(backend.worker, sources_for(jobs_file)).sync_once()
    assert report.writes == 0
    assert writes_between(before, await mirror_versions(backend)) == 0


async def test_a_source_that_fails_to_list_keeps_its_jobs(backend: Backend, tmp_path: Path) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"])])
    worker = service(backend.worker, sources_for(jobs_file))
    await worker.sync_once()
    jobs_file.write_text("[jobs.a\nthis is not toml")
    report = await worker.sync_once()
    assert report.kept_from == ("jobs",)
    assert report.deleted == 0
    assert [j.job_id for j in await backend.app.list_jobs(PROJECT)] == ["jobs:a"]


async def test_rows_that_are_not_jobs_survive_a_sync(backend: Backend, tmp_path: Path) -> None:
    backend.raw_insert(
        "cron_mirror",
        {
            "project_id": PROJECT,
            "job_id": "__mirror_state__",
            "name": "mirror state",
            "schedule_kind": "state",
        },
    )
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"])])
    await service(backend.worker, sources_for(jobs_file)).sync_once()
    assert "__mirror_state__" in {r.job_id for r in await backend.worker.mirror_rows(PROJECT)}


# -- executing requests --------------------------------------------------------------------------


async def test_a_queued_request_runs_once_and_reports_an_honest_result(
    backend: Backend, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    greet = python_job("import sys; print('hello from the job'); print('a warning', file=sys.stderr)")
    jobs_file = write_jobs(tmp_path / "jobs.toml", [marker_job("touch", marker), toml_job("greet", greet)])
    worker = service(backend.worker, sources_for(jobs_file))
    await worker.sync_once()
    touch = (await backend.app.queue_run(PROJECT, "jobs:touch", "test")).request
    greet_request = (await backend.app.queue_run(PROJECT, "jobs:greet", "test")).request

    finished = await worker.drain_once()
    assert {f.request.id for f in finished} == {touch.id, greet_request.id}
    assert marker.read_text() == "ran"

    done = await backend.app.get_request(greet_request.id)
    assert done is not None
    assert done.status == "done"
    assert done.picked_up_at is not None
    assert done.completed_at is not None
    result = done.result or {}
    assert set(result) == {
        "exitCode",
        "durationMs",
        "stdoutTail",
        "stderrTail",
        "source",
        "workerId",
        "reason",
    }
    assert result["exitCode"] == 0
    assert result["stdoutTail"].strip() == "hello from the job"
    assert result["stderrTail"].strip() == "a warning"
    assert result["source"] == "jobs"
    assert result["workerId"] == worker.worker_id

    job = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}["jobs:greet"]
    assert job.last_status == "ok"
    assert job.last_run_at is not None
    assert job.last_duration_ms is not None
    assert await worker.drain_once() == []  # nothing runs twice


async def test_a_failing_job_ends_as_error_with_its_stderr(backend: Backend, tmp_path: Path) -> None:
    failing = python_job("import sys; print('disk full', file=sys.stderr); sys.exit(3)")
    ended = await run_one_job(backend, tmp_path, "fail", failing)
    assert ended.status == "error"
    assert ended.exit_code == 3
    assert ended.reason is not None
    assert "disk full" in ended.reason
    job = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}["jobs:fail"]
    assert job.last_status == "error"


@pytest.mark.parametrize(
    "hostile",
    ["; rm -rf ~", "../../x", "jobs:touch; touch /tmp/pwned", "x" * 10_000, "jobs:to\x00uch", "jobs:touch "],
)
async def test_requests_for_jobs_no_source_lists_run_nothing(
    backend: Backend, tmp_path: Path, hostile: str
) -> None:
    marker = tmp_path / "ran"
    jobs_file = write_jobs(tmp_path / "jobs.toml", [marker_job("touch", marker)])
    worker = service(backend.worker, sources_for(jobs_file))
    await worker.sync_once()
    if len(hostile) > 512 or "\x00" in hostile:
        with pytest.raises(InvalidRow):  # the client rules refuse it at the door (…_client_request_rules.sql)
            await backend.app.queue_run(PROJECT, hostile, "attacker")
        if "\x00" in hostile and backend.name == "supabase":  # PostgreSQL text cannot hold NUL at all
            assert await worker.drain_once() == []
            assert not marker.exists()
            return
        # A writer the rules do not bind (the service role, anon-worker mode, an older app) still could.
        row = {"project_id": PROJECT, "job_id": hostile, "status": "queued"}
        backend.raw_insert("cron_run_requests", row)
        (request,) = await backend.app.list_requests(PROJECT)
    else:
        request = (await backend.app.queue_run(PROJECT, hostile, "attacker")).request
    finished = await worker.drain_once()
    assert [f.outcome.ran for f in finished] == [False]
    ended = await backend.app.get_request(request.id)
    assert ended is not None
    assert ended.status == "error"
    assert ended.reason is not None
    assert "unknown job" in ended.reason
    assert not marker.exists()


async def test_a_job_past_its_timeout_is_killed_and_reported(backend: Backend, tmp_path: Path) -> None:
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("slow", python_job("import time; time.sleep(60)"), timeout=1)]
    )
    worker = service(backend.worker, sources_for(jobs_file))
    request = (await backend.app.queue_run(PROJECT, "jobs:slow", "test")).request
    started = time.monotonic()
    await worker.drain_once()
    assert time.monotonic() - started < 20
    ended = await backend.app.get_request(request.id)
    assert ended is not None
    assert ended.status == "error"
    assert ended.reason is not None
    assert "timed out" in ended.reason


async def test_a_job_printing_10_mb_is_reported_with_bounded_tails(backend: Backend, tmp_path: Path) -> None:
    loud = python_job("import sys; [sys.stdout.write('y' * 1023 + '\\n') for _ in range(10 * 1024)]")
    ended = await run_one_job(backend, tmp_path, "loud", loud)
    assert ended.status == "done"
    assert 0 < len((ended.result or {})["stdoutTail"]) <= 4000


async def test_the_daemon_wakes_on_a_new_request_and_stops_cleanly(backend: Backend, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    jobs_file = write_jobs(tmp_path / "jobs.toml", [marker_job("touch", marker)])
    # A poll interval of an hour: only the live change feed can wake the worker in time.
    worker = service(backend.worker, sources_for(jobs_file), poll_every=3600.0, sync_interval=3600.0)
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        await eventually(lambda: worker.status.state == "running")
        await asyncio.sleep(0.3)  # the first (empty) claim pass is over
        request = (await backend.app.queue_run(PROJECT, "jobs:touch", "test")).request
        await wait_for_request(backend, request.id, {"done"}, within=10)
        assert marker.exists()
        presence_id = presence_job_id(worker.sources.host)
        presence = {r.job_id: r for r in await backend.worker.mirror_rows(PROJECT)}[presence_id]
        assert not presence.is_job
        assert presence_id not in {j.job_id for j in await backend.app.list_jobs(PROJECT)}
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 10)
    assert worker.status.state == "stopped"


async def test_stopping_lets_a_job_finish_within_the_grace_period(backend: Backend, tmp_path: Path) -> None:
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("short", python_job("import time; time.sleep(0.5)"))]
    )
    worker = service(backend.worker, sources_for(jobs_file), grace=10.0)
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    request = (await backend.app.queue_run(PROJECT, "jobs:short", "test")).request
    await wait_for_request(backend, request.id, {"running"})
    stop.set()
    await asyncio.wait_for(daemon, 10)
    ended = await backend.app.get_request(request.id)
    assert ended is not None
    assert ended.status == "done"


async def test_stopping_past_the_grace_period_kills_the_job_and_says_why(
    backend: Backend, tmp_path: Path
) -> None:
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("long", python_job("import time; time.sleep(60)"))]
    )
    worker = service(backend.worker, sources_for(jobs_file), grace=0.5)
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    request = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
    await wait_for_request(backend, request.id, {"running"})
    await eventually(lambda: bool(worker.status.running))
    pid = worker.status.running[0].pid
    stop.set()
    await asyncio.wait_for(daemon, 15)
    ended = await backend.app.get_request(request.id)
    assert ended is not None
    assert ended.status == "error"
    assert ended.reason is not None
    assert "the worker was stopped" in ended.reason
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- crashes -------------------------------------------------------------------------------------


async def test_a_worker_killed_mid_run_has_its_request_rescued_after_the_lease(
    backend: Backend, tmp_path: Path
) -> None:
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("long", python_job("import time; time.sleep(60)"))]
    )
    request = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
    script = textwrap.dedent(
        f"""
        import asyncio
        from tests.worker_harness import service, sources_for
        from pathlib import Path

        async def main():
            store = {backend.store_code()}
            worker = service(store, sources_for(Path({str(jobs_file)!r})), lease_seconds=5, heartbeat_every=1)
            await worker.run(asyncio.Event())

        asyncio.run(main())
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=Path(__file__).parent.parent
    )
    try:
        running = await wait_for_request(backend, request.id, {"running"})
        assert running.worker_id is not None
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert await backend.worker.rescue_expired(PROJECT) == []  # the lease still holds
    deadline = time.monotonic() + 15
    rescued = []
    while not rescued and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        rescued = await backend.worker.rescue_expired(PROJECT)
    assert [r.id for r in rescued] == [request.id]
    ended = await backend.app.get_request(request.id)
    assert ended is not None
    assert ended.status == "error"
    assert ended.reason is not None
    assert "stopped reporting" in ended.reason


async def test_two_workers_racing_over_200_requests_run_each_exactly_once(
    backend: Backend, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    code = f"import os, sys; f = open({str(log)!r}, 'a'); f.write(sys.argv[1] + '\\n'); f.close()"
    jobs = [toml_job(f"j{i}", [sys.executable, "-c", code, f"j{i}"]) for i in range(200)]
    jobs_file = write_jobs(tmp_path / "jobs.toml", jobs)
    for i in range(200):
        await backend.app.queue_run(PROJECT, f"jobs:j{i}", "test")
    first = service(backend.worker, sources_for(jobs_file), concurrency=4)
    second = service(await backend.new_worker_store(), sources_for(jobs_file), concurrency=4)
    a, b = await asyncio.gather(first.drain_once(), second.drain_once())
    runs = log.read_text().split()
    assert sorted(runs) == sorted(f"j{i}" for i in range(200))
    assert len(a) + len(b) == 200
    assert a
    assert b
    requests = await backend.app.list_requests(PROJECT, limit=500)
    assert {r.status for r in requests} == {"done"}
