"""Action requests on both stores (the Store contract for `action` and `args`): same calls, same answers."""

from __future__ import annotations

import pytest

from cronmirror_desktop.core.actions import ACTIONS
from cronmirror_desktop.core.errors import InvalidRow
from cronmirror_desktop.core.store import RequestChange
from tests.store_harness import Backend, Events
from tests.test_schema_actions import GOOD, HOSTILE

PROJECT = "front-office"
ALL = tuple(ACTIONS)


@pytest.mark.parametrize(("action", "job_id", "args"), GOOD)
async def test_every_action_is_queued_with_its_args(
    backend: Backend, action: str, job_id: str, args: dict[str, object] | None
) -> None:
    outcome = await backend.app.queue_run(PROJECT, job_id, "ui:alice@laptop", action=action, args=args)
    assert outcome.created
    request = outcome.request
    assert (request.action, request.args, request.status, request.problems) == (action, args, "queued", ())
    fetched = await backend.app.get_request(request.id)
    assert fetched is not None
    assert (fetched.action, fetched.args) == (action, args)


async def test_one_active_request_per_job_and_action_and_runs_as_before(backend: Backend) -> None:
    disable = await backend.app.queue_run(PROJECT, "a", "alice", action="disable")
    again = await backend.app.queue_run(PROJECT, "a", "bob", action="disable")
    assert (disable.created, again.created, again.request.id) == (True, False, disable.request.id)
    run = await backend.app.queue_run(PROJECT, "a", "alice")
    assert run.created
    assert run.request.action == "run"
    assert not (await backend.app.queue_run(PROJECT, "a", "carol")).created
    schedule = {"kind": "cron", "expr": "0 3 * * *"}
    first = await backend.app.queue_run(PROJECT, "a", "x", action="set_schedule", args=schedule)
    other = {"kind": "cron", "expr": "0 4 * * *"}
    second = await backend.app.queue_run(PROJECT, "a", "x", action="set_schedule", args=other)
    assert not second.created
    assert second.request.args == schedule  # the one already waiting, as it was asked
    assert first.created


@pytest.mark.parametrize(
    ("action", "job_id", "args", "words"), [case for case in HOSTILE if case[3] is not None][::3]
)
async def test_both_stores_refuse_hostile_args_in_the_same_words(
    backend: Backend, action: str, job_id: str, args: object, words: str
) -> None:
    with pytest.raises(InvalidRow, match=words):
        await backend.app.queue_run(PROJECT, job_id, "ui", action=action, args=args)  # type: ignore[arg-type]
    assert await backend.app.list_requests(PROJECT) == []


async def test_a_worker_claims_only_the_actions_it_applies(backend: Backend) -> None:
    disable = (await backend.app.queue_run(PROJECT, "a", "ui", action="disable")).request
    run = (await backend.app.queue_run(PROJECT, "b", "ui")).request
    create = (
        await backend.app.queue_run(
            PROJECT, "jobs:n", "ui", action="create", args={"key": "n", "command": ["true"], "host": "mini-2"}
        )
    ).request
    old = await backend.worker.claim_next(PROJECT, "old-worker", host="mini-1")
    assert old is not None
    assert old.id == run.id
    assert await backend.worker.claim_next(PROJECT, "old-worker", host="mini-1") is None
    claimed = await backend.worker.claim_next(PROJECT, "w1", host="mini-1", actions=ALL)
    assert claimed is not None
    assert (claimed.id, claimed.action, claimed.status) == (disable.id, "disable", "running")
    assert await backend.worker.claim_next(PROJECT, "w1", host="mini-1", actions=ALL) is None
    for_mini_2 = await backend.worker.claim_next(PROJECT, "w2", host="mini-2", actions=ALL)
    assert for_mini_2 is not None
    assert for_mini_2.id == create.id
    assert for_mini_2.args == {"key": "n", "command": ["true"], "host": "mini-2"}


async def test_subscribers_see_the_action(backend: Backend) -> None:
    events = Events()
    subscription = await backend.app.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: type(e).__name__ == "Snapshot")
        await backend.app.queue_run(PROJECT, "a", "ui", action="rename", args={"name": "Nightly"})
        change = await events.wait_for(lambda e: isinstance(e, RequestChange) and e.request is not None)
        assert isinstance(change, RequestChange)
        assert change.request is not None
        assert (change.request.action, change.request.args) == ("rename", {"name": "Nightly"})
        assert change.request.action_text == "Rename → “Nightly”"
    finally:
        await subscription.close()


async def test_rows_with_hostile_actions_or_args_are_read_as_problems(backend: Backend) -> None:
    """Rows the client rules never saw (the service role, an old row): shown with a problem, never used."""
    backend.raw_insert(
        "cron_run_requests",
        {
            "project_id": PROJECT,
            "job_id": "a",
            "status": "queued",
            "action": "set_schedule",
            "args": {"kind": "cron", "expr": "0 3 * * *; rm -rf ~"},
        },
    )
    backend.raw_insert(
        "cron_run_requests",
        {"project_id": PROJECT, "job_id": "b", "status": "queued", "action": "rename", "args": {"name": 5}},
    )
    requests = {r.job_id: r for r in await backend.app.list_requests(PROJECT)}
    assert requests["a"].args is None
    assert any("args.expr must be a cron" in p for p in requests["a"].problems)
    assert requests["b"].args is None
    assert "args.name must be text" in requests["b"].problems
