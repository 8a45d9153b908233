"""`cronmirror-worker` as people and launchd run it: real processes, a real store, a fake gateway CLI."""

from __future__ import annotations

import asyncio
import io
import json
import os
import plistlib
import signal
import sys
from pathlib import Path

import pytest

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.paths import ENV_DEV_DIR
from tests.fakes.gateway import install_fake_gateway, sample_jobs
from tests.pgcluster import free_port
from tests.worker_harness import PROJECT, python_job, toml_job, write_jobs
from worker import cli

REPO = Path(__file__).resolve().parent.parent


async def run_worker_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()

    def call() -> int:
        try:
            return cli.main(list(argv), out=out)
        except SystemExit as exc:
            return int(exc.code or 0)

    return await asyncio.to_thread(call), out.getvalue()


@pytest.fixture
def jobs_file() -> Path:
    config_dir = resolve_config().paths.config_dir
    config_dir.mkdir(parents=True, exist_ok=True)
    return write_jobs(
        config_dir / "jobs.toml",
        [
            toml_job("hello", python_job("print('hello')"), name="Say hello"),
            toml_job("broken", python_job("import sys; sys.exit(2)"), name="Broken"),
        ],
    )


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    fake = install_fake_gateway(tmp_path / "gw", "clawdbot-2026.1.24")
    fake.write_jobs(sample_jobs())
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CRONMIRROR_GATEWAY_BIN", str(fake.binary))
    return fake


async def test_list_jobs_shows_every_source(jobs_file: Path, gateway: object) -> None:
    code, out = await run_worker_cli("list-jobs", "--json")
    assert code == 0
    data = json.loads(out)
    by_source = {s["source"]: s["state"] for s in data["sources"]}
    assert by_source["jobs"] == "ok"
    assert by_source["gateway"] == "ok"
    ids = {job["job_id"] for job in data["jobs"]}
    assert {"jobs:hello", "jobs:broken", "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23"} <= ids


async def test_sync_once_then_drain_once_on_the_local_store(jobs_file: Path, gateway: object) -> None:
    code, out = await run_worker_cli("--local", "sync-once")
    assert code == 0
    assert "5 written" in out
    code, out = await run_worker_cli("--local", "sync-once")
    assert "0 written, 0 deleted, 5 unchanged" in out

    store = LocalStore(resolve_config().paths.local_store_file)
    try:
        hello = (await store.queue_run(PROJECT, "jobs:hello", "test")).request
        morning = (await store.queue_run(PROJECT, "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23", "test")).request
        code, out = await run_worker_cli("--local", "drain-once", "--json")
        assert code == 0, out
        finished = {item["requestId"]: item for item in json.loads(out)}
        assert finished[hello.id]["status"] == "done"
        assert (
            finished[morning.id]["status"] == "done"
        )  # clawdbot: run with --force, confirmed in its run log
        calls = gateway.calls()  # type: ignore[attr-defined]
        runs = [call for call in calls if call[:2] == ["cron", "run"] and "--help" not in call]
        assert [call[2] for call in runs] == ["3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23"]
        assert "--force" in runs[0]  # ClawdBot runs only due jobs without it
        await store.queue_run(PROJECT, "jobs:broken", "test")
        code, _ = await run_worker_cli("--local", "drain-once")
        assert code == 1  # a job failed
    finally:
        await store.close()


async def test_status_before_and_during_a_daemon_run(jobs_file: Path) -> None:
    code, out = await run_worker_cli("--local", "status")
    assert code == 0
    assert "No worker has run here yet" in out
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        "--local",
        "run",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        status = {}
        for _ in range(200):
            code, out = await run_worker_cli("--local", "status", "--json")
            status = json.loads(out)
            if status["alive"] and status["daemon"]["state"] == "running":
                break
            await asyncio.sleep(0.05)
        assert status["alive"]
        assert status["daemon"]["project_id"] == PROJECT
        assert status["queued"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    assert proc.stderr is not None
    log = (await proc.stderr.read()).decode()
    assert "worker stopped" in log
    code, out = await run_worker_cli("--local", "status", "--json")
    assert json.loads(out)["alive"] is False
    paths = resolve_config().paths
    # Private to the user, like the settings file (they name jobs, hosts and process ids).
    for private in (paths.log_dir / "worker.log", paths.state_dir / cli.STATUS_FILE_NAME):
        assert private.stat().st_mode & 0o777 == 0o600, private


async def test_install_launchd_prints_the_plist_off_macos() -> None:
    code, out = await run_worker_cli("install-launchd", "--print")
    assert code == 0
    plist = plistlib.loads(out.encode())
    assert plist["Label"] == "app.cronmirror.worker"
    assert plist["ProgramArguments"][-1] == "run"
    if sys.platform != "darwin":
        code, out = await run_worker_cli("uninstall-launchd")
        assert code == 0
        assert "macOS only" in out


async def test_the_worker_without_a_service_role_key_says_so(
    supabase_env: object, monkeypatch: pytest.MonkeyPatch, jobs_file: Path
) -> None:
    monkeypatch.setenv("SUPABASE_URL", supabase_env.url)  # type: ignore[attr-defined]
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase_env.anon_key)  # type: ignore[attr-defined]
    code, _ = await run_worker_cli("sync-once")
    assert code == 4  # the anon key may not write the mirror once hardening is applied
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", supabase_env.service_role_key)  # type: ignore[attr-defined]
    code, out = await run_worker_cli("sync-once")
    assert code == 0, out
    assert "2 written" in out


async def test_options_work_before_and_after_the_command(
    jobs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subcommand's own default used to overwrite an option given before it (issue 13):
    `cronmirror-worker --json list-jobs` printed text, `--local sync-once` used Supabase."""
    for argv in (("--json", "list-jobs"), ("list-jobs", "--json")):
        code, out = await run_worker_cli(*argv)
        assert code == 0
        assert "jobs:hello" in {job["job_id"] for job in json.loads(out)["jobs"]}, argv

    monkeypatch.setenv("SUPABASE_URL", f"http://127.0.0.1:{free_port()}")  # configured, and down
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service")
    code, _ = await run_worker_cli("sync-once")
    assert code == 4
    for argv in (("--local", "--project", "ops", "sync-once"), ("sync-once", "--local", "--project", "ops")):
        code, out = await run_worker_cli(*argv)
        assert code == 0, (argv, out)
        assert "Mirrored project ops:" in out, argv

    other = tmp_path / "other-dev-dir"
    with monkeypatch.context() as m:
        m.setenv(ENV_DEV_DIR, str(other.resolve()))
        config_dir = resolve_config().paths.config_dir
    config_dir.mkdir(parents=True)
    write_jobs(config_dir / "jobs.toml", [toml_job("elsewhere", python_job("print(1)"))])
    for argv in (
        ("--dev-dir", str(other), "--json", "list-jobs"),
        ("list-jobs", "--dev-dir", str(other), "--json"),
    ):
        code, out = await run_worker_cli(*argv)
        assert "jobs:elsewhere" in {job["job_id"] for job in json.loads(out)["jobs"]}, argv
