"""`cronmirror` against real stores (embedded file, the Supabase stand-in) and a real Control API server."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cronmirror_desktop import cli
from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.paths import ENV_DEV_DIR
from cronmirror_desktop.core.presence import presence_row
from cronmirror_desktop.core.supabasestore import SupabaseStore
from tests.fake_controlapi import FakeControlApi, FakeJob
from tests.pgcluster import free_port
from tests.supastack import Supastack
from tests.worker_harness import (
    PROJECT,
    eventually,
    python_job,
    service,
    sources_for,
    toml_job,
    write_jobs,
)
from worker.service import WorkerService


async def run_cli(*argv: str) -> tuple[int, str]:
    """Run `cronmirror ARGV` as a user would (its own asyncio.run), in a thread; (exit code, stdout)."""
    out = io.StringIO()

    def call() -> int:
        try:
            return cli.main(list(argv), stream=out)
        except SystemExit as exc:  # argparse usage errors
            return int(exc.code or 0)

    code = await asyncio.to_thread(call)
    return code, out.getvalue()


@pytest.fixture
def local_file() -> Path:
    """The embedded store the CLI opens by default (in this test's own dev dir)."""
    return resolve_config().paths.local_store_file


@pytest.fixture
def jobs_file(tmp_path: Path) -> Path:
    return write_jobs(
        tmp_path / "jobs.toml",
        [
            toml_job("backup", python_job("print('backed up 3 files')"), name="Nightly backup"),
            toml_job("report", python_job("import sys; sys.exit('report failed: no data')"), name="Report"),
            toml_job("old", ["true"], name="Old cleanup", enabled=False),
        ],
    )


@pytest.fixture
def worker(
    local_file: Path, jobs_file: Path, event_loop: asyncio.AbstractEventLoop
) -> Iterator[WorkerService]:
    store = LocalStore(local_file)
    # (the CLI's `add` tests add jobs running these; a worker adds none unless its owner names the program)
    service_ = service(store, sources_for(jobs_file, new_job_programs=("/bin/echo", "/bin/true")))
    event_loop.run_until_complete(service_.sync_once())
    yield service_
    event_loop.run_until_complete(store.close())


async def test_an_empty_project_says_how_jobs_arrive() -> None:
    code, out = await run_cli("jobs")
    assert code == 0
    assert "No cron jobs mirrored yet. The Mac mini sync worker will publish jobs here." in out


async def test_jobs_table_filters_and_json(worker: WorkerService) -> None:
    code, out = await run_cli("jobs")
    assert code == 0
    assert "Nightly backup" in out
    assert "At 07:00, Monday through Friday" in out
    code, out = await run_cli("jobs", "--json", "--search", "BACK")
    assert code == 0
    jobs = json.loads(out)
    assert [j["jobId"] for j in jobs] == ["jobs:backup"]
    assert {"jobId", "name", "scheduleKind", "scheduleExpr", "nextRunAt", "enabled"} <= set(jobs[0])
    code, out = await run_cli("jobs", "--json", "--disabled")
    assert [j["jobId"] for j in json.loads(out)] == ["jobs:old"]


async def test_jobs_shows_late_jobs_and_late_filters_them(local_file: Path) -> None:
    """Two gateway jobs every 30 min: one ran on time, the other's expected run passed 20 min ago."""
    now = datetime.now(UTC)
    async with LocalStore(local_file) as store:
        await store.upsert_mirror(
            PROJECT,
            [
                {"job_id": "gw-late", "name": "Inbox triage", "schedule_kind": "every",
                 "schedule_expr": "1800000", "next_run_at": now - timedelta(minutes=20),
                 "last_run_at": now - timedelta(minutes=50), "last_status": "ok"},
                {"job_id": "gw-fine", "name": "Calendar sync", "schedule_kind": "every",
                 "schedule_expr": "1800000", "next_run_at": now + timedelta(minutes=10),
                 "last_run_at": now - timedelta(minutes=20), "last_status": "ok"},
            ],
        )  # fmt: skip
    code, out = await run_cli("jobs")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("gw-")}
    assert lines["gw-late"].split()[-2:] == ["late", "yes"]
    assert lines["gw-fine"].split()[-2:] == ["ok", "yes"]
    assert "late: gw-late: expected at " in out
    assert "20 min ago" in out
    code, out = await run_cli("jobs", "--late")
    assert code == 0
    assert "gw-late" in out
    assert "gw-fine" not in out
    code, out = await run_cli("jobs", "--late", "--json")
    (late,) = json.loads(out)
    assert (late["jobId"], late["late"]) == ("gw-late", True)
    assert late["lateReason"].startswith("expected at ")
    assert late["expectedAt"] is not None
    code, out = await run_cli("jobs", "--late", "--search", "calendar")
    assert (code, out.strip()) == (0, "No job matches.")


