"""Python's cycle collector, run on the GUI thread only.

CPython starts a cycle collection in whichever thread happens to allocate when the counts run over, and
this process has several threads that allocate a lot: the hosted worker's loop, the local store's thread,
the executor's threads. A cycle that holds a Qt object (a widget, a timer, a socket notifier, a model and
the slot bound to it) collected there deletes that object outside the GUI thread, while the GUI thread may
be using it: Qt then crashes later, at a random place (seen as a segfault inside the event loop, without
any Python frame, once every few runs of the test suite). So while the app runs, automatic collection is
off and a timer on the GUI thread collects between events, by the same thresholds CPython would use.
Garbage without cycles is unaffected: reference counting frees it at once, where it is dropped.
"""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, QTimer

#: How often the counts are looked at. Cheap (a tuple read); collections happen only when they are due.
INTERVAL_MS = 1000


class GuiThreadCollector(QObject):
    """`start()` turns automatic collection off and collects on this (the GUI) thread when it is due;
    `stop()` gives collection back to CPython. Both are idempotent."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()
        self.active = False

    def start(self) -> None:
        if self.active:
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the cycle collector belongs to the GUI thread")
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()
        self.active = True

    def stop(self) -> None:
        if not self.active:
            return
        self._timer.stop()
        self.active = False
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect what CPython would have collected by now, the number of objects freed: nothing until
        the youngest generation is over its threshold, then the oldest generation that is due."""
        if not self.active:
            return 0
        threshold0, threshold1, threshold2 = gc.get_threshold()
        count0, count1, count2 = gc.get_count()
        if threshold0 == 0 or count0 < threshold0:  # gc.set_threshold(0) means "never": respected
            return 0
        if count1 < threshold1:
            return gc.collect(0)
        if count2 < threshold2:
            return gc.collect(1)
        return gc.collect(2)
