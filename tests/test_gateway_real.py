"""The worker against the real OpenClaw 2026.9.6 and ClawdBot 2026.1.24-3 gateways, offline on loopback.

Jobs are made with the real `cron add`; the worker (a WorkerService on the embedded store) mirrors and runs
them through the native WebSocket client and through the CLI fallback: listing, mirroring, runs that
succeed, fail, meet a run already in progress or outlast their timeout, the gateway going down and coming
back. Each gateway starts once per session (tests/realgateway/fixtures.py) and is shared, so every test makes
its own jobs and looks only at those. Needs scripts/install-gateways; skipped with that hint, failed under CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import stat
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest
from tests.realgateway.harness import RealGateway
from tests.store_harness import LocalHarness
from tests.worker_harness import PROJECT
from worker.service import WorkerOptions, WorkerService
from worker.sources.gateway import GatewaySource
from worker.sources.gateway_client import ConnectRefused, GatewayClient
from worker.sources.gateway_config import GatewayEndpoint, find_endpoint
from worker.sources.gateway_device import load_or_create
from worker.sources.gateway_protocol import CRON_UPDATE
from worker.sources.registry import SourceSet

pytestmark = pytest.mark.gateway


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def ok_job(gw: RealGateway, name: str) -> dict[str, Any]:
    """A job that succeeds: a command (OpenClaw) or an agent turn answered by the model stand-in."""
    if gw.kind == "openclaw":
        return gw.add_job("--name", name, "--every", "6h", "--no-deliver", "--command", "echo hello-from-job")
    return gw.add_job("--name", name, "--every", "6h", "--session", "isolated", "--message", "Say hi.")


def failing_job(gw: RealGateway, name: str) -> dict[str, Any]:
    """A job that fails: a command exiting 3, or an agent turn on a model the gateway does not know."""
    if gw.kind == "openclaw":
        return gw.add_job(
            "--name", name, "--every", "6h", "--no-deliver", "--command", "echo boom >&2; exit 3"
        )
    return gw.add_job(
        "--name",
        name,
        "--every",
        "6h",
        "--session",
        "isolated",
        "--message",
        "Say hi.",
        "--model",
        "nosuch/model",
    )


def slow_job(gw: RealGateway, name: str, seconds: int) -> dict[str, Any]:
    if gw.kind == "openclaw":
        return gw.add_job("--name", name, "--every", "6h", "--no-deliver", "--command", f"sleep {seconds}")
    return gw.add_job(
        "--name", name, "--every", "6h", "--session", "isolated", "--message", f"Reply. DELAY={seconds}"
    )


class Rig:
    """A worker daemon on the embedded store, with only the gateway source, native or CLI."""

    def __init__(self, gw: RealGateway, tmp_path: Path, *, native: bool, **options: Any) -> None:
        self.gw = gw
        self.harness = LocalHarness(tmp_path)
        self.device_file = tmp_path / "state" / "gateway-device.json"
        self.source = GatewaySource(
            search_dirs=[gw.bin_dir],
            env=gw.worker_env(),
            native=native,
            device_file=self.device_file,
            poll_interval=0.2,
        )
        self.sources = SourceSet([self.source], default_tz="UTC", refresh_cooldown=0.0)
        defaults: dict[str, Any] = {
            "sync_interval": 3600.0,  # no periodic sync: what reaches the mirror got there by an event
            "poll_every": 0.5,
            "rescue_every": 3600.0,
            "presence_every": 3600.0,
            "job_timeout": 60.0,
        }
        self.service = WorkerService(
            self.harness.worker, self.sources, WorkerOptions(project_id=PROJECT, **{**defaults, **options})
        )
        self._stop = asyncio.Event()
        self._daemon: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.harness.open()
        self._daemon = asyncio.get_running_loop().create_task(self.service.run(self._stop))
        await eventually(lambda: self.service.status.state == "running", 60)

    async def stop(self) -> None:
        self._stop.set()
        if self._daemon is not None:
            await self._daemon
        await self.harness.close()

    def gateway_state(self) -> dict[str, str]:
        (entry,) = self.service.status.sources
        return entry

    async def mirror(self) -> dict[str, CronMirrorJob]:
        return {row.job_id: row for row in await self.harness.app.list_jobs(PROJECT)}

    async def wait_mirror(
        self, check: Callable[[dict[str, CronMirrorJob]], bool], within: float = 10
    ) -> float:
        """Seconds until the mirror passes `check` (polling the store, as the app would see it)."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            if check(await self.mirror()):
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        raise AssertionError(f"the mirror did not get there within {within} s: {await self.mirror()}")

    async def run(self, job_id: str, within: float = 60) -> CronRunRequest:
        request = (await self.harness.app.queue_run(PROJECT, job_id, "test")).request
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            current = await self.harness.app.get_request(request.id)
            if current is not None and current.status in {"done", "error"}:
                return current
            await asyncio.sleep(0.1)
        raise AssertionError(f"request for {job_id} did not end within {within} s")


