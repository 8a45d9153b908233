"""The gateway source's native path (gateway_native) against frames captured from the real gateways.

What the real-gateway tier cannot make happen on demand: a listing served from the event-kept cache (no
`cron.list`), the safety-net relist after 5 minutes (an injected clock), a finished event that was missed
and is found with `cron.runs`, a crash and the reconnect after it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.gateway_ws import TOKEN, FrameServer
from worker.jobs import LocalJob
from worker.sources.gateway_native import RESYNC_S, NativeGateway


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def native_for(server: FrameServer, tmp_path: Path, **kwargs: Any) -> tuple[NativeGateway, list[str]]:
    config = tmp_path / "openclaw.json"
    config.write_text(
        json.dumps({"gateway": {"port": server.port, "auth": {"mode": "token", "token": TOKEN}}})
    )
    native = NativeGateway(
        env={"OPENCLAW_CONFIG_PATH": str(config)},
        home=tmp_path,
        device_file=tmp_path / "device.json",
        **kwargs,
    )
    changes: list[str] = []
    native.on_change = lambda: changes.append("changed")
    return native, changes


def requests(server: FrameServer, method: str) -> int:
    return sum(1 for frame in server.received if frame.get("method") == method)


def gateway_job(job_id: str, name: str) -> dict[str, Any]:
    return {
        "id": job_id, "name": name, "enabled": True, "schedule": {"kind": "every", "everyMs": 3_600_000},
        "payload": {"kind": "agentTurn", "message": "Say hi."}, "state": {"nextRunAtMs": 1_900_000_000_000},
    }  # fmt: skip


async def until(check: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_openclaw_events_keep_the_listing_without_asking_again(tmp_path: Path) -> None:
    clock = Clock()
    async with FrameServer("openclaw") as server:
        native, changes = native_for(server, tmp_path, clock=clock)
        server.jobs = [gateway_job("a", "Already there")]
        assert (await native.status()).state == "connected"
        jobs, _ = await native.list_raw()
        assert [j["id"] for j in jobs] == ["a"]
        added, started, finished, removed = server.frames["cron_events"]
        new_id = added["payload"]["jobId"]
        await server.push(added)
        await until(lambda: len(changes) == 1)
        jobs, _ = await native.list_raw()
        assert [j["id"] for j in jobs] == ["a", new_id]
        await server.push(started)  # nothing mirrored changes when a run starts
        await server.push(finished)
        await until(lambda: len(changes) == 2)
        jobs, _ = await native.list_raw()
        assert jobs[1]["state"]["lastRunStatus"] == "ok"
        await server.push(removed)  # the removed job comes along in the event: it must still go
        await until(lambda: len(changes) == 3)
        jobs, _ = await native.list_raw()
        assert [j["id"] for j in jobs] == ["a"]
        assert requests(server, "cron.list") == 1
        clock.now += RESYNC_S  # the safety net: after 5 minutes, ask the gateway again
        await native.list_raw()
        assert requests(server, "cron.list") == 2
        await native.close()


async def test_clawdbot_events_patch_runs_and_relist_for_new_jobs(tmp_path: Path) -> None:
    async with FrameServer("clawdbot") as server:
        native, changes = native_for(server, tmp_path)
        added, _, finished, removed = server.frames["cron_events"]
        job_id = added["payload"]["jobId"]
        server.jobs = [gateway_job(job_id, "Frames")]
        await native.status()
        await native.list_raw()
        await server.push(finished)  # ClawdBot sends the run, not the job: applied as its finish() does
        await until(lambda: len(changes) == 1)
        (job,), _ = await native.list_raw()
        assert job["state"]["lastStatus"] == "ok"
        assert job["state"]["lastDurationMs"] == finished["payload"]["durationMs"]
        assert requests(server, "cron.list") == 1
        server.jobs.append(gateway_job("b", "New"))
        await server.push(
            {**added, "payload": {**added["payload"], "jobId": "b"}}
        )  # no job in it: list again
        await until(lambda: len(changes) == 2)
        jobs, _ = await native.list_raw()
        assert [j["id"] for j in jobs] == [job_id, "b"]
        assert requests(server, "cron.list") == 2
        await server.push(removed)
        await until(lambda: len(changes) == 3)
        jobs, _ = await native.list_raw()
        assert [j["id"] for j in jobs] == ["b"]
        await native.close()


async def test_an_openclaw_run_is_confirmed_by_its_finished_event(tmp_path: Path) -> None:
    async with FrameServer("openclaw") as server:
        native, _ = native_for(server, tmp_path)
        _, _, finished, _ = server.frames["cron_events"]
        job_id = finished["payload"]["jobId"]

        async def run(method: str, params: dict[str, Any]) -> dict[str, Any]:
            asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(server.push(finished)))
            return {"ok": True, "payload": server.frames["run_answer"]["payload"]}

        server.handlers["cron.run"] = run
        await native.status()
        job = LocalJob(job_id, "Frames", "gateway", "every", "3600000", native_id=job_id)
        outcome = await native.run(job, timeout=10)
        await native.close()
    assert (outcome.verdict, outcome.reason) == ("done", "the gateway ran it: ok — hi")
    assert outcome.exit_code is None
    (request,) = [f for f in server.received if f.get("method") == "cron.run"]
    assert request["params"] == {"id": job_id, "mode": "force"}


async def test_a_clawdbot_run_reads_the_event_that_came_before_the_answer(tmp_path: Path) -> None:
    async with FrameServer("clawdbot") as server:
        native, _ = native_for(server, tmp_path)
        _, _, finished, _ = server.frames["cron_events"]
        event = copy.deepcopy(finished)
        job_id = event["payload"]["jobId"]

        async def run(method: str, params: dict[str, Any]) -> dict[str, Any]:
            event["payload"]["runAtMs"] = int(time.time() * 1000)  # the run starts after our request
            await server.push(event)
            return {"ok": True, "payload": server.frames["run_answer"]["payload"]}

        server.handlers["cron.run"] = run
        await native.status()
        job = LocalJob(job_id, "Frames", "gateway", "every", "3600000", native_id=job_id)
        outcome = await native.run(job, timeout=10)
        await native.close()
    assert (outcome.verdict, outcome.reason) == ("done", "the gateway ran it: ok — model-reply: ok")
    assert outcome.duration_ms == event["payload"]["durationMs"]


async def test_a_missed_finished_event_is_found_in_the_run_log(tmp_path: Path) -> None:
    async with FrameServer("openclaw") as server:
        native, _ = native_for(server, tmp_path, run_poll_s=0.3)
        _, _, finished, _ = server.frames["cron_events"]
        job_id, run_id = finished["payload"]["jobId"], finished["payload"]["runId"]
        server.answer_with("cron.run", "run_answer")
        entry = {**finished["payload"], "ts": 1}
        entry.pop("action")

        async def runs(method: str, params: dict[str, Any]) -> dict[str, Any]:
            assert params == {"id": job_id, "limit": 5, "runId": run_id}
            return {"ok": True, "payload": {"entries": [{**entry, "action": "finished"}]}}

        server.handlers["cron.runs"] = runs
        await native.status()
        job = LocalJob(job_id, "Frames", "gateway", "every", "3600000", native_id=job_id)
        outcome = await native.run(job, timeout=10)
        await native.close()
    assert outcome.verdict == "done", outcome.reason


@pytest.mark.parametrize("kind", ["openclaw", "clawdbot"])
async def test_refusals_from_cron_run_are_not_runs(kind: str, tmp_path: Path) -> None:
    async with FrameServer(kind) as server:
        native, _ = native_for(server, tmp_path)
        server.answer_with("cron.run", "run_unknown_id")
        await native.status()
        job = LocalJob("gone", "Gone", "gateway", "every", "3600000", native_id="gone")
        unknown = await native.run(job, timeout=10)
        server.answer_with("cron.run", "run_missing_scope")
        scoped = await native.run(job, timeout=10)
        await native.close()
    assert (unknown.verdict, unknown.ran) == ("error", False)
    assert unknown.reason.startswith("the gateway does not know this job any more: ")
    assert scoped.reason == "the gateway does not let this worker run jobs: missing scope: operator.admin"


async def test_a_crash_is_down_then_the_reconnect_relists_and_says_so(tmp_path: Path) -> None:
    async with FrameServer("openclaw") as server:
        native, changes = native_for(server, tmp_path)
        server.jobs = [gateway_job("a", "A")]
        await native.status()
        await native.list_raw()
        await server.drop_connections()
        await until(lambda: len(changes) == 1)
        status = await native.status()
        assert status.state == "down"
        assert status.reason.startswith("the connection closed: the gateway closed the connection")
        server.jobs.append(gateway_job("b", "B"))  # changed while we were away
        await until(lambda: len(changes) == 2, within=10)  # back, by itself (backoff starts at 0.5 s)
        assert (await native.status()).state == "connected"
        jobs, _ = await native.list_raw()
        assert [j["id"] for j in jobs] == ["a", "b"]
        await native.close()


async def test_no_config_means_the_cli_and_a_refusal_is_not_retried_at_every_sync(tmp_path: Path) -> None:
    native = NativeGateway(env={}, home=tmp_path, device_file=tmp_path / "device.json")
    status = await native.status()
    assert (status.state, status.reason) == (
        "unusable",
        "found no gateway config (openclaw.json / clawdbot.json)",
    )
    assert not (tmp_path / "device.json").exists()  # no key is made for a gateway we will not talk to
    clock = Clock()
    async with FrameServer("openclaw") as server:
        server.connect_reply = server.frames["refused_token"]
        native, _ = native_for(server, tmp_path, clock=clock)
        assert (await native.status()).state == "unusable"
        assert (await native.status()).state == "unusable"
        connects = sum(1 for f in server.received if f.get("method") == "connect")
        assert connects == 1
        clock.now += 301
        await native.status()
        assert sum(1 for f in server.received if f.get("method") == "connect") == 2
