"""Watching the jobs in the app (issue 17): the details pane's run history and trend, a running request's
live output and ticking duration, Stop on a running request, and native notifications on failure, Late
and recovery.

Real parts: a LocalStore file with a second store on it playing the Mac mini's worker, real widgets
offscreen, a real worker running real job processes. Time moves with an injected clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from cronmirror_desktop.core.run_log import RunLogEntry, run_entry
from cronmirror_desktop.core.store import ChangeType, RunLogChange
from cronmirror_desktop.core.timeutil import format_timestamp
from cronmirror_desktop.ui.clock import ViewClock
from cronmirror_desktop.ui.history_model import COL_RESULT, COL_STATUS, RunHistoryModel
from cronmirror_desktop.ui.notifications import NotificationPrefs, Notifier, Sent
from cronmirror_desktop.ui.request_dock import RequestDock
from cronmirror_desktop.ui.request_model import COL_DURATION, RequestTableModel, running_for
from cronmirror_desktop.ui.settings_dialog import SettingsDialog
from cronmirror_desktop.ui.sparkline import DurationSparkline, points_of, slow_note
from cronmirror_desktop.ui.theme import signal_color
from tests.procutil import alive, read_pid
from tests.ui_support import (
    PROJECT,
    WORKER,
    ManualClock,
    UiEnv,
    env,
    mirror_row,
    request,
    started,
    ui_settings,
    wait_until,
)
from tests.worker_harness import daemon, python_job, service, sources_for, toml_job, write_jobs

__all__ = ["env", "ui_settings"]  # fixtures, used by name

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(
    run_key: str,
    *,
    job_id: str = "backup",
    at: datetime = T0,
    status: str = "ok",
    duration_ms: int | None = 1000,
    **fields: Any,
) -> RunLogEntry:
    """A run-log row as a store returns it."""
    row = run_entry(
        job_id=job_id,
        run_key=run_key,
        run_at=at,
        status=status,  # type: ignore[arg-type]
        duration_ms=duration_ms,
        finished_at=None if status == "running" else at + timedelta(milliseconds=duration_ms or 0),
        **fields,
    )
    return RunLogEntry.from_row({"id": f"id-{run_key}", "project_id": PROJECT, **row})


def series(durations: list[int], *, failed: set[int] = frozenset()) -> list[RunLogEntry]:  # type: ignore[assignment]
    return [
        entry(f"r{i}", at=T0 + timedelta(hours=i), duration_ms=ms, status="error" if i in failed else "ok")
        for i, ms in enumerate(durations)
    ]


# -- the history model -------------------------------------------------------------------------------


def test_the_history_model_is_a_proper_model_and_changes_rows_in_place(qapp: Any, qtmodeltester: Any) -> None:
    clock = ManualClock(T0 + timedelta(hours=5))
    model = RunHistoryModel(clock=ViewClock(clock), limit=3)
    model.job_id = "backup"
    model.set_entries(series([1000, 2000, 3000]))
    qtmodeltester.check(model)
    assert [model.entry_at(r).run_key for r in range(3)] == ["r2", "r1", "r0"]  # newest first

    resets: list[bool] = []
    changed: list[int] = []
    inserted: list[int] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.dataChanged.connect(lambda top, _bottom, *_: changed.append(top.row()))
    model.rowsInserted.connect(lambda _parent, first, _last: inserted.append(first))

    # A new run starts: inserted on top (the oldest falls off the limit); then it finishes, in place.
    running = entry("r3", at=T0 + timedelta(hours=3), status="running", duration_ms=None)
    model.apply(RunLogChange(ChangeType.INSERT, PROJECT, running.id, running))
    assert inserted == [0]
    assert model.rowCount() == 3
    assert model.index(0, COL_STATUS).data() == "Running"
    finished = entry("r3", at=T0 + timedelta(hours=3), status="error", summary="exit code 2\nmore")
    model.apply(RunLogChange(ChangeType.UPDATE, PROJECT, finished.id, finished))
    assert changed == [0]
    assert model.index(0, COL_STATUS).data() == "Failed"
    assert model.index(0, COL_RESULT).data() == "exit code 2"
    # Another job's run and a reset never happen on a live event.
    other = entry("x1", job_id="inbox", at=T0 + timedelta(hours=4))
    model.apply(RunLogChange(ChangeType.INSERT, PROJECT, other.id, other))
    assert model.row_of("x1") is None
    model.apply(RunLogChange(ChangeType.DELETE, PROJECT, "id-r1", None))
    assert model.row_of("r1") is None
    assert resets == []
    qtmodeltester.check(model)


# -- the trend -------------------------------------------------------------------------------------------


def test_the_slow_note_compares_the_last_run_with_the_usual() -> None:
    note = slow_note(series([1000, 1000, 1000, 1000, 5000]))
    assert note == "The last run took 5.0\u00a0s, 5× the usual 1.0\u00a0s."
    assert slow_note(series([1000, 1000, 1000, 1000, 2900])) is None  # under 3×: usual enough
    assert slow_note(series([1000, 1000, 9000])) is None  # too few runs to know what is usual
    # The median, not the mean: one earlier outlier does not hide a slow run.
    assert slow_note(series([1000, 1000, 60_000, 1000, 1000, 4000])) is not None
    # Skipped runs and runs still going have no length; failures count and are marked.
    runs = [*series([1000, 2000], failed={1}), entry("s", status="skipped", at=T0 + timedelta(hours=9))]
    runs.append(entry("run", status="running", duration_ms=None, at=T0 + timedelta(hours=10)))
    assert [(p.duration_ms, p.failed) for p in points_of(runs)] == [(1000, False), (2000, True)]


def _pixels_near(image: QImage, color: QColor, tolerance: int = 40) -> int:
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - color.red())
                + abs(pixel.green() - color.green())
                + abs(pixel.blue() - color.blue())
                < tolerance
            ):
                count += 1
    return count


def test_the_sparkline_marks_failures_in_both_palettes(qtbot: Any) -> None:
    from cronmirror_desktop.ui import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        for mode in (theme.ThemeMode.LIGHT, theme.ThemeMode.DARK):
            theme.apply_theme(app, mode)
            line = DurationSparkline()
            qtbot.addWidget(line)
            line.resize(320, 48)
            line.set_entries(series([1000, 1500, 1200], failed={1}))
            failed = _pixels_near(line.grab().toImage(), signal_color("error", theme.is_dark()))
            assert failed > 4, f"no failure mark drawn in {mode}"
            line.set_entries(series([1000, 1500, 1200]))
            assert _pixels_near(line.grab().toImage(), signal_color("error", theme.is_dark())) == 0
    finally:
        theme.apply_theme(app, theme.ThemeMode.LIGHT)


# -- the details pane ----------------------------------------------------------------------------------


async def test_the_details_pane_shows_the_history_and_follows_it_live(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("backup", "Nightly backup"), mirror_row("tidy", "Tidy", source="crontab")]
        )
        now = datetime.now(UTC)
        rows = [
            run_entry(
                job_id="backup",
                run_key=f"jobs:backup:{i}",
                run_at=now - timedelta(hours=6 - i),
                finished_at=now - timedelta(hours=6 - i) + timedelta(seconds=2),
                duration_ms=2000,
                status="ok",
                trigger="schedule",
                stdout_tail=f"run {i} done",
            )
            for i in range(5)
        ]
        await env.writer.record_runs(PROJECT, rows)
        controller = await started(env.controller())
        window = env.window(controller)
        window.show()
        assert window.select_job("backup")
        view = window.details.history
        await wait_until(lambda: view.table.model().rowCount() == 5, what="the history loaded")
        assert not view.note.isVisible()
        assert not view.unseen.isVisible()
        assert len(view.sparkline.points) == 5

        resets: list[bool] = []
        view.model.modelReset.connect(lambda: resets.append(True))
        # A slow run arrives live: on top, in place, and the note says it was slow.
        slow = run_entry(
            job_id="backup",
            run_key="jobs:backup:slow",
            run_at=now - timedelta(minutes=5),
            finished_at=now,
            duration_ms=300_000,
            status="error",
            trigger="request",
            summary="exit code 1",
            stderr_tail="disk full\nat /Volumes/Backup",
        )
        await env.writer.record_runs(PROJECT, [slow])
        await wait_until(lambda: view.model.rowCount() == 6, what="the live run")
        assert resets == []
        assert view.note.isVisible()
        assert "5\u00a0min" in view.note.text()
        assert "150×" in view.note.text()
        view.table.selectionModel().select(
            view.model.index(0, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        assert view.output.isVisible()
        assert "Requested run · Failed" in view.output.toPlainText()
        assert "disk full\nat /Volumes/Backup" in view.output.toPlainText()

        # A crontab job: its scheduled runs never reach us, and the pane says so.
        assert window.select_job("tidy")
        await wait_until(lambda: view.model.job_id == "tidy", what="tidy selected")
        assert view.unseen.isVisible()
        assert "only the runs made through CronMirror" in view.unseen.text()


# -- a running request: live output, ticking duration, Stop -----------------------------------------------


def test_running_for_ticks_each_second_and_only_that_cell_changes(qapp: Any) -> None:
    assert running_for(T0, T0 + timedelta(seconds=42)) == ("42 s", T0 + timedelta(seconds=43))
    assert running_for(T0, T0 + timedelta(seconds=72)) == ("1 min 12 s", T0 + timedelta(seconds=73))
    assert running_for(T0, T0 + timedelta(hours=2, seconds=5))[1] == T0 + timedelta(hours=2, minutes=1)

    clock = ManualClock(T0 + timedelta(seconds=72))
    model = RequestTableModel(clock=ViewClock(clock))
    running = request(
        "backup",
        "running",
        requested_at=format_timestamp(T0 - timedelta(seconds=3)),
        picked_up_at=format_timestamp(T0),
    )
    model.set_requests([running])
    assert model.index(0, COL_DURATION).data() == "1 min 12 s"
    assert model.index(0, COL_DURATION).data(Qt.ItemDataRole.ToolTipRole) == "Running for 1 min 12 s"
    cells: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, _bottom, *_: cells.append((top.row(), top.column())))
    clock.advance(timedelta(seconds=1))
    model.clock.tick()
    assert (0, COL_DURATION) in cells
    assert model.index(0, COL_DURATION).data() == "1 min 13 s"


async def test_stop_in_the_dock_ends_the_running_job_and_its_whole_process_group(
    env: UiEnv, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    child = tmp_path / "child"
    job = python_job(
        "import os, pathlib, subprocess, sys, time; "
        "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
        f"pathlib.Path({str(child)!r}).write_text(str(kid.pid)); "
        f"pathlib.Path({str(pids)!r}).write_text(str(os.getpid())); "
        "print('copying 1 of 3', flush=True); time.sleep(120)"
    )
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("copy", job, name="Copy photos")])
    worker = service(env.writer, sources_for(jobs_file), heartbeat_every=0.3, grace=1.0)
    worker.executor.progress_every = 0.2
    async with env, daemon(worker):
        controller = await started(env.controller())
        await wait_until(lambda: controller.job_model.find_job("jobs:copy") is not None, what="the job")
        dock = RequestDock(controller)
        env.qtbot.addWidget(dock)
        dock.show()
        attempt = await controller.run_job("jobs:copy")
        assert attempt.request is not None
        request_id = attempt.request.id
        model = controller.request_model

        def shown() -> Any:
            row = model.row_of(request_id)
            return None if row is None else model.request_at(row)

        await wait_until(
            lambda: shown() is not None and shown().output_tail == "copying 1 of 3",
            within=10,
            what="live output",
        )
        row = model.row_of(request_id)
        assert row is not None
        assert str(model.index(row, COL_DURATION).data()).endswith(" s")
        dock.view.selectRow(row)
        assert dock.running_label.isVisible()
        assert dock.running_label.text().startswith("Running for ")
        assert "copying 1 of 3" in dock.details.toPlainText()  # the live output, in the dock
        assert dock.cancel_button.text() == "Stop"
        assert dock.cancel_button.isEnabled()
        pid, kid = await asyncio.to_thread(read_pid, pids), await asyncio.to_thread(read_pid, child)
        group = os.getpgid(pid)
        assert os.getpgid(kid) == group

        dock.cancel_button.click()
        await wait_until(lambda: shown().status == "cancelled", within=15, what="the stopped request")
        stopped = shown()
        assert stopped.reason is not None
        assert "stopped by ui:" in stopped.reason
        assert stopped.output_tail == "copying 1 of 3"
        assert not alive(pid)
        assert not alive(kid)
        dock.view.selectRow(model.row_of(request_id) or 0)
        assert dock.cancel_button.text() == "Cancel Request"
        assert not dock.cancel_button.isEnabled()


async def test_a_gateway_run_offers_no_stop_and_says_why(env: UiEnv) -> None:
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("gw-1", "Inbox triage", source="gateway")])
        controller = await started(env.controller())
        dock = RequestDock(controller)
        env.qtbot.addWidget(dock)
        queued = (await env.writer.queue_run(PROJECT, "gw-1", "ui")).request
        await env.writer.claim_next(PROJECT, WORKER)
        await wait_until(lambda: model_status(controller, queued.id) == "running", what="running")
        dock.view.selectRow(controller.request_model.row_of(queued.id) or 0)
        assert dock.cancel_button.text() == "Stop"
        assert not dock.cancel_button.isEnabled()
        assert "cannot be stopped from here" in dock.cancel_button.toolTip()


def model_status(controller: Any, request_id: str) -> str | None:
    row = controller.request_model.row_of(request_id)
    return None if row is None else controller.request_model.request_at(row).status


# -- notifications -------------------------------------------------------------------------------------------


class Notified:
    """What the notifier emitted (the signal the menu-bar icon is connected to), flushed by hand."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.items: list[Sent] = []
        notifier.notified.connect(self.items.append)

    async def settle(self, what: str) -> list[Sent]:
        """Wait until something is pending, send it now (not after the 800 ms batch), return it."""
        await wait_until(lambda: self.notifier.pending, what=what)
        before = len(self.items)
        self.notifier.flush()
        return self.items[before:]

    def quiet(self) -> list[Sent]:
        self.notifier.flush()
        return self.items


