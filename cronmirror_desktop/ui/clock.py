"""The one clock every view reads, and the bookkeeping that re-renders relative times when their words change.

Why one clock: each view used to take its own "now" (the table every 30 s, the dock when its rows were
loaded, the details pane when a job was selected), so one run read "5 s ago", "7 s ago" and "15 s ago" on
one screen, and a request made a moment ago read "in 7 s". Now every view renders against `ViewClock.now`,
which moves forward in one step for all of them (`tick`): when a shown text is due to change, and before
new data is shown.

Why not a timer that repaints everything: at 10,000 jobs a repaint of two columns every second costs more
than it shows. A view notes, for each relative text it renders, when that text next reads differently
(`timetext.changes_at`) in a `DueTimes`, and asks the clock to wake it then (`wake_at`). A tick hands each
view the texts that are due, and only those cells are announced as changed: every second while a text
counts seconds, every minute after that, and nothing at all for rows that were never painted.

The clock's source is injectable (`AppController(clock=...)`): tests move time by hand and call `tick`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from cronmirror_desktop.core.timeutil import now_utc

K = TypeVar("K", bound=Hashable)

#: The longest the clock sleeps while anything waits (a wall-clock jump or a sleeping laptop is caught up
#: within this).
MAX_SLEEP_MS = 60_000
#: A timer may fire a little early; waking this much late instead means one wake-up, not two.
WAKE_MARGIN_MS = 15

Source = Callable[[], datetime]


class ViewClock(QObject):
    """`now` is the instant every view renders against; `tick()` moves it to the source's time and emits
    `ticked`. Views call `wake_at(t)` for the moment their next text changes, and again after every tick
    (only the earliest wish is kept, so a view whose texts were not due yet asks again)."""

    ticked = Signal()

    def __init__(self, source: Source = now_utc, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._now = source()
        self._wanted: datetime | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._wake)
        #: How many ticks happened (tests and the bench read it).
        self.ticks = 0

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def wanted(self) -> datetime | None:
        """The earliest wake-up a view asked for (None: nothing is waiting)."""
        return self._wanted

    def tick(self) -> datetime:
        """Move to the source's time (never backwards) and let every view re-render what is due."""
        now = self._source()
        if now > self._now:
            self._now = now
        self.ticks += 1
        if self._wanted is not None and self._wanted <= self._now:
            self._wanted = None
            self._timer.stop()
        self.ticked.emit()
        return self._now

    def wake_at(self, when: datetime | None) -> None:
        """Tick at `when` (or soon after); the earliest request wins."""
        if when is None or (self._wanted is not None and when >= self._wanted):
            return
        self._wanted = when
        self._arm()

    def stop(self) -> None:
        self._timer.stop()
        self._wanted = None

    def _arm(self) -> None:
        if self._wanted is None:
            return
        delay = (self._wanted - self._source()).total_seconds() * 1000
        self._timer.start(int(min(MAX_SLEEP_MS, max(0.0, delay) + WAKE_MARGIN_MS)))

    def _wake(self) -> None:
        wanted = self._wanted
        if wanted is not None and self._source() < wanted:
            self._arm()  # slept the longest allowed, or woke early: not due yet
            return
        self.tick()


class DueTimes(Generic[K]):
    """When each rendered relative text changes next, earliest first (a heap with lazy deletion: a key
    noted again with another time supersedes its older entry)."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, K]] = []
        self._at: dict[K, datetime] = {}
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._at)

    def note(self, key: K, at: datetime | None) -> bool:
        """`key`'s text changes at `at` (None: never). True when that is news (the clock must know)."""
        if at is None:
            return False
        known = self._at.get(key)
        if known is not None and known <= at:
            return False
        self._at[key] = at
        heapq.heappush(self._heap, (at, next(self._order), key))
        return True

    def due(self, now: datetime) -> list[K]:
        """The keys whose text changed by `now`; they are forgotten (rendering notes them again)."""
        out: list[K] = []
        heap, at = self._heap, self._at
        while heap and heap[0][0] <= now:
            when, _, key = heapq.heappop(heap)
            if at.get(key) == when:
                del at[key]
                out.append(key)
        return out

    def forget(self, key: K) -> None:
        self._at.pop(key, None)

    def clear(self) -> None:
        self._heap.clear()
        self._at.clear()

    @property
    def next_at(self) -> datetime | None:
        heap, at = self._heap, self._at
        while heap and at.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None
