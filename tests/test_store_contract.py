"""One contract for every Store backend: same calls, same answers, same events."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cronmirror_desktop.core.errors import Conflict, InvalidRow, NotFound
from cronmirror_desktop.core.run_log import run_entry
from cronmirror_desktop.core.store import (
    ChangeType,
    JobChange,
    LiveState,
    MirrorTouched,
    RequestChange,
    RunLogChange,
    Snapshot,
    StateChange,
)
from tests.store_harness import Backend, Events

PROJECT = "front-office"
OTHER = "back-office"


def job(job_id: str, name: str | None = None, **extra: object) -> dict[str, object]:
    return {
        "job_id": job_id,
        "name": name or f"Job {job_id}",
        "schedule_kind": "cron",
        "schedule_expr": "*/30 * * * *",
        "tz": "Europe/Berlin",
        "enabled": True,
        **extra,
    }


# -- the mirror ----------------------------------------------------------------------------------


async def test_jobs_are_upserted_listed_sorted_and_deleted(backend: Backend) -> None:
    assert await backend.app.list_jobs(PROJECT) == []
    written = await backend.worker.upsert_mirror(
        PROJECT, [job("b", "beta"), job("a", "Alpha"), job("c", "gamma", enabled=False)]
    )
    assert written == 3
    jobs = await backend.app.list_jobs(PROJECT)
    assert [j.name for j in jobs] == ["Alpha", "beta", "gamma"]
    assert all(j.valid and j.updated_at is not None for j in jobs)
    assert jobs[2].enabled is False

    await backend.worker.upsert_mirror(PROJECT, [job("a", "Alpha renamed", last_status="error")])
    jobs = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}
    assert jobs["a"].name == "Alpha renamed"
    assert jobs["a"].last_status == "error"
    assert len(jobs) == 3

    assert await backend.worker.delete_mirror(PROJECT, ["a", "c", "missing"]) == 2
    assert [j.job_id for j in await backend.app.list_jobs(PROJECT)] == ["b"]


async def test_hundreds_of_gateway_jobs_are_deleted_in_one_call(backend: Backend) -> None:
    """A gateway with 600 jobs removed at once (their ids are UUIDs): the delete's id list went into one
    URL per 500 ids, 23 KB, and every server in front of PostgREST refuses a request line over 8 KB, so
    the sync failed on every pass and the removed jobs stayed in the app."""
    ids = [str(uuid.UUID(int=i)) for i in range(600)]
    await backend.worker.upsert_mirror(PROJECT, [job(i) for i in ids] + [job("kept")])
    assert await backend.worker.delete_mirror(PROJECT, ids) == 600
    assert [j.job_id for j in await backend.app.list_jobs(PROJECT)] == ["kept"]


async def test_projects_are_separate(backend: Backend) -> None:
    await backend.worker.upsert_mirror(PROJECT, [job("a")])
    await backend.worker.upsert_mirror(OTHER, [job("a", "other a"), job("b")])
    assert [j.name for j in await backend.app.list_jobs(PROJECT)] == ["Job a"]
    assert await backend.worker.delete_mirror(OTHER, ["a"]) == 1
    assert [j.name for j in await backend.app.list_jobs(PROJECT)] == ["Job a"]


async def test_upsert_normalises_and_refuses_unwritable_rows(backend: Backend) -> None:
    when = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    await backend.worker.upsert_mirror(PROJECT, [{"job_id": "t", "name": "T", "next_run_at": when}])
    (only,) = await backend.app.list_jobs(PROJECT)
    assert only.next_run_at == when
    assert only.enabled is True
    assert only.schedule_kind is None
    for bad in ({"name": "no id"}, {"job_id": "x"}, {"job_id": "x", "name": "x", "colour": "red"}):
        with pytest.raises(InvalidRow):
            await backend.worker.upsert_mirror(PROJECT, [bad])


async def test_source_and_host_are_written_and_read_back(backend: Backend) -> None:
    await backend.worker.upsert_mirror(
        PROJECT, [job("jobs:a", source="jobs", host="mini-1"), job("g", source="gateway"), job("plain")]
    )
    jobs = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}
    assert (jobs["jobs:a"].source, jobs["jobs:a"].host) == ("jobs", "mini-1")
    assert (jobs["g"].source, jobs["g"].host) == ("gateway", None)
    assert (jobs["plain"].source, jobs["plain"].host) == (None, None)
    assert all(j.valid for j in jobs.values())
    for bad in ({"source": "cron"}, {"host": "mini\n2"}, {"host": "x" * 256}):
        with pytest.raises(InvalidRow):
            await backend.worker.upsert_mirror(PROJECT, [job("bad", **bad)])


async def test_a_host_never_overwrites_or_deletes_another_hosts_row(backend: Backend) -> None:
    await backend.worker.upsert_mirror(PROJECT, [job("jobs:backup", "mini-1's", host="mini-1")])
    other = await backend.new_worker_store()
    await other.upsert_mirror(
        PROJECT, [job("jobs:backup", "mini-2's", host="mini-2"), job("b", host="mini-2")]
    )
    rows = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}
    assert (rows["jobs:backup"].name, rows["jobs:backup"].host) == ("mini-1's", "mini-1")
    assert rows["b"].host == "mini-2"
    assert await other.delete_mirror(PROJECT, ["jobs:backup", "b"], host="mini-2") == 1
    assert [j.job_id for j in await backend.app.list_jobs(PROJECT)] == ["jobs:backup"]
    # A row without a host is taken over by the first host that writes it.
    backend.raw_insert("cron_mirror", {"project_id": PROJECT, "job_id": "legacy", "name": "old"})
    await other.upsert_mirror(PROJECT, [job("legacy", "adopted", host="mini-2")])
    rows = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}
    assert (rows["legacy"].name, rows["legacy"].host) == ("adopted", "mini-2")


async def test_claims_go_to_the_worker_of_the_jobs_host(backend: Backend) -> None:
    await backend.worker.upsert_mirror(
        PROJECT, [job("a1", host="mini-1"), job("b1", host="mini-2"), job("n1")]
    )
    b1 = (await backend.app.queue_run(PROJECT, "b1", "ui")).request
    a1 = (await backend.app.queue_run(PROJECT, "a1", "ui")).request
    n1 = (await backend.app.queue_run(PROJECT, "n1", "ui")).request
    first = await backend.worker.claim_next(PROJECT, "w1", host="mini-1")
    assert first is not None
    assert first.id == a1.id
    second = await backend.worker.claim_next(PROJECT, "w1", host="mini-1")
    assert second is not None
    assert second.id == n1.id
    assert await backend.worker.claim_next(PROJECT, "w1", host="mini-1") is None
    assert await backend.worker.claim_next(PROJECT, "w0") is None  # no host: jobs without one only
    third = await backend.worker.claim_next(PROJECT, "w2", host="mini-2")
    assert third is not None
    assert third.id == b1.id


async def test_fingerprint_rows_are_hidden_from_jobs_but_kept(backend: Backend) -> None:
    backend.raw_insert(
        "cron_mirror",
        {
            "project_id": PROJECT,
            "job_id": "__mirror_state__",
            "name": "mirror state (do not delete)",
            "schedule_kind": "state",
            "schedule_expr": "9f8e7d6c",
            "enabled": False,
        },
    )
    await backend.worker.upsert_mirror(PROJECT, [job("a")])
    assert [j.job_id for j in await backend.app.list_jobs(PROJECT)] == ["a"]
    assert {j.job_id for j in await backend.worker.mirror_rows(PROJECT)} == {"a", "__mirror_state__"}
    (info,) = await backend.app.list_projects()
    assert info.job_count == 1


async def test_garbage_rows_come_back_marked_invalid(backend: Backend) -> None:
    backend.raw_insert(
        "cron_mirror",
        {
            "project_id": PROJECT,
            "job_id": "weird",
            "name": "Weird",
            "schedule_kind": "lunar",
            "tz": "Mars/Olympus_Mons",
            "instructions": "x" * (1024 * 1024),
        },
    )
    await backend.worker.upsert_mirror(PROJECT, [job("fine")])
    jobs = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}
    assert jobs["fine"].valid
    weird = jobs["weird"]
    assert not weird.valid
    assert any("lunar" in p for p in weird.problems)
    assert any("Mars/Olympus_Mons" in p for p in weird.problems)
    assert any("too long" in p for p in weird.problems)

    backend.raw_insert(
        "cron_run_requests",
        {"project_id": PROJECT, "job_id": "weird", "status": "error", "result": [1, 2, 3]},
    )
    (request,) = await backend.app.list_requests(PROJECT)
    assert not request.valid
    assert request.result_text == "[1, 2, 3]"


async def test_list_projects_merges_data_and_configured_ids(backend: Backend) -> None:
    await backend.worker.upsert_mirror(PROJECT, [job("a"), job("b")])
    await backend.app.queue_run(OTHER, "x", "test")
    projects = await backend.app.list_projects(configured=["configured-only", PROJECT])
    by_id = {p.project_id: p for p in projects}
    assert [p.project_id for p in projects] == sorted(by_id)
    assert by_id[PROJECT].job_count == 2
    assert by_id[PROJECT].configured
    assert by_id[PROJECT].last_sync_at is not None
    assert by_id[OTHER].job_count == 0
    assert by_id[OTHER].last_request_at is not None
    assert not by_id[OTHER].configured
    assert by_id["configured-only"].configured
    assert by_id["configured-only"].job_count == 0


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


#: Timestamps as PostgreSQL holds them and PostgREST/Realtime send them; none of them is usable.
HOSTILE_TIMES = {
    "infinity": "infinity",
    "-infinity": "-infinity",
    "year 294276": "294276-01-01T00:00:00+00:00",
    "BC": "0044-03-15T00:00:00+00:00 BC",
}


async def test_hostile_rows_never_break_a_reader(backend: Backend) -> None:
    """Rows PostgreSQL accepts (written before the client rules, by the service role, ClawdOS's worker or in
    anon-worker mode): every reader lists every row, each unusable value a problem of its row."""
    for label, when in HOSTILE_TIMES.items():
        backend.raw_insert(
            "cron_run_requests",
            {"project_id": PROJECT, "job_id": f"at {label}", "requested_at": when, "status": "done"},
        )
    for depth in (900, 1000, 5000):
        backend.raw_insert(
            "cron_run_requests",
            {"project_id": PROJECT, "job_id": f"deep {depth}", "status": "done", "result": nested(depth)},
        )
    backend.raw_insert(
        "cron_mirror",
        {"project_id": PROJECT, "job_id": "forever", "name": "Forever", "updated_at": "infinity"},
    )
    backend.raw_insert(
        "cron_mirror",
        {
            "project_id": PROJECT,
            "job_id": "huge",
            "name": "Huge",
            "schedule_kind": "every",
            "schedule_expr": "99999999999999999999",
            "next_run_at": "294276-01-01T00:00:00+00:00",
        },
    )
    backend.raw_insert("cron_mirror", {"project_id": PROJECT, "job_id": "a\nb", "name": "Newline"})
    await backend.worker.upsert_mirror(PROJECT, [job("fine")])

    (project,) = await backend.app.list_projects()
    assert project.project_id == PROJECT
    assert project.job_count == 4
    assert project.last_sync_at is None  # max(updated_at) is 'infinity'
    assert any(p.startswith("last_sync_at ") for p in project.problems)
    assert project.last_request_at is None

    jobs = {j.job_id: j for j in await backend.app.list_jobs(PROJECT)}
    assert set(jobs) == {"fine", "forever", "huge", "a\nb"}
    assert jobs["fine"].valid
    assert any("updated_at" in p for p in jobs["forever"].problems)
    assert any("every-interval" in p for p in jobs["huge"].problems)
    assert any("next_run_at" in p for p in jobs["huge"].problems)
    assert any("job_id contains control characters" in p for p in jobs["a\nb"].problems)

    requests = {r.job_id: r for r in await backend.app.list_requests(PROJECT, limit=50)}
    assert len(requests) == 7
    for label in HOSTILE_TIMES:
        assert requests[f"at {label}"].requested_at is None
        assert any(p.startswith("requested_at ") for p in requests[f"at {label}"].problems)
    for depth in (900, 1000, 5000):
        deep = requests[f"deep {depth}"]
        assert deep.result is None
        assert any("result too deeply nested" in p for p in deep.problems), deep.problems
        assert deep.status == "done"
        fetched = await backend.app.get_request(deep.id)
        assert fetched is not None
        assert any("result too deeply nested" in p for p in fetched.problems)

    events = Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    try:
        snapshot = await events.wait_for(lambda e: isinstance(e, Snapshot))
        assert isinstance(snapshot, Snapshot)
        assert len(snapshot.jobs) == 4
        assert len(snapshot.requests) == 7
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
    finally:
        await subscription.close()


# -- queueing ------------------------------------------------------------------------------------


async def test_queue_returns_the_active_request_instead_of_a_duplicate(backend: Backend) -> None:
    first = await backend.app.queue_run(PROJECT, "a", "alice@laptop")
    assert first.created
    assert first.request.status == "queued"
    assert first.request.requested_by == "alice@laptop"
    again = await backend.app.queue_run(PROJECT, "a", "bob@desktop")
    assert not again.created
    assert again.request.id == first.request.id
    other_job = await backend.app.queue_run(PROJECT, "b", "alice@laptop")
    assert other_job.created
    claimed = await backend.worker.claim_next(PROJECT, "w1")
    assert claimed is not None
    assert claimed.id == first.request.id
    while_running = await backend.app.queue_run(PROJECT, "a", "carol")
    assert not while_running.created
    assert while_running.request.status == "running"
    assert await backend.worker.complete(claimed.id, "w1", "done", {"exitCode": 0})
    after = await backend.app.queue_run(PROJECT, "a", "carol")
    assert after.created


async def test_list_requests_newest_first_with_limit_and_job_filter(backend: Backend) -> None:
    ids = []
    for i in range(25):
        outcome = await backend.app.queue_run(PROJECT, f"job-{i}", "test")
        ids.append(outcome.request.id)
    recent = await backend.app.list_requests(PROJECT)
    assert len(recent) == 20
    assert [r.id for r in recent] == ids[::-1][:20]
    assert [r.id for r in await backend.app.list_requests(PROJECT, limit=3)] == ids[::-1][:3]
    assert [r.id for r in await backend.app.list_requests(PROJECT, job_id="job-7")] == [ids[7]]
    assert await backend.app.list_requests(OTHER) == []
    fetched = await backend.app.get_request(ids[0])
    assert fetched is not None
    assert fetched.job_id == "job-0"


async def test_cancel_withdraws_a_queued_request_and_asks_to_stop_a_running_one(backend: Backend) -> None:
    running = (await backend.app.queue_run(PROJECT, "a", "test")).request
    queued = (await backend.app.queue_run(PROJECT, "b", "test")).request
    claimed = await backend.worker.claim_next(PROJECT, "w")
    assert claimed is not None
    assert claimed.id == running.id  # oldest first
    cancelled = await backend.app.cancel_request(PROJECT, queued.id, "ui:alice@laptop")
    assert cancelled.status == "cancelled"
    assert cancelled.completed_at is not None
    assert cancelled.reason == "cancelled before a worker picked it up (by ui:alice@laptop)"
    with pytest.raises(Conflict, match="already ended"):
        await backend.app.cancel_request(PROJECT, queued.id)

    # A running request only gets a stop request; its worker ends the job and reports it.
    stop = await backend.app.cancel_request(PROJECT, running.id, "cli:bob@desk")
    assert (stop.status, stop.stopping, stop.cancel_requested_by) == ("running", True, "cli:bob@desk")
    again = await backend.app.cancel_request(PROJECT, running.id, "ui:carol@tablet")
    assert again.cancel_requested_by == "cli:bob@desk"  # the first request to stop wins
    assert await backend.worker.complete(running.id, "w", "cancelled", {"reason": "stopped"})
    ended = await backend.app.get_request(running.id)
    assert ended is not None
    assert ended.status == "cancelled"
    with pytest.raises(NotFound):
        await backend.app.cancel_request(PROJECT, "00000000-0000-4000-8000-000000000000")
    assert await backend.worker.claim_next(PROJECT, "w") is None


async def test_only_a_request_someone_asked_to_stop_completes_as_cancelled(backend: Backend) -> None:
    request = (await backend.app.queue_run(PROJECT, "a", "test")).request
    assert await backend.worker.claim_next(PROJECT, "w") is not None
    assert not await backend.worker.complete(request.id, "w", "cancelled", {"reason": "made up"})
    assert await backend.worker.complete(request.id, "w", "done", {"exitCode": 0})


async def test_live_output_of_a_running_request_only_from_its_holder(backend: Backend) -> None:
    request = (await backend.app.queue_run(PROJECT, "a", "test")).request
    assert await backend.worker.claim_next(PROJECT, "w") is not None
    assert not await backend.worker.report_progress(request.id, "other", {"stdoutTail": "forged"})
    assert await backend.worker.report_progress(request.id, "w", {"stdoutTail": "step 1\n", "live": True})
    live = await backend.app.get_request(request.id)
    assert live is not None
    assert (live.status, live.output_tail) == ("running", "step 1")
    assert await backend.worker.complete(request.id, "w", "done", {"stdoutTail": "step 1\nstep 2\n"})
    assert not await backend.worker.report_progress(request.id, "w", {"stdoutTail": "late"})
    done = await backend.app.get_request(request.id)
    assert done is not None
    assert done.output_tail == "step 1\nstep 2"


def run(job_id: str, key: str, minutes_ago: int, status: str = "ok", **extra: object) -> dict[str, object]:
    return run_entry(
        job_id=job_id,
        run_key=key,
        run_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        status=status,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


async def test_runs_are_recorded_once_per_key_listed_newest_first_and_pruned(backend: Backend) -> None:
    assert await backend.app.run_history(PROJECT) == []
    await backend.worker.record_runs(
        PROJECT,
        [
            run("a", "a-1", 30, trigger="schedule", duration_ms=1200, stdout_tail="first"),
            run("a", "a-2", 20, "running", trigger="request"),
            run("b", "b-1", 10, "error", summary="exit code 3\nmore", stderr_tail="disk full"),
        ],
    )
    # The running one finished: the same key updates its row.
    await backend.worker.record_runs(PROJECT, [run("a", "a-2", 20, trigger="request", duration_ms=900)])
    history = await backend.app.run_history(PROJECT, "a")
    assert [(e.run_key, e.status, e.trigger) for e in history] == [
        ("a-2", "ok", "request"),
        ("a-1", "ok", "schedule"),
    ]
    assert history[1].output == "first"
    everything = await backend.app.run_history(PROJECT)
    assert [e.run_key for e in everything] == ["b-1", "a-2", "a-1"]
    assert everything[0].first_line == "exit code 3: disk full"  # why, and what it said
    assert all(e.valid for e in everything)
    assert set(await backend.app.latest_runs(PROJECT)) == {"a", "b"}
    assert await backend.app.run_history(OTHER) == []

    await backend.worker.record_runs(PROJECT, [run("a", f"a-old-{i}", 100 + i) for i in range(5)])
    assert await backend.worker.prune_run_log(PROJECT, keep=3) == 4
    assert [e.run_key for e in await backend.app.run_history(PROJECT, "a")] == ["a-2", "a-1", "a-old-0"]
    assert [e.run_key for e in await backend.app.run_history(PROJECT, "b")] == ["b-1"]


async def test_run_log_changes_reach_subscribers(backend: Backend) -> None:
    events = Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        await backend.worker.record_runs(PROJECT, [run("a", "a-1", 1, "running")])
        event = await events.wait_for(lambda e: isinstance(e, RunLogChange))
        assert isinstance(event, RunLogChange)
        assert event.entry is not None
        assert (event.entry.job_id, event.entry.status) == ("a", "running")
    finally:
        await subscription.close()


async def test_cancel_refuses_a_request_of_another_project(backend: Backend) -> None:
    """Whoever names a project may withdraw its queued requests (no sign-in, by design), but only its own:
    a request id of another project is not found there, and stays queued."""
    theirs = (await backend.app.queue_run(OTHER, "a", "test")).request
    with pytest.raises(NotFound, match=f"no run request {theirs.id} in project {PROJECT}"):
        await backend.app.cancel_request(PROJECT, theirs.id)
    still = await backend.app.get_request(theirs.id)
    assert still is not None
    assert still.status == "queued"
    assert (await backend.app.cancel_request(OTHER, theirs.id)).status == "cancelled"


@pytest.mark.parametrize(
    ("job_id", "requested_by", "words"),
    [
        ("a", "x" * 5_000_000, "requested_by must be at most 200 characters"),
        ("a", "x" * 201, "requested_by must be at most 200 characters"),
        ("a\nfake row", "test", "job_id must not contain control characters"),
        ("\x1b]0;owned\x07\x1b[2J", "test", "job_id must not contain control characters"),
        ("j" * 513, "test", "job_id must be at most 512 characters"),
    ],
)
async def test_queueing_refuses_unbounded_or_control_text(
    backend: Backend, job_id: str, requested_by: str, words: str
) -> None:
    with pytest.raises(InvalidRow, match=words):
        await backend.app.queue_run(PROJECT, job_id, requested_by)
    with pytest.raises(InvalidRow, match="project_id must not contain control characters"):
        await backend.app.queue_run("front\toffice", "a", "test")
    assert await backend.app.list_requests(PROJECT) == []
    assert (await backend.app.queue_run(PROJECT, "j" * 512, "ü" * 200)).created


# -- the worker's lifecycle ----------------------------------------------------------------------


async def test_claim_heartbeat_complete(backend: Backend) -> None:
    request = (await backend.app.queue_run(PROJECT, "a", "test")).request
    assert await backend.worker.claim_next(OTHER, "w1") is None
    claimed = await backend.worker.claim_next(PROJECT, "w1", lease_seconds=30)
    assert claimed is not None
    assert claimed.id == request.id
    assert claimed.status == "running"
    assert claimed.worker_id == "w1"
    assert claimed.attempts == 1
    assert claimed.picked_up_at is not None
    assert claimed.lease_until is not None
    assert timedelta(seconds=25) < claimed.lease_until - claimed.picked_up_at <= timedelta(seconds=31)
    assert await backend.worker.claim_next(PROJECT, "w2") is None

    assert not await backend.worker.heartbeat(request.id, "w2")
    assert await backend.worker.heartbeat(request.id, "w1", lease_seconds=120)
    beat = await backend.app.get_request(request.id)
    assert beat is not None
    assert beat.lease_until is not None
    assert beat.lease_until > claimed.lease_until

    assert not await backend.worker.complete(request.id, "w2", "done", {"exitCode": 0})
    result = {"exitCode": 0, "durationMs": 12, "stdoutTail": "hi", "stderrTail": "", "workerId": "w1"}
    assert await backend.worker.complete(request.id, "w1", "done", result)
    done = await backend.app.get_request(request.id)
    assert done is not None
    assert done.status == "done"
    assert done.result == result
    assert done.completed_at is not None
    assert done.lease_until is None
    assert not await backend.worker.complete(request.id, "w1", "error", {})


async def test_the_holder_may_complete_after_its_lease_expired_until_a_rescue(backend: Backend) -> None:
    """A result kept through an outage longer than the lease still counts (fails on the old rule)."""
    request = (await backend.app.queue_run(PROJECT, "a", "test")).request
    assert await backend.worker.claim_next(PROJECT, "holder") is not None
    backend.expire_lease(request.id)
    assert not await backend.worker.heartbeat(request.id, "holder")
    assert not await backend.worker.complete(request.id, "someone-else", "done", {"exitCode": 0})
    assert await backend.worker.complete(request.id, "holder", "done", {"exitCode": 0})
    done = await backend.app.get_request(request.id)
    assert done is not None
    assert (done.status, done.exit_code) == ("done", 0)
    assert await backend.worker.rescue_expired(PROJECT) == []


async def test_expired_lease_is_rescued_and_late_complete_changes_nothing(backend: Backend) -> None:
    expired = (await backend.app.queue_run(PROJECT, "a", "test")).request
    live = (await backend.app.queue_run(PROJECT, "b", "test")).request
    assert await backend.worker.claim_next(PROJECT, "slow") is not None
    assert await backend.worker.claim_next(PROJECT, "healthy") is not None
    backend.expire_lease(expired.id)

    assert not await backend.worker.heartbeat(expired.id, "slow")
    rescued = await backend.worker.rescue_expired(PROJECT)
    assert [r.id for r in rescued] == [expired.id]
    assert rescued[0].status == "error"
    assert rescued[0].reason is not None
    assert "slow stopped reporting" in rescued[0].reason
    assert await backend.worker.rescue_expired() == []
    assert not await backend.worker.complete(expired.id, "slow", "done", {"exitCode": 0})
    after = await backend.app.get_request(expired.id)
    assert after is not None
    assert after.status == "error"
    still = await backend.app.get_request(live.id)
    assert still is not None
    assert still.status == "running"


async def test_two_workers_racing_claim_each_request_exactly_once(backend: Backend) -> None:
    ids = {(await backend.app.queue_run(PROJECT, f"job-{i}", "test")).request.id for i in range(60)}
    stores = [backend.worker, await backend.new_worker_store(), await backend.new_worker_store()]
    claimed: list[str] = []

    async def drain(index: int) -> None:
        while (request := await stores[index].claim_next(PROJECT, f"w{index}")) is not None:
            claimed.append(request.id)

    await asyncio.gather(*(drain(i) for i in range(len(stores))))
    counts = Counter(claimed)
    assert set(counts) == ids
    assert max(counts.values()) == 1


async def test_bad_lease_arguments_are_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="lease"):
        await backend.worker.claim_next(PROJECT, "w", lease_seconds=1)
    with pytest.raises(ValueError, match="worker id"):
        await backend.worker.claim_next(PROJECT, "", lease_seconds=60)


# -- live events ---------------------------------------------------------------------------------


async def test_subscription_starts_with_a_snapshot_then_streams_changes(backend: Backend) -> None:
    await backend.worker.upsert_mirror(PROJECT, [job("a")])
    events = Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    try:
        snapshot = await events.wait_for(lambda e: isinstance(e, Snapshot))
        assert isinstance(snapshot, Snapshot)
        assert [j.job_id for j in snapshot.jobs] == ["a"]
        assert snapshot.requests == []
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        assert subscription.state is LiveState.LIVE

        await backend.worker.upsert_mirror(PROJECT, [job("b")])
        inserted = await events.wait_for(lambda e: isinstance(e, JobChange) and e.type is ChangeType.INSERT)
        assert isinstance(inserted, JobChange)
        assert inserted.job is not None
        assert inserted.job.job_id == "b"

        await backend.worker.upsert_mirror(PROJECT, [job("a", "renamed")])
        updated = await events.wait_for(lambda e: isinstance(e, JobChange) and e.type is ChangeType.UPDATE)
        assert isinstance(updated, JobChange)
        assert updated.job is not None
        assert updated.job.name == "renamed"

        request = (await backend.app.queue_run(PROJECT, "a", "test")).request
        queued = await events.wait_for(lambda e: isinstance(e, RequestChange) and e.type is ChangeType.INSERT)
        assert isinstance(queued, RequestChange)
        assert queued.request is not None
        assert queued.request.id == request.id

        await backend.worker.claim_next(PROJECT, "w")

        def running(e: object) -> bool:
            return (
                isinstance(e, RequestChange)
                and e.type is ChangeType.UPDATE
                and e.request is not None
                and e.request.status == "running"
            )

        await events.wait_for(running)

        await backend.worker.delete_mirror(PROJECT, ["b"])
        deleted = await events.wait_for(lambda e: isinstance(e, JobChange) and e.type is ChangeType.DELETE)
        assert isinstance(deleted, JobChange)
        assert deleted.job is None
        assert deleted.row_id == inserted.row_id

        # Another project's changes never arrive.
        count = len(events.items)
        await backend.worker.upsert_mirror(OTHER, [job("zzz")])
        await backend.app.queue_run(OTHER, "zzz", "test")
        await backend.worker.upsert_mirror(PROJECT, [job("marker")])
        await events.wait_for(
            lambda e: isinstance(e, JobChange) and e.job is not None and e.job.job_id == "marker"
        )
        for event in events.items[count:]:
            assert getattr(event, "project_id", PROJECT) == PROJECT
    finally:
        await subscription.close()
        await subscription.close()  # idempotent
    assert subscription.state is LiveState.CLOSED


async def test_events_stop_after_close(backend: Backend) -> None:
    events, witness = Events(), Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    watching = await backend.app.subscribe(PROJECT, witness)
    try:
        await events.wait_for(lambda e: isinstance(e, Snapshot))
        await witness.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        await subscription.close()
        count = len(events.items)
        await backend.worker.upsert_mirror(PROJECT, [job("late")])
        # The change has reached a subscription that is still open: the closed one had its chance too.
        await witness.wait_for(
            lambda e: isinstance(e, JobChange) and e.job is not None and e.job.job_id == "late"
        )
    finally:
        await watching.close()
    assert len(events.items) == count


async def test_bookkeeping_rows_tell_when_a_worker_was_last_heard_of(backend: Backend) -> None:
    presence = {
        "job_id": "__cronmirror_worker__",
        "name": "CronMirror worker (do not delete)",
        "schedule_kind": "state",
        "enabled": False,
    }
    await backend.worker.upsert_mirror(PROJECT, [job("a"), presence])
    events = Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    try:
        snapshot = await events.wait_for(lambda e: isinstance(e, Snapshot))
        assert isinstance(snapshot, Snapshot)
        stamps = {r.job_id: r.updated_at for r in await backend.worker.mirror_rows(PROJECT)}
        assert snapshot.worker_seen_at == max(stamps.values())
        assert [j.job_id for j in snapshot.jobs] == ["a"]
        # What the bookkeeping rows say reaches readers too (a worker's presence: core.worker_report).
        assert [r.job_id for r in snapshot.bookkeeping] == ["__cronmirror_worker__"]
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        await backend.worker.upsert_mirror(PROJECT, [{**presence, "instructions": '{"state": "running"}'}])
        # (Under load the server may still be delivering the writes made before we subscribed, as Realtime
        # does: wait for this write's event, not the first one.)
        touched = await events.wait_for(
            lambda e: (
                isinstance(e, MirrorTouched)
                and e.row is not None
                and e.row.instructions == '{"state": "running"}'
            )
        )
        assert isinstance(touched, MirrorTouched)
        assert touched.at > stamps["__cronmirror_worker__"]
        assert not any(
            isinstance(e, JobChange) and e.job is not None and not e.job.is_job for e in events.items
        )
    finally:
        await subscription.close()


async def test_a_bookkeeping_row_too_large_for_one_live_message_is_still_not_a_job(backend: Backend) -> None:
    """Realtime drops a record over its payload limit ("413") and the store fetches the row: a worker's
    details row that large must still arrive as what it is, never as a job change."""
    details = {"job_id": "__cronmirror_details__", "name": "d", "schedule_kind": "state", "enabled": False}
    await backend.worker.upsert_mirror(PROJECT, [job("a"), details])
    events = Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, StateChange) and e.state is LiveState.LIVE)
        backend.raw_update_mirror("__cronmirror_details__", instructions="x" * (2 * 1024 * 1024))
        touched = await events.wait_for(lambda e: isinstance(e, MirrorTouched) and e.row is not None)
        assert isinstance(touched, MirrorTouched)
        assert touched.row is not None
        assert touched.row.job_id == "__cronmirror_details__"
        assert not any(isinstance(e, JobChange) for e in events.items)
    finally:
        await subscription.close()