async def test_a_failure_and_a_recovery_notify_once_each_and_old_news_never(env: UiEnv) -> None:
    async with env:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = ManualClock(start)
        failed_before = start - timedelta(hours=1)
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row("backup", "Nightly backup", last_run_at=failed_before, last_status="error"),
                mirror_row("inbox", "Inbox check", last_run_at=failed_before, last_status="ok"),
            ],
        )
        controller = await started(env.controller(clock=clock))
        notified = Notified(controller.notifier)
        assert notified.quiet() == []  # a failure already there when the app started is not news

        ran = start - timedelta(minutes=1)
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox check", last_run_at=ran, last_status="error")]
        )
        [failure] = await notified.settle("the failure")
        assert failure == Sent("failure", "“Inbox check” failed", "its last run failed", ["inbox"])
        # The worker syncs the same row again: nothing new.
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox", last_run_at=ran, last_status="error")]
        )
        await wait_until(lambda: controller.job_model.find_job("inbox").name == "Inbox", what="the re-sync")
        assert notified.quiet() == [failure]

        clock.advance(timedelta(minutes=11))
        controller.clock.tick()
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox check", last_run_at=clock.now, last_status="ok")]
        )
        [recovery] = await notified.settle("the recovery")
        assert recovery == Sent(
            "recovery", "“Inbox check” works again", "its last run worked again", ["inbox"]
        )

        # Within 10 minutes of its last notification a job stays quiet; after, it may speak again.
        clock.advance(timedelta(minutes=2))
        controller.clock.tick()
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox check", last_run_at=clock.now, last_status="error")]
        )
        await wait_until(lambda: controller.job_model.find_job("inbox").last_run_at == clock.now, what="row")
        assert notified.quiet() == [failure, recovery]
        clock.advance(timedelta(minutes=9))
        controller.clock.tick()
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("inbox", "Inbox check", last_run_at=clock.now, last_status="error")]
        )
        [again] = await notified.settle("a failure after the quiet period")
        assert again.kind == "failure"


