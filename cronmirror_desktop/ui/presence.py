"""Where the app lives and how it ends: its window, the menu-bar icon when the desktop has one, closing
into the menu bar while the worker runs, quit requests, and a second launch waking the first.

Closing the window hides it into the menu bar while the hosted worker runs (or with `--tray-only`);
otherwise it ends the app. Quit (menu bar, ⌘Q, logging out) always ends it through run_app's tear-down. A
second launch activates the running app instead (`single_instance.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon, QWidget

from cronmirror_desktop import APP_NAME
from cronmirror_desktop.ui.controller import Level
from cronmirror_desktop.ui.main_window import MainWindow
from cronmirror_desktop.ui.notifications import Sent
from cronmirror_desktop.ui.tray import TrayIcon, hide_dock_icon
from cronmirror_desktop.ui.worker_menu import WorkerMenu

if TYPE_CHECKING:
    from cronmirror_desktop.ui.single_instance import SingleInstance

log = logging.getLogger("cronmirror_desktop")


class AppWindow(MainWindow):
    """The main window plus the app's close policy (see the module docstring): while `keep_alive()` says
    the app lives in the menu bar, closing only hides the window (`hiddenToMenuBar`); otherwise `closed`
    ends the app."""

    closed = Signal()
    hiddenToMenuBar = Signal()

    def __init__(self, *args: Any, keep_alive: Callable[[], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_alive = keep_alive

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if not event.isAccepted():
            return
        if self.keep_alive is not None and self.keep_alive():
            self.hiddenToMenuBar.emit()
        else:
            self.closed.emit()


def bring_to_front(window: QWidget) -> None:
    """Show the window, un-minimised, in front (Open CronMirror, a second launch)."""
    window.show()
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.raise_()
    window.activateWindow()


class QuitGuard(QObject):
    """Turns a quit request (⌘Q, the Dock's Quit, a tray's Quit, logging out) into "end run_app": Qt would
    otherwise leave its event loop at once, stopping the asyncio loop while tear-down still needs it."""

    def __init__(self, done: asyncio.Event) -> None:
        super().__init__()
        self._done = done
        self.requests = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Quit:
            self.requests += 1
            self._done.set()
            return True
        return False


class Presence:
    """Where the app shows itself: the window, and the menu-bar icon when the desktop has one."""

    def __init__(
        self,
        window: AppWindow,
        worker_menu: WorkerMenu,
        tray: TrayIcon | None,
        *,
        tray_only: bool,
    ) -> None:
        self.window = window
        self.worker_menu = worker_menu
        self.tray = tray
        self.tray_only = tray_only
        self._told_hidden = False
        window.keep_alive = self.keep_alive
        window.hiddenToMenuBar.connect(self._hidden)
        worker_menu.openRequested.connect(self.open_window)
        worker_menu.controller.notice.connect(self._notice)
        #: The jobs of the last notification shown (a click on it opens the first).
        self._message_jobs: list[str] = []
        worker_menu.controller.notifier.notified.connect(self.job_notified)
        if tray is not None:
            tray.messageClicked.connect(self.message_clicked)
        #: macOS answers a click on the Dock icon, or launching the app again from Finder, itself (no
        #: second process reaches our single-instance socket): the app just becomes active.
        self.reopens_on_activation = sys.platform == "darwin"
        self._app = QApplication.instance()
        if isinstance(self._app, QApplication):
            self._app.applicationStateChanged.connect(self._application_state)

    def dispose(self) -> None:
        """Disconnect from the application (it outlives this window: tests start many apps on one)."""
        if isinstance(self._app, QApplication):
            with contextlib.suppress(RuntimeError, TypeError):
                self._app.applicationStateChanged.disconnect(self._application_state)

    def keep_alive(self) -> bool:
        """Closing the window keeps the app in the menu bar while the worker runs (or --tray-only)."""
        in_menu_bar = self.tray is not None and self.tray.isVisible()
        return in_menu_bar and (self.tray_only or self.worker_menu.active)

    def show_at_start(self) -> None:
        if self.tray is not None:
            self.tray.show()
        if self.tray_only and self.tray is not None:
            hide_dock_icon()
            return
        self.window.show()
        if self.tray_only:
            self.worker_menu.controller.notice.emit(
                "warning", "This desktop has no menu bar icons (system tray), so CronMirror shows its window."
            )

    def open_window(self) -> None:
        bring_to_front(self.window)

    def activate(self, message: dict[str, Any]) -> None:
        """A second launch: its flags, then bring this app to the front (unless it asked for the menu
        bar only and there is one)."""
        project = message.get("project")
        controller = self.worker_menu.controller
        if isinstance(project, str) and project and project != controller.project_id:
            controller.switch_project(project)
        if message.get("worker"):
            self.worker_menu.start()
        if not (message.get("tray_only") and self.tray is not None and self.tray.isVisible()):
            self.open_window()

    def _application_state(self, state: Qt.ApplicationState) -> None:
        """Reopen: the app was activated (Dock icon, Finder) while its window hid in the menu bar."""
        hidden_in_menu_bar = not self.window.isVisible() and not self.tray_only
        if (
            self.reopens_on_activation
            and state == Qt.ApplicationState.ApplicationActive
            and hidden_in_menu_bar
        ):
            self.open_window()

    def _hidden(self) -> None:
        if self.tray is not None and not self._told_hidden and self.tray.supportsMessages():
            self._told_hidden = True
            self.tray.showMessage(
                APP_NAME,
                "CronMirror keeps running in the menu bar. Open or quit it from there.",
                QSystemTrayIcon.MessageIcon.Information,
                5000,
            )
            self._message_jobs = []

    def _notice(self, level: str, text: str) -> None:
        if self.tray is not None and not self.window.isVisible():
            self._message_jobs = []
            self.tray.notify(level, text)

    def job_notified(self, sent: Sent) -> None:
        """A job failed, became Late or recovered (notifications.py): a native notification through the
        menu-bar icon (Notification Center on macOS); without one, a notice in the window."""
        good = sent.kind == "recovery"
        if self.tray is not None and self.tray.isVisible() and self.tray.supportsMessages():
            self._message_jobs = list(sent.job_ids)
            icon = QSystemTrayIcon.MessageIcon.Information if good else QSystemTrayIcon.MessageIcon.Warning
            self.tray.showMessage(sent.title, sent.text, icon, 10_000)
            return
        level = Level.SUCCESS if good else Level.WARNING
        self.worker_menu.controller.notice.emit(level, f"{sent.title}: {sent.text}")

    def message_clicked(self) -> None:
        """The notification was clicked: open the window on its (first) job."""
        jobs, self._message_jobs = self._message_jobs, []
        self.open_window()
        if jobs:
            self.window.reveal_job(jobs[0])


def activation_message(args: argparse.Namespace) -> dict[str, Any]:
    """What a second launch tells the running app (the flags that mean something to it)."""
    return {
        "command": "activate",
        "worker": args.worker,
        "tray_only": args.tray_only,
        "project": args.project,
    }


def claim_single_instance(
    args: argparse.Namespace, *, listen: bool = True
) -> tuple[int | None, SingleInstance | None]:
    """Hand this launch to a running CronMirror (then exit with the returned code), or become the one.
    Screenshots and the demo are throwaway runs and skip it. `listen=False`: the returned instance does
    not take the name yet; the app calls `listen()` once its window has painted the first snapshot
    (app.py; nothing a second launch could reach is needed for that frame)."""
    if args.screenshot is not None or args.demo:
        return None, None
    # QtNetwork, imported here: throwaway runs never need it.
    from cronmirror_desktop.ui.single_instance import Forwarded, SingleInstance

    instance = SingleInstance()
    forwarded = instance.forward(activation_message(args))
    if forwarded is Forwarded.DELIVERED:
        log.info("CronMirror already runs; it was brought to the front")
        return 0, None
    if forwarded is Forwarded.NO_ANSWER:
        log.error("CronMirror already runs but does not answer (%s)", instance.name)
        QMessageBox.warning(
            None,
            APP_NAME,
            "CronMirror is already running but does not respond. Quit it (or end it in Activity Monitor) "
            "and open CronMirror again.",
        )
        return 1, None
    if listen and not instance.listen():
        return None, None  # another launch won the race: carry on without (two windows, no harm)
    return None, instance
