"""What an idle worker costs: CPU over 60 s of a `cronmirror-worker run` with nothing to do.

The worker runs as users run it (its own process, the CLI), against the Supabase stand-in with 100 jobs in
its jobs file: its live subscription open, its sync every 30 s, its fallback poll every 10 s, presence and
rescue timers. Measured after a 5 s settle. Goal: under 1 % of one core.
idle_cpu_pct_worker_local: the same on the embedded store, whose change feed polls the file 4 times a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, summarize
from bench.proc import idle_cpu_percent

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.supastack import start_supastack  # noqa: E402
from tests.worker_harness import toml_job, write_jobs  # noqa: E402

SETTLE_S = 5.0


def run(quick: bool) -> dict[str, Figure]:
    seconds = 10.0 if quick else 60.0
    stack = start_supastack()
    try:
        remote = _measure(
            {
                "SUPABASE_URL": stack.url,
                "SUPABASE_SERVICE_ROLE_KEY": stack.service_role_key,
                "SUPABASE_ANON_KEY": stack.anon_key,
            },
            seconds,
            local=False,
        )
    finally:
        stack.close()
    local = _measure({}, seconds, local=True)
    return {
        "idle_cpu_pct_worker": summarize([remote], "%", goal=1.0),
        "idle_cpu_pct_worker_local": summarize([local], "%", goal=1.0),
    }


def _measure(env: dict[str, str], seconds: float, *, local: bool) -> float:
    dev = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    (dev / "config").mkdir()
    write_jobs(
        dev / "config" / "jobs.toml",
        [toml_job(f"j{i}", ["true"], cron=f"{i % 60} 5 * * *") for i in range(100)],
    )
    full_env = {
        **os.environ,
        **env,
        "CRONMIRROR_DEV_DIR": str(dev),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    argv = [sys.executable, "-m", "worker", "run", *(["--local"] if local else [])]
    proc = subprocess.Popen(
        argv, env=full_env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(SETTLE_S)
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode}")
        return idle_cpu_percent(proc.pid, seconds)
    finally:
        proc.terminate()
        proc.wait(30)
