"""`cronmirror enable|disable|schedule|rename|add|remove` against a real worker on the embedded store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cronmirror_desktop.core.localstore import LocalStore
from tests.fake_controlapi import FakeControlApi, FakeJob
from tests.test_cli import jobs_file, local_file, run_cli, worker
from tests.worker_harness import daemon
from worker.service import WorkerService

__all__ = ["jobs_file", "local_file", "worker"]  # fixtures


async def jobs(*flags: str) -> dict[str, dict[str, object]]:
    code, out = await run_cli("jobs", "--json", *flags)
    assert code == 0, out
    return {job["jobId"]: job for job in json.loads(out)}


async def test_disable_enable_schedule_and_rename_with_wait(worker: WorkerService, jobs_file: Path) -> None:
    async with daemon(worker):
        await disable_enable_schedule_and_rename(jobs_file)


async def disable_enable_schedule_and_rename(jobs_file: Path) -> None:
    code, out = await run_cli("disable", "jobs:backup", "--wait", "--timeout", "30")
    assert code == 0, out
    assert "Queued: Disable of Nightly backup." in out
    assert "done: jobs:backup: disabled" in out
    assert "jobs:backup" in await jobs("--disabled")
    assert "enabled = false" in await asyncio.to_thread(jobs_file.read_text)

    code, out = await run_cli("schedule", "jobs:backup", "30 4 * * 1-5", "--tz", "Europe/Berlin", "--wait")
    assert code == 0, out
    backup = (await jobs())["jobs:backup"]
    assert (backup["scheduleExpr"], backup["tz"]) == ("30 4 * * 1-5", "Europe/Berlin")

    code, out = await run_cli("schedule", "jobs:backup", "every 2h", "--wait")
    assert code == 0, out
    assert (await jobs())["jobs:backup"]["scheduleExpr"] == "7200000"

    code, out = await run_cli("rename", "jobs:backup", "Backup, nightly", "--wait")
    assert code == 0, out
    assert (await jobs())["jobs:backup"]["name"] == "Backup, nightly"

    code, out = await run_cli("enable", "jobs:backup", "--wait", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["mode"], data["request"]["action"], data["request"]["status"]) == ("queue", "enable", "done")
    assert data["request"]["result"]["changed"] == {"enabled": {"from": False, "to": True}}

    code, out = await run_cli("requests")
    header = out.splitlines()[0].split()
    assert header[:4] == ["REQUEST", "JOB", "ACTION", "STATUS"]
    assert "Schedule → every 2 h" in out
    assert "Rename → “Backup, nightly”" in out


async def test_add_and_remove_a_jobs_toml_job(worker: WorkerService, jobs_file: Path) -> None:
    async with daemon(worker):
        await add_and_remove(jobs_file)


async def add_and_remove(jobs_file: Path) -> None:
    code, out = await run_cli(
        "add",
        "--name",
        "Hourly report",
        "--every",
        "1h",
        "--job-timeout",
        "60",
        "--wait",
        "--",
        "/bin/echo",
        "hi; $(x)",
    )
    assert code == 0, out
    assert "Queued: Add job “Hourly report” of Hourly report." in out
    added = (await jobs())["jobs:hourly-report"]
    assert (added["name"], added["scheduleKind"], added["scheduleExpr"]) == (
        "Hourly report",
        "every",
        "3600000",
    )
    assert (
        '[jobs.hourly-report]\nname = "Hourly report"\nevery = "1h"\ncommand = ["/bin/echo", "hi; $(x)"]'
        in await asyncio.to_thread(jobs_file.read_text)
    )
    code, out = await run_cli("add", "--name", "Hourly report", "--", "/bin/true")
    assert code == 5  # exists already
    code, out = await run_cli("remove", "jobs:hourly-report", "--wait")
    assert code == 0, out
    assert "jobs:hourly-report" not in await jobs()
    assert "hourly-report" not in await asyncio.to_thread(jobs_file.read_text)


async def test_a_second_request_follows_the_first(worker: WorkerService) -> None:
    _, out = await run_cli("disable", "jobs:backup", "--json")
    first = json.loads(out)
    _, out = await run_cli("disable", "jobs:backup")
    assert "already has a queued Disable request; following that one." in out
    _, out = await run_cli("disable", "jobs:backup", "--json")
    second = json.loads(out)
    assert (first["created"], second["created"]) == (True, False)
    assert second["request"]["id"] == first["request"]["id"]


async def test_what_cannot_be_done_is_refused_before_anything_is_queued(
    worker: WorkerService, local_file: Path
) -> None:
    code, out = await run_cli("schedule", "jobs:backup", "0 0 3 * * *")  # six fields: not cron(8)'s
    assert code == 7
    code, out = await run_cli("schedule", "jobs:backup", "0 3 * * *; rm -rf ~", "--json")
    assert code == 7
    assert "args.expr must be a cron expression" in json.loads(out)["error"]["message"]
    code, _ = await run_cli("disable", "jobs:nope")
    assert code == 6
    async with LocalStore(local_file) as store:
        await store.upsert_mirror(
            "front-office",
            [
                {
                    "job_id": "crontab:abc",
                    "name": "Cron thing",
                    "schedule_kind": "cron",
                    "schedule_expr": "0 3 * * *",
                    "source": "crontab",
                    "host": "mac-mini",
                }
            ],
        )
    code, out = await run_cli("rename", "jobs:backup", "x" * 201)
    assert code == 7
    code, out = await run_cli("rename", "crontab:abc", "New name", "--json")
    assert code == 7
    assert "comment above it" in json.loads(out)["error"]["message"]
    code, out = await run_cli("remove", "crontab:abc")
    assert code == 7
    code, out = await run_cli("requests", "--json")
    assert json.loads(out) == []


async def test_disable_a_gateway_job_directly_through_the_control_api(
    worker: WorkerService, local_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway_id = "9b0d0000-1111-2222-3333-444455556666"
    async with LocalStore(local_file) as store:
        await store.upsert_mirror(
            "front-office",
            [{"job_id": gateway_id, "name": "Inbox check", "source": "gateway", "enabled": True}],
        )
    api = await FakeControlApi(variant="clawdbot").start()
    api.add_job(FakeJob(id=gateway_id, name="Inbox check"))
    monkeypatch.setenv("CONTROL_API_BASE_URL", api.url)
    try:
        code, out = await run_cli("disable", gateway_id)
        assert code == 0, out
        assert "Disable done on the Mac mini: the gateway says Inbox check is disabled." in out
        assert api.jobs[gateway_id].enabled is False
        assert [path for method, path, _ in api.requests if method == "POST"] == [
            f"/api/cron/{gateway_id}/disable"
        ]
        code, out = await run_cli("disable", "jobs:backup")  # a jobs.toml job: the Control API knows none
        assert "Queued: Disable of Nightly backup." in out
        code, out = await run_cli("enable", gateway_id, "--queue", "--json")
        assert json.loads(out)["mode"] == "queue"
        api.cli_stderr = "Error: Error: unknown cron job id: " + gateway_id
        code, out = await run_cli("disable", gateway_id, "--direct")
        assert code == 6  # the gateway does not know it (its CLI said so)
    finally:
        await api.stop()
