"""ClawdOS's worker beside CronMirror on one project: its rows render right; ours leave its columns be."""

from __future__ import annotations

import json

import pytest

from cronmirror_desktop.core.supabasestore import SupabaseStore
from tests.clawdos_worker import mirror_like_clawdos, run_like_clawdos
from tests.fakes.gateway import sample_jobs
from tests.supastack import Supastack
from tests.test_cli import run_cli

PROJECT = "front-office"


@pytest.fixture
def clawdos_project(supabase_env: Supastack, monkeypatch: pytest.MonkeyPatch) -> Supastack:
    mirror_like_clawdos(supabase_env, PROJECT, sample_jobs())
    monkeypatch.setenv("SUPABASE_URL", supabase_env.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase_env.anon_key)
    monkeypatch.setenv("CRONMIRROR_PROJECT_ID", PROJECT)
    return supabase_env


async def test_their_jobs_list_as_jobs_and_the_fingerprint_does_not(clawdos_project: Supastack) -> None:
    store = SupabaseStore(clawdos_project.url, clawdos_project.anon_key)
    try:
        jobs = {j.job_id: j for j in await store.list_jobs(PROJECT)}
        projects = {p.project_id: p for p in await store.list_projects()}
    finally:
        await store.close()
    assert set(jobs) == {j["id"] for j in sample_jobs()}
    assert "__mirror_state__" not in jobs
    assert projects[PROJECT].job_count == 3
    assert all(job.valid for job in jobs.values()), {j.job_id: j.problems for j in jobs.values()}
    inbox = jobs["9b0d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4"]
    assert inbox.instructions is None  # a systemEvent's text is not mirrored by their worker
    assert inbox.target_agent_key == "main"
    reminder = next(j for j in jobs.values() if j.schedule_kind == "at")
    assert reminder.schedule_expr is None  # their worker writes no expression for `at` jobs


async def test_their_requests_show_duration_and_the_stderr_tail(clawdos_project: Supastack) -> None:
    store = SupabaseStore(clawdos_project.url, clawdos_project.anon_key)
    job_id = "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23"
    try:
        request = (await store.queue_run(PROJECT, job_id, "ui")).request
        run_like_clawdos(
            clawdos_project, request.id, job_id, exit_code=1, stderr="error: unknown option '--force'\n"
        )
        (ended,) = await store.list_requests(PROJECT)
    finally:
        await store.close()
    assert ended.status == "error"
    assert ended.picked_up_at is None
    assert ended.completed_at is None
    assert ended.duration_ms == 812
    assert ended.reason == "error: unknown option '--force'"
    assert ended.valid


async def test_the_cli_shows_their_rows(clawdos_project: Supastack) -> None:
    code, out = await run_cli("jobs")
    assert code == 0
    assert "Morning status" in out
    assert "Every 30 minutes" in out
    assert "mirror state" not in out
    code, out = await run_cli("projects", "--json")
    assert json.loads(out)[0]["jobCount"] == 3


async def test_our_worker_leaves_their_columns_alone(clawdos_project: Supastack) -> None:
    worker = SupabaseStore(clawdos_project.url, clawdos_project.service_role_key)
    job_id = "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23"
    try:
        await worker.upsert_mirror(PROJECT, [{"job_id": job_id, "name": "Morning status (renamed)"}])
    finally:
        await worker.close()
    with clawdos_project.connect() as conn:
        row = conn.execute(
            "select name, target_agent_key, context_policy from cron_mirror where job_id = %s", (job_id,)
        ).fetchone()
    assert row == ("Morning status (renamed)", "isolated", "default")
