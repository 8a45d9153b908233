"""The unmodified supabase-py AsyncClient against the stand-in (on the session's qasync loop, like the app).

select/insert/update/upsert/delete/rpc through postgrest-py, and realtime INSERT/UPDATE callbacks through
`channel.on_postgres_changes(...).subscribe()`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from postgrest import APIError
from realtime import RealtimeSubscribeStates

from tests.supastack import Supastack
from tests.supastack.client import close_client, make_client, wait_until

PROJECT = "p-client"


async def test_table_operations_through_postgrest_py(supabase_env: Supastack) -> None:
    client = await make_client(supabase_env, supabase_env.service_role_key)
    try:
        jobs = client.table("cron_mirror")
        inserted = await jobs.insert(
            [
                {"project_id": PROJECT, "job_id": "backup", "name": "Nightly backup"},
                {"project_id": PROJECT, "job_id": "report", "name": "Weekly report", "tz": "UTC"},
            ]
        ).execute()
        assert [r["job_id"] for r in inserted.data] == ["backup", "report"]

        found = (
            await jobs.select("job_id,name", count="exact")
            .eq("project_id", PROJECT)
            .ilike("name", "%NIGHTLY%")
            .order("job_id", desc=True)
            .limit(1)
            .execute()
        )
        assert found.data == [{"job_id": "backup", "name": "Nightly backup"}]
        assert found.count == 1

        updated = await jobs.update({"enabled": False}).eq("job_id", "report").execute()
        assert updated.data[0]["enabled"] is False

        upserted = await jobs.upsert(
            {"project_id": PROJECT, "job_id": "report", "name": "Renamed"}, on_conflict="project_id,job_id"
        ).execute()
        assert upserted.data[0]["name"] == "Renamed"
        assert upserted.data[0]["enabled"] is False  # merged into the existing row

        single = await jobs.select("tz").eq("job_id", "report").single().execute()
        assert single.data == {"tz": "UTC"}
        missing = await jobs.select("tz").eq("job_id", "nope").maybe_single().execute()
        assert missing is None

        deleted = await jobs.delete().eq("job_id", "backup").execute()
        assert [r["job_id"] for r in deleted.data] == ["backup"]
        left = await jobs.select("job_id", count="exact").execute()
        assert left.count == 1
    finally:
        await close_client(client)


async def test_rpc_and_errors_through_postgrest_py(supabase_env: Supastack) -> None:
    anon = await make_client(supabase_env)
    worker = await make_client(supabase_env, supabase_env.service_role_key)
    try:
        queued = (
            await anon.table("cron_run_requests").insert({"project_id": PROJECT, "job_id": "j1"}).execute()
        )
        request_id = queued.data[0]["id"]
        with pytest.raises(APIError) as duplicate:
            await anon.table("cron_run_requests").insert({"project_id": PROJECT, "job_id": "j1"}).execute()
        assert duplicate.value.code == "23505"
        with pytest.raises(APIError) as denied:
            await (
                anon.table("cron_mirror")
                .insert({"project_id": PROJECT, "job_id": "x", "name": "X"})
                .execute()
            )
        assert denied.value.code == "42501"

        claimed = await worker.rpc(
            "claim_run_request", {"p_project_id": PROJECT, "p_worker_id": "w1", "p_lease_seconds": 30}
        ).execute()
        assert claimed.data[0]["id"] == request_id
        assert claimed.data[0]["status"] == "running"
        beat = await worker.rpc(
            "heartbeat_run_request", {"p_request_id": request_id, "p_worker_id": "w1"}
        ).execute()
        assert beat.data is True
        done = await worker.rpc(
            "complete_run_request",
            {
                "p_request_id": request_id,
                "p_worker_id": "w1",
                "p_status": "done",
                "p_result": {"exitCode": 0},
            },
        ).execute()
        assert done.data is True
        with pytest.raises(APIError) as unknown:
            await worker.rpc("nope", {}).execute()
        assert unknown.value.code == "PGRST202"
    finally:
        await close_client(anon)
        await close_client(worker)


async def test_realtime_insert_and_update_callbacks(supabase_env: Supastack) -> None:
    listener = await make_client(supabase_env)
    writer = await make_client(supabase_env, supabase_env.service_role_key)
    events: list[dict[str, Any]] = []
    systems: list[Any] = []
    states: list[RealtimeSubscribeStates] = []
    try:
        channel = listener.channel(f"project-{PROJECT}")
        channel.on_postgres_changes(
            "INSERT", events.append, table="cron_run_requests", filter=f"project_id=eq.{PROJECT}"
        )
        channel.on_postgres_changes(
            "UPDATE", events.append, table="cron_run_requests", filter=f"project_id=eq.{PROJECT}"
        )
        channel.on_system(systems.append)
        await channel.subscribe(lambda state, _err: states.append(state))
        assert states == [RealtimeSubscribeStates.SUBSCRIBED]
        await wait_until(lambda: bool(systems))
        assert systems[0].message == "Subscribed to PostgreSQL"

        queued = (
            await listener.table("cron_run_requests")
            .insert({"project_id": PROJECT, "job_id": "j1"})
            .execute()
        )
        await wait_until(lambda: len(events) == 1)
        insert = events[0]["data"]
        assert insert["type"] == "INSERT"
        assert insert["record"]["id"] == queued.data[0]["id"]
        assert insert["record"]["status"] == "queued"

        await writer.rpc("claim_run_request", {"p_project_id": PROJECT, "p_worker_id": "w1"}).execute()
        await wait_until(lambda: len(events) == 2)
        update = events[1]["data"]
        assert update["type"] == "UPDATE"
        assert update["record"]["status"] == "running"
        assert update["record"]["worker_id"] == "w1"
        assert update["old_record"]["status"] == "queued"
        # another project's row does not reach this channel
        await writer.table("cron_run_requests").insert({"project_id": "other", "job_id": "j1"}).execute()
        await writer.table("cron_run_requests").insert({"project_id": PROJECT, "job_id": "j2"}).execute()
        await wait_until(lambda: len(events) == 3)
        assert events[2]["data"]["record"]["job_id"] == "j2"
    finally:
        await close_client(listener)
        await close_client(writer)


async def test_realtime_rls_with_a_user_token(supabase_env: Supastack) -> None:
    with supabase_env.connect() as conn:
        conn.execute("drop table if exists public.sst_client_notes")
        conn.execute(
            "create table public.sst_client_notes (id bigint generated always as identity primary key,"
            " owner uuid not null, title text);"
            "alter table public.sst_client_notes enable row level security;"
            "create policy own on public.sst_client_notes for all to authenticated"
            " using (owner = auth.uid()) with check (owner = auth.uid());"
            "alter publication supabase_realtime add table public.sst_client_notes"
        )
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    client = await make_client(supabase_env, access_token=supabase_env.make_jwt("authenticated", sub=alice))
    seen: list[str] = []
    try:
        channel = client.channel("notes")
        channel.on_postgres_changes(
            "INSERT", lambda p: seen.append(p["data"]["record"]["title"]), table="sst_client_notes"
        )
        await channel.subscribe()
        with supabase_env.connect() as conn:
            conn.execute(
                "insert into sst_client_notes (owner, title) values (%s, 'bob''s'), (%s, 'mine')",
                (bob, alice),
            )
        await client.table("sst_client_notes").insert({"owner": alice, "title": "via REST"}).execute()
        await wait_until(lambda: len(seen) == 2)
        assert seen == ["mine", "via REST"]
        rows = await client.table("sst_client_notes").select("title").order("id").execute()
        assert [r["title"] for r in rows.data] == ["mine", "via REST"]
    finally:
        await close_client(client)
        with supabase_env.connect() as conn:
            conn.execute("drop table public.sst_client_notes")


async def test_refused_handshake_fails_fast_with_make_client(supabase_env: Supastack) -> None:
    expired_key = supabase_env.make_jwt("anon", expires_in=-1)
    client = await make_client(supabase_env, expired_key)
    started = time.monotonic()
    with pytest.raises(Exception, match="401"):
        await client.channel("never").subscribe()
    assert time.monotonic() - started < 2  # default options would retry for ~15 s
    await close_client(client)
