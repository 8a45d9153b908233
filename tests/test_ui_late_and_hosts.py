"""Issue 16 in the app: Late jobs (chip, filter, details), several hosts (column, filter), the Mac mini's
zone, jobs run by hand only. Real widgets over a real store, offscreen; time moves with
`JobTableModel.set_now`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.presence import presence_row
from cronmirror_desktop.ui import theme
from cronmirror_desktop.ui.job_filter import JobFilterProxy, StatusFilter
from cronmirror_desktop.ui.job_model import (
    COL_HOST,
    COL_NAME,
    COL_NEXT,
    COL_SCHEDULE,
    COL_STATUS,
    JobTableModel,
    LateRole,
)
from cronmirror_desktop.ui.main_window import MainWindow
from tests.test_ui_window import open_window, shown_names
from tests.ui_support import (
    NOW,
    PROJECT,
    UiEnv,
    env,
    job,
    mirror_row,
    ui_settings,
    viewer_zone,
    wait_until,
)

__all__ = ["env", "ui_settings"]  # fixtures, used by name

pytestmark = pytest.mark.usefixtures("qapp")


def row_of(window: MainWindow, name: str) -> int:
    names = shown_names(window)
    return names.index(name)


def cell(window: MainWindow, name: str, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    proxy = window.proxy
    return proxy.data(proxy.index(row_of(window, name), column), role)


# -- Late --------------------------------------------------------------------------------------------


async def test_a_late_job_shows_a_late_chip_its_reason_and_the_late_filter_finds_it(env: UiEnv) -> None:
    now = datetime.now(UTC)
    async with env:
        await env.writer.upsert_mirror(
            PROJECT,
            [
                # Every 30 minutes; the gateway expected it 20 minutes ago (grace: 3 min) and it did not run.
                mirror_row("gw-late", "Inbox triage", next_run_at=now - timedelta(minutes=20),
                           last_run_at=now - timedelta(minutes=50), last_status="ok"),
                mirror_row("gw-fine", "Calendar sync", next_run_at=now + timedelta(minutes=10),
                           last_run_at=now - timedelta(minutes=20), last_status="ok"),
            ],
        )  # fmt: skip
        window = await open_window(env)
        window.resize(1280, 800)
        await wait_until(lambda: window.proxy.rowCount() == 2, what="both jobs")
        assert cell(window, "Inbox triage", COL_STATUS) == "Late"
        assert cell(window, "Calendar sync", COL_STATUS) == "Succeeded"
        late = cell(window, "Inbox triage", COL_STATUS, LateRole)
        assert late.late
        tooltip = cell(window, "Inbox triage", COL_STATUS, Qt.ItemDataRole.ToolTipRole)
        assert tooltip.startswith("Late: expected at ")
        assert "20 min ago" in tooltip
        assert "Last run: Succeeded" in tooltip

        # The chip is painted: its background colour fills the middle of the cell's chip.
        await asyncio.sleep(0.05)
        index = window.proxy.index(row_of(window, "Inbox triage"), COL_STATUS)
        rect = window.table.visualRect(index)
        image = window.table.viewport().grab().toImage()
        chip = QColor(theme.chip("late", theme.is_dark(window.table.palette())).background)
        found = {
            image.pixelColor(x, rect.center().y()).name() for x in range(rect.left() + 20, rect.left() + 40)
        }
        assert chip.name() in found, (chip.name(), found)

        # The details pane says it too.
        window.select_job("gw-late")
        assert window.details.late.isVisible()
        assert "Late:" in window.details.late.text()

        # The "Late" filter.
        combo = window.status_combo
        combo.setCurrentIndex(combo.findData(str(StatusFilter.LATE)))
        assert shown_names(window) == ["Inbox triage"]

        # It runs: no longer Late, and the filter lets it go.
        await env.writer.upsert_mirror(
            PROJECT,
            [mirror_row("gw-late", "Inbox triage", next_run_at=now + timedelta(minutes=30),
                        last_run_at=now, last_status="ok")],
        )  # fmt: skip
        await wait_until(lambda: window.proxy.rowCount() == 0, what="the job to run")
        assert window.empty_label.text() == "No jobs match the search and filters."


def test_a_job_becomes_late_as_time_passes_and_the_filter_follows(qtmodeltester: Any) -> None:
    """A jobs.toml job (our scheduler runs it) every 10 min that last ran at 11:55: due 12:05, Late from
    12:07 (grace 2 min). Moving the model's clock is enough: no new rows."""
    model = JobTableModel()
    qtmodeltester.check(model)
    model.set_jobs(
        [
            job("jobs:ten", "Ten", schedule_kind="every", schedule_expr="600000", source="jobs",
                last_run_at=NOW - timedelta(minutes=5), last_status="ok"),
            job("jobs:daily", "Daily", schedule_kind="cron", schedule_expr="0 3 * * *", source="jobs",
                tz="UTC", last_run_at=NOW - timedelta(hours=9), last_status="ok"),
        ]
    )  # fmt: skip
    proxy = JobFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_status_filter(StatusFilter.LATE)
    model.set_now(NOW)
    assert proxy.rowCount() == 0
    model.set_now(NOW + timedelta(minutes=6, seconds=59))  # 1 min 59 s after 12:05
    assert proxy.rowCount() == 0
    model.set_now(NOW + timedelta(minutes=7, seconds=1))
    assert proxy.rowCount() == 1
    assert proxy.data(proxy.index(0, COL_NAME)) == "Ten"
    assert proxy.data(proxy.index(0, COL_STATUS)) == "Late"
    # Sorted by status, Late comes first.
    proxy.set_status_filter(StatusFilter.ALL)
    model.sort(COL_STATUS, Qt.SortOrder.AscendingOrder)
    assert [model.data(model.index(r, COL_NAME)) for r in range(2)] == ["Ten", "Daily"]


