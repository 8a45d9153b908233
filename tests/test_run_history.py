"""Watching the jobs (issue 17): every run in the history, live output, stopping a running job.

Real parts: both stores, real job processes, the fake gateway CLI built from the real CLIs' captured
outputs (its run log included), the Supabase stand-in with its fault hooks.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cronmirror_desktop.core.run_log import RunLogEntry, run_entry
from tests.fakes.gateway import install_fake_gateway, sample_jobs
from tests.procutil import alive, read_pid
from tests.store_harness import Backend, SupabaseHarness
from tests.ui_support import WrappingStore
from tests.worker_harness import (
    PROJECT,
    daemon,
    eventually,
    eventually_async,
    python_job,
    service,
    toml_job,
    wait_for_request,
    write_jobs,
)
from worker.run_recorder import RunRecorder
from worker.sources.gateway import GatewaySource
from worker.sources.jobs_file import JobsFileSource
from worker.sources.registry import SourceSet


async def history(backend: Backend, job_id: str) -> list[RunLogEntry]:
    return await backend.app.run_history(PROJECT, job_id)


def sources(jobs_file: Path, *extra: Any) -> SourceSet:
    return SourceSet([*extra, JobsFileSource(jobs_file)], default_tz="UTC", refresh_cooldown=0.0)


class CountingStore(WrappingStore):
    """Counts the writes the worker makes to the history and to a request's live output."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.recorded: list[int] = []
        self.progress: list[str] = []

    async def record_runs(self, project_id: str, entries: Any) -> int:
        self.recorded.append(len(entries))
        return await self.inner.record_runs(project_id, entries)

    async def report_progress(self, request_id: str, worker_id: str, result: Any) -> bool:
        self.progress.append(str(result.get("stdoutTail")))
        return await self.inner.report_progress(request_id, worker_id, result)


# -- history of requested and scheduled runs ---------------------------------------------------------


async def test_a_requested_run_is_in_the_history_with_its_output(backend: Backend, tmp_path: Path) -> None:
    job = python_job("import sys, time; print('hello'); print('oops', file=sys.stderr); time.sleep(0.3)")
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("greet", job)])
    worker = service(backend.worker, sources(jobs_file))
    async with daemon(worker):
        request = (await backend.app.queue_run(PROJECT, "jobs:greet", "test")).request
        await wait_for_request(backend, request.id, {"done"})

        async def recorded() -> bool:
            runs = await history(backend, "jobs:greet")
            return bool(runs) and runs[0].status == "ok"

        await eventually_async(recorded)
    (run,) = await history(backend, "jobs:greet")
    assert (run.trigger, run.status, run.request_id, run.source) == ("request", "ok", request.id, "jobs")
    assert (run.stdout_tail or "").strip() == "hello"
    assert (run.stderr_tail or "").strip() == "oops"
    assert run.duration_ms is not None
    assert run.duration_ms >= 300
    assert run.run_key == f"request:{request.id}"


async def test_scheduled_runs_and_skips_are_in_the_history(backend: Backend, tmp_path: Path) -> None:
    spec = toml_job("tick", python_job("print('tick')")).replace('cron = "0 7 * * 1-5"', 'every = "1s"')
    jobs_file = write_jobs(tmp_path / "jobs.toml", [spec])
    worker = service(
        backend.worker,
        sources(jobs_file),
        state_dir=tmp_path / "state",
        sync_interval=0.5,
        run_schedules=True,
    )
    async with daemon(worker):

        async def two_runs() -> bool:
            return len([r for r in await history(backend, "jobs:tick") if r.status == "ok"]) >= 2

        await eventually_async(two_runs, within=20)
    runs = await history(backend, "jobs:tick")
    assert {r.trigger for r in runs} <= {"schedule", "catch-up"}
    assert all(r.source == "jobs" and r.run_key.startswith("jobs:") for r in runs)
    assert (runs[0].stdout_tail or "").strip() == "tick"


