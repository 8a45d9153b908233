"""Building blocks for worker tests: a jobs file with real commands, a source set, a service."""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.store import Store
from worker.scheduler import Clock
from worker.service import WorkerOptions, WorkerService
from worker.sources.gateway import GatewaySource
from worker.sources.jobs_file import JobsFileSource
from worker.sources.registry import SourceSet

PROJECT = "front-office"


def toml_job(
    key: str, argv: list[str], *, name: str | None = None, cron: str = "0 7 * * 1-5", **extra: object
) -> str:
    lines = [f"[jobs.{key}]", f'name = "{name or key.title()}"', f'cron = "{cron}"']
    lines.append("command = [" + ", ".join(_toml_str(a) for a in argv) + "]")
    for field, value in extra.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = _toml_str(value) if isinstance(value, str) else str(value)
        lines.append(f"{field} = {text}")
    return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def python_job(code: str) -> list[str]:
    """An argument vector running `code` with this interpreter (no shell)."""
    return [sys.executable, "-c", code]


def write_jobs(path: Path, jobs: Iterable[str]) -> Path:
    path.write_text("\n".join(jobs))
    return path


def marker_job(key: str, marker: Path, **extra: object) -> str:
    """A job that leaves `marker` behind when it runs, so a test can see that it did."""
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"
    return toml_job(key, python_job(code), **extra)


def sources_for(
    jobs_file: Path,
    *,
    gateway: GatewaySource | None = None,
    host: str = "mac-mini",
    default_tz: str = "UTC",
    new_job_programs: tuple[str, ...] = (),
) -> SourceSet:
    """The jobs file (and a gateway) as the sources of one host (named `host`, in zone `default_tz`);
    `new_job_programs`: what an Add job request may run (none: every Add job is refused)."""
    sources = [JobsFileSource(jobs_file, new_job_programs=new_job_programs)]
    if gateway is not None:
        sources.insert(0, gateway)
    return SourceSet(sources, default_tz=default_tz, refresh_cooldown=0.0, host=host)


def service(
    store: Store,
    sources: SourceSet,
    *,
    state_dir: Path | None = None,
    secrets: tuple[str, ...] = (),
    clock: Clock | None = None,
    run_schedules: bool = False,
    **options: object,
) -> WorkerService:
    """A worker service for one test. Its scheduler is off unless asked for (`run_schedules=True`, tests of
    worker.scheduler): a test about requests must not see `0 7 * * 1-5` fire because the wall clock
    happened to pass 07:00 while it ran."""
    return WorkerService(
        store,
        sources,
        WorkerOptions(project_id=PROJECT, run_schedules=run_schedules, **options),  # type: ignore[arg-type]
        state_dir=state_dir,
        secrets=secrets,
        clock=clock,
    )


def shell_quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


async def eventually(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll `predicate` (cheaply) until it holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {within} s")


async def eventually_async(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Like `eventually`, for a check that has to ask a store."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within} s")


async def wait_for_request(
    backend: Any, request_id: str, statuses: set[str], within: float = 20.0
) -> CronRunRequest:
    """Poll the app's store until the request reaches one of `statuses`; fail the test otherwise."""
    deadline = time.monotonic() + within
    request = None
    while time.monotonic() < deadline:
        request = await backend.app.get_request(request_id)
        if request is not None and request.status in statuses:
            return request
        await asyncio.sleep(0.05)
    raise AssertionError(f"request {request_id} never reached {statuses}: {request}")


async def run_one_job(
    backend: Any, tmp_path: Path, key: str, argv: list[str], **extra: object
) -> CronRunRequest:
    """The simplest life of a request: a jobs.toml with this one job, a queued request for it, one drain;
    returns the request as the app then reads it."""
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job(key, argv, **extra)])
    request = (await backend.app.queue_run(PROJECT, f"jobs:{key}", "test")).request
    await service(backend.worker, sources_for(jobs_file)).drain_once()
    ended = await backend.app.get_request(request.id)
    assert ended is not None
    return ended


@asynccontextmanager
async def daemon(worker: WorkerService, *, stop_within: float = 30.0) -> AsyncIterator[WorkerService]:
    """`worker.run` in a task while the block runs (it shares this loop: never block it); stopped, and
    awaited, after it."""
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(worker.run(stop), name="test-worker")
    try:
        await eventually(lambda: worker.status.state == "running")
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, stop_within)