# -- several hosts ----------------------------------------------------------------------------------


async def test_the_host_column_and_filter_appear_with_a_second_host(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row("jobs:backup", "Backup", host="mini-1", source="jobs"),
                mirror_row("gw", "Gateway job"),  # ClawdOS's row: no host
            ],
        )
        window = await open_window(env)
        await wait_until(lambda: window.proxy.rowCount() == 2, what="the jobs")
        assert window.table.isColumnHidden(COL_HOST)
        assert not window.host_filter_action.isVisible()

        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("jobs:backup@mini-2", "Backup", host="mini-2", source="jobs")]
        )
        await wait_until(lambda: not window.table.isColumnHidden(COL_HOST), what="the Host column")
        assert window.host_filter_action.isVisible()
        assert [window.host_combo.itemText(i) for i in range(window.host_combo.count())] == [
            "All hosts",
            "mini-1",
            "mini-2",
        ]
        assert window.table.horizontalHeader().visualIndex(COL_HOST) == 1  # right after the name
        hosts = {cell(window, name, COL_HOST) for name in ("Gateway job",)}
        assert hosts == {"—"}
        window.host_combo.setCurrentIndex(window.host_combo.findData("mini-2"))
        assert shown_names(window) == ["Backup"]
        assert window.proxy.data(window.proxy.index(0, COL_HOST)) == "mini-2"

        # mini-2's job goes away: one host again, the column and the filter go with it.
        await env.writer.delete_mirror(PROJECT, ["jobs:backup@mini-2"])
        await wait_until(lambda: window.table.isColumnHidden(COL_HOST), what="the column to go")
        assert not window.host_filter_action.isVisible()
        assert window.proxy.host_filter is None
        assert window.proxy.rowCount() == 2


# -- the Mac mini's zone ----------------------------------------------------------------------------


async def test_jobs_without_a_zone_run_in_the_zone_their_host_published(env: UiEnv) -> None:
    """`0 7 * * *` on a Mac mini in Tokyo runs at 22:00 UTC, whatever zone this computer is in; the table's
    next run is the details pane's first."""
    async with env:
        await env.writer.upsert_mirror(
            PROJECT,
            [
                presence_row(
                    host="mini-1", worker_id="w1", version="t", started_at=None, time_zone="Asia/Tokyo"
                ),
                mirror_row("crontab:abc", "Morning report", schedule_kind="cron", schedule_expr="0 7 * * *",
                           source="crontab", host="mini-1"),
            ],
        )  # fmt: skip
        window = await open_window(env)
        await wait_until(lambda: window.proxy.rowCount() == 1, what="the job")
        model = window.controller.job_model
        entry = model.entry_at(0)
        assert entry.mac_zone == "Asia/Tokyo"
        assert entry.next_run is not None
        assert (entry.next_run.hour, entry.next_run.minute) == (22, 0)
        with viewer_zone("UTC"):
            window.select_job("crontab:abc")
        pane = window.details
        assert "Time zone: Asia/Tokyo (mini-1's local time zone; JST, 9 h ahead" in pane.expression.text()
        assert pane.schedule.text().endswith("(Asia/Tokyo)")  # the schedule's zone, named
        first = pane.next_runs.text().splitlines()[0]
        # An instant is shown in the viewer's zone (issue 19): the same run as the table's tooltip.
        assert first.startswith(timetext.absolute(entry.next_run))
        assert "22:00 UTC" in first

        # The host moves to Berlin (its worker publishes a new zone): the table follows live.
        await env.writer.upsert_mirror(
            PROJECT,
            [presence_row(host="mini-1", worker_id="w1", version="t", started_at=None,
                          time_zone="Europe/Berlin")],
        )  # fmt: skip
        await wait_until(lambda: model.entry_at(0).mac_zone == "Europe/Berlin", what="the new zone")
        moved = model.entry_at(0).next_run
        assert moved is not None
        assert moved.minute == 0
        assert moved.hour in (5, 6)  # 07:00 CEST or CET
        assert "Europe/Berlin" in pane.expression.text()


async def test_a_job_without_a_schedule_is_shown_as_by_hand_only(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "jobs:manual", "Manual", schedule_kind="event", schedule_expr="on demand", source="jobs"
                )
            ],
        )
        window = await open_window(env)
        await wait_until(lambda: window.proxy.rowCount() == 1, what="the job")
        assert cell(window, "Manual", COL_NEXT) == "by hand"
        assert cell(window, "Manual", COL_SCHEDULE) == "Only when started by hand"
        window.select_job("jobs:manual")
        assert window.details.next_runs.text().startswith("Runs only when started")
