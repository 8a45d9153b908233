"""One clock for every view (issue 19, point 1): relative times agree across the window, never read "in 7 s"
for something that already happened, and are re-rendered when their words change — only those cells.

Time moves with a `ManualClock` handed to the controller, never by sleeping; `controller.clock.tick()` is
what the clock's own timer does when a text is due.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from cronmirror_desktop.core.presence import HostZones
from cronmirror_desktop.core.timeutil import now_utc
from cronmirror_desktop.ui import schedule_info
from cronmirror_desktop.ui.clock import ViewClock
from cronmirror_desktop.ui.job_filter import JobFilterProxy
from cronmirror_desktop.ui.job_model import COL_LAST, COL_NEXT, COL_STATUS, JobTableModel
from cronmirror_desktop.ui.main_window import MainWindow
from cronmirror_desktop.ui.request_model import COL_REQUESTED
from tests.ui_support import (
    PROJECT,
    WORKER,
    ManualClock,
    UiEnv,
    env,
    job,
    mirror_row,
    started,
    ui_settings,
    viewer_zone,
    wait_until,
)

__all__ = ["env", "ui_settings"]  # fixtures, used by name

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


async def window_with_clock(env: UiEnv, clock: ManualClock) -> MainWindow:
    controller = await started(env.controller(clock=clock))
    window = env.window(controller)
    window.show()
    await asyncio.sleep(0)
    return window


def last_run_cell(window: MainWindow, job_id: str) -> str:
    model = window.controller.job_model
    row = model.row_of_job(job_id)
    assert row is not None
    return str(model.data(model.index(row, COL_LAST)))


def requested_cell(window: MainWindow, request_id: str) -> str:
    model = window.controller.request_model
    row = model.row_of(request_id)
    assert row is not None
    return str(model.data(model.index(row, COL_REQUESTED)))


async def test_a_request_from_a_clock_ahead_of_ours_reads_just_now_not_in_7_s(env: UiEnv) -> None:
    """The store stamps requests with its own clock; ours is 7 s behind it."""
    async with env:
        clock = ManualClock(now_utc() - timedelta(seconds=7))
        await env.writer.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        window = await window_with_clock(env, clock)
        queued = (await env.writer.queue_run(PROJECT, "inbox", "ui")).request
        await asyncio.wait_for(
            _until(lambda: window.controller.request_model.row_of(queued.id) is not None), 5
        )
        assert requested_cell(window, queued.id) == "just now"
        # And once our clock catches up and passes it, it ages normally.
        clock.advance(timedelta(seconds=40))
        window.controller.clock.tick()
        assert requested_cell(window, queued.id).endswith("s ago")


async def test_every_view_reads_one_clock_and_all_move_together(env: UiEnv) -> None:
    """One run: the table's Last run, the details pane's and the dock's request say the same age."""
    async with env:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = ManualClock(start)
        ran = start - timedelta(seconds=12)
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox check", last_run_at=ran, last_status="ok")]
        )
        request = (await env.writer.queue_run(PROJECT, "inbox", "ui")).request
        await env.writer.claim_next(PROJECT, WORKER)
        await env.writer.complete(request.id, WORKER, "done", {"exitCode": 0})
        window = await window_with_clock(env, clock)
        window.select_job("inbox")
        details = window.details
        assert last_run_cell(window, "inbox") == "12 s ago"
        assert "12 s ago" in details.last_run.text().replace("\u00a0", " ")

        clock.advance(timedelta(seconds=48))  # 60 s since the run
        window.controller.clock.tick()
        assert last_run_cell(window, "inbox") == "1 min ago"
        assert "1 min ago" in details.last_run.text().replace("\u00a0", " ")

        clock.advance(timedelta(minutes=7))
        window.controller.clock.tick()
        assert last_run_cell(window, "inbox") == "8 min ago"
        assert "8 min ago" in details.last_run.text().replace("\u00a0", " ")
        # The request was stamped by the store's own (real) clock: it reads at our clock, too.
        assert requested_cell(window, request.id).endswith("min ago")


