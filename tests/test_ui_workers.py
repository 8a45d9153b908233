"""One worker truth in the window (issue 19, points 2, 3, 4, 6, 8): the toolbar speaks for the worker in
this app, the connection panel for the project's workers as their presence rows say, the toast says who
will run a request, the banner and the empty table say why, and what the sources found is shown.

Real widgets over a real store; the Mac mini's worker is a real `WorkerService` on its own store of the
same file; time moves with a `ManualClock`."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, QUrl
from PySide6.QtWidgets import QLabel

from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.core.supabasestore import SupabaseStore
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc
from cronmirror_desktop.ui.banner import BannerKind
from cronmirror_desktop.ui.controller import QUEUED_IN_APP_TOAST, QUEUED_NO_WORKER_TOAST, QUEUED_TOAST
from cronmirror_desktop.ui.main_window import MainWindow
from cronmirror_desktop.ui.worker_host import WorkerHost, WorkerState
from cronmirror_desktop.ui.worker_menu import WorkerMenu
from tests.supastack import Supastack
from tests.ui_support import (
    PROJECT,
    ManualClock,
    UiEnv,
    env,
    mirror_row,
    started,
    ui_settings,
    wait_until,
)
from tests.worker_harness import service, sources_for, toml_job, write_jobs
from worker.configured import WorkerParts
from worker.service import WorkerOptions, WorkerService

__all__ = ["env", "ui_settings"]  # fixtures, used by name

pytestmark = pytest.mark.usefixtures("qapp")

#: The host the Mac mini's worker says it is (tests.worker_harness.sources_for); the app's is "laptop".
HOST = "mac-mini"
TYPO = '\n[jobs.typo]\nname = "Typo"\ncron = "0 3 * * *"\ncommand = "echo not a list"\n'


@asynccontextmanager
async def mac_mini_worker(env: UiEnv, jobs: list[str], **options: Any) -> AsyncIterator[WorkerService]:
    """The Mac mini's worker (`cronmirror-worker run`): its own store on the same file, its own task."""
    jobs_file = write_jobs(env.path.parent / "mac-mini-jobs.toml", jobs)
    store = LocalStore(env.path, poll_interval=0.05)
    options.setdefault("presence_debounce", 0.0)
    worker = service(store, sources_for(jobs_file), **options)
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        await wait_until(lambda: worker.status.state == "running", within=10, what="the worker running")
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await store.close()


class InApp:
    """The worker inside the app (stopped until started), its menu and the window."""

    def __init__(self, env: UiEnv, window_controller: Any, jobs: list[str]) -> None:
        jobs_file = write_jobs(env.path.parent / "in-app-jobs.toml", jobs)

        def factory() -> WorkerParts:
            opts = WorkerOptions(project_id=PROJECT, poll_every=0.2, presence_debounce=0.0)
            sources = sources_for(jobs_file, host="laptop")
            return WorkerParts(LocalStore(env.path, poll_interval=0.05), sources, opts)

        self.host = WorkerHost(factory)
        self.menu = WorkerMenu(self.host, window_controller, project_id=PROJECT, remember_choice=False)
        self.window = MainWindow(window_controller, env.settings, worker_menu=self.menu)
        env.qtbot.addWidget(self.window)
        self.window.show()


async def plain_window(env: UiEnv, **kwargs: Any) -> MainWindow:
    controller = await started(env.controller(**kwargs))
    window = env.window(controller)
    window.show()
    await asyncio.sleep(0)
    return window


def recorder() -> tuple[list[Any], Callable[..., bool]]:
    calls: list[Any] = []

    def record(*args: Any) -> bool:
        calls.append(args)
        return True

    return calls, record


# -- point 2: which worker is which ---------------------------------------------------------------------


async def test_the_toolbar_speaks_for_the_in_app_worker_and_the_panel_for_the_projects(env: UiEnv) -> None:
    """An external worker ran while the toolbar said "Worker stopped" and the dock "Running on vm:…"."""
    async with env:
        controller = await started(env.controller())
        app = InApp(env, controller, [])
        try:
            async with mac_mini_worker(env, [toml_job("inbox", ["true"])], sync_interval=45.0) as mini:
                panel = app.window.connection_panel
                await wait_until(lambda: bool(controller.workers), what="the Mac mini's presence")
                assert panel.worker.text() == f"Worker on {HOST} · seen just now · 0 running · 0 queued"
                assert mini.worker_id in panel.worker.toolTip()
                assert "Syncs every 45 s" in panel.worker.toolTip()
                line = app.window.worker_line
                assert line is not None
                assert line.full_text() == "In-app worker stopped"
                assert "(this app)" not in panel.worker.text()

                app.menu.start()
                await wait_until(lambda: app.host.state is WorkerState.RUNNING, what="the in-app worker")
                own = app.menu.worker_id()
                await wait_until(lambda: own in {w.worker_id for w in controller.workers.values()})
                await wait_until(lambda: "(this app)" in panel.worker.toolTip(), what="the own worker marked")
                assert line.full_text().startswith("In-app worker running")
        finally:
            await app.host.stop()
        await wait_until(lambda: any(w.stopped for w in controller.workers.values()), what="'stopped' said")
        assert "stopped" in app.window.connection_panel.worker.toolTip()


