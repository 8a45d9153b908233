"""The worker's controls, built once for both places they appear: the menu-bar icon's menu and the main
window's Worker menu (the window carries them too, which is all there is where no menu bar or system tray
exists).

`WorkerMenu.populate(menu)` fills a QMenu from live state; both menus call it from `aboutToShow`, so what
a person sees is never older than the click that opened it. The status line says what the worker does in
one line ("In-app worker running · 2 queued · last sync 12 s ago"); `summarize` makes it and is pure, so
each state is tested without a worker. Start/Stop is one item whose words follow the state.

All of it is about the worker *in this app*, and says so ("In-app worker"): the project's workers as the
mirror knows them (an external `cronmirror-worker run` on the Mac mini, this one too) are the connection
panel's, from their presence rows. "last sync 12 s ago" is read on the app's one clock and the line is
re-announced (`changed`) when those words change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.settings import load_settings, save_settings
from cronmirror_desktop.ui.controller import AppController, Level
from cronmirror_desktop.ui.worker_host import ACTIVE_STATES, WorkerHost, WorkerState

if TYPE_CHECKING:
    from worker.service import WorkerStatus

log = logging.getLogger(__name__)

#: Key in `Settings.ui` (the user's settings file) for "start the worker when CronMirror opens".
START_AT_LAUNCH_KEY = "start_worker_at_launch"
#: What the worker inside this app is called wherever it is shown (never just "Worker": an external one
#: may serve the same project).
NAME = "In-app worker"
#: How many characters of an error fit on a menu line (the whole text is in the tooltip).
MENU_TEXT_LIMIT = 72

Spawn = Callable[[str, Coroutine[Any, Any, Any]], object]


@dataclass(frozen=True)
class WorkerSummary:
    """What the menus and the window's status line show for one moment."""

    state: WorkerState
    line: str
    #: The current problem (a failure, or a step that keeps failing), with what to do about it.
    problem: str | None = None
    #: Which status light goes with it: live / connecting / off / down (see `icons`).
    light: str = "off"
    #: When `line` reads differently as time passes ("last sync 12 s ago"), None: never.
    due: datetime | None = None

    @property
    def can_start(self) -> bool:
        return self.state in (WorkerState.STOPPED, WorkerState.FAILED)

    @property
    def can_stop(self) -> bool:
        return self.state in (WorkerState.STARTING, WorkerState.RUNNING)

    @property
    def can_sync(self) -> bool:
        return self.state is WorkerState.RUNNING


def _count(n: int, word: str) -> str:
    return f"{n} {word}"


def summarize(
    state: WorkerState,
    status: WorkerStatus | None,
    *,
    failure: str | None = None,
    queued: int | None = None,
    now: datetime,
) -> WorkerSummary:
    """The status line for a state: "In-app worker running · 1 running · 2 queued · last sync 12 s ago"."""
    parts: list[str]
    problem: str | None = None
    light = "off"
    due: datetime | None = None
    running_jobs = len(status.running) if status is not None else 0
    if state is WorkerState.RUNNING:
        parts = [f"{NAME} running"]
        if running_jobs:
            parts.append(_count(running_jobs, "running"))
        if queued is not None:
            parts.append(_count(queued, "queued"))
        if status is not None and status.last_sync_at is not None:
            parts.append(f"last sync {timetext.relative(status.last_sync_at, now, past=True)}")
            due = timetext.changes_at(status.last_sync_at, now, past=True)
        elif status is not None:
            parts.append("not synced yet")
        light = "live"
        if status is not None and status.last_error:
            problem = " ".join(p for p in (status.last_error, status.last_error_hint) if p)
            light = "down"
    elif state is WorkerState.STARTING:
        parts = [f"{NAME} starting…"]
        light = "connecting"
    elif state is WorkerState.STOPPING:
        parts = [f"{NAME} stopping…"]
        if running_jobs:
            parts.append(f"{running_jobs} job{'s' if running_jobs != 1 else ''} finishing")
        light = "connecting"
    elif state is WorkerState.FAILED:
        parts = [f"{NAME} failed"]
        problem = failure
        light = "down"
    else:
        parts = [f"{NAME} stopped"]
        if queued:
            parts.append(_count(queued, "queued"))
    return WorkerSummary(state, " · ".join(parts), problem, light, due)


