"""The app with rows no one foresaw (issue 13): it starts, shows the project, flags each bad row, and an
unexpected failure of one project is that project's error, never a dead app.

Against the Supabase stand-in with the keys a laptop has (anon) and rows a writer the client rules do not
bind could leave behind (the service role, ClawdOS's worker, anon-worker mode, rows from before the rules).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QModelIndex, QSettings, Qt
from PySide6.QtWidgets import QApplication

from cronmirror_desktop.core.store import EventHandler, LiveState, Snapshot, StoreEvent, Subscription
from cronmirror_desktop.ui.app import run_app
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.presence import AppWindow, Presence
from cronmirror_desktop.ui.request_model import result_details
from tests.supastack import Supastack
from tests.ui_support import PROJECT, UiEnv, WrappingStore, env, started, ui_settings, wait_until

__all__ = ["env", "ui_settings"]  # fixtures, used by name

pytestmark = pytest.mark.pg

ESCAPES = "\x1b]0;owned\x07\x1b[2J"


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture(autouse=True)
def no_quit_on_last_window(qapp: QApplication) -> Iterator[None]:
    QApplication.setQuitOnLastWindowClosed(False)  # as main() sets it
    yield
    QApplication.setQuitOnLastWindowClosed(True)


@pytest.fixture
def on_supabase(supabase_env: Supastack, monkeypatch: pytest.MonkeyPatch) -> Supastack:
    monkeypatch.setenv("SUPABASE_URL", supabase_env.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase_env.anon_key)
    monkeypatch.setenv("CRONMIRROR_PROJECT_ID", PROJECT)
    return supabase_env


async def anon_insert(stack: Supastack, row: dict[str, Any]) -> httpx.Response:
    """What anyone holding the anon key can send, straight to the REST API."""
    async with httpx.AsyncClient(base_url=stack.rest_url) as http:
        return await http.post(
            "/cron_run_requests",
            json=row,
            headers={"apikey": stack.anon_key, "Authorization": f"Bearer {stack.anon_key}"},
        )


def every_role_of_every_cell(model: Any) -> int:
    """Ask the model for everything a view can ask; pytest-qt fails the test on any exception in it."""
    asked = 0
    roles = [*range(0, 14), *range(Qt.ItemDataRole.UserRole, Qt.ItemDataRole.UserRole + 4)]
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column, QModelIndex())
            for role in roles:
                model.data(index, role)
                asked += 1
    return asked


async def test_the_app_starts_and_shows_the_project_with_every_hostile_row(
    on_supabase: Supastack, qapp: QApplication, ui_settings: QSettings
) -> None:
    for when in ("infinity", "-infinity", "294276-01-01T00:00:00Z", "0044-03-15T00:00:00Z BC"):
        answer = await anon_insert(
            on_supabase, {"project_id": PROJECT, "job_id": f"anon {when}", "requested_at": when}
        )
        assert answer.status_code == 201  # accepted: the server set requested_at itself
    with on_supabase.connect() as conn:
        conn.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at, status, result) values "
            "(%s, 'old infinity', 'infinity', 'done', null), (%s, 'old BC', '0044-03-15 BC', 'done', null), "
            "(%s, 'deep 1000', now(), 'done', %s::jsonb), (%s, %s, now(), 'error', %s)",
            (PROJECT, PROJECT, PROJECT, nested(1000), PROJECT, ESCAPES, json.dumps({"error": ESCAPES})),
        )
        conn.execute(
            "insert into cron_mirror (project_id, job_id, name, schedule_kind, schedule_expr, updated_at, "
            "next_run_at, last_run_at, last_duration_ms) values "
            "(%s, 'forever', 'Forever', 'every', '60000', 'infinity', '294276-01-01', '-infinity', "
            "2147483647), "
            "(%s, 'huge', 'Huge', 'every', '99999999999999999999', now(), null, null, null), "
            "(%s, 'fake\nrow', %s, 'cron', '0 7 * * *', now(), null, '0001-01-01 00:00+05', null), "
            "(%s, 'fine', 'Fine', 'every', '60000', now(), null, null, null)",
            (PROJECT, PROJECT, PROJECT, ESCAPES, PROJECT),
        )
    args = build_parser().parse_args([])
    ready: asyncio.Future[Presence] = asyncio.get_running_loop().create_future()
    running = asyncio.ensure_future(
        run_app(qapp, args, settings=ui_settings, tray=False, on_started=ready.set_result)
    )
    presence = await asyncio.wait_for(ready, 15)
    window = presence.window
    assert isinstance(window, AppWindow)
    controller = window.controller
    try:
        await wait_until(lambda: controller.live_state is LiveState.LIVE, within=20, what="live")
        assert controller.project_id == PROJECT
        assert [p.project_id for p in controller.projects] == [PROJECT]
        (project,) = controller.projects
        assert project.problems  # the view's max(updated_at) is 'infinity': flagged, not fatal
        assert project.job_count == 4

        jobs = {j.job_id: j for j in controller.job_model.jobs()}
        assert set(jobs) == {"forever", "huge", "fake\nrow", "fine"}
        assert window.proxy.rowCount() == 4
        assert [j for j, job in jobs.items() if job.valid] == ["fine"]
        requests = {r.job_id: r for r in controller.request_model.requests()}
        assert len(requests) == 8
        assert any("result too deeply nested" in p for p in requests["deep 1000"].problems)
        assert "result too deeply nested" in result_details(requests["deep 1000"])
        for when in ("infinity", "-infinity", "294276-01-01T00:00:00Z", "0044-03-15T00:00:00Z BC"):
            assert requests[f"anon {when}"].valid  # the server's own now()
        assert requests["old infinity"].requested_at is None
        assert not requests["old infinity"].valid

        assert every_role_of_every_cell(controller.job_model) > 0
        assert every_role_of_every_cell(controller.request_model) > 0
        for row in range(window.proxy.rowCount()):  # the details pane of every job
            window.table.selectRow(row)
            await asyncio.sleep(0.02)
            window.grab()
        for request in requests.values():  # each request selected (and flashed) in the dock
            window.dock.highlight(request.id)
            await asyncio.sleep(0.02)
            window.dock.grab()

        # A change no client can parse arrives while the app runs: shown, marked, and the app goes on.
        with on_supabase.connect() as conn:
            conn.execute(
                "update cron_run_requests set result = %s::jsonb where project_id = %s and job_id = 'fine'",
                (nested(900), PROJECT),
            )
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, status, result) "
                "values (%s, 'fine', 'done', %s::jsonb)",
                (PROJECT, nested(900)),
            )

        def deep_live() -> bool:
            return any(
                r.job_id == "fine" and any("too deeply nested" in p for p in r.problems)
                for r in controller.request_model.requests()
            )

        await wait_until(deep_live, within=15, what="the deep change to be shown")
        assert controller.live_state is LiveState.LIVE
        outcome = await controller.run_job("huge")  # and Run still works
        assert outcome.mode == "queued"
    finally:
        window.close()
        assert await asyncio.wait_for(running, 15) == 0


# -- an unexpected failure is one project's error -------------------------------------------------


class Exploding(WrappingStore):
    """A store with a bug where nobody expected one (not a CronMirrorError): listing projects raises,
    opening the first project raises, the second one's Snapshot cannot be shown."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.opened: list[str] = []

    async def list_projects(self, configured: Any = ()) -> Any:
        raise RuntimeError("the view returned something odd")

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        self.opened.append(project_id)
        if project_id == PROJECT:
            raise KeyError("project_id")

        def broken(event: StoreEvent) -> None:
            if isinstance(event, Snapshot):
                event = Snapshot(event.project_id, None, [])  # type: ignore[arg-type]
            on_event(event)

        return await self.inner.subscribe(project_id, broken)


async def test_an_unexpected_failure_is_shown_for_that_project(env: UiEnv) -> None:
    async with env:
        store = Exploding(env.store)
        controller = env.controller(store, supabase_configured=True)  # as with --local
        notices: list[tuple[str, str]] = []
        controller.notice.connect(lambda level, text: notices.append((level, text)))
        window = env.window(controller)
        window.show()
        await started(controller)  # before: the RuntimeError ended start(), and with it the app
        assert (
            "error",
            "Could not list the projects: RuntimeError: the view returned something odd",
        ) in notices
        await wait_until(lambda: controller.live_state is LiveState.DISCONNECTED)
        assert controller.live_detail == f"Could not load project {PROJECT}: KeyError: 'project_id'"
        assert not controller.loading
        assert window.banner.isVisible()
        assert "Could not load project" in window.banner.message.text  # type: ignore[union-attr]

        controller.switch_project("second")
        await wait_until(
            lambda: controller.live_detail.startswith("Could not load project second: TypeError"),
            what="the second project's error",
        )
        assert not controller.loading
        assert notices[-1][0] == "error"
        assert store.opened == [PROJECT, "second"]
        window.search.setText("still responsive")
