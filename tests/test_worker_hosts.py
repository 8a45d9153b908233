"""Several Mac minis on one project: each worker keeps to its own host's rows and runs its own jobs.

Two workers with injected host names ("mini-1", "mini-2") and their own jobs files share one store (both
backends). Before the host column, each deleted the other's jobs on every sync.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from cronmirror_desktop.core.presence import HostZones, WorkerPresence, presence_job_id
from cronmirror_desktop.core.rows import CronMirrorJob
from tests.store_harness import Backend
from tests.worker_harness import (
    PROJECT,
    marker_job,
    service,
    sources_for,
    toml_job,
    wait_for_request,
    write_jobs,
)
from worker.service import WorkerService


async def rows(backend: Backend) -> dict[str, CronMirrorJob]:
    return {job.job_id: job for job in await backend.app.list_jobs(PROJECT)}


async def two_hosts(backend: Backend, tmp_path: Path) -> tuple[WorkerService, WorkerService, Path, Path]:
    """mini-1 and mini-2, each with a `backup` job (same key) and one of its own."""
    one, two = tmp_path / "mini-1", tmp_path / "mini-2"
    one.mkdir()
    two.mkdir()
    file1 = write_jobs(
        one / "jobs.toml", [marker_job("backup", one / "ran", name="Backup 1"), toml_job("only1", ["true"])]
    )
    file2 = write_jobs(
        two / "jobs.toml", [marker_job("backup", two / "ran", name="Backup 2"), toml_job("only2", ["true"])]
    )
    first = service(backend.worker, sources_for(file1, host="mini-1"))
    second = service(
        await backend.new_worker_store(), sources_for(file2, host="mini-2", default_tz="America/New_York")
    )
    return first, second, file1, file2


async def test_two_hosts_keep_each_others_jobs_and_the_second_backup_is_qualified(
    backend: Backend, tmp_path: Path
) -> None:
    first, second, file1, _ = await two_hosts(backend, tmp_path)
    await first.sync_once()
    await second.sync_once()
    await first.sync_once()
    await second.sync_once()
    mirrored = await rows(backend)
    assert {job_id: (job.host, job.name) for job_id, job in mirrored.items()} == {
        "jobs:backup": ("mini-1", "Backup 1"),
        "jobs:only1": ("mini-1", "Only1"),
        "jobs:backup@mini-2": ("mini-2", "Backup 2"),
        "jobs:only2": ("mini-2", "Only2"),
    }
    assert all(job.source == "jobs" for job in mirrored.values())
    assert mirrored["jobs:backup@mini-2"].source_job_id == "jobs:backup"
    # Both are settled: another pass each writes nothing.
    assert (await first.sync_once()).writes == 0
    assert (await second.sync_once()).writes == 0
    # A job mini-1 drops is deleted; mini-2's rows stay, and its qualified id with them.
    write_jobs(file1, [toml_job("only1", ["true"])])
    report = await first.sync_once()
    assert (report.deleted, report.upserted) == (1, 0)
    assert set(await rows(backend)) == {"jobs:only1", "jobs:backup@mini-2", "jobs:only2"}
    assert (await second.sync_once()).writes == 0
    # A worker that starts afresh finds its qualified row again and keeps it (requests stay valid).
    again = service(
        await backend.new_worker_store(),
        sources_for(tmp_path / "mini-2" / "jobs.toml", host="mini-2", default_tz="America/New_York"),
    )
    assert (await again.sync_once()).writes == 0
    assert "jobs:backup@mini-2" in await rows(backend)


async def test_each_hosts_worker_runs_the_request_for_its_own_job(backend: Backend, tmp_path: Path) -> None:
    first, second, _, _ = await two_hosts(backend, tmp_path)
    await first.sync_once()
    await second.sync_once()
    await second.sync_once()
    for_two = (await backend.app.queue_run(PROJECT, "jobs:backup@mini-2", "test")).request
    for_one = (await backend.app.queue_run(PROJECT, "jobs:backup", "test")).request
    # mini-1 drains first: it takes only its own request, though mini-2's is older.
    finished = await first.drain_once()
    assert [f.request.id for f in finished] == [for_one.id]
    assert (tmp_path / "mini-1" / "ran").exists()
    assert not (tmp_path / "mini-2" / "ran").exists()
    assert (await backend.app.get_request(for_two.id)).status == "queued"  # type: ignore[union-attr]
    finished = await second.drain_once()
    assert [f.request.id for f in finished] == [for_two.id]
    assert (tmp_path / "mini-2" / "ran").exists()
    done = await wait_for_request(backend, for_two.id, {"done"})
    assert done.status == "done"
    mirrored = await rows(backend)
    assert mirrored["jobs:backup@mini-2"].last_status == "ok"
    assert mirrored["jobs:backup"].last_status == "ok"


async def test_two_hosts_writing_the_same_new_id_at_once_end_up_with_two_rows(
    backend: Backend, tmp_path: Path
) -> None:
    first, second, _, _ = await two_hosts(backend, tmp_path)
    await asyncio.gather(first.sync_once(), second.sync_once())
    await asyncio.gather(first.sync_once(), second.sync_once())
    mirrored = await rows(backend)
    backups = sorted((job_id, job.host) for job_id, job in mirrored.items() if "backup" in job_id)
    assert len(backups) == 2
    assert {host for _, host in backups} == {"mini-1", "mini-2"}
    plain_host = mirrored["jobs:backup"].host
    other = "mini-2" if plain_host == "mini-1" else "mini-1"
    assert backups == sorted([("jobs:backup", plain_host), (f"jobs:backup@{other}", other)])


async def test_rows_without_a_host_are_taken_over_when_listed_and_never_deleted(
    backend: Backend, tmp_path: Path
) -> None:
    for job_id, name in (("jobs:only1", "written before the host column"), ("gw-uuid", "ClawdOS's job")):
        backend.raw_insert(
            "cron_mirror",
            {"project_id": PROJECT, "job_id": job_id, "name": name, "schedule_kind": "cron",
             "schedule_expr": "0 7 * * *"},
        )  # fmt: skip
    first, _, _, _ = await two_hosts(backend, tmp_path)
    await first.sync_once()
    assert (await first.sync_once()).writes == 0
    mirrored = await rows(backend)
    assert (mirrored["jobs:only1"].host, mirrored["jobs:only1"].name) == ("mini-1", "Only1")
    assert (mirrored["gw-uuid"].host, mirrored["gw-uuid"].name) == (None, "ClawdOS's job")


async def test_each_host_publishes_its_time_zone(backend: Backend, tmp_path: Path) -> None:
    first, second, _, _ = await two_hosts(backend, tmp_path)
    for worker in (first, second):
        await worker._presence()
    everything = await backend.app.mirror_rows(PROJECT)
    presences = [p for p in map(WorkerPresence.from_job, everything) if p is not None]
    assert {(p.host, p.time_zone) for p in presences} == {("mini-1", "UTC"), ("mini-2", "America/New_York")}
    assert {row.job_id for row in everything if not row.is_job} == {
        presence_job_id("mini-1"),
        presence_job_id("mini-2"),
    }
    zones = HostZones.from_presences(presences)
    assert zones.for_host("mini-2") == "America/New_York"
    assert zones.for_host(None) is None  # two hosts, two zones: a row without a host is not guessed
    assert HostZones.from_presences(presences[:1]).for_host(None) == presences[0].time_zone
