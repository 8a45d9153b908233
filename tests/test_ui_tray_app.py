"""The app with its hosted worker and menu-bar icon, as `run_app` runs it: closing the window, quitting
while a job runs, `--worker`, `--tray-only`, the remembered start-at-launch choice.

A system tray cannot exist offscreen; `run_app(tray=True)` builds and shows the real `QSystemTrayIcon`
anyway (Qt accepts that offscreen, it just draws nowhere), which is what a desktop with a tray does, so
the close/quit rules are tested as they behave there. `tray=False` is what Qt reports here and on a
desktop without a tray.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtWidgets import QApplication

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.config_write import set_value
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.ui.app import run_app
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.presence import Presence
from cronmirror_desktop.ui.worker_host import WorkerState
from cronmirror_desktop.ui.worker_menu import remember_start_at_launch
from tests.procutil import alive, read_pid
from tests.ui_support import mirror_row, ui_settings, wait_until
from tests.worker_harness import python_job, toml_job, write_jobs
from worker.hosted import THREAD_NAME

__all__ = ["ui_settings"]  # fixtures, used by name

PROJECT = "front-office"


@pytest.fixture(autouse=True)
def no_quit_on_last_window(qapp: QApplication) -> Iterator[None]:
    QApplication.setQuitOnLastWindowClosed(False)  # as main() sets it
    yield
    QApplication.setQuitOnLastWindowClosed(True)


def worker_settings(*jobs: str, grace: int = 1) -> None:
    """The dev dir's settings: only our jobs file (no gateway, crontab, launchd of this machine)."""
    for source in ("gateway", "crontab", "launchd"):
        set_value(f"worker.sources.{source}", "false")
    set_value("worker.grace_period_s", str(grace))
    write_jobs(resolve_config().paths.config_dir / "jobs.toml", list(jobs))


class Launched:
    def __init__(self, task: asyncio.Task[int], presence: Presence, store_file: Path) -> None:
        self.task = task
        self.presence = presence
        self.store_file = store_file
        self.window = presence.window
        self.menu = presence.worker_menu
        self.host = presence.worker_menu.host
        self.tray = presence.tray

    async def worker(self, state: WorkerState, within: float = 10.0) -> None:
        await wait_until(lambda: self.host.state is state, within=within, what=f"the worker {state}")

    async def ended(self, within: float = 15.0) -> int:
        code = await asyncio.wait_for(self.task, within)
        assert not self.host.running
        assert [t for t in threading.enumerate() if t.name == THREAD_NAME] == []
        return code


async def launch(
    qapp: QApplication, settings: QSettings, tmp_path: Path, *flags: str, **options: Any
) -> Launched:
    store_file = tmp_path / "app.sqlite3"
    args = build_parser().parse_args(["--local", "--store-file", str(store_file), *flags])
    ready: asyncio.Future[Presence] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(
        run_app(qapp, args, settings=settings, on_started=ready.set_result, **options)
    )
    presence = await asyncio.wait_for(ready, 10)
    return Launched(task, presence, store_file)


