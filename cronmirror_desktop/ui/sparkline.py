"""A job's run durations at a glance: a small line of its recent runs, failures marked, and a note when the
last run took far longer than usual.

Painted with QPainter in the palette's own colours (light and dark), so it reads at a glance in both: the
line in the text colour at half strength, each failed or stopped run a red dot on it, the latest run a
larger dot. Skipped runs and runs without a duration are left out of the line (they have no length).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.run_log import RunLogEntry
from cronmirror_desktop.ui.theme import is_dark, signal_color

#: Runs drawn (the newest ones).
SPAN = 30
#: "Took far longer than usual": the last run against the median of the runs before it.
SLOW_FACTOR = 3.0
SLOW_BASIS = 20
#: Fewer earlier runs than this and there is no "usual" to compare with.
SLOW_MIN_BASIS = 3


@dataclass(frozen=True)
class Point:
    duration_ms: int
    failed: bool


def points_of(entries: Sequence[RunLogEntry]) -> list[Point]:
    """Finished runs with a duration, oldest first (what the line shows)."""
    finished = [e for e in entries if e.status in ("ok", "error", "cancelled") and e.duration_ms is not None]
    finished.sort(key=lambda e: e.run_at.timestamp() if e.run_at else 0.0)
    return [Point(e.duration_ms or 0, e.status != "ok") for e in finished[-SPAN:]]


def slow_note(entries: Sequence[RunLogEntry]) -> str | None:
    """ "The last run took 4.2 min, 5× the usual 50 s" when it took over SLOW_FACTOR × the median of the
    SLOW_BASIS runs before it; None otherwise."""
    points = points_of(entries)
    if len(points) < SLOW_MIN_BASIS + 1:
        return None
    last, before = points[-1], points[-1 - SLOW_BASIS : -1]
    usual = statistics.median(p.duration_ms for p in before)
    if usual <= 0 or last.duration_ms <= SLOW_FACTOR * usual:
        return None
    times = last.duration_ms / usual

    def unbroken(ms: int) -> str:  # "52 s" never wraps between number and unit
        return timetext.duration(ms).replace(" ", "\u00a0")

    return f"The last run took {unbroken(last.duration_ms)}, {times:.0f}× the usual {unbroken(int(usual))}."


class DurationSparkline(QWidget):
    """`set_entries(runs)`; paints nothing (and takes no room) until there are two runs to compare."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("durationSparkline")
        self.points: list[Point] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(0)

    def sizeHint(self) -> QSize:
        return QSize(240, 40)

    def set_entries(self, entries: Sequence[RunLogEntry]) -> None:
        self.points = points_of(entries)
        self.setFixedHeight(40 if len(self.points) >= 2 else 0)
        slowest = max((p.duration_ms for p in self.points), default=0)
        failed = sum(1 for p in self.points if p.failed)
        self.setToolTip(
            f"Durations of the last {len(self.points)} runs (longest {timetext.duration(slowest)})"
            + (f"; {failed} failed (red)" if failed else "")
        )
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if len(self.points) < 2:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        top = max(p.duration_ms for p in self.points) or 1
        step = area.width() / (len(self.points) - 1)
        where = [
            QPointF(area.left() + i * step, area.bottom() - area.height() * p.duration_ms / top)
            for i, p in enumerate(self.points)
        ]
        dark = is_dark()
        text = self.palette().windowText().color()
        line = QColor(text)
        line.setAlphaF(0.55)
        path = QPainterPath(where[0])
        for point in where[1:]:
            path.lineTo(point)
        painter.setPen(QPen(line, 1.6))
        painter.drawPath(path)
        red = signal_color("error", dark)
        painter.setPen(Qt.PenStyle.NoPen)
        for point, data in zip(where, self.points, strict=True):
            if data.failed:
                painter.setBrush(red)
                painter.drawEllipse(point, 3.2, 3.2)
        painter.setBrush(red if self.points[-1].failed else text)
        painter.drawEllipse(where[-1], 3.6, 3.6)
        painter.end()