async def test_jobs_on_two_hosts_show_a_host_column_and_use_each_hosts_zone(local_file: Path) -> None:
    async with LocalStore(local_file) as store:
        await store.upsert_mirror(
            PROJECT,
            [
                presence_row(host="mini-1", worker_id="w1", version="t", started_at=None,
                             time_zone="Asia/Tokyo"),
                {"job_id": "crontab:abc", "name": "Morning report", "schedule_kind": "cron",
                 "schedule_expr": "0 7 * * *", "source": "crontab", "host": "mini-1"},
                {"job_id": "jobs:backup@mini-2", "name": "Backup", "schedule_kind": "cron",
                 "schedule_expr": "0 3 * * *", "tz": "UTC", "source": "jobs", "host": "mini-2"},
            ],
        )  # fmt: skip
    code, out = await run_cli("jobs")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:4] == ["JOB", "ID", "NAME", "HOST"]
    code, out = await run_cli("jobs", "--json", "--host", "mini-1")
    (report,) = json.loads(out)
    assert (report["jobId"], report["host"], report["source"]) == ("crontab:abc", "mini-1", "crontab")
    next_run = datetime.fromisoformat(report["nextRun"])
    assert (next_run.hour, next_run.minute) == (22, 0)  # 07:00 in Tokyo, whatever zone this machine is in


async def test_run_queue_and_wait_follows_the_request_to_done(worker: WorkerService) -> None:
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        code, out = await run_cli("run", "jobs:backup", "--queue", "--wait", "--timeout", "30")
    finally:
        stop.set()
        await daemon
    assert code == 0, out
    assert "Queued run request. Will execute when the Mac mini worker picks it up." in out
    assert "done:" in out
    assert "backed up 3 files" in out


async def test_run_wait_exits_non_zero_when_the_job_fails(worker: WorkerService) -> None:
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        code, out = await run_cli("run", "jobs:report", "--wait", "--json", "--timeout", "30")
    finally:
        stop.set()
        await daemon
    assert code == 1
    data = json.loads(out)
    assert data["mode"] == "queue"
    assert data["request"]["status"] == "error"
    assert "report failed: no data" in data["request"]["reason"]


async def test_run_without_wait_only_queues_and_a_second_run_reuses_it(worker: WorkerService) -> None:
    code, out = await run_cli("run", "jobs:backup", "--json")
    assert code == 0
    first = json.loads(out)
    assert first["created"] is True
    code, out = await run_cli("run", "jobs:backup", "--json")
    second = json.loads(out)
    assert second["created"] is False
    assert second["request"]["id"] == first["request"]["id"]


async def test_unknown_job_and_usage_errors_have_their_exit_codes(worker: WorkerService) -> None:
    code, _ = await run_cli("run", "nope")
    assert code == 6
    code, out = await run_cli("run", "nope", "--json")
    assert json.loads(out)["error"]["kind"] == "NotFound"
    code, _ = await run_cli("frobnicate")
    assert code == 2


