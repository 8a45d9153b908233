"""The worker with the real OpenClaw gateway: the native WebSocket client, and the CLI path as the baseline.

Both measured in the same run, with `cronmirror-worker run --local` as users run it (its default 30 s sync),
against OpenClaw 2026.9.6 offline on loopback (tests/realgateway; needs scripts/install-gateways). The CLI
path is the same worker with CRONMIRROR_GATEWAY_NATIVE=0.

gateway_change_to_mirror_ms: from the gateway storing a job that `openclaw cron add` made (the job's
`createdAtMs`) to its row in cron_mirror (the row's `updated_at`). Goal ≤ 500 ms.
gateway_run_confirm_ms: from a request for a quick command job (`echo`) queued in the store
(`requested_at`) to the request done (`completed_at`). Goal ≤ 1,500 ms.
idle_cpu_pct_worker_gateway: CPU of the worker and everything it spawns (the CLI's node processes it
waited for included) over 120 s with nothing happening, after a 10 s settle. Goal < 0.5 % of one core.
The gateway's own CPU over the same window is printed for information (it is not the worker's cost).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import Figure, summarize
from bench.proc import tree_cpu_seconds

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cronmirror_desktop.core.localstore import LocalStore  # noqa: E402
from tests.realgateway.harness import INSTALL_HINT, RealGateway, missing_parts  # noqa: E402

PROJECT = "bench-gateway"
SETTLE_S = 10.0


def run(quick: bool) -> dict[str, Figure]:
    missing = missing_parts()
    if missing:
        print(f"bench_gateway: skipped ({INSTALL_HINT})", file=sys.stderr)
        return {}
    idle_s = 20.0 if quick else 120.0
    root = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    gateway = RealGateway.create("openclaw", root / "openclaw")
    gateway.start()
    try:
        gateway.wait_ready()
        native = _measure(gateway, root / "native", native=True, idle_s=idle_s, samples=5 if quick else 10)
        cli = _measure(gateway, root / "cli", native=False, idle_s=idle_s, samples=1 if quick else 3)
    finally:
        gateway.stop()
        shutil.rmtree(root, ignore_errors=True)
    for name, result in (("native", native), ("cli", cli)):
        print(
            f"bench_gateway: {name}: worker idle {result['idle']:.3f} %, the gateway itself "
            f"{result['gateway_idle']:.3f} % over the same {idle_s:.0f} s",
            file=sys.stderr,
        )
    return {
        "gateway_change_to_mirror_ms": summarize(
            native["change"], "ms", goal=500.0, baseline=statistics.median(cli["change"])
        ),
        "gateway_run_confirm_ms": summarize(
            native["confirm"], "ms", goal=1500.0, baseline=statistics.median(cli["confirm"])
        ),
        "idle_cpu_pct_worker_gateway": summarize([native["idle"]], "%", goal=0.5, baseline=cli["idle"]),
    }


def _measure(gateway: RealGateway, dev: Path, *, native: bool, idle_s: float, samples: int) -> dict[str, Any]:
    dev.mkdir(parents=True)
    quick_job = gateway.add_job(
        "--name", f"bench quick {dev.name}", "--every", "6h", "--no-deliver", "--command", "echo hi"
    )
    env = {
        **os.environ,
        **gateway.worker_env(),
        "PATH": os.pathsep.join([str(gateway.bin_dir), gateway.worker_env()["PATH"]]),
        "CRONMIRROR_DEV_DIR": str(dev),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "CRONMIRROR_GATEWAY_NATIVE": "1" if native else "0",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker", "run", "--local", "--project", PROJECT],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_listed(dev, native)
        time.sleep(SETTLE_S)
        gateway_pid = gateway._inner.pid if gateway._inner is not None else worker.pid
        start_worker, start_gateway, start = (
            tree_cpu_seconds(worker.pid),
            tree_cpu_seconds(gateway_pid),
            time.monotonic(),
        )
        time.sleep(idle_s)
        elapsed = time.monotonic() - start
        idle = 100 * (tree_cpu_seconds(worker.pid) - start_worker) / elapsed
        gateway_idle = 100 * (tree_cpu_seconds(gateway_pid) - start_gateway) / elapsed
        store_file = dev / "data" / "cronmirror.sqlite3"
        change = [_change_to_mirror(gateway, store_file, f"bench {dev.name} {i}") for i in range(samples)]
        confirm = asyncio.run(_run_confirm(store_file, quick_job["id"], samples))
        return {"idle": idle, "gateway_idle": gateway_idle, "change": change, "confirm": confirm}
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)


def _wait_listed(dev: Path, native: bool, within: float = 90.0) -> None:
    """Until the worker's status file shows the gateway listed, through the path asked for."""
    status_file = dev / "state" / "worker-status.json"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            status = json.loads(status_file.read_text())
        except (OSError, ValueError):
            status = {}
        for source in status.get("sources") or []:
            if source.get("source") == "gateway" and source.get("state") == "ok":
                is_native = "(native client" in source.get("message", "")
                if is_native != native:
                    raise RuntimeError(f"the worker took the wrong path: {source.get('message')}")
                return
        time.sleep(0.2)
    raise RuntimeError(f"the worker never listed the gateway: {status}")


def _change_to_mirror(gateway: RealGateway, store_file: Path, name: str) -> float:
    job = gateway.add_job("--name", name, "--every", "6h", "--no-deliver", "--command", "echo hi")
    created_ms = float(job["createdAtMs"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        updated = _mirror_updated_at(store_file, job["id"])
        if updated is not None:
            return updated.timestamp() * 1000 - created_ms
        time.sleep(0.01)
    raise RuntimeError(f"{name} never reached the mirror")


def _mirror_updated_at(store_file: Path, job_id: str) -> datetime | None:
    import sqlite3

    try:
        with sqlite3.connect(f"{store_file.as_uri()}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT updated_at FROM cron_mirror WHERE job_id = ?", (job_id,)).fetchone()
    except sqlite3.Error:
        return None
    return datetime.fromisoformat(row[0]) if row else None


async def _run_confirm(store_file: Path, job_id: str, samples: int) -> list[float]:
    store = LocalStore(store_file)
    await store.open()
    durations: list[float] = []
    try:
        for _ in range(samples):
            request = (await store.queue_run(PROJECT, job_id, "bench")).request
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                current = await store.get_request(request.id)
                if current is not None and current.status in {"done", "error"}:
                    break
                await asyncio.sleep(0.01)
            else:
                raise RuntimeError("a run request never ended")
            if current.status != "done" or current.requested_at is None or current.completed_at is None:
                raise RuntimeError(f"the quick job did not run: {current.result}")
            durations.append((current.completed_at - current.requested_at).total_seconds() * 1000)
    finally:
        await store.close()
    return durations
