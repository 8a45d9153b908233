"""The app controller against a real LocalStore file, with a second store playing the Mac mini's worker,
and against a real local HTTP server answering like ClawdOS's Control API."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from cronmirror_desktop.core.controlapi import ControlApiClient
from cronmirror_desktop.core.rows import ProjectInfo
from cronmirror_desktop.core.store import ChangeType, JobChange, LiveState, RequestChange
from cronmirror_desktop.ui.controller import QUEUED_TOAST, AppController, ControlApiState
from cronmirror_desktop.ui.request_model import COL_STATUS
from tests.fake_controlapi import FakeControlApi, FakeJob
from tests.ui_support import (
    PROJECT,
    WORKER,
    DelayingStore,
    SnapshotTrackingStore,
    StateScriptStore,
    UiEnv,
    env,
    job,
    mirror_row,
    started,
    ui_settings,
    wait_until,
)

__all__ = ["env", "ui_settings"]  # fixtures, used by name


class Notices:
    """Records the controller's notices (what the toasts show)."""

    def __init__(self, controller: AppController) -> None:
        self.items: list[tuple[str, str]] = []
        controller.notice.connect(lambda level, text: self.items.append((level, text)))

    def texts(self) -> list[str]:
        return [text for _, text in self.items]

    def last(self) -> str:
        return self.items[-1][1] if self.items else ""


def job_ids(controller: AppController) -> list[str]:
    return sorted(j.job_id for j in controller.job_model.jobs())