# -- the gateway's own run log, incrementally --------------------------------------------------------


async def test_the_gateways_run_log_is_recorded_once_and_nothing_is_written_when_nothing_ran(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = install_fake_gateway(tmp_path / "gw", "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    for name, value in gw.env().items():
        monkeypatch.setenv(name, value)
    gateway = GatewaySource(search_dirs=[gw.bin_dir], env=gw.env(), native=False)
    jobs_file = write_jobs(tmp_path / "jobs.toml", [])
    counting = CountingStore(backend.worker)
    worker = service(counting, sources(jobs_file, gateway), sync_interval=0.3)
    job_id = sample_jobs()[0]["id"]
    async with daemon(worker):
        for _ in range(2):
            request = (await backend.app.queue_run(PROJECT, job_id, "test")).request
            await wait_for_request(backend, request.id, {"done", "error"}, within=30)

        async def both() -> bool:
            return len(await history(backend, job_id)) == 2

        await eventually_async(both, within=20)
        writes = sum(counting.recorded)
        before = worker.status.last_sync_at
        await eventually(lambda: worker.status.last_sync_at != before)
        await eventually(lambda: worker.status.last_sync_at != before)  # two syncs with nothing new
        assert sum(counting.recorded) == writes  # incremental: nothing was written again
    runs = await history(backend, job_id)
    assert [r.trigger for r in runs] == ["manual", "manual"]  # OpenClaw's run ids say "manual:"
    assert all(r.run_key.startswith("gateway:manual:") for r in runs)
    assert len(gw.runs(job_id)) == 2


# -- live output ---------------------------------------------------------------------------------------


async def test_a_running_request_shows_its_output_live_with_bounded_writes(
    backend: Backend, tmp_path: Path
) -> None:
    steps = tmp_path / "steps"
    job = python_job(
        f"import pathlib, time; go = pathlib.Path({str(steps)!r}); print('step 1', flush=True); "
        "[time.sleep(0.05) for _ in iter(go.exists, True)]; print('step 2', flush=True)"
    )
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("slow", job)])
    counting = CountingStore(backend.worker)
    worker = service(counting, sources(jobs_file))
    worker.executor.progress_every = 0.2
    async with daemon(worker):
        request = (await backend.app.queue_run(PROJECT, "jobs:slow", "test")).request

        async def shows_step_1() -> bool:
            current = await backend.app.get_request(request.id)
            return current is not None and current.status == "running" and current.output_tail == "step 1"

        await eventually_async(shows_step_1)
        await asyncio.sleep(1.0)  # five publishing periods pass with nothing new printed
        assert counting.progress == ["step 1\n"]  # one write, not one per period
        steps.touch()
        done = await wait_for_request(backend, request.id, {"done"})
    assert done.output_tail == "step 1\nstep 2"


# -- stopping a running job ------------------------------------------------------------------------------


async def test_a_running_job_is_stopped_on_request_and_reported_cancelled(
    backend: Backend, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    job = python_job(
        f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()));"
        "print('working', flush=True); time.sleep(60)"
    )
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("long", job)])
    worker = service(backend.worker, sources(jobs_file))
    worker.executor.progress_every = 0.2
    async with daemon(worker):
        request = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
        await wait_for_request(backend, request.id, {"running"})
        pid = await asyncio.to_thread(read_pid, pid_file)  # the worker shares this loop: never block it
        stopping = await backend.app.cancel_request(PROJECT, request.id, "ui:alice@laptop")
        assert stopping.stopping
        ended = await wait_for_request(backend, request.id, {"cancelled", "done", "error"})

        async def in_history() -> bool:
            runs = await history(backend, "jobs:long")
            return bool(runs) and runs[0].status == "cancelled"

        await eventually_async(in_history)
    assert ended.status == "cancelled"
    assert ended.reason is not None
    assert "stopped by ui:alice@laptop" in ended.reason
    assert ended.output_tail == "working"
    assert not alive(pid)  # the whole process group is gone