async def test_the_details_pane_keeps_counting(env: UiEnv) -> None:
    """The details pane's "Last run … 20 s ago" stayed "20 s ago" for 7 minutes."""
    async with env:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = ManualClock(start)
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox check", last_run_at=start - timedelta(seconds=20))]
        )
        window = await window_with_clock(env, clock)
        window.select_job("inbox")
        shown = window.details.last_run
        assert "20 s ago" in shown.text().replace("\u00a0", " ")
        ticks = window.controller.clock

        def wakes_within(span: timedelta) -> int:
            """Let time pass as the clock's own timer would: tick at every instant a view asked for."""
            end, count = clock.now + span, 0
            while ticks.wanted is not None and ticks.wanted <= end:
                clock.now = ticks.wanted
                ticks.tick()
                count += 1
            clock.now = end
            ticks.tick()
            return count

        # While a text counts seconds, the views are woken every second ...
        assert wakes_within(timedelta(seconds=30)) >= 30
        assert "50 s ago" in shown.text().replace("\u00a0", " ")
        wakes_within(timedelta(minutes=6, seconds=10))
        assert "7 min ago" in shown.text().replace("\u00a0", " ")
        # ... then only when a minute-precise text turns over: far fewer than 300 wakes in 5 minutes.
        assert wakes_within(timedelta(minutes=5)) <= 60
        assert "12 min ago" in shown.text().replace("\u00a0", " ")


def _until(predicate: Any) -> Any:
    return wait_until(predicate, what="the request in the dock")


def test_a_tick_announces_only_the_time_cells_whose_words_changed(qapp: Any) -> None:
    """At 10,000 jobs, a tick must not repaint the table: only cells that were painted and whose words
    changed are announced, and only in the time columns."""
    clock_time = ManualClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    clock = ViewClock(clock_time)
    model = JobTableModel(clock=clock)
    proxy = JobFilterProxy()
    proxy.setSourceModel(model)
    now = clock_time.now
    jobs = []
    for i in range(10_000):
        # Every 7th job ran seconds ago; the others minutes to days ago.
        age = timedelta(seconds=10 + i % 40) if i % 7 == 0 else timedelta(minutes=3 + i)
        jobs.append(
            job(
                f"job-{i:05d}",
                f"Job {i:05d}",
                last_run_at=now - age,
                next_run_at=now + timedelta(minutes=30 + i, seconds=30),
            )
        )
    model.set_jobs(jobs)
    view = QTableView()
    view.setModel(proxy)
    view.resize(900, 500)
    view.show()
    qapp.processEvents()  # painted: the visible rows rendered their times
    painted = model.pending_times
    assert 0 < painted < 200  # the visible rows' two time cells, not 20,000

    changed: list[tuple[int, int, int]] = []

    def note(top: QModelIndex, bottom: QModelIndex, _roles: Any) -> None:
        changed.append((top.row(), bottom.row(), top.column()))
        assert top.column() == bottom.column()

    model.dataChanged.connect(note)
    clock_time.advance(timedelta(seconds=1))
    clock.tick()
    # Only the seconds-old runs of painted rows changed their words ("12 s ago" → "13 s ago"); the
    # others ("5 min ago", "in 5 min") did not, and rows never painted are not touched.
    assert changed
    assert all(column == COL_LAST for _, _, column in changed)
    assert all(top == bottom for top, bottom, _ in changed)
    first, last = view.rowAt(0), view.rowAt(view.viewport().height() - 1)
    assert 0 <= first < last < 100
    seconds_old = {
        r for r in range(first, last + 1) if now - (model.job_at(r).last_run_at or now) < timedelta(minutes=1)
    }
    assert {top for top, _, _ in changed} == seconds_old

    changed.clear()
    clock.tick()  # nothing is due at the same instant: a tick costs nothing
    assert changed == []

    changed.clear()
    clock_time.advance(timedelta(minutes=1))
    clock.tick()
    cells = [(top, column) for top, bottom, column in changed if top == bottom]
    columns = {column for _, column in cells}
    assert columns <= {COL_NEXT, COL_LAST}
    assert COL_NEXT in columns  # "in 5 min" → "in 4 min"
    assert len(cells) <= painted
    # And once in 30 s, Late is judged again for every row: the Status column alone, in one signal.
    assert [(t, b, c) for t, b, c in changed if t != b] == [(0, 9_999, COL_STATUS)]
    view.close()


