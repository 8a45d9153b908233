"""The worker on a bad day: the store away when a job ends, crashes, survivors, hostile output, backlogs.

Real parts throughout: the Supabase stand-in over PostgreSQL (stopped and started with its fault hooks),
the embedded store, real job processes, real SIGKILL of a real worker process. Each test here failed on
the worker before issue 12 was fixed.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.procutil import alive, read_pid
from tests.store_harness import Backend, SupabaseHarness
from tests.supastack import Supastack
from tests.worker_harness import (
    PROJECT,
    daemon,
    eventually,
    eventually_async,
    python_job,
    run_one_job,
    service,
    sources_for,
    toml_job,
    wait_for_request,
    write_jobs,
)
from worker.history import LastRun, RunHistory
from worker.service import WorkerStatus, write_status
from worker.sources.gateway import GatewaySource

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def stack_backend(
    supabase_env: Supastack, event_loop: asyncio.AbstractEventLoop
) -> Iterator[SupabaseHarness]:
    harness = SupabaseHarness(supabase_env)
    event_loop.run_until_complete(harness.open())
    yield harness
    event_loop.run_until_complete(harness.close())


def worker_process_script(store_code: str, jobs_file: Path, state_dir: Path) -> str:
    """A real `WorkerService.run` in its own process (to be SIGKILLed), with a 5 s lease."""
    return textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from tests.worker_harness import service, sources_for

        async def main():
            store = {store_code}
            worker = service(
                store, sources_for(Path({str(jobs_file)!r})), state_dir=Path({str(state_dir)!r}),
                lease_seconds=5, heartbeat_every=1, poll_every=1,
            )
            await worker.run(asyncio.Event())

        asyncio.run(main())
        """
    )


async def start_worker_process(
    store_code: str, jobs_file: Path, state_dir: Path
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", worker_process_script(store_code, jobs_file, state_dir), cwd=REPO
    )


async def kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    await proc.wait()


# -- 1. a result is never lost to a store that is away when the job ends ------------------------------


@pytest.mark.parametrize(
    ("fault", "outage"),
    [("server", 2.0), ("postgres", 7.0)],  # the PostgreSQL outage outlasts the 5 s lease
)
async def test_a_result_survives_an_outage_over_the_jobs_end(
    stack_backend: SupabaseHarness, tmp_path: Path, fault: str, outage: float
) -> None:
    stack = stack_backend.stack
    ended = tmp_path / "ended"
    job = python_job(
        f"import pathlib, time; time.sleep(1); print('all good'); pathlib.Path({str(ended)!r}).touch()"
    )
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("slow", job)])
    worker = service(
        stack_backend.worker,
        sources_for(jobs_file),
        lease_seconds=5,
        heartbeat_every=1.0,
        rescue_every=1.0,
        poll_every=1.0,
    )
    async with daemon(worker):
        request = (await stack_backend.app.queue_run(PROJECT, "jobs:slow", "test")).request
        await wait_for_request(stack_backend, request.id, {"running"})
        stop, start = (
            (stack.stop_server, stack.start_server)
            if fault == "server"
            else (stack.stop_postgres, stack.start_postgres)
        )
        stop()
        try:
            await eventually(ended.exists)
            await asyncio.sleep(outage)  # the outage itself: the job has ended, the store is away
        finally:
            start()
        done = await wait_for_request(stack_backend, request.id, {"done", "error"}, within=30)
    assert done.status == "done", done.reason
    assert done.exit_code == 0
    assert (done.result or {})["stdoutTail"].strip() == "all good"
    assert done.worker_id == worker.worker_id


async def test_a_crashed_worker_reports_its_kept_result_at_the_next_start(
    stack_backend: SupabaseHarness, tmp_path: Path
) -> None:
    """The job ends while Supabase is away, the worker is SIGKILLed, the power is out longer than the
    lease: the next worker start still reports the real result, under the id that held the request."""
    stack = stack_backend.stack
    state_dir = tmp_path / "state"
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("quick", python_job("import time; time.sleep(0.5); print('42')"))]
    )
    request = (await stack_backend.app.queue_run(PROJECT, "jobs:quick", "test")).request
    proc = await start_worker_process(stack_backend.store_code(), jobs_file, state_dir)
    try:
        running = await wait_for_request(stack_backend, request.id, {"running"})
        stack.stop_server()
        try:
            await eventually(lambda: any((state_dir / "outbox").glob("*.json")), within=15)
            await kill(proc)
            await asyncio.sleep(5.5)  # longer than the lease: as after a power loss
        finally:
            stack.start_server()
    finally:
        await kill(proc)
    assert (await stack_backend.app.get_request(request.id)).status == "running"  # type: ignore[union-attr]

    worker = service(stack_backend.worker, sources_for(jobs_file), state_dir=state_dir)
    async with daemon(worker):
        done = await wait_for_request(stack_backend, request.id, {"done", "error"})
    assert done.status == "done", done.reason
    assert (done.result or {})["stdoutTail"].strip() == "42"
    assert done.worker_id == running.worker_id != worker.worker_id
    assert not any((state_dir / "outbox").glob("*.json"))