async def eventually(check: Callable[[], bool], within: float = 10) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within} s")


@contextlib.asynccontextmanager
async def rig(gw: RealGateway, tmp_path: Path, *, native: bool = True, **options: Any) -> AsyncIterator[Rig]:
    worker = Rig(gw, tmp_path, native=native, **options)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


def reason(request: CronRunRequest) -> str:
    return str((request.result or {}).get("reason"))


async def wait_gateway_idle(gw: RealGateway, job_id: str, runs: int, within: float = 60) -> None:
    """Until `job_id` has `runs` entries in the gateway's run log: its runs are over (the lock is free)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        out = await asyncio.to_thread(gw.cli, "cron", "runs", "--id", job_id, "--limit", "50")
        if out.stdout.count('"action": "finished"') >= runs:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{job_id} did not finish {runs} run(s) within {within} s")


# -- the native client ------------------------------------------------------------------------------


async def test_native_client_mirrors_additions_edits_and_removals_at_once(
    real_gateway: RealGateway, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gw = real_gateway
    caplog.set_level(logging.DEBUG)
    async with rig(gw, tmp_path) as worker:
        state = worker.gateway_state()
        protocol = 4 if gw.kind == "openclaw" else 3
        assert state["state"] == "ok", state
        assert state["message"].endswith(f"at {gw.url} (native client, protocol {protocol})")

        job = await asyncio.to_thread(ok_job, gw, unique("Mirror me"))
        seconds = await worker.wait_mirror(lambda m: job["id"] in m)
        row = (await worker.mirror())[job["id"]]
        assert (row.name, row.schedule_kind, row.schedule_expr, row.enabled) == (
            job["name"],
            "every",
            "21600000",
            True,
        )
        expected = "sh -lc 'echo hello-from-job'" if gw.kind == "openclaw" else "Say hi."
        assert row.instructions == expected
        assert seconds < 5  # an event, not the (disabled) periodic sync

        await asyncio.to_thread(gw.cli, "cron", "edit", job["id"], "--name", job["name"] + " renamed")
        await worker.wait_mirror(lambda m: m[job["id"]].name == job["name"] + " renamed")
        await asyncio.to_thread(gw.cli, "cron", "disable", job["id"])
        await worker.wait_mirror(lambda m: m[job["id"]].enabled is False)

        # The same through the client's own typed call (what a later "enable" button would use).
        identity = load_or_create(worker.device_file)
        endpoint = find_endpoint(gw.worker_env(), gw.home)
        assert isinstance(endpoint, GatewayEndpoint)
        client = GatewayClient(endpoint, identity)
        await client.connect()
        try:
            updated = await client.call(CRON_UPDATE, {"id": job["id"], "patch": {"enabled": True}})
            assert updated.get("enabled") is True or updated.get("job", {}).get("enabled") is True
        finally:
            await client.close()
        await worker.wait_mirror(lambda m: m[job["id"]].enabled is True)

        await asyncio.to_thread(gw.cli, "cron", "rm", job["id"])
        await worker.wait_mirror(lambda m: job["id"] not in m)

        # The mirror is current: a full sync finds nothing to write.
        report = await worker.service.sync_once()
        assert report.writes == 0, report

    key = worker.device_file
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = (
        key.read_text().split("-----BEGIN PRIVATE KEY-----")[1].split("-----END")[0].strip().splitlines()[0]
    )
    assert secret not in caplog.text
    assert gw.token not in caplog.text


async def test_native_runs_are_confirmed_when_they_end(real_gateway: RealGateway, tmp_path: Path) -> None:
    gw = real_gateway
    good = await asyncio.to_thread(ok_job, gw, unique("Runs fine"))
    bad = await asyncio.to_thread(failing_job, gw, unique("Fails"))
    async with rig(gw, tmp_path) as worker:
        done = await worker.run(good["id"])
        assert done.status == "done", reason(done)
        summary = "hello-from-job" if gw.kind == "openclaw" else "model-reply: ok"
        assert reason(done) == f"the gateway ran it: ok — {summary}"
        assert (done.result or {})["exitCode"] is None  # nothing ran in the worker: the gateway ran it
        failed = await worker.run(bad["id"])
        assert failed.status == "error", failed.result
        if gw.kind == "openclaw":
            assert reason(failed) == "the gateway ran it and it failed: command exited with code 3"
            assert (failed.result or {})["stdoutTail"] == "boom"
        else:
            assert reason(failed) == "the gateway ran it and it failed: Error: Unknown model: nosuch/model"
        await worker.wait_mirror(
            lambda m: m[good["id"]].last_status == "ok" and m[bad["id"]].last_status == "error"
        )
        # The gateway's own run log reaches the run history (issue 17), each run once.
        deadline = time.monotonic() + 30
        history: dict[str, list[Any]] = {}
        while time.monotonic() < deadline:
            history = {
                job["id"]: await worker.harness.app.run_history(PROJECT, job["id"]) for job in (good, bad)
            }
            if all(history.values()):
                break
            await asyncio.sleep(0.2)
        assert [(e.status, e.source) for e in history[good["id"]]] == [("ok", "gateway")]
        assert [e.status for e in history[bad["id"]]] == ["error"]


@pytest.mark.async_timeout(120)
async def test_native_run_meets_a_run_in_progress_and_a_timeout(
    real_gateway: RealGateway, tmp_path: Path
) -> None:
    gw = real_gateway
    busy = await asyncio.to_thread(slow_job, gw, unique("Busy"), 4)
    # The gateway runs the job on its own (`cron run` from a terminal), and a request comes in meanwhile.
    force = ["--force", "--timeout", "60000"] if gw.kind == "clawdbot" else []
    terminal = subprocess.Popen(  # noqa: ASYNC220 - started, not waited for
        [str(gw.binary), "cron", "run", busy["id"], *force],
        env=gw.worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with rig(gw, tmp_path, job_timeout=30.0) as worker:
            await worker.wait_mirror(lambda m: busy["id"] in m)
            if gw.kind == "openclaw":
                await wait_running(gw, busy["id"])
                refused = await worker.run(busy["id"])
                assert refused.status == "error"
                assert reason(refused) == "the gateway did not run it (already-running)"
            else:  # ClawdBot runs one job at a time: ours waits for the lock, then runs
                await asyncio.sleep(1.0)
                queued = await worker.run(busy["id"])
                assert queued.status == "done", reason(queued)
                assert (queued.result or {})["durationMs"] >= 3500
        await asyncio.to_thread(terminal.wait, 60)
        await wait_gateway_idle(gw, busy["id"], 2 if gw.kind == "clawdbot" else 1)

        slow = await asyncio.to_thread(slow_job, gw, unique("Too slow"), 4)
        async with rig(gw, tmp_path / "timeout", job_timeout=1.5) as worker:
            late = await worker.run(slow["id"])
        assert late.status == "error"
        if gw.kind == "openclaw":
            assert reason(late).startswith(f"queued in the gateway as manual:{slow['id']}:")
            assert reason(late).endswith("but it did not finish within the timeout")
        else:
            assert reason(late).startswith("no answer to cron.run (cron.run did not answer within")
        await wait_gateway_idle(gw, slow["id"], 1)  # the gateway finished it anyway
    finally:
        with contextlib.suppress(ProcessLookupError):
            terminal.kill()


async def wait_running(gw: RealGateway, job_id: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        out = await asyncio.to_thread(gw.cli, "cron", "list", "--all", "--json")
        if (
            f'"id": "{job_id}"' in out.stdout
            and '"runningAtMs"' in out.stdout.split(f'"id": "{job_id}"')[1].split('"id":')[0]
        ):
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{job_id} never started running")


async def test_native_client_falls_back_to_the_cli_and_says_why(
    real_gateway: RealGateway, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gw = real_gateway
    env = {**gw.worker_env(), f"{gw.kind.upper()}_GATEWAY_TOKEN": "not-the-token"}
    source = GatewaySource(search_dirs=[gw.bin_dir], env=env, device_file=tmp_path / "device.json")
    try:
        first = await source.list_jobs()
        second = await source.list_jobs()
    finally:
        await source.close()
    why = "native client not used: the gateway refused the credentials: unauthorized: gateway token mismatch"
    for listing in (first, second):
        assert why in listing.message
        assert "not-the-token" not in listing.message
        # The CLI path was taken; whether the CLI gets in depends on it (a device token of its own or not).
        assert listing.message.startswith((f"{gw.kind} at ", "the gateway CLI failed (")), listing.message
    refusals = [r for r in caplog.records if "native protocol is not used" in r.getMessage()]
    assert len(refusals) == 1  # said once, not at every sync


async def test_a_gateway_that_wants_pairing_or_refuses_the_socket_is_a_refusal(
    real_gateway: RealGateway, tmp_path: Path
) -> None:
    """A connection from behind an untrusted proxy is not local: ClawdBot asks for pairing, OpenClaw
    refuses the upgrade. Both are refusals (the source then uses the CLI), not a gateway that is down."""
    gw = real_gateway
    endpoint = find_endpoint(gw.worker_env(), gw.home)
    assert isinstance(endpoint, GatewayEndpoint)
    client = GatewayClient(
        endpoint, load_or_create(tmp_path / "device.json"), headers={"X-Forwarded-For": "203.0.113.9"}
    )
    with pytest.raises(ConnectRefused) as refused:
        await client.connect()
    if gw.kind == "clawdbot":
        assert refused.value.reason.startswith("pairing of this worker's device is pending (request ")
    else:
        assert refused.value.reason == "the gateway refused the WebSocket (403)"


# -- the CLI path -------------------------------------------------------------------------------------


@pytest.mark.async_timeout(180)
async def test_cli_path_lists_mirrors_and_runs(real_gateway: RealGateway, tmp_path: Path) -> None:
    gw = real_gateway
    good = await asyncio.to_thread(ok_job, gw, unique("CLI runs fine"))
    bad = await asyncio.to_thread(failing_job, gw, unique("CLI fails"))
    async with rig(gw, tmp_path, native=False) as worker:
        state = worker.gateway_state()
        assert state["state"] == "ok"
        assert state["message"] == f"{gw.kind} at {gw.binary}"
        mirror = await worker.mirror()
        assert {good["id"], bad["id"]} <= set(mirror)
        done = await worker.run(good["id"])
        assert done.status == "done", reason(done)
        assert (done.result or {})["exitCode"] == 0
        failed = await worker.run(bad["id"])
        assert failed.status == "error"
        assert reason(failed).startswith("the gateway ran it and it failed: ")


# -- down and back --------------------------------------------------------------------------------------


@pytest.mark.async_timeout(300)
async def test_gateway_down_and_back(real_gateway: RealGateway, tmp_path: Path) -> None:
    gw = real_gateway
    job = await asyncio.to_thread(ok_job, gw, unique("Survives restarts"))
    cli_source = GatewaySource(search_dirs=[gw.bin_dir], env=gw.worker_env(), native=False)
    async with rig(gw, tmp_path) as worker:
        await worker.wait_mirror(lambda m: job["id"] in m)
        await asyncio.to_thread(gw.stop)

        # Native: the closed connection makes the worker sync at once; the store is shown read-only.
        await eventually(lambda: worker.gateway_state()["state"] == "degraded", 15)
        message = worker.gateway_state()["message"]
        assert message.startswith("gateway is down (")
        assert "read-only" in message
        assert job["id"] in await worker.mirror()  # the jobs stay in the mirror
        refused = await worker.run(job["id"])
        assert refused.status == "error"
        assert reason(refused).startswith("gateway is down: ")

        # CLI: the same, from the CLI's own words.
        listing = await cli_source.list_jobs()
        assert listing.state == "degraded"
        if gw.kind == "openclaw":
            assert listing.message.startswith(
                f"gateway is down (Gateway not reachable at {gw.url} (ECONNREFUSED).)"
            )
        else:
            assert listing.message.startswith("gateway is down (Error: gateway closed (1006 abnormal closure")
        assert job["id"] in {j.job_id for j in listing.jobs}

        # Back: the worker reconnects by itself, lists again, and events flow as before.
        gw.start()
        await asyncio.to_thread(gw.wait_ready)
        await eventually(lambda: worker.gateway_state()["state"] == "ok", 30)
        after = await asyncio.to_thread(ok_job, gw, unique("Added after the restart"))
        await worker.wait_mirror(lambda m: after["id"] in m, 5)
        done = await worker.run(job["id"])
        assert done.status == "done", reason(done)
    back = await cli_source.list_jobs()
    assert back.state == "ok", back.message
