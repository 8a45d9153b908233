"""The window in any width and either theme (issue 19, points 9-11): a narrow window keeps Name and Status
in view (long columns give way and elide, the details pane collapses), a long job name stays one line,
and one selection colour with readable secondary text in both themes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTableView

from cronmirror_desktop.ui import theme
from cronmirror_desktop.ui.job_model import COL_DURATION, COL_NAME, COL_SCHEDULE, COL_STATUS
from cronmirror_desktop.ui.main_window import MainWindow
from tests.ui_support import PROJECT, UiEnv, env, mirror_row, started, ui_settings, viewer_zone

__all__ = ["env", "ui_settings"]  # fixtures, used by name

LONG_NAME = "Summarise the whole week's merged pull requests and draft the review note for Friday"


async def window_with_jobs(env: UiEnv) -> MainWindow:
    now = datetime.now(UTC)
    await env.writer.upsert_mirror(
        PROJECT,
        [
            mirror_row(
                f"job-{i}",
                f"Job {i}",
                schedule_kind="cron",
                schedule_expr="0 7 * * 1-5",
                tz="America/New_York",
                last_run_at=now - timedelta(hours=i + 1),
                last_status="ok" if i % 2 else "error",
                last_duration_ms=61_000,
            )
            for i in range(12)
        ]
        + [mirror_row("long", LONG_NAME, last_run_at=now - timedelta(days=1, hours=23), last_status="ok")],
    )
    controller = await started(env.controller())
    window = env.window(controller)
    window.show()
    await asyncio.sleep(0)
    return window


def fully_in_view(table: QTableView, column: int) -> bool:
    x = table.columnViewportPosition(column)
    return (
        not table.isColumnHidden(column)
        and x >= 0
        and x + table.columnWidth(column) <= table.viewport().width()
    )


async def test_a_narrow_window_keeps_name_and_status_in_view(env: UiEnv) -> None:
    """At 900×600 the Status column was behind a horizontal scroll bar while Schedule kept its width."""
    async with env:
        with viewer_zone("UTC"):  # schedules in New York name their zone: long Schedule texts
            window = await window_with_jobs(env)
            table, fit = window.table, window.column_fit
            window.resize(1280, 800)
            await asyncio.sleep(0.05)
            assert not window.details_collapsed
            assert window.details.width() >= 320
            assert table.columnWidth(COL_SCHEDULE) == fit.preferred[COL_SCHEDULE]

            window.resize(900, 600)
            await asyncio.sleep(0.05)
            assert window.details_collapsed  # the table keeps the room
            assert not table.horizontalScrollBar().isVisible()
            assert fully_in_view(table, COL_NAME)
            assert fully_in_view(table, COL_STATUS)

            window.resize(window.minimumSize())
            await asyncio.sleep(0.05)
            spot = table.visualRect(window.proxy.index(0, COL_NAME)).center()
            QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=spot)
            QTest.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=spot)
            await asyncio.sleep(0.05)
            assert not window.details_collapsed  # a double-click brings the details back ...
            assert window.details.width() >= 320
            # ... and the table, narrower still, keeps Name and Status in view: Schedule gave way first
            # (its words end in "…"), then the optional columns stepped aside.
            assert table.columnWidth(COL_SCHEDULE) < fit.preferred[COL_SCHEDULE]
            assert table.textElideMode() is Qt.TextElideMode.ElideRight
            assert fully_in_view(table, COL_NAME)
            assert fully_in_view(table, COL_STATUS)
            assert not table.horizontalScrollBar().isVisible()

            window.resize(1280, 800)
            await asyncio.sleep(0.05)
            assert not table.isColumnHidden(COL_DURATION)  # room again: everything is back, in view
            assert all(fully_in_view(table, c) for c in range(8) if not table.isColumnHidden(c))
            assert not table.horizontalScrollBar().isVisible()


async def test_a_long_name_stays_one_line_with_the_whole_name_in_its_tooltip(env: UiEnv) -> None:
    """The details heading wrapped a long name to seven bold lines."""
    async with env:
        window = await window_with_jobs(env)
        window.resize(1280, 800)
        window.select_job("long")
        await asyncio.sleep(0.05)
        title = window.details.title
        assert title.text() == LONG_NAME
        assert title.is_cut()
        assert title.shown_text().endswith("…")
        assert title.toolTip() == LONG_NAME
        assert title.height() < 2 * title.fontMetrics().lineSpacing()
        # The next runs' relative words never break inside: "(in 1 d 23 h)" wraps whole or not at all.
        assert "(in\u00a0" in window.details.next_runs.text()


@pytest.mark.parametrize("dark", [False, True])
def test_one_selection_colour_and_readable_secondary_text(dark: bool, qapp: QApplication) -> None:
    """Dark: the job table's selection was a dim grey-blue (it had lost the focus to the dock) while the
    dock's was bright; grey secondary text had 3:1 contrast in dark and 2.4:1 in light."""
    try:
        theme.apply_theme(qapp, "dark" if dark else "light")
        palette = qapp.palette()
        active = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
        inactive = palette.color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight)
        assert active == inactive == QColor(theme.SELECTION)
        text = palette.color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.HighlightedText)
        assert theme.contrast_ratio(text, inactive) >= 4.5
        secondary = theme.secondary_text(palette)
        for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase, QPalette.ColorRole.Window):
            ratio = theme.contrast_ratio(secondary, palette.color(role))
            assert ratio >= 4.5, f"secondary text on {role.name}: {ratio:.2f}"
    finally:
        theme.apply_theme(qapp, "light")


async def test_the_table_and_the_dock_paint_one_selection_colour(env: UiEnv, qapp: QApplication) -> None:
    async with env:
        try:
            theme.apply_theme(qapp, "dark")
            window = await window_with_jobs(env)
            window.resize(1280, 800)
            await window.controller.run_job("job-1")
            await asyncio.sleep(0.05)
            window.select_job("job-1")
            window.dock.view.selectRow(0)

            def selected_colour(view: QTableView) -> str:
                """A pixel of the selected row, in its second column (the first has the focus frame)."""
                row = view.selectionModel().selectedRows()[0].row()
                rect = view.visualRect(view.model().index(row, 1))
                image = view.viewport().grab().toImage()
                return QColor(image.pixel(QPoint(rect.right() - 3, rect.center().y()))).name()

            for focused in (window.dock.view, window.table):  # whichever has the focus: one colour
                focused.setFocus()
                await asyncio.sleep(0.05)
                assert selected_colour(window.table) == QColor(theme.SELECTION).name()
                assert selected_colour(window.dock.view) == QColor(theme.SELECTION).name()
        finally:
            theme.apply_theme(qapp, "light")