async def test_requests_and_cancel(worker: WorkerService) -> None:
    code, out = await run_cli("run", "jobs:backup", "--json")
    request_id = json.loads(out)["request"]["id"]
    code, out = await run_cli("requests", "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [request_id]
    code, out = await run_cli("cancel", request_id)
    assert code == 0
    assert "Cancelled" in out
    code, _ = await run_cli("cancel", request_id)
    assert code == 5  # conflict: it is cancelled already
    code, out = await run_cli("requests")
    assert "cancelled" in out


async def test_cancel_asks_the_worker_to_stop_a_running_request(worker: WorkerService) -> None:
    code, out = await run_cli("run", "jobs:backup", "--json")
    request_id = json.loads(out)["request"]["id"]
    assert await worker.store.claim_next(PROJECT, "w", host="mac-mini") is not None
    code, out = await run_cli("cancel", request_id)
    assert code == 0
    assert "Asked the worker to stop" in out
    code, out = await run_cli("requests", "--json")
    (request,) = json.loads(out)
    assert request["status"] == "running"
    assert request["cancelRequestedBy"].startswith("cli:")


async def test_history_lists_a_jobs_runs_and_jobs_failed_filters(worker: WorkerService) -> None:
    code, out = await run_cli("history", "jobs:backup")
    assert code == 0
    assert "No runs of jobs:backup recorded yet" in out
    for job_id in ("jobs:backup", "jobs:report"):
        await worker.store.queue_run(PROJECT, job_id, "test")
    await worker.drain_once()
    await worker.history.recorder.flush()
    code, out = await run_cli("history", "jobs:report")
    assert code == 0
    assert "request" in out
    assert "error" in out
    code, out = await run_cli("history", "jobs:backup", "--json")
    (run,) = json.loads(out)
    assert (run["status"], run["trigger"], run["stdoutTail"].strip()) == (
        "ok",
        "request",
        "backed up 3 files",
    )
    code, out = await run_cli("jobs", "--failed", "--json")
    assert [j["jobId"] for j in json.loads(out)] == ["jobs:report"]


async def test_run_direct_through_the_control_api(
    worker: WorkerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await FakeControlApi(variant="openclaw").start()
    api.add_job(FakeJob(id="jobs:backup", name="Nightly backup"))
    monkeypatch.setenv("CONTROL_API_BASE_URL", api.url)
    try:
        code, out = await run_cli("run", "jobs:backup", "--wait", "--timeout", "10")
        assert code == 0, out
        assert "Run requested on the Mac mini." in out
        assert [path for _, path, _ in api.requests if path.endswith("/run")] == [
            "/api/cron/jobs%3Abackup/run"
        ]
    finally:
        await api.stop()


async def test_run_direct_says_when_nothing_ran(
    worker: WorkerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await FakeControlApi(variant="clawdbot").start()  # a not-due job is silently skipped there
    api.add_job(FakeJob(id="jobs:backup", name="Nightly backup", due=False))
    monkeypatch.setenv("CONTROL_API_BASE_URL", api.url)
    try:
        code, out = await run_cli("run", "jobs:backup", "--direct", "--wait", "--timeout", "2")
    finally:
        await api.stop()
    assert code == 1
    assert "Nothing ran" in out


async def test_unreachable_control_api_falls_back_to_the_queue(
    worker: WorkerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROL_API_BASE_URL", f"http://127.0.0.1:{free_port()}")
    code, out = await run_cli("run", "jobs:backup")
    assert code == 0
    assert "not reachable; queueing instead" in out
    assert "Queued run request" in out


async def test_config_set_show_and_secrets_never_printed() -> None:
    code, out = await run_cli("config", "set", "anon_key", "super-secret-anon-key")
    assert code == 0
    assert "keychain" in out
    code, out = await run_cli("config", "set", "worker.sync_interval_s", "45")
    assert code == 0
    code, out = await run_cli("config", "show", "--json")
    data = json.loads(out)
    assert data["values"]["anon_key"]["set"] is True
    assert data["worker"]["sync_interval_s"] == 45
    assert "super-secret-anon-key" not in out
    code, out = await run_cli("config", "show")
    assert "super-secret-anon-key" not in out


async def test_doctor_on_the_local_store() -> None:
    code, out = await run_cli("doctor")
    assert code == 0
    assert "✓ Local store" in out


# -- on Supabase ------------------------------------------------------------------------------------


@pytest.fixture
def on_supabase(supabase_env: Supastack, monkeypatch: pytest.MonkeyPatch) -> Supastack:
    monkeypatch.setenv("SUPABASE_URL", supabase_env.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase_env.anon_key)
    monkeypatch.setenv("CRONMIRROR_PROJECT_ID", PROJECT)
    return supabase_env


async def test_queue_on_supabase_with_the_anon_key(on_supabase: Supastack) -> None:
    with on_supabase.connect() as conn:
        conn.execute(
            "insert into cron_mirror (project_id, job_id, name, schedule_kind, schedule_expr) "
            "values (%s, 'inbox', 'Inbox check', 'every', '1800000')",
            (PROJECT,),
        )
    code, out = await run_cli("jobs")
    assert code == 0
    assert "Every 30 minutes" in out
    code, out = await run_cli("run", "inbox", "--json")
    assert code == 0
    assert json.loads(out)["request"]["status"] == "queued"
    code, out = await run_cli("projects", "--json")
    assert {k: v for k, v in json.loads(out)[0].items() if k in ("projectId", "jobCount")} == {
        "projectId": PROJECT,
        "jobCount": 1,
    }


async def test_doctor_on_supabase_checks_realtime(on_supabase: Supastack) -> None:
    code, out = await run_cli("doctor")
    assert code == 0, out
    assert "✓ Supabase" in out
    assert "✓ Realtime" in out


async def test_a_wrong_key_and_a_dead_server_exit_4(
    on_supabase: Supastack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPABASE_ANON_KEY", on_supabase.make_jwt("anon") + "tampered")
    code, _ = await run_cli("jobs")
    assert code == 4
    code, out = await run_cli("doctor")
    assert code == 1
    assert "✗ Supabase" in out
    monkeypatch.setenv("SUPABASE_URL", f"http://127.0.0.1:{free_port()}")
    code, _ = await run_cli("jobs")
    assert code == 4


async def test_run_wait_rides_out_a_server_blip(
    on_supabase: Supastack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --queue --wait --timeout 60` keeps waiting through a 3 s outage (it exited 4 before)."""
    job = python_job("import time; time.sleep(2); print('survived')")
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("slow", job)])
    store = SupabaseStore(on_supabase.url, on_supabase.service_role_key)
    worker = service(store, sources_for(jobs_file), heartbeat_every=1.0)
    await worker.sync_once()
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        cli_run = asyncio.get_running_loop().create_task(
            run_cli("run", "jobs:slow", "--queue", "--wait", "--timeout", "60")
        )
        await eventually(lambda: bool(worker.status.running), within=15)
        on_supabase.stop_server()
        try:
            await asyncio.sleep(3)  # the outage itself
        finally:
            on_supabase.start_server()
        code, out = await asyncio.wait_for(cli_run, 60)
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 20)
        await store.close()
    assert code == 0, out
    assert "survived" in out
    noted = [line for line in capsys.readouterr().err.splitlines() if line.startswith("cronmirror:")]
    assert len(noted) == 1
    assert "Still waiting" in noted[0]


# -- options before or after the command (issue 13) -------------------------------------------------


async def test_global_options_work_before_and_after_the_command(
    worker: WorkerService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--help` shows --json, --local and --dev-dir before COMMAND: a subcommand's own default used to
    override the value given there (`cronmirror --json jobs` printed a table)."""
    for argv in (("--json", "jobs"), ("jobs", "--json"), ("--local", "--json", "jobs", "--search", "back")):
        code, out = await run_cli(*argv)
        assert code == 0, argv
        assert "jobs:backup" in [j["jobId"] for j in json.loads(out)], argv
    code, out = await run_cli("--json", "requests")
    assert json.loads(out) == []
    code, out = await run_cli("--json", "run", "jobs:backup")
    request_id = json.loads(out)["request"]["id"]
    code, out = await run_cli("--json", "--project", PROJECT, "cancel", request_id)
    assert (code, json.loads(out)["status"]) == (0, "cancelled")

    code, out = await run_cli("--project", "elsewhere", "--json", "jobs")
    # The project given before the command is the one used (unknown: exit 6, issue 19).
    assert (code, json.loads(out)["error"]["kind"]) == (6, "NotFound")
    assert "'elsewhere'" in json.loads(out)["error"]["message"]
    code, out = await run_cli("--project", "elsewhere", "jobs", "--json", "--project", PROJECT)
    assert json.loads(out) != []  # and the one after it wins, as usual for a later option

    other = tmp_path / "other-dev-dir"
    with monkeypatch.context() as m:
        m.setenv(ENV_DEV_DIR, str(other.resolve()))
        store = LocalStore(resolve_config().paths.local_store_file)
    try:
        await store.upsert_mirror(PROJECT, [{"job_id": "only-there", "name": "Only there"}])
    finally:
        await store.close()
    for argv in (("--dev-dir", str(other), "--json", "jobs"), ("jobs", "--json", "--dev-dir", str(other))):
        code, out = await run_cli(*argv)
        assert [j["jobId"] for j in json.loads(out)] == ["only-there"], argv


# -- what reaches the terminal (issue 13) -----------------------------------------------------------

TITLE_AND_CLEAR = "\x1b]0;owned\x07\x1b[2J"


@pytest.fixture
def hostile_rows(on_supabase: Supastack) -> Supastack:
    """Rows only a writer the client rules do not bind can make (service role, ClawdOS, anon-worker mode)."""
    with on_supabase.connect() as conn:
        conn.execute(
            "insert into cron_mirror (project_id, job_id, name, schedule_kind, schedule_expr) values "
            "(%s, %s, 'Retitle', 'every', '60000'), (%s, 'fake\nrow', 'Two\nlines', 'every', '60000')",
            (PROJECT, TITLE_AND_CLEAR, PROJECT),
        )
        conn.execute(
            "insert into cron_run_requests (project_id, job_id, status, result) values "
            "(%s, %s, 'error', %s), (%s, 'fake\nrow', 'done', null)",
            (PROJECT, TITLE_AND_CLEAR, json.dumps({"error": f"boom{TITLE_AND_CLEAR}"}), PROJECT),
        )
    return on_supabase


def assert_plain(out: str, rows: int) -> None:
    """No control character but the line ends, and exactly `rows` table lines after the header."""
    assert not any(ch in out for ch in "\x1b\x07\r\t\x00"), repr(out)
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == 1 + rows, lines


async def test_tables_show_control_characters_escaped(hostile_rows: Supastack) -> None:
    code, out = await run_cli("jobs")
    assert code == 0
    table = [line for line in out.splitlines() if not line.startswith("! ")]
    assert_plain("\n".join(table), rows=2)
    assert "\\x1b]0;owned\\x07\\x1b[2J" in out
    assert "fake\\nrow" in out
    assert "Two\\nlines" in out
    warnings = [line for line in out.splitlines() if line.startswith("! ")]
    assert len(warnings) == 2  # job ids with control characters are flagged, one line each
    assert_plain("\n".join(warnings), rows=1)

    code, out = await run_cli("requests")
    assert code == 0
    table = [line for line in out.splitlines() if not line.startswith("! ")]
    assert_plain("\n".join(table), rows=2)
    assert "boom\\x1b]0;owned" in out
    warnings = [line for line in out.splitlines() if line.startswith("! ")]
    assert len(warnings) == 2
    assert_plain("\n".join(warnings), rows=1)


async def test_json_keeps_every_character_exactly(hostile_rows: Supastack) -> None:
    code, out = await run_cli("jobs", "--json")
    assert code == 0
    assert "\x1b" not in out  # JSON escapes it...
    assert {j["jobId"] for j in json.loads(out)} == {TITLE_AND_CLEAR, "fake\nrow"}  # ...exactly
    code, out = await run_cli("--json", "requests")
    requests = {r["jobId"]: r for r in json.loads(out)}
    assert set(requests) == {TITLE_AND_CLEAR, "fake\nrow"}
    assert requests[TITLE_AND_CLEAR]["reason"] == f"boom{TITLE_AND_CLEAR}"


# -- rows no reader could use (issue 13) ------------------------------------------------------------


@pytest.mark.parametrize(
    "when", ["infinity", "-infinity", "294276-01-01T00:00:00Z", "0044-03-15T00:00:00Z BC"]
)
async def test_an_anon_insert_with_a_hostile_requested_at_breaks_nothing(
    on_supabase: Supastack, when: str
) -> None:
    """The issue's first defect, end to end: the anon key inserts with `requested_at` of its choosing.
    The server sets it now; projects, doctor and requests work."""
    async with httpx.AsyncClient(base_url=on_supabase.rest_url) as http:
        answer = await http.post(
            "/cron_run_requests",
            json={"project_id": PROJECT, "job_id": "j", "requested_at": when},
            headers={"apikey": on_supabase.anon_key, "Authorization": f"Bearer {on_supabase.anon_key}"},
        )
    assert answer.status_code == 201
    for argv in (("projects",), ("doctor",), ("requests",), ("--json", "projects")):
        code, out = await run_cli(*argv)
        assert code == 0, (argv, out)
    code, out = await run_cli("--json", "requests")
    (request,) = json.loads(out)
    assert request["problems"] == []


@pytest.mark.parametrize(
    "when", ["infinity", "-infinity", "294276-01-01T00:00:00Z", "0044-03-15T00:00:00Z BC"]
)
async def test_rows_already_holding_hostile_times_are_flagged_not_fatal(
    on_supabase: Supastack, when: str
) -> None:
    """Rows from before the client rules, or from a trusted writer: shown, each with its problem."""
    with on_supabase.connect() as conn:
        conn.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at) values (%s, 'j', %s)",
            (PROJECT, when),
        )
        conn.execute(
            "insert into cron_mirror (project_id, job_id, name, updated_at) values (%s, 'j', 'J', %s)",
            (PROJECT, when),
        )
    for argv in (("projects",), ("doctor",), ("requests",), ("jobs",)):
        code, out = await run_cli(*argv)
        assert code == 0, (argv, out)
    code, out = await run_cli("projects")
    assert f"! {PROJECT}: last_sync_at " in out  # the table marks the project and says why
    code, out = await run_cli("--json", "projects")
    (project,) = json.loads(out)
    assert project["lastRequestAt"] is None
    assert any(p.startswith("last_request_at ") for p in project["problems"])
    code, out = await run_cli("--json", "requests")
    (request,) = json.loads(out)
    assert any(p.startswith("requested_at ") for p in request["problems"])


async def test_a_deeply_nested_result_is_one_rows_problem(on_supabase: Supastack) -> None:
    with on_supabase.connect() as conn:
        for depth in (900, 1000, 5000):
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, status, result) "
                "values (%s, %s, 'done', %s::jsonb)",
                (PROJECT, f"deep-{depth}", '{"a":' * depth + "1" + "}" * depth),
            )
    code, out = await run_cli("requests")
    assert code == 0, out
    assert out.count("deep-") == 3
    code, out = await run_cli("--json", "requests")
    assert code == 0
    for request in json.loads(out):
        assert any("result too deeply nested" in p for p in request["problems"])