# -- 2. odd bytes never lose a result -----------------------------------------------------------------


async def test_nul_escape_and_bad_utf8_in_output_are_stored_visibly(backend: Backend, tmp_path: Path) -> None:
    noisy = python_job(
        "import sys; sys.stdout.buffer.write(b'a\\x00b\\x1b[2Jc\\r\\nd\\xff\\xfee\\x07\\x9b'); "
        "sys.stderr.buffer.write(b'warn\\x00ing')"
    )
    done = await run_one_job(backend, tmp_path, "noisy", noisy)
    assert done.status == "done"
    result = done.result or {}
    assert result["stdoutTail"] == "a\u2400b\u241b[2Jc\nd\ufffd\ufffde\u2407\ufffd"
    assert result["stderrTail"] == "warn\u2400ing"


async def test_a_result_the_store_still_refuses_is_reported_minimal_with_the_reason(
    stack_backend: SupabaseHarness, tmp_path: Path
) -> None:
    trigger = "sst_refuse_marked_results"
    with stack_backend.stack.connect() as conn:
        conn.execute(
            f"""
            create function {trigger}() returns trigger language plpgsql as $$
            begin
              if new.result ->> 'stdoutTail' like '%REFUSE-ME%' then
                raise exception 'result refused for the test' using errcode = '22023';
              end if;
              return new;
            end $$;
            create trigger {trigger} before update on cron_run_requests
              for each row execute function {trigger}();
            """
        )
    try:
        job = python_job("import sys; print('REFUSE-ME'); sys.exit(3)")
        ended = await run_one_job(stack_backend, tmp_path, "refused", job)
    finally:
        with stack_backend.stack.connect() as conn:
            conn.execute(f"drop trigger {trigger} on cron_run_requests; drop function {trigger}()")
    assert ended is not None
    assert ended.status == "error"
    assert ended.exit_code == 3
    assert ended.reason is not None
    assert "exit code 3" in ended.reason
    assert "the output could not be stored" in ended.reason


# -- 3. no secret reaches a job ----------------------------------------------------------------------

SECRETS = {
    "SUPABASE_SERVICE_ROLE_KEY": "svc-role-secret-0123456789",
    "SUPABASE_SERVICE_KEY": "svc-alt-secret-0123456789",
    "SUPABASE_ANON_KEY": "anon-secret-0123456789",
    "VITE_SUPABASE_ANON_KEY": "vite-anon-secret-0123456789",
    "CONTROL_API_TOKEN": "control-token-secret-0123456789",
    "CONTROL_API_KEY": "control-key-secret-0123456789",
    "CRONMIRROR_WEBHOOK_TOKEN": "cm-webhook-secret-0123456789",
}


async def test_jobs_get_no_secret_variables_and_printed_secrets_are_redacted(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEEP_ME", "plain-value")
    held = "file-held-secret-0123456789"
    secret_file = tmp_path / "key.txt"
    secret_file.write_text(held)
    env_dump = python_job(
        "import os, sys; print('\\n'.join(f'{k}={v}' for k, v in sorted(os.environ.items())));"
        f"print('from a file:', open({str(secret_file)!r}).read())"
    )
    # The tail keeps the last 4,000 characters: the secret is cut at the start of it.
    cut = python_job(f"print({held!r} + 'y' * 3990, end='')")
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("env", env_dump), toml_job("cut", cut)])
    worker = service(backend.worker, sources_for(jobs_file), secrets=(held, *SECRETS.values()))
    env_request = (await backend.app.queue_run(PROJECT, "jobs:env", "test")).request
    cut_request = (await backend.app.queue_run(PROJECT, "jobs:cut", "test")).request
    await worker.drain_once()

    printed = ((await backend.app.get_request(env_request.id)).result or {})["stdoutTail"]  # type: ignore[union-attr]
    assert "KEEP_ME=plain-value" in printed
    for name, value in SECRETS.items():
        assert f"{name}=" not in printed
        assert value not in printed
    assert held not in printed
    assert "from a file: [redacted]" in printed
    tail = ((await backend.app.get_request(cut_request.id)).result or {})["stdoutTail"]  # type: ignore[union-attr]
    assert tail.startswith("[redacted]y")
    assert held[-10:] not in tail