async def test_closing_the_window_keeps_the_app_in_the_menu_bar_while_the_worker_runs(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    worker_settings(toml_job("a", ["true"]))
    app = await launch(qapp, ui_settings, tmp_path, "--worker", tray=True)
    assert app.tray is not None
    assert app.tray.isVisible()
    await app.worker(WorkerState.RUNNING)
    assert app.tray.toolTip().startswith("CronMirror\nIn-app worker running · 0 queued · last sync ")

    hidden: list[bool] = []
    app.window.hiddenToMenuBar.connect(lambda: hidden.append(True))
    app.window.closed.connect(lambda: hidden.append(False))
    app.window.close()  # the window decides at once (AppWindow.closeEvent): hide, don't end
    assert hidden == [True]
    assert not app.task.done()  # still alive, in the menu bar
    assert not app.window.isVisible()
    assert app.host.state is WorkerState.RUNNING

    app.tray.menu.aboutToShow.emit()
    app.menu.open_action.trigger()  # Open CronMirror
    assert app.window.isVisible()
    app.window.close()
    assert not app.window.isVisible()

    app.tray.menu.aboutToShow.emit()
    app.menu.quit_action.trigger()  # Quit CronMirror: stops the worker, ends the app
    assert await app.ended() == 0
    assert not app.tray.isVisible()


@pytest.mark.parametrize(
    ("tray", "flags"),
    [(False, ("--worker",)), (True, ())],
    ids=["no-tray-worker-running", "tray-worker-stopped"],
)
async def test_otherwise_closing_the_window_quits(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path, tray: bool, flags: tuple[str, ...]
) -> None:
    """Without a menu bar to live in, or with nothing running, closing the window ends the app as before
    (stopping the worker, if it runs)."""
    worker_settings(toml_job("a", ["true"]))
    app = await launch(qapp, ui_settings, tmp_path, *flags, tray=tray)
    assert (app.tray is not None) is tray
    if flags:
        await app.worker(WorkerState.RUNNING)
    else:
        assert app.host.state is WorkerState.STOPPED
    app.window.close()
    assert await app.ended() == 0


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(0.3, "done"), (60, "error")],
    ids=["finishes-within-grace", "outlives-grace"],
)
async def test_quitting_while_a_job_runs_ends_the_request_honestly(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path, seconds: float, status: str
) -> None:
    pid_file = tmp_path / "job.pid"
    code = f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); "
    code += f"time.sleep({seconds}); print('finished')"
    worker_settings(toml_job("sleepy", python_job(code)), grace=2)
    app = await launch(qapp, ui_settings, tmp_path, "--worker", tray=True)
    controller = app.menu.controller
    await app.worker(WorkerState.RUNNING)
    await wait_until(
        lambda: controller.job_model.find_job("jobs:sleepy") is not None, what="the mirrored job"
    )
    outcome = await controller.run_job("jobs:sleepy")
    assert outcome.request is not None
    pid = await asyncio.to_thread(read_pid, pid_file)
    await wait_until(lambda: app.host.status is not None and bool(app.host.status.running))

    QApplication.postEvent(qapp, QEvent(QEvent.Type.Quit))  # ⌘Q, logging out, or the menu's Quit
    assert await app.ended(within=20) == 0
    assert not alive(pid)  # the job's process group is gone, whichever way it ended
    async with LocalStore(app.store_file) as store:
        request = await store.get_request(outcome.request.id)
    assert request is not None
    assert request.status == status
    if status == "done":
        assert "finished" in request.output_tail
    else:
        assert request.reason is not None
        assert "the worker was stopped" in request.reason


