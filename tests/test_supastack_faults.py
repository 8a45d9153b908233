"""Fault hooks: the server restarts on the same port, PostgreSQL stops and starts; clients recover."""

from __future__ import annotations

from typing import Any

import httpx
from realtime import RealtimeSubscribeStates

from tests.supastack import Supastack
from tests.supastack.client import close_client, make_client, wait_until
from tests.supastack.wire import rest_client

PROJECT = "p-faults"


async def test_restart_server_drops_sockets_and_clients_reconnect(supabase_env: Supastack) -> None:
    client = await make_client(supabase_env, max_retries=5, initial_backoff=0.1)
    events: list[dict[str, Any]] = []
    states: list[RealtimeSubscribeStates] = []
    try:
        channel = client.channel("faults")
        channel.on_postgres_changes("INSERT", events.append, table="cron_run_requests")
        await channel.subscribe(lambda state, _err: states.append(state))
        port = supabase_env.port

        supabase_env.restart_server()

        assert supabase_env.port == port
        await wait_until(lambda: states[-1] == RealtimeSubscribeStates.SUBSCRIBED and len(states) >= 3)
        assert RealtimeSubscribeStates.CHANNEL_ERROR in states  # the client saw the socket drop
        inserted = (
            await client.table("cron_run_requests").insert({"project_id": PROJECT, "job_id": "j"}).execute()
        )
        await wait_until(lambda: len(events) == 1)
        assert events[0]["data"]["record"]["id"] == inserted.data[0]["id"]
    finally:
        await close_client(client)


def test_stopped_server_refuses_connections_until_started(supabase_env: Supastack) -> None:
    supabase_env.stop_server()
    try:
        try:
            httpx.get(f"{supabase_env.rest_url}/cron_mirror?apikey={supabase_env.anon_key}", timeout=2)
            raise AssertionError("the port still answers")
        except httpx.ConnectError:
            pass
    finally:
        supabase_env.start_server()
    with rest_client(supabase_env) as http:
        assert http.get("/cron_mirror").status_code == 200


def test_postgres_down_is_503_like_postgrest_and_recovers(supabase_env: Supastack) -> None:
    with rest_client(supabase_env, supabase_env.service_role_key) as http:
        assert http.get("/cron_mirror").status_code == 200  # a pooled connection exists
        supabase_env.stop_postgres()
        try:
            down = http.get("/cron_mirror")
            assert supabase_env.postgres_running is False
        finally:
            supabase_env.start_postgres()
        up = http.post(
            "/cron_mirror",
            json={"project_id": PROJECT, "job_id": "j", "name": "J"},
            headers={"Prefer": "return=representation"},
        )
    assert down.status_code == 503
    assert down.json()["code"] == "PGRST001"
    assert up.status_code == 201  # the pool let go of its dead connections


async def test_realtime_recovers_after_postgres_restart(supabase_env: Supastack) -> None:
    client = await make_client(supabase_env)
    writer = await make_client(supabase_env, supabase_env.service_role_key)
    events: list[dict[str, Any]] = []
    try:
        channel = client.channel("pg-restart")
        channel.on_postgres_changes(
            "*", events.append, table="cron_mirror", filter=f"project_id=eq.{PROJECT}"
        )
        await channel.subscribe()
        supabase_env.stop_postgres()
        supabase_env.start_postgres()  # waits for the server's LISTEN connection to be back
        await (
            writer.table("cron_mirror")
            .insert({"project_id": PROJECT, "job_id": "after", "name": "A"})
            .execute()
        )
        await wait_until(lambda: len(events) == 1)
        assert events[0]["data"]["record"]["job_id"] == "after"
    finally:
        await close_client(client)
        await close_client(writer)