async def test_the_banner_says_when_requests_wait_and_no_worker_was_seen(env: UiEnv) -> None:
    async with env:
        clock = ManualClock(now_utc())
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        controller = await started(env.controller(clock=clock, supabase_configured=True))
        app = InApp(env, controller, [])
        window = app.window
        await env.writer.queue_run(PROJECT, "inbox", "ui")
        await wait_until(lambda: controller.request_model.rowCount() == 1, what="the queued request")
        assert window.banner.message is None  # just queued: a worker may still come
        clock.advance(timedelta(seconds=50))
        controller.clock.tick()
        assert window.banner.message is None  # under two sync intervals (2 × 30 s)
        assert controller.clock.wanted is not None  # the banner asked to be woken when it would hold
        clock.advance(timedelta(seconds=15))
        controller.clock.tick()
        message = window.banner.message
        assert message is not None
        assert message.kind is BannerKind.NO_WORKER
        assert message.title == "No worker is picking up run requests"
        assert "1 run request is waiting" in message.text
        assert message.action == "Start in-app worker"
        window.banner.button.click()  # the banner's action starts the worker in this app
        await wait_until(lambda: app.host.state is WorkerState.RUNNING, what="the in-app worker")
        await wait_until(lambda: window.banner.message is None, what="the banner gone")
        await app.host.stop()


# -- point 3: the toast says what happens -----------------------------------------------------------------


async def test_the_queued_toast_says_who_will_run_it(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("a", "A"), mirror_row("b", "B"), mirror_row("c", "C")]
        )
        long_ago = format_timestamp(now_utc() - timedelta(minutes=10))
        with sqlite3.connect(env.path) as conn:  # the mirror was written long ago
            conn.execute("UPDATE cron_mirror SET updated_at = ?", (long_ago,))
        controller = await started(env.controller())
        app = InApp(
            env, controller, [toml_job("a", ["true"]), toml_job("b", ["true"]), toml_job("c", ["true"])]
        )
        toast = app.window.toast

        await controller.run_job("a")
        assert toast.text() == QUEUED_NO_WORKER_TOAST  # nobody would run it now, and it says so

        async with mac_mini_worker(env, [toml_job("zzz", ["true"])]):
            await wait_until(lambda: bool(controller.live_workers()), what="the Mac mini's presence")
            await controller.run_job("b")
            assert toast.text() == QUEUED_TOAST  # the seed's words: the Mac mini's worker will

        app.menu.start()
        await wait_until(lambda: app.host.state is WorkerState.RUNNING, what="the in-app worker")
        await controller.run_job("c")
        assert toast.text() == QUEUED_IN_APP_TOAST
        await app.host.stop()


