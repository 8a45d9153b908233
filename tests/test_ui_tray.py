"""The worker's controls: the status line per state, the menu-bar icon's menu and the window's Worker
menu (one builder), start/stop cycles from the window, Sync now, a worker that cannot start.

Offscreen there is no system tray, so the tray icon is built and its menu opened (`aboutToShow`, what Qt
emits before showing it) without ever showing it; the window's menu is the same code and is used fully.
Everything below runs a real hosted worker on a real store file.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QToolButton

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.config_write import set_value
from cronmirror_desktop.core.errors import NotConfigured
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.main_window import MainWindow
from cronmirror_desktop.ui.tray import TrayIcon, hide_dock_icon, tray_icon
from cronmirror_desktop.ui.worker_host import WorkerHost, WorkerState
from cronmirror_desktop.ui.worker_menu import (
    WorkerMenu,
    elide,
    remember_start_at_launch,
    start_at_launch,
    summarize,
)
from tests.supastack import Supastack
from tests.ui_support import NOW, PROJECT, UiEnv, env, started, ui_settings, wait_until
from tests.worker_harness import python_job, sources_for, toml_job, write_jobs
from worker.hosted import THREAD_NAME, ConfiguredParts, WorkerParts
from worker.service import RunningJob, WorkerOptions, WorkerStatus

__all__ = ["env", "ui_settings"]  # fixtures, used by name

LONG_JOB = python_job("import time; time.sleep(60)")


def status(**changes: object) -> WorkerStatus:
    return replace(WorkerStatus("mini:1:abc", PROJECT, "local: x", state="running"), **changes)  # type: ignore[arg-type]


def test_the_status_line_in_every_state() -> None:
    synced = status(last_sync_at=NOW - timedelta(seconds=12))
    busy = replace(synced, running=(RunningJob("r1", "jobs:a"),))
    line = lambda state, st=None, **kw: summarize(state, st, now=NOW, **kw).line  # noqa: E731
    assert (
        line(WorkerState.RUNNING, synced, queued=2) == "In-app worker running · 2 queued · last sync 12 s ago"
    )
    assert (
        line(WorkerState.RUNNING, busy, queued=0)
        == "In-app worker running · 1 running · 0 queued · last sync 12 s ago"
    )
    assert (
        line(WorkerState.RUNNING, synced) == "In-app worker running · last sync 12 s ago"
    )  # another project shown
    assert line(WorkerState.RUNNING, status()) == "In-app worker running · not synced yet"
    assert line(WorkerState.STARTING) == "In-app worker starting…"
    assert line(WorkerState.STOPPING, busy) == "In-app worker stopping… · 1 job finishing"
    assert line(WorkerState.STOPPED) == "In-app worker stopped"
    assert line(WorkerState.STOPPED, queued=3) == "In-app worker stopped · 3 queued"
    failed = summarize(WorkerState.FAILED, None, failure="No service-role key.", now=NOW)
    assert (failed.line, failed.problem, failed.light) == (
        "In-app worker failed",
        "No service-role key.",
        "down",
    )
    assert (failed.can_start, failed.can_stop, failed.can_sync) == (True, False, False)
    troubled = summarize(
        WorkerState.RUNNING,
        replace(synced, last_error="sync: This key may not write the mirror.", last_error_hint="Use X."),
        now=NOW,
    )
    assert troubled.problem == "sync: This key may not write the mirror. Use X."
    assert troubled.light == "down"


# -- a real hosted worker -------------------------------------------------------------------------


def parts_factory(env: UiEnv, jobs: list[str], **options: object) -> Callable[[], WorkerParts]:
    jobs_file = write_jobs(env.path.parent / "jobs.toml", jobs)

    def factory() -> WorkerParts:
        opts = WorkerOptions(project_id=PROJECT, poll_every=0.2, **options)  # type: ignore[arg-type]
        return WorkerParts(LocalStore(env.path, poll_interval=0.05), sources_for(jobs_file), opts)

    return factory


def menu_items(menu: QMenu) -> list[tuple[str, bool]]:
    """What a person sees in the menu: each item's text and whether it can be clicked (separators: "-")."""
    menu.aboutToShow.emit()
    return [("-", False) if a.isSeparator() else (a.text(), a.isEnabled()) for a in menu.actions()]


def item(menu: QMenu, name: str) -> QAction:
    menu.aboutToShow.emit()
    return next(a for a in menu.actions() if a.objectName() == name)


