"""What only the Supabase store has: keys, a network, Realtime that drops and comes back."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web

from cronmirror_desktop.core.errors import AuthFailed, NotConfigured, Unreachable
from cronmirror_desktop.core.store import JobChange, LiveState, RequestChange, Snapshot, StateChange
from cronmirror_desktop.core.supabasestore import SupabaseStore
from tests.pgcluster import free_port
from tests.store_harness import Events
from tests.supastack import Supastack

PROJECT = "front-office"


def states(events: Events) -> list[LiveState]:
    return [e.state for e in events.items if isinstance(e, StateChange)]


async def test_a_wrong_key_fails_fast_with_an_auth_error(supabase_env: Supastack) -> None:
    wrong = supabase_env.make_jwt("anon").rsplit(".", 1)[0] + ".not-the-signature"
    store = SupabaseStore(supabase_env.url, wrong)
    started = time.monotonic()
    try:
        with pytest.raises(AuthFailed) as info:
            await store.list_jobs(PROJECT)
        assert "refused the key" in info.value.message
        events = Events()
        subscription = await store.subscribe(PROJECT, events)
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.AUTH_FAILED)
        assert subscription.state is LiveState.AUTH_FAILED
        assert time.monotonic() - started < 5
    finally:
        await store.close()


async def test_the_anon_key_may_not_write_the_mirror(supabase_env: Supastack) -> None:
    store = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    try:
        with pytest.raises(AuthFailed) as info:
            await store.upsert_mirror(PROJECT, [{"job_id": "x", "name": "X"}])
        assert "service-role key" in info.value.hint
        with pytest.raises(AuthFailed):
            await store.claim_next(PROJECT, "anon-worker")
    finally:
        await store.close()


async def test_missing_or_malformed_settings_say_what_to_fix() -> None:
    with pytest.raises(NotConfigured):
        SupabaseStore("", "key")
    with pytest.raises(NotConfigured):
        SupabaseStore("https://example.supabase.co", "")
    store = SupabaseStore("ftp://nope", "key")
    with pytest.raises(NotConfigured, match="not valid"):
        await store.list_jobs(PROJECT)
    await store.close()


async def test_nothing_listening_is_unreachable_quickly() -> None:
    store = SupabaseStore(f"http://127.0.0.1:{free_port()}", "key")
    started = time.monotonic()
    try:
        with pytest.raises(Unreachable, match="cannot be reached"):
            await store.list_jobs(PROJECT)
        assert time.monotonic() - started < 3  # no 1 + 2 + 4 s retries
    finally:
        await store.close()


async def test_a_url_that_is_not_supabase_says_so() -> None:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html><body>Welcome to nginx!</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    store = SupabaseStore(f"http://127.0.0.1:{port}", "key")
    try:
        with pytest.raises(Unreachable, match="Supabase"):
            await store.list_jobs(PROJECT)
    finally:
        await store.close()
        await runner.cleanup()


async def test_postgres_down_is_unreachable_without_retry_delays(supabase_env: Supastack) -> None:
    store = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    try:
        await store.list_jobs(PROJECT)
        supabase_env.stop_postgres()
        started = time.monotonic()
        with pytest.raises(Unreachable):
            await store.list_jobs(PROJECT)
        assert time.monotonic() - started < 3
    finally:
        supabase_env.start_postgres()
        await store.close()


async def test_a_dropped_connection_is_noticed_rejoined_and_refetched(supabase_env: Supastack) -> None:
    app = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    events = Events()
    subscription = await app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        supabase_env.stop_server()
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.DISCONNECTED)
        assert subscription.state is LiveState.DISCONNECTED
        # Written while the app is cut off: Realtime will never replay this, the refetch must show it.
        with supabase_env.connect() as conn:
            conn.execute(
                "insert into cron_mirror (project_id, job_id, name) values (%s, 'missed', 'Missed')",
                (PROJECT,),
            )
        snapshots = sum(isinstance(e, Snapshot) for e in events.items)
        supabase_env.start_server()
        fresh = await events.wait_for(
            lambda e: isinstance(e, Snapshot) and any(j.job_id == "missed" for j in e.jobs), within=15
        )
        assert sum(isinstance(e, Snapshot) for e in events.items) == snapshots + 1
        assert isinstance(fresh, Snapshot)
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        assert states(events)[-1] is LiveState.LIVE
        # And live changes flow again.
        await worker.upsert_mirror(PROJECT, [{"job_id": "after", "name": "After"}])
        await events.wait_for(
            lambda e: isinstance(e, JobChange) and e.job is not None and e.job.job_id == "after"
        )
    finally:
        await subscription.close()
        await app.close()
        await worker.close()


async def test_payloads_over_notify_size_arrive_intact(supabase_env: Supastack) -> None:
    app = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    events = Events()
    subscription = await app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        big = "instructions " * 5000  # 65 kB
        await worker.upsert_mirror(PROJECT, [{"job_id": "big", "name": "Big", "instructions": big[:60000]}])
        change = await events.wait_for(lambda e: isinstance(e, JobChange))
        assert isinstance(change, JobChange)
        assert change.job is not None
        assert change.job.instructions == big[:60000]
    finally:
        await subscription.close()
        await app.close()
        await worker.close()


async def test_deleted_requests_are_reported_by_id(supabase_env: Supastack) -> None:
    app = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    events = Events()
    subscription = await app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        request = (await app.queue_run(PROJECT, "j", "test")).request
        with supabase_env.connect() as conn:
            conn.execute("delete from cron_run_requests where id = %s", (request.id,))
        deleted = await events.wait_for(lambda e: isinstance(e, RequestChange) and e.request is None)
        assert isinstance(deleted, RequestChange)
        assert deleted.row_id == request.id
        assert deleted.project_id == PROJECT
    finally:
        await subscription.close()
        await app.close()


def test_the_store_never_shows_its_key(supabase_env: Supastack) -> None:
    store = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    assert supabase_env.service_role_key not in repr(store)
    assert supabase_env.service_role_key not in store.location
    asyncio.get_event_loop().run_until_complete(store.close())


# -- hostile rows on the wire (issue 13) ----------------------------------------------------------


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


async def test_a_deeply_nested_result_does_not_take_a_list_down(supabase_env: Supastack) -> None:
    """~1,000 levels make the client's own `json.loads` of a whole answer raise RecursionError (900 made
    pydantic's serializer raise ValueError later): every call that returns requests still answers, the row
    says why its result is not shown, the others are whole."""
    with supabase_env.connect() as conn:
        for depth in (900, 1000, 5000):
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, status, result) "
                "values (%s, %s, 'done', %s::jsonb)",
                (PROJECT, f"deep-{depth}", nested(depth)),
            )
        conn.execute(
            "insert into cron_run_requests (project_id, job_id, status, result, requested_at) "
            "values (%s, 'queued-deep', 'queued', %s::jsonb, now() - interval '1 day')",
            (PROJECT, nested(3000)),
        )
        conn.execute(
            "insert into cron_run_requests (project_id, job_id, status, result) "
            "values (%s, 'fine', 'done', %s)",
            (PROJECT, '{"exitCode": 0, "stdoutTail": "ok"}'),
        )
    app = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    try:
        requests = {r.job_id: r for r in await app.list_requests(PROJECT)}
        assert set(requests) == {"deep-900", "deep-1000", "deep-5000", "queued-deep", "fine"}
        assert requests["fine"].valid
        assert requests["fine"].output_tail == "ok"
        for job_id in ("deep-900", "deep-1000", "deep-5000", "queued-deep"):
            assert any("result too deeply nested" in p for p in requests[job_id].problems)
            assert requests[job_id].result is None
        fetched = await app.get_request(requests["deep-5000"].id)
        assert fetched is not None
        assert fetched.status == "done"
        claimed = await worker.claim_next(PROJECT, "w")  # the oldest queued one is the deep one
        assert claimed is not None
        assert claimed.job_id == "queued-deep"
        assert any("result too deeply nested" in p for p in claimed.problems)
        supabase_env.connect().execute(
            "update cron_run_requests set lease_until = now() - interval '1 second' where id = %s",
            (claimed.id,),
        )
        (rescued,) = await worker.rescue_expired(PROJECT)
        assert rescued.status == "error"
        assert any("result too deeply nested" in p for p in rescued.problems)
    finally:
        await app.close()
        await worker.close()


@pytest.mark.parametrize("depth", [300, 900])
async def test_a_change_too_deep_for_realtime_is_still_shown(
    supabase_env: Supastack, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Realtime delivers the change; realtime-py's parser refuses it (pydantic stops near 250 levels) and
    only logs it, in full. The subscription notices, re-reads the requests, and the row arrives marked;
    the log keeps a few hundred characters of it."""
    app = SupabaseStore(supabase_env.url, supabase_env.anon_key)
    events = Events()
    subscription = await app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        request = (await app.queue_run(PROJECT, "j", "test")).request
        await events.wait_for(lambda e: isinstance(e, RequestChange) and e.request is not None)
        with supabase_env.connect() as conn:
            conn.execute(
                "update cron_run_requests set status = 'done', result = %s::jsonb where id = %s",
                (nested(depth), request.id),
            )

        def deep_done(event: object) -> bool:
            return (
                isinstance(event, RequestChange)
                and event.request is not None
                and event.request.status == "done"
            )

        change = await events.wait_for(deep_done, within=10)
        assert isinstance(change, RequestChange)
        assert change.request is not None
        assert change.request.id == request.id
        assert any("result too deeply nested" in p for p in change.request.problems)
        dropped = [r for r in caplog.records if r.getMessage().startswith("Unrecognized message format")]
        assert dropped, "realtime-py did not drop the change: this test no longer tests the dropped path"
        assert all(len(r.getMessage()) < 1000 for r in dropped)
        # Live changes keep flowing.
        await app.queue_run(PROJECT, "after", "test")
        await events.wait_for(
            lambda e: isinstance(e, RequestChange) and e.request is not None and e.request.job_id == "after"
        )
    finally:
        await subscription.close()
        await app.close()
