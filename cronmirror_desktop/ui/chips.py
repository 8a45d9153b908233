"""Status chips: run requests' (a rounded, tinted label; "running" pulses while any row runs) and the job
table's "Late" chip.

The pulse costs nothing when idle: its timer only runs while a visible view shows a running request, and
each tick repaints just the status column, not the whole table.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QPainter, QPainterPath
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from cronmirror_desktop.ui.job_model import COL_STATUS as JOB_COL_STATUS
from cronmirror_desktop.ui.job_model import LATE_WORD, LateRole
from cronmirror_desktop.ui.request_model import (
    COL_STATUS,
    STATUS_LABELS,
    ObjectRole,
    RequestTableModel,
    StatusRole,
)
from cronmirror_desktop.ui.theme import chip, is_dark

Index = QModelIndex | QPersistentModelIndex

PULSE_PERIOD_S = 1.4
FLASH_SECONDS = 2.5


def pulse_level(now: float | None = None) -> float:
    """0..1, a smooth breathing curve shared by every running chip."""
    t = time.monotonic() if now is None else now
    return 0.5 - 0.5 * math.cos(2 * math.pi * (t % PULSE_PERIOD_S) / PULSE_PERIOD_S)


def paint_chip(
    painter: QPainter, rect: QRect, status: str, label: str, dark: bool, pulse: float | None
) -> None:
    colors = chip(status, dark)
    fm = QFontMetrics(painter.font())
    width = fm.horizontalAdvance(label) + 22
    height = min(rect.height() - 6, fm.height() + 6)
    box = QRectF(rect.left() + 6, rect.center().y() - height / 2 + 0.5, width, height)
    background = QColor(colors.background)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(box, height / 2, height / 2)
    painter.fillPath(path, background)
    dot = QColor(colors.foreground)
    if pulse is not None:
        dot.setAlphaF(0.35 + 0.65 * pulse)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(dot)
    painter.drawEllipse(QRectF(box.left() + 7, box.center().y() - 3, 6, 6))
    painter.setPen(QColor(colors.foreground))
    painter.drawText(
        box.adjusted(16, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label
    )
    painter.restore()


class RequestDelegate(QStyledItemDelegate):
    """Draws the status chip and the flash of a highlighted request; other cells as usual."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self._view = view
        self._flash_id: str | None = None
        self._flash_until = 0.0

    def flash(self, request_id: str) -> None:
        self._flash_id = request_id
        self._flash_until = time.monotonic() + FLASH_SECONDS
        self._view.viewport().update()
        QTimer.singleShot(int(FLASH_SECONDS * 1000) + 50, self._view.viewport().update)

    def is_flashing(self, request_id: str) -> bool:
        return self._flash_id == request_id and time.monotonic() < self._flash_until

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        model = index.model()
        request = model.data(index, ObjectRole)
        if request is not None and self.is_flashing(request.id):
            accent = QColor(option.palette.highlight().color())
            accent.setAlphaF(0.28)
            painter.fillRect(option.rect, accent)
        if index.column() != COL_STATUS:
            super().paint(painter, option, index)
            return
        # Background (selection) as usual, then the chip instead of text.
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        status = str(model.data(index, StatusRole) or "")
        label = str(
            model.data(index, Qt.ItemDataRole.DisplayRole) or STATUS_LABELS.get(status, status or "?")
        )
        pulse = pulse_level() if status == "running" else None
        paint_chip(painter, option.rect, status, label, is_dark(option.palette), pulse)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() == COL_STATUS:
            fm = QFontMetrics(option.font)
            size.setWidth(max(size.width(), fm.horizontalAdvance("Stopping…") + 36))
        size.setHeight(max(size.height(), QFontMetrics(option.font).height() + 10))
        return size


class JobStatusDelegate(QStyledItemDelegate):
    """The job table's Status cell: a "Late" chip for a job whose expected run did not happen
    (core.lateness, via the model's LateRole); any other status as the model draws it (icon and word)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        lateness = index.data(LateRole) if index.column() == JOB_COL_STATUS else None
        if not getattr(lateness, "late", False):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = QIcon()
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        paint_chip(painter, option.rect, "late", LATE_WORD, is_dark(option.palette), None)


class PulseDriver(QObject):
    """Repaints the status column of `view` ~20 times a second while a running request is visible."""

    INTERVAL_MS = 50

    def __init__(self, view: QTableView, model: RequestTableModel) -> None:
        super().__init__(view)
        self._view = view
        self._model = model
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        for signal in (model.dataChanged, model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self.update_state)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def update_state(self, *_args: object) -> None:
        if self._model.has_running() and self._view.isVisibleTo(self._view.window()):
            if not self._timer.isActive():
                self._timer.start()
        elif self._timer.isActive():
            self._timer.stop()

    def _tick(self) -> None:
        if not self._view.isVisible():
            self._timer.stop()
            return
        x = self._view.columnViewportPosition(COL_STATUS)
        width = self._view.columnWidth(COL_STATUS)
        self._view.viewport().update(QRect(x, 0, width, self._view.viewport().height()))