def python_threads() -> set[threading.Thread]:
    """Threads started from Python. (`_DummyThread`s are threads Python did not start, such as the
    loop's executor's QThreads, registered whenever they first run Python code: they come and go with
    use, not with leaks; `os_thread_count` covers them.)"""
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}


def os_thread_count() -> int:
    """Every thread of this process, native ones included (Linux; elsewhere Python's view)."""
    tasks = Path("/proc/self/task")
    return len(list(tasks.iterdir())) if tasks.exists() else threading.active_count()


class Controls:
    """A controller, the hosted worker, its menu, the menu-bar icon (never shown) and the window."""

    def __init__(self, env: UiEnv, controller: AppController, factory: Callable[[], WorkerParts]) -> None:
        self.controller = controller
        self.host = WorkerHost(factory)
        self.menu = WorkerMenu(self.host, controller, project_id=PROJECT, stop_wait=15.0)
        self.tray = TrayIcon(self.menu)
        self.window = MainWindow(controller, env.settings, worker_menu=self.menu)
        env.qtbot.addWidget(self.window)
        self.notices: list[tuple[str, str]] = []
        controller.notice.connect(lambda level, text: self.notices.append((level, text)))

    @property
    def popup(self) -> QMenu:
        assert self.window.worker_popup is not None
        return self.window.worker_popup

    async def state(self, state: WorkerState, within: float = 10.0) -> None:
        await wait_until(lambda: self.host.state is state, within=within, what=f"the worker {state}")

    async def close(self) -> None:
        await self.host.stop()
        self.tray.dispose()


async def controls(env: UiEnv, factory: Callable[[], WorkerParts]) -> Controls:
    return Controls(env, await started(env.controller()), factory)


def same_menus(c: Controls) -> list[tuple[str, bool]]:
    """The tray's menu and the window's are built by the same code: the same items, but "Open"."""
    tray = menu_items(c.tray.menu)
    window = menu_items(c.popup)
    assert [i for i in tray if i[0] != "Open CronMirror"] == window
    return tray


async def test_menus_follow_the_worker_through_every_state(env: UiEnv) -> None:
    async with env:
        jobs = [toml_job("long", LONG_JOB), toml_job("quick", ["true"])]
        c = await controls(env, parts_factory(env, jobs, grace=1.0))
        try:
            assert same_menus(c) == [
                ("In-app worker stopped", False),
                ("-", False),
                ("Start worker", True),
                ("Sync now", False),
                ("Start worker when CronMirror opens", True),
                ("-", False),
                ("Open CronMirror", True),
                ("Quit CronMirror", True),
            ]
            assert c.window.worker_line is not None
            assert c.window.worker_line.full_text() == "In-app worker stopped"

            item(c.popup, "workerToggleAction").trigger()  # Start, from the window's menu
            assert c.host.state is WorkerState.STARTING  # at once, before the worker's thread says anything
            assert same_menus(c)[0] == ("In-app worker starting…", False)
            assert same_menus(c)[2] == ("Stop worker", True)
            await c.state(WorkerState.RUNNING)
            await wait_until(lambda: c.host.status is not None and c.host.status.last_sync_at is not None)

            # One job running, another one queued behind it (concurrency 1).
            first = await c.controller.run_job("jobs:long")
            assert first.request is not None
            await wait_until(lambda: c.host.status is not None and bool(c.host.status.running))
            second = (await env.writer.queue_run(PROJECT, "jobs:quick", "cli")).request
            await wait_until(lambda: c.menu.queued() == 1, what="the queued request in the model")
            items = same_menus(c)
            assert items[0][0].startswith("In-app worker running · 1 running · 1 queued · last sync ")
            assert items[0][1] is False  # the status line is information, not a command
            assert items[2:4] == [("Stop worker", True), ("Sync now", True)]
            assert c.window.worker_line.full_text() == items[0][0]
            assert c.tray.toolTip().splitlines() == ["CronMirror", items[0][0]]

            item(c.tray.menu, "workerToggleAction").trigger()  # Stop, from the menu-bar icon's menu
            await c.state(WorkerState.STOPPING, within=2)
            items = same_menus(c)
            assert items[0] == ("In-app worker stopping… · 1 job finishing", False)
            assert items[2:4] == [("Stopping worker…", False), ("Sync now", False)]
            await c.state(WorkerState.STOPPED)
            assert same_menus(c)[0] == ("In-app worker stopped · 1 queued", False)
            ended = await env.writer.get_request(first.request.id)
            assert ended is not None
            assert ended.status == "error"
            assert "the worker was stopped" in (ended.reason or "")
            waiting = await env.writer.get_request(second.id)
            assert waiting is not None
            assert waiting.status == "queued"  # a stopping worker claims nothing more
        finally:
            await c.close()