async def test_tray_only_starts_in_the_menu_bar_and_opens_the_window_on_request(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    worker_settings()
    app = await launch(qapp, ui_settings, tmp_path, "--tray-only", tray=True)
    assert app.tray is not None
    assert app.tray.isVisible()
    assert not app.window.isVisible()
    decisions: list[bool] = []
    app.window.hiddenToMenuBar.connect(lambda: decisions.append(True))
    app.window.closed.connect(lambda: decisions.append(False))
    app.window.close()  # (a close while hidden, e.g. from a window list) does not end a menu-bar app
    assert not app.task.done()
    app.tray.menu.aboutToShow.emit()
    app.menu.open_action.trigger()
    assert app.window.isVisible()
    app.window.close()  # --tray-only lives in the menu bar even while the worker is stopped
    assert decisions[-1] is True
    assert False not in decisions
    assert not app.task.done()
    app.menu.quit_action.trigger()
    assert await app.ended() == 0


async def test_tray_only_without_a_tray_shows_the_window_and_says_why(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    worker_settings()
    app = await launch(qapp, ui_settings, tmp_path, "--tray-only", tray=False)
    assert app.tray is None
    assert app.window.isVisible()
    assert "no menu bar icons" in app.window.toast.text()
    app.window.close()
    assert await app.ended() == 0


async def test_the_remembered_choice_starts_the_worker_at_launch(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    worker_settings(toml_job("a", ["true"]))
    remember_start_at_launch(True)
    app = await launch(qapp, ui_settings, tmp_path)  # no --worker
    await app.worker(WorkerState.RUNNING)
    assert app.host.status is not None
    assert app.host.status.store == f"local: {app.store_file}"  # the app's own store
    assert app.window.worker_line is not None
    assert app.window.worker_line.full_text().startswith("In-app worker running")
    app.window.close()
    assert await app.ended() == 0


async def test_activating_the_app_reopens_a_window_hidden_in_the_menu_bar(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    """What a Dock-icon click or a second launch from Finder does on macOS: activate the running app."""
    worker_settings(toml_job("a", ["true"]))
    app = await launch(qapp, ui_settings, tmp_path, "--worker", tray=True)
    await app.worker(WorkerState.RUNNING)
    app.presence.reopens_on_activation = True  # as on macOS
    app.window.close()
    assert not app.window.isVisible()
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    assert not app.window.isVisible()
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
    assert app.window.isVisible()
    app.presence.reopens_on_activation = False  # elsewhere activation alone never opens it
    app.window.close()
    qapp.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
    assert not app.window.isVisible()
    app.tray.menu.aboutToShow.emit()  # type: ignore[union-attr]
    app.menu.quit_action.trigger()
    assert await app.ended() == 0


async def test_a_failure_notifies_through_the_menu_bar_and_a_click_opens_the_job(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    worker_settings()
    app = await launch(qapp, ui_settings, tmp_path, "--tray-only", tray=True)
    assert app.tray is not None
    controller = app.menu.controller
    shown: list[tuple[str, str]] = []
    controller.notifier.notified.connect(lambda sent: shown.append((sent.title, sent.text)))
    start = datetime.now(UTC)
    async with LocalStore(app.store_file) as mac_mini:
        await mac_mini.upsert_mirror(PROJECT, [mirror_row("backup", "Nightly backup", last_run_at=start)])
        await wait_until(lambda: controller.job_model.find_job("backup") is not None, what="the job")
        app.window.search.setText("inbox")  # a filter that hides the job the notification is about
        await mac_mini.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "backup", "Nightly backup", last_run_at=start + timedelta(minutes=1), last_status="error"
                )
            ],
        )
        await wait_until(lambda: shown, within=5, what="the notification")  # after the 800 ms batch
    assert shown == [("“Nightly backup” failed", "its last run failed")]
    assert not app.window.isVisible()
    app.tray.messageClicked.emit()  # what the desktop reports when the notification is clicked
    assert app.window.isVisible()
    selected = app.window.selected_job()
    assert selected is not None
    assert selected.job_id == "backup"
    assert app.window.search.text() == ""
    app.menu.quit_action.trigger()
    assert await app.ended() == 0


async def test_without_a_menu_bar_a_notification_shows_in_the_window(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path
) -> None:
    worker_settings()
    app = await launch(qapp, ui_settings, tmp_path, tray=False)
    controller = app.menu.controller
    notices: list[tuple[str, str]] = []
    controller.notice.connect(lambda level, text: notices.append((level, text)))
    start = datetime.now(UTC)
    async with LocalStore(app.store_file) as mac_mini:
        await mac_mini.upsert_mirror(PROJECT, [mirror_row("backup", "Nightly backup", last_run_at=start)])
        await wait_until(lambda: controller.job_model.find_job("backup") is not None, what="the job")
        await mac_mini.upsert_mirror(
            PROJECT,
            [
                mirror_row(
                    "backup", "Nightly backup", last_run_at=start + timedelta(minutes=1), last_status="error"
                )
            ],
        )
        await wait_until(lambda: notices, within=5, what="the notice")
    assert notices == [("warning", "“Nightly backup” failed: its last run failed")]
    app.window.close()
    assert await app.ended() == 0