async def test_a_notice_never_wears_the_run_icon_and_never_covers_the_dock(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        window = await plain_window(env)
        window.resize(1280, 800)
        queued = (await window.controller.run_job("inbox")).request
        assert queued is not None
        await window.controller.cancel_request(queued.id)
        assert window.toast.text().startswith("Cancelled the run request")
        assert window.toast.icon_name == "info"
        await wait_until(lambda: window.toast.isVisible())
        toast = QRect(window.toast.mapTo(window, QPoint(0, 0)), window.toast.size())
        dock = window.dock.geometry()
        assert not toast.intersects(dock), (toast, dock)


# -- point 4: never connected is not "lost" ---------------------------------------------------------------


async def test_unreachable_at_start_is_not_a_lost_connection(env: UiEnv, supabase_env: Supastack) -> None:
    supabase_env.stop_server()
    try:
        async with env:
            store = SupabaseStore(supabase_env.url, supabase_env.anon_key)
            controller = env.controller(store, supabase_configured=True)
            await controller.start()
            window = env.window(controller)
            window.show()
            await wait_until(
                lambda: controller.live_state is LiveState.DISCONNECTED, within=20, what="disconnected"
            )
            message = window.banner.message
            assert message is not None
            assert message.kind is BannerKind.UNREACHABLE
            assert message.title == "Can't reach Supabase"
            assert "lost" not in message.title
            assert window.empty_label.text().startswith("Can't reach Supabase, so no jobs can be shown yet")
            assert "No cron jobs" not in window.empty_label.text()
            assert window.dock.stale_label.text().startswith("⚠ Not connected yet")
            supabase_env.start_server()
            await wait_until(lambda: controller.live_state is LiveState.LIVE, within=30, what="reconnected")
            assert window.banner.message is None
            supabase_env.stop_server()
            await wait_until(
                lambda: controller.live_state is LiveState.DISCONNECTED, within=20, what="lost again"
            )
            message = window.banner.message
            assert message is not None
            assert message.kind is BannerKind.DISCONNECTED
            assert message.title.startswith("Connection to Supabase lost since ")
            assert window.dock.stale_label.text().startswith("⚠ Not live since ")
    finally:
        supabase_env.start_server()


async def test_the_docks_placeholder_always_fills_its_table(env: UiEnv) -> None:
    """It was drawn as a clipped fragment, "yet. Select a jo", until the window was resized."""
    async with env:
        window = await plain_window(env)
        await asyncio.sleep(0.05)
        for size in ((1280, 800), (1000, 640)):
            window.resize(*size)
            await asyncio.sleep(0.05)
            label, view = window.dock.empty_label, window.dock.view
            assert label.isVisible()
            assert label.geometry() == view.viewport().rect()
            assert label.heightForWidth(label.width()) <= label.height()  # the whole text fits


# -- points 6 and 8: what the sources found, and an empty project -----------------------------------------


async def test_a_jobs_toml_mistake_shows_as_a_sources_badge_with_the_line(env: UiEnv) -> None:
    async with env:
        window = await plain_window(env)
        async with mac_mini_worker(env, [toml_job("good", ["true"]), TYPO]):
            badge = window.connection_panel.sources
            await wait_until(lambda: badge.isVisible(), what="the sources badge")
            assert badge.text() == "Sources · 1 to look at"
            popover = window.connection_panel.sources_text.text()
            assert "jobs.toml: 1 job left out" in popover
            assert "mac-mini-jobs.toml:" in popover
            assert "[jobs.typo] command: must be a non-empty list" in popover
            assert window.connection_panel.sources.menu() is window.connection_panel.sources_popup


async def test_an_empty_project_says_what_was_checked_and_offers_next_steps(
    env: UiEnv, tmp_path: Path
) -> None:
    """After a first sync with no jobs it said "The Mac mini sync worker will publish jobs here"."""
    async with env:
        controller = await started(env.controller())
        app = InApp(env, controller, [])
        window = app.window
        launched, launch = recorder()
        opened, open_url = recorder()
        window.launch = launch
        window.open_url = open_url
        async with mac_mini_worker(env, []):
            await wait_until(lambda: "checked" in window.empty_label.text(), what="what was checked")
            text = window.empty_label.text()
            assert text.startswith(f"No cron jobs in {PROJECT} yet. The worker on {HOST} checked:")
            assert "• jobs.toml: ok, 0 jobs" in text
            shown = [name for name, button in window.empty_buttons.items() if button.isVisible()]
            assert shown == ["start_worker", "open_jobs_file", "show_demo"]
            window.empty_buttons["show_demo"].click()
            assert launched == [(sys.executable, ["-m", "cronmirror_desktop", "--demo"])]
            # In the frozen bundle the executable is CronMirror itself, which knows no "-m".
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(sys, "frozen", True, raising=False)
                window.empty_buttons["show_demo"].click()
            assert launched[-1] == (sys.executable, ["--demo"])
            window.empty_buttons["open_jobs_file"].click()
            [(url,)] = opened
            assert isinstance(url, QUrl)
            created = Path(url.toLocalFile())
            assert created.name == "jobs.toml"
            example = await asyncio.to_thread(created.read_text)
            assert "[jobs.backup]" in example  # an example to start from
            window.empty_buttons["start_worker"].click()
            await wait_until(lambda: app.host.state is WorkerState.RUNNING, what="the in-app worker")
            await wait_until(lambda: not window.empty_buttons["start_worker"].isVisible())
        await app.host.stop()


async def test_a_command_jobs_details_show_how_it_runs_never_a_secret(env: UiEnv) -> None:
    """The pane said "No instructions (system event or command job)" and "every 1800000"."""
    secret = "s3cret-restic-password-42"
    backup = (
        '[jobs.backup]\nname = "Nightly backup"\nevery = "30m"\n'
        'command = ["restic", "backup", "/Users/me/My Documents"]\ncwd = "/tmp"\ntimeout = "20m"\n'
        f'env = {{ RESTIC_PASSWORD = "{secret}", RESTIC_REPOSITORY = "/Volumes/b" }}\n'
    )
    async with env:
        window = await plain_window(env)
        async with mac_mini_worker(env, [backup, toml_job("plain", ["true"])]):
            await wait_until(lambda: window.select_job("jobs:backup"), what="the job")
            details = window.details
            await wait_until(lambda: details.command.isVisible(), what="the command section")
            # Its arguments as the process gets them: one per line when one has a space in it.
            assert details.command.text() == "restic\n  backup\n  /Users/me/My Documents"
            assert "3. /Users/me/My Documents" in details.command.toolTip()
            info = details.command_info.text()
            assert info.startswith("from jobs.toml · in /tmp · timeout 20 min")
            assert "Sets RESTIC_PASSWORD, RESTIC_REPOSITORY (values not shown)" in info
            assert "every 30 min" in details.expression.text()
            assert "1800000" not in details.expression.text()
            assert details.instructions.placeholderText().startswith("No instructions: a command job")
            shown = " ".join(w.text() for w in details.findChildren(QLabel)) + details.command.toolTip()
            assert secret not in shown
            window.select_job("jobs:plain")
            assert "timeout 15 min (the worker's default)" in details.command_info.text()