async def test_the_gateway_cli_gets_no_secret_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    dump = tmp_path / "env.json"
    cli = tmp_path / "openclaw"
    cli.write_text(
        f"#!{sys.executable}\n"
        f"import json, os; open({str(dump)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "print(json.dumps({'jobs': []}))\n"
    )
    cli.chmod(0o755)
    await GatewaySource(binary=cli, search_dirs=[]).list_jobs()
    seen = json.loads(dump.read_text())
    assert not set(SECRETS) & set(seen)
    assert not set(SECRETS.values()) & set(seen.values())


# -- 4. a backlog drains at job speed -------------------------------------------------------------------


async def test_a_backlog_drains_without_waiting_for_the_poll(backend: Backend, tmp_path: Path) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job(f"b{i}", ["true"]) for i in range(10)])
    # The poll is an hour away: only a slot that frees up can start the next request.
    worker = service(backend.worker, sources_for(jobs_file), poll_every=3600.0, sync_interval=3600.0)
    async with daemon(worker):
        ids = [(await backend.app.queue_run(PROJECT, f"jobs:b{i}", "test")).request.id for i in range(10)]
        for request_id in ids:
            await wait_for_request(backend, request_id, {"done"}, within=20)
    assert worker.status.finished_count == 10


# -- 5. mirror drift is repaired ---------------------------------------------------------------------


async def test_rows_deleted_or_edited_behind_the_workers_back_come_back(
    backend: Backend, tmp_path: Path
) -> None:
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("a", ["true"]), toml_job("b", ["true"], name="Bee")]
    )
    worker = service(backend.worker, sources_for(jobs_file), sync_interval=0.2, reconcile_every=0.5)
    async with daemon(worker):
        await eventually(lambda: worker.status.last_sync_at is not None)
        backend.raw_delete_mirror("jobs:a")
        backend.raw_update_mirror("jobs:b", name="Renamed by hand")

        async def names() -> dict[str, str]:
            return {j.job_id: j.name for j in await backend.app.list_jobs(PROJECT)}

        async def repaired() -> bool:
            return await names() == {"jobs:a": "A", "jobs:b": "Bee"}

        await eventually_async(repaired)


async def test_a_reconnect_reconciles_the_mirror(stack_backend: SupabaseHarness, tmp_path: Path) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"])])
    worker = service(stack_backend.worker, sources_for(jobs_file), sync_interval=0.2, reconcile_every=3600.0)
    async with daemon(worker):
        await eventually(lambda: worker.status.live == "live")
        live_at = datetime.now(UTC)
        # The sync the first snapshot asked for (a reconcile) is over once a sync ends after it.
        await eventually(lambda: (worker.status.last_sync_at or live_at) > live_at)
        stack_backend.raw_delete_mirror("jobs:a")
        await asyncio.sleep(0.5)  # several syncs pass: from memory, nothing looks changed
        assert await stack_backend.app.list_jobs(PROJECT) == []
        stack_backend.stack.restart_server()

        async def repaired() -> bool:
            return [j.job_id for j in await stack_backend.app.list_jobs(PROJECT)] == ["jobs:a"]

        await eventually_async(repaired, within=15)


# -- 6. a job that outlives its worker never runs twice at once ----------------------------------------


def counting_job(log: Path, pid_file: Path, seconds: float) -> list[str]:
    """A job that notes each start and end in `log` and its pid in `pid_file` (TERM ends it)."""
    return python_job(
        f"import os, pathlib, time; "
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); "
        f"f = open({str(log)!r}, 'a'); f.write('start\\n'); f.flush(); "
        f"time.sleep({seconds}); f.write('end\\n'); f.close()"
    )