async def test_a_worker_that_cannot_start_says_why(env: UiEnv) -> None:
    def factory() -> WorkerParts:
        raise NotConfigured("Supabase service-role key is not set.")

    async with env:
        c = await controls(env, factory)
        try:
            c.menu.start()
            await c.state(WorkerState.FAILED)
            items = same_menus(c)
            hint = "(Open Settings (or run `cronmirror config set`) and fill it in.)"
            assert items[:4] == [
                ("In-app worker failed", False),
                ("⚠ " + f"Supabase service-role key is not set. {hint}"[:71].rstrip() + "…", False),
                ("-", False),
                ("Start worker", True),  # try again after fixing it
            ]
            problem = next(a for a in c.tray.menu.actions() if a.objectName() == "workerProblemAction")
            assert problem.toolTip() == f"Supabase service-role key is not set. {hint}"
            assert (
                "error",
                f"The worker could not start: Supabase service-role key is not set. {hint}",
            ) in c.notices
            assert c.window.worker_line is not None
            assert "⚠ Supabase service-role key is not set." in c.window.worker_line.full_text()
            assert [t for t in threading.enumerate() if t.name == THREAD_NAME] == []
        finally:
            await c.close()


async def test_start_stop_start_from_the_window_leaves_no_threads(env: UiEnv) -> None:
    async with env:
        c = await controls(env, parts_factory(env, [toml_job("a", ["true"])]))
        try:
            before = python_threads()
            os_before = os_thread_count()
            worker_ids = set()
            for _ in range(3):
                item(c.popup, "workerToggleAction").trigger()
                await c.state(WorkerState.RUNNING)
                assert c.host.status is not None
                worker_ids.add(c.host.status.worker_id)
                assert [t.name for t in threading.enumerate() if t.name == THREAD_NAME] == [THREAD_NAME]
                item(c.popup, "workerToggleAction").trigger()
                await c.state(WorkerState.STOPPED)
                await wait_until(lambda: not c.host.running, what="the worker's thread to end")
                assert python_threads() == before
                assert os_thread_count() == os_before  # nothing native either (a loop, a store, a pool)
            assert len(worker_ids) == 3  # a fresh service each time
        finally:
            await c.close()


async def test_sync_now_from_the_menu(env: UiEnv) -> None:
    async with env:
        c = await controls(env, parts_factory(env, [toml_job("a", ["true"])], sync_interval=3600.0))
        try:
            c.menu.start()
            await c.state(WorkerState.RUNNING)
            await wait_until(lambda: c.host.status is not None and c.host.status.last_sync_at is not None)
            assert c.host.status is not None
            first = c.host.status.last_sync_at
            await wait_until(lambda: c.controller.job_model.rowCount() == 1, what="the mirrored job")
            write_jobs(env.path.parent / "jobs.toml", [toml_job("a", ["true"]), toml_job("b", ["true"])])
            item(c.tray.menu, "workerSyncAction").trigger()
            await wait_until(lambda: c.controller.job_model.rowCount() == 2, what="the new job, synced now")
            assert c.host.status.last_sync_at != first
            assert ("info", "Syncing this computer's jobs now.") in c.notices
        finally:
            await c.close()


async def test_the_start_at_launch_choice_is_remembered(env: UiEnv) -> None:
    async with env:
        c = await controls(env, parts_factory(env, []))
        try:
            assert start_at_launch() is False
            choice = item(c.popup, "workerAtLaunchAction")
            assert (choice.isCheckable(), choice.isChecked()) == (True, False)
            choice.trigger()
            assert start_at_launch() is True
            assert item(c.tray.menu, "workerAtLaunchAction").isChecked()  # read back when a menu opens
            remember_start_at_launch(False)
            assert not item(c.popup, "workerAtLaunchAction").isChecked()
        finally:
            await c.close()