async def test_a_stop_request_reaches_the_worker_without_live_events(
    backend: Backend, tmp_path: Path
) -> None:
    """With Realtime down the worker still sees the stop request, at its next heartbeat."""
    job = python_job("import time; time.sleep(60)")
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("long", job)])
    worker = service(backend.worker, sources(jobs_file), heartbeat_every=0.3)
    async with daemon(worker):
        request = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
        await wait_for_request(backend, request.id, {"running"})
        worker.executor.events_live = False
        if worker._subscription is not None:
            await worker._subscription.close()  # no events any more
        await backend.app.cancel_request(PROJECT, request.id, "cli:bob")
        ended = await wait_for_request(backend, request.id, {"cancelled", "done", "error"}, within=10)
    assert ended.status == "cancelled"


async def test_a_gateway_run_is_not_stopped_and_the_result_says_so(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = install_fake_gateway(tmp_path / "gw", "clawdbot-2026.1.24")  # its `cron run --force` blocks
    gw.write_jobs(sample_jobs())
    job_id = sample_jobs()[0]["id"]
    gw.configure(slow_ms={job_id: 2500})
    for name, value in gw.env().items():
        monkeypatch.setenv(name, value)
    gateway = GatewaySource(search_dirs=[gw.bin_dir], env=gw.env(), native=False)
    worker = service(backend.worker, sources(write_jobs(tmp_path / "jobs.toml", []), gateway))
    async with daemon(worker):
        request = (await backend.app.queue_run(PROJECT, job_id, "test")).request
        await wait_for_request(backend, request.id, {"running"}, within=30)
        await backend.app.cancel_request(PROJECT, request.id, "ui:alice@laptop")
        ended = await wait_for_request(backend, request.id, {"done", "error", "cancelled"}, within=30)
    assert ended.status == "done"  # the gateway finished its run: nothing was cut short
    assert ended.reason is not None
    assert "a gateway run cannot be stopped from here" in ended.reason


# -- never lost, and pruned ---------------------------------------------------------------------------


async def test_history_written_while_supabase_is_away_is_kept_and_written_later(
    supabase_env: Any, tmp_path: Path, event_loop: asyncio.AbstractEventLoop
) -> None:
    backend = SupabaseHarness(supabase_env)
    await backend.open()
    try:
        state = tmp_path / "state"
        jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("quick", python_job("print('hi')"))])
        first = service(backend.worker, sources(jobs_file), state_dir=state)
        # A run the recorder could not write before the worker went away...
        entry = {
            "job_id": "jobs:quick",
            "run_key": "jobs:offline-run",
            "run_at": "2026-12-07T03:00:00+00:00",
            "status": "ok",
            "trigger": "schedule",
            "source": "jobs",
        }
        supabase_env.stop_server()
        try:
            first.history.recorder.add(entry)
            with pytest.raises(Exception):  # noqa: B017, PT011 - any store error: the point is it stays
                await first.history.recorder.flush()
        finally:
            supabase_env.start_server()
        assert (state / "run-log-pending.json").exists()
        # ... is written by the next worker that starts with the same state dir.
        second = service(backend.worker, sources(jobs_file), state_dir=state)
        async with daemon(second):

            async def written() -> bool:
                return [r.run_key for r in await history(backend, "jobs:quick")] == ["jobs:offline-run"]

            await eventually_async(written)
        assert not (state / "run-log-pending.json").exists()
    finally:
        await backend.close()


async def test_the_history_keeps_the_newest_runs_per_job(backend: Backend, tmp_path: Path) -> None:
    recorder = RunRecorder(backend.worker, PROJECT, keep=5, prune_every=0.0)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(12):
        recorder.add(
            run_entry(job_id="jobs:a", run_key=f"k{i}", run_at=start + timedelta(minutes=i), status="ok")
        )
    await recorder.flush()
    await recorder._maybe_prune()
    assert [r.run_key for r in await history(backend, "jobs:a")] == [f"k{i}" for i in range(11, 6, -1)]