async def test_a_survivor_of_a_crash_is_waited_for_and_its_request_ended_honestly(
    backend: Backend, tmp_path: Path
) -> None:
    runs, pid_file, state_dir = tmp_path / "runs.log", tmp_path / "pid", tmp_path / "state"
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("long", counting_job(runs, pid_file, 3))])
    first = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
    proc = await start_worker_process(backend.store_code(), jobs_file, state_dir)
    try:
        await wait_for_request(backend, first.id, {"running"})
        job_pid = read_pid(pid_file)
    finally:
        await kill(proc)
    assert alive(job_pid)  # the job outlived its worker

    worker = service(
        backend.worker, sources_for(jobs_file), state_dir=state_dir, lease_seconds=5, heartbeat_every=1
    )
    async with daemon(worker):
        assert [s.job_id for s in worker.status.survivors] == ["jobs:long"]
        ended = await wait_for_request(backend, first.id, {"done", "error"}, within=15)
        assert ended.status == "error"
        assert ended.reason is not None
        assert "the worker was restarted while this job ran" in ended.reason
        assert runs.read_text() == "start\nend\n"
        second = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
        assert (await wait_for_request(backend, second.id, {"done"}, within=15)).status == "done"
    assert runs.read_text() == "start\nend\nstart\nend\n"  # one copy at a time


async def test_a_survivor_blocks_a_second_copy_and_is_stopped_at_its_timeout(
    backend: Backend, tmp_path: Path
) -> None:
    runs, pid_file, state_dir = tmp_path / "runs.log", tmp_path / "pid", tmp_path / "state"
    jobs_file = write_jobs(
        tmp_path / "jobs.toml", [toml_job("long", counting_job(runs, pid_file, 60), timeout=2)]
    )
    first = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request
    proc = await start_worker_process(backend.store_code(), jobs_file, state_dir)
    try:
        await wait_for_request(backend, first.id, {"running"})
        job_pid = read_pid(pid_file)
    finally:
        await kill(proc)
    # Someone rescued the dead worker's request and the user asked again.
    backend.expire_lease(first.id)
    assert [r.id for r in await backend.worker.rescue_expired(PROJECT)] == [first.id]
    again = (await backend.app.queue_run(PROJECT, "jobs:long", "test")).request

    worker = service(backend.worker, sources_for(jobs_file), state_dir=state_dir)
    async with daemon(worker):
        refused = await wait_for_request(backend, again.id, {"done", "error"})
        await eventually(lambda: not alive(job_pid), within=10)  # killed at start + 2 s timeout (+ grace)
        await eventually(lambda: not worker.status.survivors)
    assert refused.status == "error"
    assert refused.reason is not None
    assert "still running from before the worker restarted" in refused.reason
    assert runs.read_text() == "start\n"
    assert not any((state_dir / "running").glob("*.json"))


# -- 7. a dead worker's request is rescued right after its lease ---------------------------------------


async def test_a_dead_workers_request_is_rescued_right_after_its_lease(
    backend: Backend, tmp_path: Path
) -> None:
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("a", ["true"])])
    request = (await backend.app.queue_run(PROJECT, "jobs:dead", "test")).request
    dead = await backend.new_worker_store()
    claimed = await dead.claim_next(PROJECT, "dead-worker", lease_seconds=5)
    assert claimed is not None
    assert claimed.id == request.id
    # The timed rescue is an hour away: only the lease the worker learnt of (from its snapshot and the
    # live events) can trigger the rescue in time.
    worker = service(backend.worker, sources_for(jobs_file), rescue_every=3600.0, poll_every=3600.0)
    async with daemon(worker):
        rescued = await wait_for_request(backend, request.id, {"error"}, within=5 + 15)
    assert rescued.reason is not None
    assert "dead-worker stopped reporting" in rescued.reason


# -- 8. a timeout names the job's own timeout ---------------------------------------------------------


async def test_a_timeout_reason_names_the_jobs_own_timeout(backend: Backend, tmp_path: Path) -> None:
    stubborn = python_job(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(30)"
    )
    ended = await run_one_job(backend, tmp_path, "stubborn", stubborn, timeout=1)
    assert ended.reason is not None
    assert "timed out after 1 s" in ended.reason


# -- 10. private files (the log file and the status file of a real daemon: test_worker_cli.py) --------


def test_status_and_run_history_files_are_private(tmp_path: Path) -> None:
    write_status(tmp_path / "worker-status.json", WorkerStatus("w", PROJECT, "local: x"))
    RunHistory(tmp_path / "run-history.json").record("jobs:a", LastRun(datetime.now(UTC), "ok", 1))
    for name in ("worker-status.json", "run-history.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