async def test_many_at_once_become_one_summary_and_choices_are_kept(env: UiEnv) -> None:
    async with env:
        start = datetime.now(UTC).replace(microsecond=0)
        names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]
        await env.writer.upsert_mirror(PROJECT, [mirror_row(n.lower(), n) for n in names])
        saved: list[NotificationPrefs] = []
        prefs = NotificationPrefs()
        prefs.muted.add("epsilon")
        controller = await started(
            env.controller(
                clock=ManualClock(start), notification_prefs=prefs, save_notification_prefs=saved.append
            )
        )
        notified = Notified(controller.notifier)
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row(n.lower(), n, last_run_at=start, last_status="error") for n in names]
        )
        await wait_until(lambda: len(notified.notifier.pending) == 4, what="four failures")
        [summary] = await notified.settle("the summary")
        assert summary.kind == "summary"
        assert summary.title == "4 jobs need a look"  # Epsilon is muted
        assert summary.text == "Failed: “Alpha”, “Beta”, “Gamma” and 1 more"
        assert sorted(summary.job_ids) == ["alpha", "beta", "delta", "gamma"]

        # Failures turned off in Settings: kept through the save callback, and nothing notifies.
        dialog = SettingsDialog(notifier=controller.notifier)
        env.qtbot.addWidget(dialog)
        assert dialog.notify_boxes["failure"].isChecked()
        assert "1 job is muted" in dialog.findChild(type(dialog.status), "notifyNote").text()
        dialog.notify_boxes["failure"].setChecked(False)
        assert dialog.save()
        assert saved
        assert saved[-1].kinds == {"failure": False, "late": True, "recovery": True}
        later = start + timedelta(minutes=30)
        await env.writer.upsert_mirror(
            PROJECT, [mirror_row("alpha", "Alpha", last_run_at=later, last_status="error")]
        )
        await wait_until(lambda: controller.job_model.find_job("alpha").last_run_at == later, what="row")
        assert notified.quiet() == [summary]


