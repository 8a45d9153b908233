"""The first frame, as something to wait for: start-up work that nothing on screen needs (the Control
API's health check, the single-instance server) waits until the window has painted the first snapshot,
so that frame comes as early as it can and nothing on the network competes with it (docs/desktop-app.md,
"Start-up and shut-down")."""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from cronmirror_desktop.ui.controller import AppController

#: If no paint ever arrives (a window that is shown but never exposed), the deferred work starts anyway.
PAINT_LIMIT_S = 3.0
#: A first snapshot that takes longer than this (a store that does not answer) does not hold the rest back.
LOAD_LIMIT_S = 3.0


class FirstPaint(QObject):
    """Sets `painted` at the next paint event of `window` from now on; at once when the window is not
    shown (the app started in the menu bar only), and after `limit_s` at the latest."""

    def __init__(self, window: QWidget, limit_s: float = PAINT_LIMIT_S) -> None:
        super().__init__(window)
        self.painted = asyncio.Event()
        self._window = window
        self._limit = QTimer(self)
        self._limit.setSingleShot(True)
        self._limit.timeout.connect(self._done)
        if not window.isVisible():
            self._limit.start(0)
            return
        window.installEventFilter(self)
        self._limit.start(round(limit_s * 1000))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._done()
        return False

    def _done(self) -> None:
        if self.painted.is_set():
            return
        self._window.removeEventFilter(self)
        self._limit.stop()
        self.painted.set()


class FirstFrame:
    """Sets `shown` once `window` has painted after the controller's first load ended (a snapshot shown,
    or the reason it could not be). Make it before `controller.start()`; `close()` when the app ends."""

    def __init__(
        self, window: QWidget, controller: AppController, load_limit_s: float = LOAD_LIMIT_S
    ) -> None:
        self.shown = asyncio.Event()
        self._window = window
        self._controller = controller
        self._loaded = asyncio.Event()
        #: Made when the load ends, synchronously, so the paint that shows its result is the one caught.
        self._paint: FirstPaint | None = None
        controller.loadingChanged.connect(self._loading)
        self._task = asyncio.ensure_future(self._wait(load_limit_s))

    def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(RuntimeError, TypeError):
            self._controller.loadingChanged.disconnect(self._loading)

    def _loading(self, loading: bool) -> None:
        if not loading and self._paint is None:
            self._paint = FirstPaint(self._window)
            self._loaded.set()

    async def _wait(self, load_limit_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), load_limit_s)
        if self._paint is None:  # still loading: whatever the window shows next
            self._paint = FirstPaint(self._window)
        await self._paint.painted.wait()
        self.shown.set()
