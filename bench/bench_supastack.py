"""The Supabase stand-in (tests/supastack): how fast a committed row reaches a realtime callback, and how
fast `python -m tests.supastack` is ready.

commit_to_callback_ms: the app's own path. An anon-key supabase-py client subscribes to INSERTs on
`cron_run_requests` (RLS on) with a `project_id=eq.X` filter; another thread inserts rows one at a time
over a superuser connection. Measured from the inserter's commit returning to the callback running (a
sample can be slightly negative: the NOTIFY can beat the inserting thread's wake-up). Goal: median ≤ 5 ms
(p95 ≤ 20 ms, issue 3) on a 2-core machine.
realtime_dispatch_ms: the server's share, from taking the change off its queue to the last frame sent.
supastack_ready_s: process start → the JSON line on stdout. Goal ≤ 3 s.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Figure, summarize

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.supastack import start_supastack  # noqa: E402
from tests.supastack.client import close_client, make_client  # noqa: E402

INSERTS = 200
WARMUP = 5
PROJECT = "bench"


def run(quick: bool) -> dict[str, Figure]:
    latency, dispatch = _commit_to_callback(INSERTS)
    ready = _ready_times(2 if quick else 5)
    return {
        "commit_to_callback_ms": summarize(latency, "ms", goal=5.0),
        "realtime_dispatch_ms": summarize(dispatch, "ms", goal=None),
        "supastack_ready_s": summarize(ready, "s", goal=3.0),
    }


def _commit_to_callback(n: int) -> tuple[list[float], list[float]]:
    stack = start_supastack()
    dispatch: list[float] = []
    assert stack.server is not None
    stack.server.realtime.on_dispatched = lambda _change, seconds: dispatch.append(seconds * 1000)
    try:
        return asyncio.run(_measure(stack, n)), dispatch[WARMUP:]
    finally:
        stack.close()


async def _measure(stack: Any, n: int) -> list[float]:
    client = await make_client(stack)
    received: dict[str, float] = {}
    arrived = threading.Event()

    def on_insert(payload: dict[str, Any]) -> None:
        received[payload["data"]["record"]["job_id"]] = time.perf_counter()
        arrived.set()

    channel = client.channel("bench")
    channel.on_postgres_changes(
        "INSERT", on_insert, table="cron_run_requests", filter=f"project_id=eq.{PROJECT}"
    )
    await channel.subscribe()
    committed: dict[str, float] = {}

    def insert_all() -> None:
        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            conn.execute("set synchronous_commit = on")
            for i in range(WARMUP + n):
                job = f"job-{i}"
                arrived.clear()
                conn.execute(
                    "insert into cron_run_requests (project_id, job_id) values (%s, %s)", (PROJECT, job)
                )
                committed[job] = time.perf_counter()
                if not arrived.wait(5):
                    raise RuntimeError(f"no callback for {job}")

    try:
        await asyncio.to_thread(insert_all)
    finally:
        await close_client(client)
    jobs = [f"job-{i}" for i in range(WARMUP, WARMUP + n)]
    return [(received[j] - committed[j]) * 1000 for j in jobs]


def _ready_times(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.supastack"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            json.loads(proc.stdout.readline())
            times.append(time.perf_counter() - started)
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return times