async def test_the_tray_icon_is_a_template_that_shows_activity(env: UiEnv) -> None:
    async with env:
        c = await controls(env, parts_factory(env, []))
        try:
            assert tray_icon(False).isMask()
            assert tray_icon(True).isMask()
            idle = c.tray.icon().cacheKey()
            assert c.tray.toolTip() == "CronMirror\nIn-app worker stopped"
            c.menu.start()
            await c.state(WorkerState.RUNNING)
            assert c.tray.icon().cacheKey() != idle  # the active variant
            assert c.tray.icon().isMask()
            opened: list[bool] = []
            c.menu.openRequested.connect(lambda: opened.append(True))
            c.tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
            # A click opens the window on Linux and Windows; on macOS it opens the menu (Qt does that).
            assert opened == ([] if sys.platform == "darwin" else [True])
            assert hide_dock_icon() is (sys.platform == "darwin")
        finally:
            await c.close()


async def test_no_worker_menu_means_no_worker_controls(env: UiEnv) -> None:
    """Windows built without a hosted worker (the tests of issue 6) stay as they were."""
    async with env:
        window = env.window(await started(env.controller()))
        assert window.worker_button is None
        assert window.worker_line is None
        await asyncio.sleep(0)


@pytest.mark.pg
async def test_without_the_service_role_key_the_worker_says_what_is_missing(
    env: UiEnv, supabase_env: Supastack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Supabase with the hardening migration, and only the anon key: the worker starts but may not
    write. That is said in a toast, the menus and the status line, with the way out; once the key is
    there, the next start works."""
    monkeypatch.setenv("SUPABASE_URL", supabase_env.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase_env.anon_key)
    for source in ("gateway", "crontab", "launchd"):
        set_value(f"worker.sources.{source}", "false")
    write_jobs(resolve_config().paths.config_dir / "jobs.toml", [toml_job("a", ["true"])])
    async with env:
        c = await controls(env, ConfiguredParts())
        try:
            c.menu.start()
            await wait_until(lambda: c.menu.summary().problem is not None, within=20, what="the problem")
            problem = c.menu.summary().problem
            assert problem is not None
            assert "This key may not" in problem  # (whichever step failed last: sync, presence, rescue)
            assert problem.endswith(
                "needs the service-role key (the worker's key); the anon key may only read and queue."
            )
            told = [text for _level, text in c.notices if "The worker has a problem" in text]
            assert len(told) == 1  # said once, not once per failing step or retry
            assert "service-role key" in told[0]
            items = same_menus(c)
            assert items[0][0].startswith("In-app worker running")
            assert items[1] == (f"⚠ {elide(problem)}", False)
            assert c.window.worker_line is not None
            assert c.window.worker_line.full_text().endswith(f"⚠ {problem}")

            await c.host.stop()
            monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", supabase_env.service_role_key)
            c.menu.start()  # the configuration is read again at each start
            await c.state(WorkerState.RUNNING, within=20)
            await wait_until(
                lambda: c.host.status is not None and c.host.status.last_sync_at is not None, within=20
            )
            assert c.menu.summary().problem is None
            assert same_menus(c)[1] == ("-", False)  # no problem line
        finally:
            await c.close()


async def test_the_worker_controls_fit_the_smallest_window(env: UiEnv) -> None:
    """At the minimum size the toolbar does not overflow, and a long problem in the status line is cut
    short with "…" rather than widening the window."""

    def factory() -> WorkerParts:
        raise NotConfigured("Supabase service-role key is not set. " + "A very long explanation. " * 12)

    async with env:
        c = await controls(env, factory)
        try:
            c.window.show()
            minimum = c.window.minimumSize()
            c.window.resize(minimum)
            c.menu.start()
            await c.state(WorkerState.FAILED)
            await asyncio.sleep(0.05)
            assert c.window.minimumSizeHint().width() <= minimum.width()
            assert c.window.width() == minimum.width()
            extension = c.window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
            assert extension is None or not extension.isVisible(), "the toolbar overflows"
            button = c.window.worker_button
            assert button is not None
            assert button.isVisible()
            assert button.width() >= button.sizeHint().width()
            line = c.window.worker_line
            assert line is not None
            assert line.isVisible()
            assert line.shown_text().endswith("…")
            assert line.full_text().startswith(
                "In-app worker failed · ⚠ Supabase service-role key is not set."
            )
            assert line.fontMetrics().horizontalAdvance(line.shown_text()) <= line.contentsRect().width()
        finally:
            await c.close()