async def test_instants_are_in_the_viewers_zone_everywhere_and_a_schedule_names_its_own(env: UiEnv) -> None:
    """Point 5: one run read "02:53 UTC" in the dock and "03:53 CET" in the details pane. One rule now:
    an instant in the viewer's zone; the job's zone only where its schedule is described."""
    async with env:
        ran = datetime(2026, 12, 1, 2, 53, tzinfo=UTC)
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "brief",
                    "Morning briefing",
                    schedule_kind="cron",
                    schedule_expr="0 7 * * 1-5",
                    tz="Europe/Berlin",
                    last_run_at=ran,
                    last_status="ok",
                )
            ],
        )
        request = (await env.writer.queue_run(PROJECT, "brief", "ui")).request
        with viewer_zone("UTC"):
            window = await window_with_clock(env, ManualClock(datetime.now(UTC)))
            window.select_job("brief")
            await wait_until(lambda: window.controller.request_model.row_of(request.id) is not None)
            last = window.details.last_run.text()
            assert "02:53 UTC" in last
            assert "CET" not in last
            model = window.controller.job_model
            row = model.row_of_job("brief")
            assert row is not None
            tooltip = model.data(model.index(row, COL_LAST), Qt.ItemDataRole.ToolTipRole)
            assert "02:53 UTC" in tooltip
            assert "CET" not in tooltip
            assert window.details.schedule.text() == "At 07:00, Monday through Friday (Europe/Berlin)"
            assert "1 h ahead of this computer" in window.details.expression.text()
            window.dock.highlight(request.id)
            assert "UTC" in window.dock.details.toPlainText()
        with viewer_zone("Europe/Berlin"):  # the viewer in the job's zone: nothing to name
            window.details.show_job(window.selected_job())
            assert "03:53 CET" in window.details.last_run.text()
            assert window.details.schedule.text() == "At 07:00, Monday through Friday"


async def test_a_late_jobs_expected_time_is_in_the_viewers_zone(env: UiEnv) -> None:
    async with env:
        now = datetime.now(UTC)
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "gw-late",
                    "Inbox triage",
                    schedule_kind="cron",
                    schedule_expr="*/30 * * * *",
                    tz="Europe/Berlin",
                    next_run_at=now - timedelta(minutes=20),
                    last_run_at=now - timedelta(minutes=50),
                    last_status="ok",
                )
            ],
        )
        with viewer_zone("UTC"):
            window = await window_with_clock(env, ManualClock(now))
            window.select_job("gw-late")
            late = window.details.late.text()
            assert "Late:" in late
            assert "UTC" in late
            assert "CET" not in late


def test_judging_late_again_reuses_verdicts_that_time_cannot_have_changed(
    qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every 30 s the app judges Late for every job (the notifier wants the Late ones). A job that was not
    Late and whose grace ends later, or that can never be Late, keeps its verdict without its schedule
    being computed again: at 10,000 jobs that was 0.4 s of CPU every 30 s in an idle app."""
    clock_time = ManualClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    clock = ViewClock(clock_time)
    model = JobTableModel(clock=clock)
    now = clock_time.now
    every_hour = {"schedule_kind": "every", "schedule_expr": str(3_600_000)}
    model.set_jobs(
        [
            job(
                "soon",
                "Due soon",
                last_run_at=now - timedelta(minutes=50),
                next_run_at=now + timedelta(minutes=10),
                **every_hour,
            ),
            job(
                "later",
                "Due later",
                last_run_at=now - timedelta(minutes=10),
                next_run_at=now + timedelta(minutes=50),
                **every_hour,
            ),
            job(
                "late",
                "Late one",
                last_run_at=now - timedelta(hours=3),
                next_run_at=now - timedelta(hours=2),
                **every_hour,
            ),
            job("never", "By hand", schedule_kind="event", schedule_expr=None),
        ]
    )
    judged: list[str] = []
    real_late = schedule_info.late

    def counting(job: Any, now: datetime, mac_zone: str | None = None) -> Any:
        judged.append(job.job_id)
        return real_late(job, now, mac_zone)

    monkeypatch.setattr(schedule_info, "late", counting)
    assert set(model.late_jobs()) == {"late"}
    assert sorted(judged) == ["late", "later", "never", "soon"]

    judged.clear()
    clock_time.advance(timedelta(seconds=30))
    clock.tick()
    assert set(model.late_jobs()) == {"late"}
    assert judged == []  # no verdict can have changed yet

    judged.clear()
    clock_time.advance(timedelta(minutes=16))  # past 12:10 + its 6 min grace
    clock.tick()
    late = model.late_jobs()
    assert set(late) == {"late", "soon"}
    assert judged == ["soon"]  # "late" stays Late: only its reason ages, as a fresh judgement says it
    [late_job] = [model.job_at(row) for row in range(model.rowCount()) if model.job_at(row).job_id == "late"]
    fresh = real_late(late_job, clock_time.now)
    assert late["late"][1] == fresh.reason
    assert fresh.reason.endswith("2 h 16 min ago")

    judged.clear()
    model.set_host_zones(HostZones({"mini": "Europe/Paris"}))  # a zone change judges everything again
    model.late_jobs()
    assert sorted(judged) == ["late", "later", "never", "soon"]