def elide(text: str, limit: int = MENU_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- "start the worker when CronMirror opens" ------------------------------------------------------


def start_at_launch() -> bool:
    """The remembered choice (settings file, `ui.start_worker_at_launch`); False when unreadable."""
    return bool(load_settings().settings.ui.get(START_AT_LAUNCH_KEY, False))


def remember_start_at_launch(enabled: bool) -> None:
    loaded = load_settings()
    settings = loaded.settings
    settings.ui = {**settings.ui, START_AT_LAUNCH_KEY: enabled}
    save_settings(settings, loaded.path)


# -- the menu --------------------------------------------------------------------------------------


class WorkerMenu(QObject):
    """The worker's actions and the one place that fills a menu with them (see the module docstring).

    `project_id` is the project the hosted worker serves; the queued count comes from the controller's
    request model while the window shows that project (and is left out otherwise). `remember_choice`
    offers "Start the worker when CronMirror opens" (off for the demo: it must not touch the user's
    settings).
    """

    openRequested = Signal()
    quitRequested = Signal()
    #: Something the status line shows changed (re-emitted from the host).
    changed = Signal()

    def __init__(
        self,
        host: WorkerHost,
        controller: AppController,
        *,
        project_id: str,
        stop_wait: float = 15.0,
        remember_choice: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.controller = controller
        self.project_id = project_id
        self.stop_wait = stop_wait
        self._last_problem: str | None = None
        self._due: datetime | None = None

        self.status_action = self._action(f"{NAME} stopped", "workerStatusAction", enabled=False)
        self.problem_action = self._action("", "workerProblemAction", enabled=False)
        self.toggle_action = self._action("Start worker", "workerToggleAction")
        self.toggle_action.triggered.connect(self.toggle)
        self.sync_action = self._action("Sync now", "workerSyncAction")
        self.sync_action.setToolTip("Mirror this computer's jobs now instead of at the next interval")
        self.sync_action.triggered.connect(self.sync_now)
        self.launch_action: QAction | None = None
        if remember_choice:
            self.launch_action = self._action("Start worker when CronMirror opens", "workerAtLaunchAction")
            self.launch_action.setCheckable(True)
            self.launch_action.toggled.connect(self._remember_launch_choice)
        self.open_action = self._action("Open CronMirror", "openWindowAction")
        self.open_action.triggered.connect(self.openRequested)
        self.quit_action = self._action("Quit CronMirror", "quitAction")
        self.quit_action.triggered.connect(self.quitRequested)

        host.changed.connect(self._host_changed)
        host.failed.connect(self._failed)
        controller.request_model.activeCountChanged.connect(lambda _n: self.changed.emit())
        controller.projectChanged.connect(lambda _p: self.changed.emit())
        controller.clock.ticked.connect(self._clock_ticked)
        controller.in_app_worker_serves = self.serves_current_project

    def _action(self, text: str, name: str, *, enabled: bool = True) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setEnabled(enabled)
        action.setMenuRole(QAction.MenuRole.NoRole)  # macOS must not move Quit into the app menu
        return action

    # -- state --------------------------------------------------------------------------------

    def serves_current_project(self) -> bool:
        """The worker inside this app runs for the project the window shows (it takes its requests)."""
        return self.host.state is WorkerState.RUNNING and self.controller.project_id == self.project_id

    def worker_id(self) -> str | None:
        """The id of the worker inside this app while it has one (it is in its presence row, too)."""
        status = self.host.status
        return status.worker_id if status is not None and self.host.state in ACTIVE_STATES else None

    def queued(self) -> int | None:
        if self.controller.project_id != self.project_id:
            return None
        return sum(1 for r in self.controller.request_model.requests() if r.status == "queued")

    def summary(self, now: datetime | None = None) -> WorkerSummary:
        """The line now (at the app's clock unless `now` is given); asks the clock to wake `changed`
        when its words change."""
        host = self.host
        clock = self.controller.clock
        summary = summarize(
            host.state, host.status, failure=host.last_failure, queued=self.queued(), now=now or clock.now
        )
        if now is None:
            self._due = summary.due
            clock.wake_at(summary.due)
        return summary

    def _clock_ticked(self) -> None:
        due = self._due
        if due is not None:
            if due <= self.controller.clock.now:
                self._due = None
                self.changed.emit()
            else:
                self.controller.clock.wake_at(due)

    def populate(self, menu: QMenu, *, with_open: bool = True) -> WorkerSummary:
        """Fill `menu` from live state (call from its `aboutToShow`). Returns what it showed."""
        summary = self.summary()
        self.status_action.setText(summary.line)
        self.status_action.setToolTip(f"Project {self.project_id}")
        self.problem_action.setText(f"⚠ {elide(summary.problem)}" if summary.problem else "")
        self.problem_action.setToolTip(summary.problem or "")
        if summary.state is WorkerState.STOPPING:
            self.toggle_action.setText("Stopping worker…")
        elif summary.can_stop:
            self.toggle_action.setText("Stop worker")
        else:
            self.toggle_action.setText("Start worker")
        self.toggle_action.setEnabled(summary.can_start or summary.can_stop)
        self.sync_action.setEnabled(summary.can_sync)
        if self.launch_action is not None:
            self.launch_action.blockSignals(True)
            self.launch_action.setChecked(start_at_launch())
            self.launch_action.blockSignals(False)

        menu.clear()
        menu.setToolTipsVisible(True)
        menu.addAction(self.status_action)
        if summary.problem:
            menu.addAction(self.problem_action)
        menu.addSeparator()
        menu.addAction(self.toggle_action)
        menu.addAction(self.sync_action)
        if self.launch_action is not None:
            menu.addAction(self.launch_action)
        menu.addSeparator()
        if with_open:
            menu.addAction(self.open_action)
        menu.addAction(self.quit_action)
        return summary

    # -- actions ------------------------------------------------------------------------------

    def toggle(self) -> None:
        state = self.host.state
        if state in (WorkerState.STOPPED, WorkerState.FAILED):
            self.start()
        elif state in (WorkerState.STARTING, WorkerState.RUNNING):
            self.stop()

    def start(self) -> bool:
        return self.host.start()

    def stop(self) -> None:
        """Stop in the background: running jobs get their grace period, the menus say "stopping"."""
        self.controller.spawn("worker-stop", self.host.stop(self.stop_wait))

    def sync_now(self) -> None:
        if self.host.sync_now():
            self.controller.notice.emit(str(Level.INFO), "Syncing this computer's jobs now.")

    def _remember_launch_choice(self, enabled: bool) -> None:
        try:
            remember_start_at_launch(enabled)
        except (CronMirrorError, OSError) as exc:
            log.warning("cannot save the start-at-launch choice: %s", exc)
            self.controller.notice.emit(str(Level.ERROR), f"Could not save the choice: {exc}")

    # -- reactions ----------------------------------------------------------------------------

    def _host_changed(self) -> None:
        status = self.host.status
        problem = None
        if self.host.state is WorkerState.RUNNING and status is not None and status.last_error:
            problem = " ".join(p for p in (status.last_error, status.last_error_hint) if p)
        # Said once when trouble starts, not for every step that fails after it (they share a cause).
        if problem and not self._last_problem:
            self.controller.notice.emit(str(Level.ERROR), f"The worker has a problem: {problem}")
        self._last_problem = problem
        self.changed.emit()

    def _failed(self, message: str) -> None:
        started = self.host.status is not None
        text = message if started else f"The worker could not start: {message}"
        self.controller.notice.emit(str(Level.ERROR), text)

    @property
    def active(self) -> bool:
        """The worker runs or is about to (what keeps the app alive in the menu bar)."""
        return self.host.state in ACTIVE_STATES