async def test_snapshot_fills_jobs_and_requests(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox"), mirror_row("backup", enabled=False)])
        await env.writer.queue_run(PROJECT, "inbox", "ui")
        controller = await started(env.controller())
        assert job_ids(controller) == ["backup", "inbox"]
        assert controller.request_model.rowCount() == 1
        assert controller.live_state is LiveState.LIVE
        assert [p.project_id for p in controller.projects] == [PROJECT]


async def test_worker_writes_show_up_live_in_place_without_a_reset(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox")])
        controller = await started(env.controller())
        resets: list[str] = []
        controller.job_model.modelReset.connect(lambda: resets.append("jobs"))
        controller.request_model.modelReset.connect(lambda: resets.append("requests"))

        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", last_status="error"), mirror_row("new-job")]
        )
        await wait_until(lambda: job_ids(controller) == ["inbox", "new-job"], what="the new job")
        await wait_until(lambda: controller.job_model.find_job("inbox").last_status == "error")  # type: ignore[union-attr]
        await env.writer.delete_mirror(PROJECT, ["new-job"])
        await wait_until(lambda: job_ids(controller) == ["inbox"], what="the delete")
        await env.writer.queue_run(PROJECT, "inbox", "someone-else")
        await wait_until(lambda: controller.request_model.rowCount() == 1, what="the request")
        assert resets == []


async def test_run_queues_a_request_and_says_the_seed_words(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox")])
        controller = await started(env.controller())
        notices = Notices(controller)
        outcome = await controller.run_job("inbox")
        assert outcome.mode == "queued"
        assert outcome.created
        assert notices.last() == "Queued run request. Will execute when the Mac mini worker picks it up."
        assert notices.last() == QUEUED_TOAST
        assert controller.request_model.request_at(0).status == "queued"
        stored = await env.writer.list_requests(PROJECT)
        assert [r.requested_by for r in stored] == ["ui"]


async def test_second_run_while_active_says_so_and_highlights_it(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        controller = await started(env.controller())
        notices = Notices(controller)
        highlighted: list[str] = []
        controller.highlightRequest.connect(highlighted.append)
        first = await controller.run_job("inbox")
        second = await controller.run_job("inbox")
        assert not second.created
        assert second.request is not None
        assert first.request is not None
        assert second.request.id == first.request.id
        assert highlighted == [first.request.id]
        assert "“Inbox check” already has a queued run request" in notices.last()
        assert len(await env.writer.list_requests(PROJECT)) == 1
        # Still true while it runs.
        await env.writer.claim_next(PROJECT, WORKER)
        await wait_until(lambda: controller.request_model.request_at(0).status == "running")
        third = await controller.run_job("inbox")
        assert not third.created
        assert "already has a running run request" in notices.last()


async def test_a_request_moves_queued_running_done_live_and_the_user_is_told(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        controller = await started(env.controller())
        notices = Notices(controller)
        outcome = await controller.run_job("inbox")
        assert outcome.request is not None
        claimed = await env.writer.claim_next(PROJECT, WORKER)
        assert claimed is not None
        await wait_until(lambda: controller.request_model.request_at(0).status == "running", what="running")
        await env.writer.complete(
            claimed.id, WORKER, "done", {"exitCode": 0, "durationMs": 1234, "stdoutTail": "ok\n"}
        )
        await wait_until(lambda: controller.request_model.request_at(0).status == "done", what="done")
        assert notices.last() == "“Inbox check” finished on the Mac mini (1.2 s)."
        assert controller.request_model.rowCount() == 1


async def test_a_failed_run_tells_the_reason(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("weekly", "Weekly review")])
        controller = await started(env.controller())
        notices = Notices(controller)
        await controller.run_job("weekly")
        claimed = await env.writer.claim_next(PROJECT, WORKER)
        assert claimed is not None
        await env.writer.complete(
            claimed.id, WORKER, "error", {"exitCode": 1, "stderrTail": "error: unknown option '--force'\n"}
        )
        await wait_until(lambda: "failed" in notices.last(), what="the failure notice")
        assert notices.last() == "“Weekly review” failed on the Mac mini: error: unknown option '--force'"


async def test_cancel_a_queued_request_stop_a_running_one_and_explain_a_late_cancel(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox"), mirror_row("backup")])
        controller = await started(env.controller())
        notices = Notices(controller)
        queued = (await controller.run_job("inbox")).request
        assert queued is not None
        cancelled = await controller.cancel_request(queued.id)
        assert cancelled is not None
        assert cancelled.status == "cancelled"
        assert "Cancelled the run request" in notices.last()
        row = controller.request_model.row_of(queued.id)
        assert row is not None
        assert controller.request_model.request_at(row).status == "cancelled"

        # Running: Cancel becomes "stop", recorded with who asked; the row stays running until the
        # worker reports, and says it is stopping.
        other = (await controller.run_job("backup")).request
        assert other is not None
        await env.writer.claim_next(PROJECT, WORKER)
        stopping = await controller.cancel_request(other.id)
        assert stopping is not None
        assert stopping.status == "running"
        assert stopping.stopping
        assert stopping.cancel_requested_by is not None
        assert stopping.cancel_requested_by.startswith("ui:")
        assert "Asked the worker to stop “Backup”" in notices.last()
        row = controller.request_model.row_of(other.id)
        assert row is not None
        shown = controller.request_model.request_at(row)
        assert shown.stopping
        assert controller.request_model.index(row, COL_STATUS).data() == "Stopping…"
        assert not controller.can_stop(shown)  # asked once; the button does not ask again

        # Too late: it ended meanwhile; said plainly, and the row shows what really happened.
        await env.writer.complete(other.id, WORKER, "done", {"exit_code": 0})
        said = len(notices.items)
        assert await controller.cancel_request(other.id) is None
        # (the live "finished" notice of our own request may arrive before or after this one)
        assert any("already ended" in text for text in notices.texts()[said:])
        row = controller.request_model.row_of(other.id)
        assert row is not None
        assert controller.request_model.request_at(row).status == "done"


async def test_switching_projects_reloads_both_lists_and_late_events_never_show(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror("alpha", [mirror_row("a1"), mirror_row("a2")])
        await env.writer.upsert_mirror("beta", [mirror_row("b1")])
        await env.writer.queue_run("alpha", "a1", "ui")
        await env.writer.queue_run("beta", "b1", "ui")
        slow = DelayingStore(env.store, delay=0.25)
        controller = await started(env.controller(slow, project_id="alpha"))
        assert job_ids(controller) == ["a1", "a2"]
        assert {p.project_id for p in controller.projects} == {"alpha", "beta"}

        # An alpha change is in flight (delivered late) when the user switches to beta.
        await env.writer.upsert_mirror("alpha", [mirror_row("a3")])
        await env.writer.queue_run("alpha", "a2", "ui")
        # The subscription has picked both up; their delivery is still on its way.
        await wait_until(
            lambda: {type(e) for e in slow.in_flight} >= {JobChange, RequestChange}, what="alpha in flight"
        )
        controller.switch_project("beta")
        assert job_ids(controller) == []  # cleared at once: nothing of alpha stays on screen
        await wait_until(lambda: not controller.loading, what="beta's snapshot")
        await wait_until(lambda: not slow.in_flight, what="every late alpha event delivered")

        late_alpha = [e for e in slow.delivered_late if getattr(e, "project_id", "") == "alpha"]
        assert any(isinstance(e, JobChange) for e in late_alpha)
        assert controller.dropped_events >= 2
        assert job_ids(controller) == ["b1"]
        assert {r.job_id for r in controller.request_model.requests()} == {"b1"}
        assert controller.project_id == "beta"


async def test_switching_back_and_forth_quickly_ends_on_the_last_choice(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror("alpha", [mirror_row("a1")])
        await env.writer.upsert_mirror("beta", [mirror_row("b1")])
        tracking = SnapshotTrackingStore(env.store)
        controller = await started(env.controller(tracking, project_id="alpha"))
        for project in ("beta", "alpha", "beta", "alpha", "beta"):
            controller.switch_project(project)
        await wait_until(lambda: not controller.loading)
        await wait_until(tracking.settled, what="every subscription's snapshot, or its close")
        assert job_ids(controller) == ["b1"]


async def test_events_from_another_thread_reach_the_models_on_the_gui_thread(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox")])
        scripted = StateScriptStore(env.store, kind="local")
        controller = await started(env.controller(scripted))
        gui = threading.get_ident()
        seen_on: list[int] = []
        controller.job_model.rowsInserted.connect(lambda *_: seen_on.append(threading.get_ident()))
        handler = scripted.handlers[-1]
        change = JobChange(ChangeType.INSERT, PROJECT, "row-x", job("x", "From a thread"))
        thread = threading.Thread(target=handler, args=(change,))
        thread.start()
        thread.join()
        await wait_until(lambda: "x" in job_ids(controller), what="the hopped event")
        assert seen_on == [gui]


async def test_selected_job_gets_its_own_live_request_list(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox"), mirror_row("backup")])
        await env.writer.queue_run(PROJECT, "backup", "ui")
        controller = await started(env.controller())
        controller.select_job(controller.job_model.find_job("inbox"))
        loading = controller.task("job-requests")
        assert loading is not None
        await loading
        assert controller.job_requests.rowCount() == 0
        await env.writer.queue_run(PROJECT, "inbox", "ui")
        await wait_until(lambda: controller.job_requests.rowCount() == 1, what="inbox's request")
        controller.select_job(controller.job_model.find_job("backup"))
        await wait_until(
            lambda: controller.job_requests.rowCount() == 1 and controller.job_requests.job_id == "backup"
        )
        assert controller.job_requests.request_at(0).job_id == "backup"


async def test_configured_projects_appear_even_without_data(env: UiEnv) -> None:
    async with env:
        controller = await started(env.controller(project_id=None, configured_projects=("ops", "home")))
        assert [p.project_id for p in controller.projects] == ["home", "ops"]
        assert all(isinstance(p, ProjectInfo) and p.configured for p in controller.projects)
        assert controller.project_id == "ops"  # the first configured one


async def test_stale_while_the_subscription_is_down(env: UiEnv) -> None:
    async with env:
        await env.writer.queue_run(PROJECT, "inbox", "ui")
        scripted = StateScriptStore(env.store)
        controller = await started(env.controller(scripted))
        assert not controller.request_model.stale
        scripted.push(LiveState.DISCONNECTED, "socket closed")
        assert controller.request_model.stale
        assert controller.stale_since is not None
        scripted.push(LiveState.LIVE)
        assert not controller.request_model.stale
        assert controller.stale_since is None


# -- direct mode through the Control API ------------------------------------------------------------


@contextlib.asynccontextmanager
async def control_api(**kwargs: Any) -> AsyncIterator[FakeControlApi]:
    """A real HTTP server answering like ClawdOS's Control API (tests/fake_controlapi.py)."""
    api = FakeControlApi(**kwargs)
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


async def test_direct_run_is_requested_then_confirmed(env: UiEnv) -> None:
    async with env, control_api(variant="openclaw") as api:
        api.add_job(FakeJob("inbox", "Inbox check"))
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        controller = env.controller(control_api=ControlApiClient(api.url))
        controller.confirm_interval = 0.05
        await started(controller)
        notices = Notices(controller)
        await wait_until(lambda: controller.control_state is ControlApiState.REACHABLE, what="health")
        outcome = await controller.run_job("inbox")
        assert outcome.mode == "direct"
        assert notices.last() == "Run requested on the Mac mini."
        await wait_until(lambda: len(notices.items) == 2, what="the confirmation")
        level, text = notices.items[-1]
        assert level == "success"
        assert text.startswith("“Inbox check”: ")
        assert "Ran" in text
        assert await env.writer.list_requests(PROJECT) == []  # nothing was queued
        assert any(h.get("x-clawdos-project") == PROJECT for _, _, h in api.requests)


async def test_direct_run_that_did_not_run_says_so(env: UiEnv) -> None:
    async with env, control_api(variant="clawdbot") as api:
        api.add_job(FakeJob("inbox", "Inbox check", due=False))
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        controller = env.controller(control_api=ControlApiClient(api.url))
        controller.confirm_seconds = 0.5
        controller.confirm_interval = 0.1
        await started(controller)
        notices = Notices(controller)
        await wait_until(lambda: controller.control_state is ControlApiState.REACHABLE)
        await controller.run_job("inbox")
        await wait_until(lambda: len(notices.items) == 2, what="the verdict")
        level, text = notices.items[-1]
        assert level == "warning"
        assert "Nothing ran within" in text


async def test_direct_run_failure_shows_the_cli_line_not_the_server_path(env: UiEnv) -> None:
    async with env, control_api(variant="openclaw") as api:
        api.add_job(FakeJob("inbox", "Inbox check"))
        api.cli_stderr = "error: unknown option '--force'\n"
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        controller = await started(env.controller(control_api=ControlApiClient(api.url)))
        notices = Notices(controller)
        await wait_until(lambda: controller.control_state is ControlApiState.REACHABLE)
        await controller.run_job("inbox")
        level, text = notices.items[-1]
        assert level == "error"
        assert "unknown option '--force'" in text
        assert "/opt/homebrew" not in text


async def test_unreachable_control_api_means_run_is_queued(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox")])
        client = ControlApiClient("http://127.0.0.1:9", health_timeout=0.5)  # discard port: nothing listens
        controller = await started(env.controller(control_api=client))
        notices = Notices(controller)
        await wait_until(lambda: controller.control_state is ControlApiState.UNREACHABLE, what="unreachable")
        outcome = await controller.run_job("inbox")
        assert outcome.mode == "queued"
        assert notices.last() == QUEUED_TOAST


async def test_without_a_control_api_it_is_not_configured(env: UiEnv) -> None:
    async with env:
        controller = await started(env.controller())
        assert controller.control_state is ControlApiState.NOT_CONFIGURED
        assert await controller.check_control_api() is ControlApiState.NOT_CONFIGURED
