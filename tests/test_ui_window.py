"""The main window as a person uses it: real widgets over a real store (the seed plan's QA checklist)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolButton

from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.ui.banner import BannerKind
from cronmirror_desktop.ui.controller import QUEUED_TOAST
from cronmirror_desktop.ui.job_filter import EnabledFilter, StatusFilter
from cronmirror_desktop.ui.job_model import COL_NAME, COL_SCHEDULE, ObjectRole
from cronmirror_desktop.ui.main_window import MainWindow
from cronmirror_desktop.ui.request_model import STATUS_LABELS
from tests.ui_support import (
    PROJECT,
    WORKER,
    StateScriptStore,
    UiEnv,
    env,
    mirror_row,
    started,
    ui_settings,
    viewer_zone,
    wait_until,
)

__all__ = ["env", "ui_settings"]  # fixtures, used by name


def shown_names(window: MainWindow) -> list[str]:
    proxy = window.proxy
    return [proxy.data(proxy.index(r, COL_NAME)) for r in range(proxy.rowCount())]


async def open_window(env: UiEnv, **kwargs: Any) -> MainWindow:
    opener = kwargs.pop("open_settings", None)
    controller = await started(env.controller(**kwargs))
    window = env.window(controller, open_settings=opener)
    window.show()
    await asyncio.sleep(0)
    return window


async def some_jobs(env: UiEnv) -> None:
    await env.writer.upsert_mirror(
        PROJECT,
        [
            mirror_row("inbox", "Inbox check", last_status="ok"),
            mirror_row("backup", "Nightly backup", schedule_kind="cron", schedule_expr="30 2 * * *"),
            mirror_row("digest", "Newsletter digest", enabled=False, last_status="error"),
        ],
    )


async def test_no_jobs_says_why_and_offers_the_next_steps(env: UiEnv) -> None:
    async with env:
        window = await open_window(env)
        assert window.empty_label.isVisible()
        assert window.empty_label.text().startswith(
            f"No cron jobs in {PROJECT} yet: no worker has mirrored this project."
        )
        # No in-app worker in this window: the jobs file and the demo are the next steps.
        shown = [name for name, button in window.empty_buttons.items() if button.isVisible()]
        assert shown == ["open_jobs_file", "show_demo"]
        await some_jobs(env)
        await wait_until(lambda: window.proxy.rowCount() == 3, what="the worker's jobs")
        assert not window.empty_label.isVisible()


async def test_unconfigured_supabase_shows_a_banner_that_opens_settings_and_the_app_works(env: UiEnv) -> None:
    async with env:
        opened: list[object] = []
        window = await open_window(env, supabase_configured=False, open_settings=opened.append)
        banner = window.banner
        assert banner.isVisible()
        assert banner.message is not None
        assert banner.message.kind is BannerKind.NOT_CONFIGURED
        assert banner.title.text() == "Supabase is not configured"
        assert "SUPABASE_URL" in banner.text.text()
        QTest.mouseClick(banner.button, Qt.MouseButton.LeftButton)
        assert opened == [window]
        # Still fully usable on the local store: live rows, search, Run.
        await some_jobs(env)
        await wait_until(lambda: window.proxy.rowCount() == 3)
        window.search.setText("inbox")
        await wait_until(lambda: shown_names(window) == ["Inbox check"], what="the search")
        window.table.selectRow(0)
        window.run_action.trigger()
        await wait_until(lambda: window.toast.text() == QUEUED_TOAST, what="the toast")
        # The connection panel says where the data is.
        assert window.connection_panel.supabase.text() == "Not configured · using the local store"


async def test_search_filters_by_name_as_you_type(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        QTest.keyClicks(window.search, "ni")
        await wait_until(lambda: shown_names(window) == ["Nightly backup"], what="the filter")
        QTest.keyClick(window.search, Qt.Key.Key_Backspace)
        QTest.keyClick(window.search, Qt.Key.Key_Backspace)
        await wait_until(lambda: window.proxy.rowCount() == 3)
        QTest.keyClicks(window.search, "zzz")
        await wait_until(lambda: window.empty_label.isVisible())
        assert window.empty_label.text() == "No jobs match the search and filters."
        assert window.count_label.text() == "" or "of 3" in window.count_label.text()


async def test_keystrokes_of_one_frame_filter_once_and_typing_filters_as_it_goes(env: UiEnv) -> None:
    """Keys typed within one frame are applied together (one refilter); keys that keep coming a little
    more than a frame apart are each applied before the next arrives, not after the typing stops."""
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        await wait_until(lambda: window.proxy.rowCount() == 3, what="the jobs")
        applied: list[str] = []
        apply = window.proxy.set_search_text

        def spy(text: str) -> None:
            applied.append(text)
            apply(text)

        window.proxy.set_search_text = spy  # type: ignore[method-assign]
        QTest.keyClicks(window.search, "nig")  # three keystrokes in one go
        await wait_until(lambda: applied, what="the search applied")
        await asyncio.sleep(0.05)
        assert applied == ["nig"]
        assert shown_names(window) == ["Nightly backup"]
        for key in "htly":  # 20 ms apart: longer than a frame, shorter than a debounce would wait
            QTest.keyClicks(window.search, key)
            await asyncio.sleep(0.02)
        await wait_until(lambda: applied[-1] == "nightly", what="the last keystroke applied")
        assert "nigh" in applied  # applied while the typing went on
        assert shown_names(window) == ["Nightly backup"]


async def test_enabled_and_status_filters(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        window.enabled_combo.setCurrentIndex(window.enabled_combo.findData(str(EnabledFilter.DISABLED)))
        assert shown_names(window) == ["Newsletter digest"]
        window.enabled_combo.setCurrentIndex(window.enabled_combo.findData(str(EnabledFilter.ALL)))
        window.status_combo.setCurrentIndex(window.status_combo.findData(str(StatusFilter.OK)))
        assert shown_names(window) == ["Inbox check"]
        assert window.count_label.text() == "1 of 3 jobs"


async def test_run_queues_and_the_toast_is_non_modal_and_fades(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        assert not window.run_action.isEnabled()  # nothing selected
        window.select_job("inbox")
        assert window.run_action.isEnabled()
        window.run_action.trigger()
        await wait_until(lambda: window.toast.isVisible() and window.toast.text() == QUEUED_TOAST)
        assert QApplication.activeModalWidget() is None
        assert not window.toast.hasFocus()
        await wait_until(lambda: window.dock.model.rowCount() == 1, what="the request in the dock")
        chip = window.dock.model.data(window.dock.model.index(0, 2))
        assert chip == STATUS_LABELS["queued"]
        window.toast.dismiss()
        await wait_until(lambda: not window.toast.isVisible(), what="the fade-out")
        assert window.toast.hold_ms() >= 4000


async def test_second_click_while_active_highlights_the_request(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        window.select_job("inbox")
        first = await window.controller.run_job("inbox")
        await window.controller.run_job("backup")
        assert first.request is not None
        window.dock.view.clearSelection()
        window.run_action.trigger()
        await wait_until(lambda: "already has a queued run request" in window.toast.text(), what="the notice")
        selected = window.dock.selected_request()
        assert selected is not None
        assert selected.id == first.request.id
        assert window.dock.delegate.is_flashing(first.request.id)
        assert window.toast.level == "warning"


async def test_dock_updates_live_shows_results_and_cancels_queued(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        dock = window.dock
        queued = (await window.controller.run_job("inbox")).request
        running = (await window.controller.run_job("backup")).request
        assert queued is not None
        assert running is not None
        claimed = await env.writer.claim_next(PROJECT, WORKER)  # the oldest: inbox
        assert claimed is not None
        assert claimed.id == queued.id
        await wait_until(lambda: dock.model.request_at(dock.model.row_of(queued.id) or 0).status == "running")
        assert dock.pulse.active  # a running chip pulses
        await env.writer.complete(
            queued.id,
            WORKER,
            "error",
            {"exitCode": 2, "stderrTail": "boom\nerror: disk full\n", "durationMs": 900},
        )
        await wait_until(lambda: dock.model.request_at(dock.model.row_of(queued.id) or 0).status == "error")
        row = dock.model.row_of(queued.id)
        assert row is not None
        dock.view.selectRow(row)
        assert "error: disk full" in dock.details.toPlainText()  # the result, expanded
        tip = dock.model.data(dock.model.index(row, 4), Qt.ItemDataRole.ToolTipRole)
        assert "Exit code 2" in tip  # and on hover
        assert not dock.cancel_button.isEnabled()  # only a queued request can be cancelled

        other = dock.model.row_of(running.id)
        assert other is not None
        dock.view.selectRow(other)
        assert dock.cancel_button.isEnabled()
        QTest.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
        await wait_until(
            lambda: dock.model.request_at(dock.model.row_of(running.id) or 0).status == "cancelled"
        )
        await wait_until(lambda: not dock.pulse.active, what="the pulse to stop")


async def test_stale_dock_and_banners_for_a_lost_connection(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        scripted = StateScriptStore(env.store, kind="supabase")
        window = await open_window(env, store=scripted, supabase_configured=True)
        assert not window.banner.isVisible()
        scripted.push(LiveState.DISCONNECTED, "the socket closed")
        assert window.banner.isVisible()
        assert window.banner.message is not None
        assert window.banner.message.kind is BannerKind.DISCONNECTED
        assert window.dock.stale_label.isVisible()
        assert window.dock.windowTitle() == "Run requests (stale)"
        assert window.connection_panel.supabase.text() == "Disconnected"
        # The rows stay and the app stays usable.
        assert window.proxy.rowCount() == 3
        window.search.setText("back")
        await wait_until(lambda: shown_names(window) == ["Nightly backup"])
        scripted.push(LiveState.LIVE)
        assert not window.banner.isVisible()
        assert not window.dock.stale_label.isVisible()
        scripted.push(LiveState.AUTH_FAILED, "401")
        assert window.banner.message is not None
        assert window.banner.message.kind is BannerKind.AUTH_FAILED
        assert window.connection_panel.supabase.text() == "Auth error"


async def test_project_switcher_reloads_both_lists(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror("alpha", [mirror_row("a1", "Alpha one")])
        await env.writer.upsert_mirror("beta", [mirror_row("b1", "Beta one"), mirror_row("b2", "Beta two")])
        await env.writer.queue_run("beta", "b1", "ui")
        window = await open_window(env, project_id="alpha")
        combo = window.project_combo
        assert [combo.itemData(i) for i in range(combo.count())] == ["alpha", "beta"]
        assert combo.itemText(1) == "beta — 2 jobs"
        assert shown_names(window) == ["Alpha one"]
        assert window.dock.model.rowCount() == 0
        combo.setCurrentIndex(1)
        combo.activated.emit(1)
        await wait_until(lambda: shown_names(window) == ["Beta one", "Beta two"], what="beta's jobs")
        await wait_until(lambda: window.dock.model.rowCount() == 1, what="beta's request")
        assert "beta" in window.windowTitle()


async def test_details_pane_shows_schedule_next_runs_target_and_requests(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "berlin",
                    "Morning briefing",
                    schedule_kind="cron",
                    schedule_expr="0 7 * * 1-5",
                    tz="Europe/Berlin",
                    instructions="Summarise today's calendar.",
                    last_status="error",
                    last_run_at=datetime.now(UTC) - timedelta(hours=2),
                    last_duration_ms=61_000,
                )
            ],
        )
        with sqlite3.connect(env.path) as conn:  # as ClawdOS's worker writes its later columns
            conn.execute(
                "UPDATE cron_mirror SET target_agent_key = 'agent:main:main' WHERE job_id = 'berlin'"
            )
        request = (await env.writer.queue_run(PROJECT, "berlin", "ui")).request
        await env.writer.claim_next(PROJECT, WORKER)
        await env.writer.complete(
            request.id, WORKER, "error", {"stderrTail": "error: unknown option '--force'\n"}
        )
        window = await open_window(env)
        with viewer_zone("UTC"):  # a viewer in another zone than the job's
            window.select_job("berlin")
        details = window.details
        assert details.title.text() == "Morning briefing"
        # The schedule is described in the job's zone, named because it is not the viewer's ...
        assert details.schedule.text() == "At 07:00, Monday through Friday (Europe/Berlin)"
        assert "cron 0 7 * * 1-5" in details.expression.text()
        assert "Europe/Berlin" in details.expression.text()
        # ... and the runs, instants, are in the viewer's zone (07:00 in Berlin is 06:00 or 05:00 UTC).
        lines = details.next_runs.text().splitlines()
        assert len(lines) == 5
        assert all("UTC" in line and ("06:00" in line or "05:00" in line) for line in lines)
        assert details.target.isVisible()
        assert details.target.text() == "agent:main:main"
        assert details.instructions.toPlainText() == "Summarise today's calendar."
        assert "Failed in 1 min 1 s" in details.last_run.text()
        await wait_until(lambda: window.controller.job_requests.rowCount() == 1, what="the job's requests")
        shown = window.controller.job_requests.data(window.controller.job_requests.index(0, 4))
        assert shown == "error: unknown option '--force'"


async def test_details_follow_live_changes_and_deletion(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        window.select_job("inbox")
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check (renamed)")])
        await wait_until(lambda: window.details.title.text() == "Inbox check (renamed)", what="the rename")
        selected = window.selected_job()
        assert selected is not None
        assert selected.job_id == "inbox"
        await env.writer.delete_mirror(PROJECT, ["inbox"])
        await wait_until(lambda: window.proxy.rowCount() == 2, what="the delete")
        # The deleted job is gone from the details too; they show whatever is selected now (Qt moves the
        # selection to the neighbouring row), never a job that no longer exists.
        shown = window.details.job
        assert shown is None or shown.job_id != "inbox"
        assert shown == window.selected_job()


async def test_shortcuts_find_run_refresh(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        window.activateWindow()
        await wait_until(window.isActiveWindow, what="an active window")
        window.table.setFocus()
        QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert window.search.hasFocus()
        window.select_job("backup")
        window.table.setFocus()
        QTest.keyClick(window.table, Qt.Key.Key_Return)
        await wait_until(lambda: window.dock.model.rowCount() == 1, what="Return to run")
        window.select_job("inbox")
        QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        await wait_until(lambda: window.dock.model.rowCount() == 2, what="Ctrl+R to run")
        loads: list[bool] = []
        window.controller.loadingChanged.connect(loads.append)
        QTest.keyClick(window, Qt.Key.Key_F5)
        QTest.keyClick(
            window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        await wait_until(lambda: loads.count(False) >= 1, what="a refresh")
        assert window.refresh_action.shortcuts()[0].toString() == "Ctrl+Shift+R"


@pytest.mark.parametrize("size", [(1280, 800), "minimum"])
async def test_nothing_is_clipped(env: UiEnv, size: tuple[int, int] | str) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        if size == "minimum":
            window.resize(window.minimumSize())
        else:
            window.resize(*size)  # type: ignore[misc]
        await asyncio.sleep(0.05)
        extension = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        assert extension is None or not extension.isVisible(), "the toolbar overflows"
        for item in (window.connection_panel.supabase, window.connection_panel.control):
            # Cut with "…" when short of room (issue 19), never clipped mid-letter.
            assert item.state.width() >= item.state.minimumSizeHint().width()
            assert item.state.shown_text() == item.text() or item.state.shown_text().endswith("…")
        for widget in (window.search, window.project_combo, window.enabled_combo, window.status_combo):
            assert widget.isVisible()
            assert widget.width() >= widget.minimumSizeHint().width()
        assert window.table.width() > 400
        if size == "minimum":  # too narrow for the details: the table keeps the room (issue 19)
            assert window.details_collapsed
        else:
            assert window.details.width() >= 320
        assert window.dock.height() > 100


async def test_layout_is_remembered(env: UiEnv, ui_settings: QSettings) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        window.table.setColumnWidth(COL_SCHEDULE, 333)
        window.table.sortByColumn(COL_SCHEDULE, Qt.SortOrder.DescendingOrder)
        window.resize(1100, 700)  # the offscreen screen is 800 px wide: only the height survives clamping
        window.splitter.setSizes([600, 420])
        splitter = window.splitter.sizes()
        QApplication.setQuitOnLastWindowClosed(False)  # as the app does (closing must not stop the loop)
        try:
            window.close()
        finally:
            QApplication.setQuitOnLastWindowClosed(True)
        again = env.window(env.controllers[0])
        assert again.column_fit.preferred[COL_SCHEDULE] == 333  # remembered (shown when there is room)
        header = again.table.horizontalHeader()
        assert header.sortIndicatorSection() == COL_SCHEDULE
        assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        again.show()
        await asyncio.sleep(0.05)
        assert again.height() == 700
        again.resize(2000, 700)  # wide enough for every column at its width, and for the details
        await asyncio.sleep(0.05)
        assert again.table.columnWidth(COL_SCHEDULE) == 333
        restored = again.splitter.sizes()  # the width was clamped, so compare the split's proportion
        assert abs(restored[0] / sum(restored) - splitter[0] / sum(splitter)) < 0.02


async def test_invalid_rows_are_listed_and_marked(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("bad", "Broken schedule", schedule_kind="cron", schedule_expr="61 * * * *")]
        )
        window = await open_window(env)
        assert shown_names(window) == ["Broken schedule"]
        index = window.proxy.index(0, COL_NAME)
        assert window.proxy.data(index, Qt.ItemDataRole.DecorationRole) is not None
        assert "could not be fully read" in window.proxy.data(index, Qt.ItemDataRole.ToolTipRole)
        window.select_job("bad")
        assert window.details.problems.isVisible()
        assert window.proxy.data(index, ObjectRole).problems


async def test_connection_panel_and_direct_run_with_the_control_api(env: UiEnv) -> None:
    from cronmirror_desktop.core.controlapi import ControlApiClient
    from tests.fake_controlapi import FakeControlApi, FakeJob

    api = FakeControlApi(variant="openclaw")
    await api.start()
    try:
        async with env:
            api.add_job(FakeJob("inbox", "Inbox check"))
            await some_jobs(env)
            window = await open_window(env, control_api=ControlApiClient(api.url))
            panel = window.connection_panel
            await wait_until(lambda: panel.control.text() == "Reachable · Run is direct", what="reachable")
            assert panel.supabase.text().startswith("Not configured")  # Supabase first, then the API
            assert panel.layout().indexOf(panel.supabase) < panel.layout().indexOf(panel.control)
            window.select_job("inbox")
            window.run_action.trigger()
            await wait_until(lambda: window.toast.text() == "Run requested on the Mac mini.", what="direct")
            assert window.dock.model.rowCount() == 0  # nothing queued
            await api.stop()
            await window.controller.check_control_api()
            assert panel.control.text() == "Unreachable · Run is queued"
            window.run_action.trigger()
            await wait_until(lambda: window.toast.text() == QUEUED_TOAST, what="the queue fallback")
    finally:
        await api.stop()


async def test_a_refresh_keeps_the_selected_job(env: UiEnv) -> None:
    async with env:
        await some_jobs(env)
        window = await open_window(env)
        window.select_job("backup")
        resets: list[bool] = []
        window.controller.job_model.modelReset.connect(lambda: resets.append(True))
        window.refresh()
        await wait_until(lambda: resets and not window.controller.loading, what="the fresh snapshot")
        selected = window.selected_job()
        assert selected is not None
        assert selected.job_id == "backup"
        assert window.details.job is not None
        assert window.details.job.job_id == "backup"
