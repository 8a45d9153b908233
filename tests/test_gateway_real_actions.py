"""Action requests against the real OpenClaw 2026.9.6 and ClawdBot 2026.1.24-3 gateways (the `gateway` tier):
enable, disable, rename and every kind of schedule, through the native client's cron.update and through the
CLI fallback, checked in the gateway's own listing and in the mirror."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.timeutil import parse_iso, utc_from_ms
from tests.realgateway.harness import RealGateway
from tests.test_gateway_real import Rig, ok_job, reason, rig, unique
from tests.worker_harness import PROJECT

pytestmark = pytest.mark.gateway


async def act(worker: Rig, job_id: str, action: str, args: Any = None, within: float = 90) -> CronRunRequest:
    request = (await worker.harness.app.queue_run(PROJECT, job_id, "test", action=action, args=args)).request
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        current = await worker.harness.app.get_request(request.id)
        if current is not None and current.status in {"done", "error"}:
            return current
        await asyncio.sleep(0.1)
    raise AssertionError(f"{action} of {job_id} did not end within {within} s")


def in_gateway(gw: RealGateway, job_id: str) -> dict[str, Any]:
    """The job as the gateway's own CLI lists it."""
    done = gw.cli("cron", "list", "--all", "--json")
    listing = json.loads(done.stdout[done.stdout.index("{") :])
    return next(job for job in listing["jobs"] if job["id"] == job_id)  # type: ignore[no-any-return]


@pytest.mark.async_timeout(300)
@pytest.mark.parametrize("native", [True, False], ids=["native", "cli"])
async def test_enable_disable_rename_and_schedules_in_the_real_gateway(
    real_gateway: RealGateway, tmp_path: Path, native: bool
) -> None:
    gw = real_gateway
    job = await asyncio.to_thread(ok_job, gw, unique("Change me"))
    job_id = job["id"]
    async with rig(gw, tmp_path, native=native, sync_interval=2.0) as worker:
        await worker.wait_mirror(lambda m: job_id in m, within=30)

        disabled = await act(worker, job_id, "disable")
        assert disabled.status == "done", reason(disabled)
        assert (await worker.mirror())[job_id].enabled is False  # mirrored before `done`
        assert (await asyncio.to_thread(in_gateway, gw, job_id))["enabled"] is False

        name = "-dash first; $(not a shell) “quotes”"
        renamed = await act(worker, job_id, "rename", {"name": name})
        assert renamed.status == "done", reason(renamed)
        assert (await asyncio.to_thread(in_gateway, gw, job_id))["name"] == name
        assert (await worker.mirror())[job_id].name == name

        zoned = await act(
            worker, job_id, "set_schedule", {"kind": "cron", "expr": "15 4 * * 1-5", "tz": "America/New_York"}
        )
        assert zoned.status == "done", reason(zoned)
        schedule = (await asyncio.to_thread(in_gateway, gw, job_id))["schedule"]
        assert (schedule["kind"], schedule["expr"], schedule.get("tz")) == (
            "cron",
            "15 4 * * 1-5",
            "America/New_York",
        )
        row = (await worker.mirror())[job_id]
        assert (row.schedule_kind, row.schedule_expr, row.tz) == ("cron", "15 4 * * 1-5", "America/New_York")

        no_zone = await act(worker, job_id, "set_schedule", {"kind": "cron", "expr": "30 5 * * *"})
        schedule = (await asyncio.to_thread(in_gateway, gw, job_id))["schedule"]
        if not native and gw.kind == "openclaw":  # its CLI keeps the zone: refused, nothing changed
            assert no_zone.status == "error"
            assert "keeps a job's time zone" in reason(no_zone)
            assert schedule["expr"] == "15 4 * * 1-5"
        else:
            assert no_zone.status == "done", reason(no_zone)
            assert (schedule["expr"], schedule.get("tz")) == ("30 5 * * *", None)
            assert (await worker.mirror())[job_id].tz is None

        every = await act(worker, job_id, "set_schedule", {"kind": "every", "expr": "1800000"})
        assert every.status == "done", reason(every)
        schedule = (await asyncio.to_thread(in_gateway, gw, job_id))["schedule"]
        assert (schedule["kind"], schedule["everyMs"]) == ("every", 1800000)
        assert (await worker.mirror())[job_id].schedule_expr == "1800000"

        at = await act(worker, job_id, "set_schedule", {"kind": "at", "expr": "2031-05-06T07:08:09Z"})
        assert at.status == "done", reason(at)
        schedule = (await asyncio.to_thread(in_gateway, gw, job_id))["schedule"]
        when = parse_iso(schedule["at"]) if "at" in schedule else utc_from_ms(schedule["atMs"])
        assert when == parse_iso("2031-05-06T07:08:09Z")
        mirrored = (await worker.mirror())[job_id].schedule_expr
        assert mirrored is not None
        assert parse_iso(mirrored) == when
        if gw.kind == "openclaw":
            assert "will delete the job after it runs" in reason(at)

        enabled = await act(worker, job_id, "enable")
        assert enabled.status == "done", reason(enabled)
        assert (await asyncio.to_thread(in_gateway, gw, job_id))["enabled"] is True
    await asyncio.to_thread(gw.remove_job, job_id)


@pytest.mark.async_timeout(120)
async def test_a_job_removed_in_the_gateway_meanwhile_is_an_error(
    real_gateway: RealGateway, tmp_path: Path
) -> None:
    """A job removed in the gateway meanwhile: the request ends as an error saying so."""
    gw = real_gateway
    job = await asyncio.to_thread(ok_job, gw, unique("Refuse me"))
    async with rig(gw, tmp_path) as worker:
        await worker.wait_mirror(lambda m: job["id"] in m, within=30)
        await asyncio.to_thread(gw.remove_job, job["id"])
        gone = await act(worker, job["id"], "disable")
        assert gone.status == "error"
        assert "does not know this job" in reason(gone) or "unknown job" in reason(gone)
