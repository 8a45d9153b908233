"""The worker hosted in the app, seen from Qt: start/stop, and its status as queued signals.

`worker.hosted.HostedWorker` runs the worker service in its own thread and loop and reports through
callbacks on that thread. Here those callbacks emit signals of a QObject that lives on the GUI thread, so
Qt delivers them queued, on the GUI thread (the app's one rule for crossing threads). `--demo` uses it to
execute Run requests; the menu-bar controls (issue 7) attach to the same object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from worker.hosted import HostedWorker, WorkerParts
from worker.service import WorkerStatus


class WorkerHost(QObject):
    statusChanged = Signal(object)  # WorkerStatus
    failed = Signal(str)

    def __init__(self, factory: Callable[[], WorkerParts], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status: WorkerStatus | None = None
        self.last_failure: str | None = None
        self._worker = HostedWorker(factory, on_status=self.statusChanged.emit, on_failed=self.failed.emit)
        self.statusChanged.connect(self._remember)
        self.failed.connect(self._remember_failure)

    @property
    def running(self) -> bool:
        return self._worker.running

    def start(self) -> bool:
        """Start unless running (idempotent). Returns at once; progress arrives as `statusChanged`."""
        return self._worker.start()

    async def stop(self, wait: float = 15.0) -> bool:
        """Stop and wait (off the GUI thread) up to `wait` seconds; True when the thread ended."""
        return await asyncio.to_thread(self._worker.stop, wait)

    def _remember(self, status: WorkerStatus) -> None:
        self.status = status

    def _remember_failure(self, message: str) -> None:
        self.last_failure = message
