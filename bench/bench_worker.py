"""The worker on the Supabase stand-in: how fast a queued request becomes a running job; what a sync costs.

pickup_latency_ms: from just before the app's insert of a request (anon key, REST) to the job's process
being spawned by a worker (service-role key) that runs in its own thread and loop, as on the Mac mini or
hosted in the app. 100 requests, one at a time. Goal: median ≤ 50 ms. Baseline: the seed's design, a worker
polling every 30 s, picks a request up after 15 s on average (uniform over the interval: median 15,000 ms,
p95 28,500 ms), computed, not measured.
idle_sync_writes / one_change_sync_writes: rows written by a sync pass over 1,000 jobs when nothing changed
and when one job changed, counted in PostgreSQL (xmin of every row), not by the worker's own report.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Figure, summarize

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cronmirror_desktop.core.supabasestore import SupabaseStore  # noqa: E402
from tests.supastack import Supastack, start_supastack  # noqa: E402
from tests.worker_harness import service, sources_for, toml_job, write_jobs  # noqa: E402

PROJECT = "front-office"
POLL_INTERVAL_S = 30.0


def run(quick: bool) -> dict[str, Figure]:
    stack = start_supastack()
    try:
        pickup = _pickup_latency(stack, 30 if quick else 100)
        idle, one = _sync_writes(stack, 1000)
    finally:
        stack.close()
    baseline = POLL_INTERVAL_S * 1000 / 2
    return {
        "pickup_latency_ms": summarize(pickup, "ms", goal=50.0, baseline=baseline),
        "idle_sync_writes": summarize([idle], "rows", goal=0.0),
        "one_change_sync_writes": summarize([one], "rows", goal=1.0),
    }


def _pickup_latency(stack: Supastack, n: int) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    jobs_file = write_jobs(tmp / "jobs.toml", [toml_job(f"j{i}", ["true"]) for i in range(n + 3)])
    spawned: dict[str, float] = {}
    waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
    stop_holder: dict[str, asyncio.Event] = {}
    ready = threading.Event()
    worker_loop: dict[str, asyncio.AbstractEventLoop] = {}

    def worker_thread() -> None:
        async def main() -> None:
            store = SupabaseStore(stack.url, stack.service_role_key)
            worker = service(store, sources_for(jobs_file), poll_every=3600.0, sync_interval=3600.0)

            def started(request: object, _info: object) -> None:
                job_id = request.job_id  # type: ignore[attr-defined]
                spawned[job_id] = time.perf_counter()
                if job_id in waiting:
                    loop, event = waiting[job_id]
                    loop.call_soon_threadsafe(event.set)

            live = asyncio.Event()

            def status(current: object) -> None:
                if current.state == "running" and current.live == "live":  # type: ignore[attr-defined]
                    live.set()

            worker._on_started_hook = started
            worker._on_status = status
            stop = stop_holder["stop"] = asyncio.Event()
            worker_loop["loop"] = asyncio.get_running_loop()
            task = asyncio.get_running_loop().create_task(worker.run(stop))
            await live.wait()
            ready.set()
            await task
            await store.close()

        asyncio.run(main())

    thread = threading.Thread(target=worker_thread, name="bench-worker", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the worker did not become live")

    async def insert_all() -> list[float]:
        app = SupabaseStore(stack.url, stack.anon_key)
        samples: list[float] = []
        try:
            for i in range(n + 3):
                job_id = f"jobs:j{i}"
                event = asyncio.Event()
                waiting[job_id] = (asyncio.get_running_loop(), event)
                t0 = time.perf_counter()
                await app.queue_run(PROJECT, job_id, "bench")
                await asyncio.wait_for(event.wait(), 30)
                if i >= 3:  # warm-up
                    samples.append((spawned[job_id] - t0) * 1000)
                await asyncio.sleep(0.02)  # let the run finish; one request at a time
        finally:
            await app.close()
        return samples

    try:
        return asyncio.run(insert_all())
    finally:
        loop = worker_loop["loop"]
        loop.call_soon_threadsafe(stop_holder["stop"].set)
        thread.join(30)


def _versions(stack: Supastack) -> dict[str, str]:
    with stack.connect() as conn:
        rows = conn.execute(
            "select job_id, xmin::text from cron_mirror where project_id = %s", (PROJECT,)
        ).fetchall()
    return {job_id: version for job_id, version in rows}


def _writes(before: dict[str, str], after: dict[str, str]) -> int:
    changed = sum(1 for job_id, version in after.items() if before.get(job_id) != version)
    return changed + sum(1 for job_id in before if job_id not in after)


def _sync_writes(stack: Supastack, n: int) -> tuple[int, int]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    jobs = [toml_job(f"s{i}", ["true"], cron=f"{i % 60} 4 * * *") for i in range(n)]
    jobs_file = write_jobs(tmp / "jobs.toml", jobs)

    async def measure() -> tuple[int, int]:
        store = SupabaseStore(stack.url, stack.service_role_key)
        try:
            worker = service(store, sources_for(jobs_file))
            await worker.sync_once()
            before = _versions(stack)
            await worker.sync_once()
            idle = _writes(before, _versions(stack))
            jobs[n // 2] = toml_job(f"s{n // 2}", ["true"], name="Changed", cron="5 4 * * *")
            write_jobs(jobs_file, jobs)
            before = _versions(stack)
            await worker.sync_once()
            return idle, _writes(before, _versions(stack))
        finally:
            await store.close()

    return asyncio.run(measure())