async def test_a_job_that_becomes_late_notifies_once(env: UiEnv) -> None:
    async with env:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = ManualClock(start)
        every_30_min = {"schedule_kind": "every", "schedule_expr": str(30 * 60_000)}
        await env.writer.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "sync",
                    "Calendar sync",
                    last_run_at=start - timedelta(minutes=10),
                    last_status="ok",
                    next_run_at=start + timedelta(minutes=20),
                    **every_30_min,
                ),
                mirror_row(  # already Late at start: the baseline, not news
                    "stale",
                    "Stale feed",
                    last_run_at=start - timedelta(hours=3),
                    last_status="ok",
                    next_run_at=start - timedelta(hours=2),
                    **every_30_min,
                ),
            ],
        )
        controller = await started(env.controller(clock=clock))
        assert "stale" in controller.job_model.late_jobs()
        notified = Notified(controller.notifier)
        clock.advance(timedelta(minutes=1))
        controller.clock.tick()
        assert notified.quiet() == []

        clock.advance(timedelta(minutes=40))  # the 09:20 run did not happen
        controller.clock.tick()
        assert "sync" in controller.job_model.late_jobs()
        [late] = await notified.settle("Late")
        assert late.kind == "late"
        assert late.title == "“Calendar sync” is late"
        assert late.job_ids == ["sync"]
        clock.advance(timedelta(minutes=1))
        controller.clock.tick()
        assert notified.quiet() == [late]  # still Late: said once
