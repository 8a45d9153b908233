"""The worker hosted in the app, seen from Qt: start/stop, sync now, and its status as queued signals.

`worker.hosted.HostedWorker` runs the worker service in its own thread and loop and reports through
callbacks on that thread. Here those callbacks emit signals of a QObject that lives on the GUI thread, so
Qt delivers them queued, on the GUI thread (the app's one rule for crossing threads). `--demo` and the
menu-bar controls (`worker_menu.py`, `tray.py`) use it.

Which run a status belongs to: statuses of a run that just stopped may still be queued when the next
start happens. Every run announces itself from its own thread (`_runBegan`, emitted before the run builds
anything) and Qt keeps the order of events posted from one thread, so everything delivered before that
announcement belongs to an earlier run and is forgotten when it arrives; until then the state is STARTING.

The worker's modules (its service, executor and sources) are imported at the first start, not with the
app: most launches never start it, and the window does not wait for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from worker.configured import WorkerParts
    from worker.hosted import HostedWorker
    from worker.service import WorkerStatus


class WorkerState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    #: It ended on its own: could not start (no key, no store) or died; `last_failure` says why.
    FAILED = "failed"


#: States in which the worker's thread is (or is about to be) alive.
ACTIVE_STATES = frozenset({WorkerState.STARTING, WorkerState.RUNNING, WorkerState.STOPPING})


class WorkerHost(QObject):
    statusChanged = Signal(object)  # WorkerStatus
    failed = Signal(str)
    #: Anything a view shows changed: the state, the status, a failure.
    changed = Signal()
    _runBegan = Signal()

    def __init__(self, factory: Callable[[], WorkerParts], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status: WorkerStatus | None = None
        self.last_failure: str | None = None
        self._factory = factory
        self._awaiting_run = False
        self._stop_requested = False
        #: Made at the first start (see the module docstring).
        self._worker: HostedWorker | None = None
        self._runBegan.connect(self._run_began)
        self.statusChanged.connect(self._remember)
        self.failed.connect(self._remember_failure)

    @property
    def running(self) -> bool:
        """The worker's thread is alive (it may be starting or stopping)."""
        return self._worker is not None and self._worker.running

    @property
    def state(self) -> WorkerState:
        """Derived from signals, not from thread timing: the thread ends a moment after its last signal
        (a failure, the "stopped" status) and nothing announces that, so the signal decides."""
        running = self.running
        if running and self._stop_requested:
            return WorkerState.STOPPING
        if self._awaiting_run:
            return WorkerState.STARTING
        if self.last_failure:  # reported by this run: it is over, whether or not its thread has ended
            return WorkerState.FAILED
        if running:
            return WorkerState.STARTING if self.status is None else WorkerState(self.status.state)
        return WorkerState.STOPPED

    def start(self) -> bool:
        """Start unless running (idempotent). Returns at once; progress arrives as `statusChanged`."""
        if self._worker is None:
            from worker.hosted import HostedWorker

            self._worker = HostedWorker(
                self._parts, on_status=self.statusChanged.emit, on_failed=self.failed.emit
            )
        if not self._worker.start():
            return False
        self._awaiting_run = True
        self._stop_requested = False
        self.changed.emit()
        return True

    async def stop(self, wait: float = 15.0) -> bool:
        """Stop and wait (off the GUI thread) up to `wait` seconds; True when the thread ended. Running
        jobs get the worker's grace period, so `wait` should be longer than that."""
        worker = self._worker
        if worker is None or not worker.running:
            return True
        self._stop_requested = True
        self.changed.emit()
        try:
            return await asyncio.to_thread(worker.stop, wait)
        finally:
            self._stop_requested = False
            self.changed.emit()

    def sync_now(self) -> bool:
        """Ask the running worker to sync at once (thread-safe); False when it is not running."""
        return self._worker is not None and self._worker.sync_now()

    def _parts(self) -> WorkerParts:
        """On the worker's thread, first thing in every run (see the module docstring)."""
        self._runBegan.emit()
        return self._factory()

    def _run_began(self) -> None:
        self._awaiting_run = False
        self.status = None
        self.last_failure = None
        self.changed.emit()

    def _remember(self, status: WorkerStatus) -> None:
        self.status = status
        self.changed.emit()

    def _remember_failure(self, message: str) -> None:
        self.last_failure = message
        self.changed.emit()
