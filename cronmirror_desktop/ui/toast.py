"""Non-modal notices that fade in, stay a moment and fade out ("toasts").

A toast never takes focus or blocks input: it is a child widget floating over the bottom of its parent,
transparent to the keyboard. The main window gives it the central area as parent, so it never covers the
Run requests dock (whose rows are what a notice is often about). A new notice replaces the one showing
(the newest is what matters); a click dismisses it. Longer texts stay longer (about a second per 12
words, at least 4 s).
"""

from __future__ import annotations

from PySide6.QtCore import QEasingCurve, QEvent, QObject, QPropertyAnimation, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent
from PySide6.QtWidgets import QGraphicsOpacityEffect, QHBoxLayout, QLabel, QWidget

from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.theme import is_dark

#: ▶ means Run everywhere in the app, so a notice never wears it ("Cancelled …" once did).
_ICON_FOR_LEVEL = {"success": "ok", "error": "error", "warning": "warning", "info": "info"}


class Toast(QWidget):
    """Call `show_message(level, text)`; the parent's resize keeps it centred at the bottom."""

    FADE_MS = 180
    MARGIN = 24

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._level = "info"
        self._icon = QLabel(self)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 16, 10)
        layout.setSpacing(10)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._label, 1)
        self._effect = QGraphicsOpacityEffect(self)
        self._effect.setOpacity(0.0)
        self.setGraphicsEffect(self._effect)
        self._fade = QPropertyAnimation(self._effect, b"opacity", self)
        self._fade.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._fade.finished.connect(self._fade_finished)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self.dismiss)
        self.history: list[tuple[str, str]] = []
        parent.installEventFilter(self)
        self.hide()

    def text(self) -> str:
        return self._label.text()

    @property
    def level(self) -> str:
        return self._level

    @property
    def icon_name(self) -> str:
        return _ICON_FOR_LEVEL.get(self._level, "info")

    def show_message(self, level: str, text: str) -> None:
        self.history.append((level, text))
        self._level = level
        self._label.setText(text)
        self._icon.setPixmap(icons.icon(self.icon_name, is_dark()).pixmap(18, 18))
        self._apply_colors()
        self._place()
        self.show()
        self.raise_()
        self._animate(1.0)
        words = len(text.split())
        self._hold.start(max(4000, 1000 * words // 12 + 2500))

    def dismiss(self) -> None:
        self._hold.stop()
        if self.isVisible():
            self._animate(0.0)

    def hold_ms(self) -> int:
        return self._hold.interval()

    def _animate(self, target: float) -> None:
        self._fade.stop()
        self._fade.setDuration(self.FADE_MS if target > 0 else self.FADE_MS * 2)
        self._fade.setStartValue(self._effect.opacity())
        self._fade.setEndValue(target)
        self._fade.start()

    def _fade_finished(self) -> None:
        if self._effect.opacity() <= 0.01:
            self.hide()

    def _apply_colors(self) -> None:
        dark = is_dark(self.palette())
        self._label.setStyleSheet(f"color: {'#F2F2F7' if dark else '#1D1D1F'};")

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        width = min(560, max(280, parent.width() - 2 * self.MARGIN))
        self.setFixedWidth(width)
        self.adjustSize()
        height = self.sizeHint().height()
        x = (parent.width() - width) // 2
        y = parent.height() - height - self.MARGIN
        self.setGeometry(QRect(x, y, width, height))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.dismiss()
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dark = is_dark(self.palette())
        path = QPainterPath()
        path.addRoundedRect(self.rect().adjusted(1, 1, -1, -1), 10, 10)
        painter.fillPath(path, QColor("#2C2C2E" if dark else "#FFFFFF"))
        painter.setPen(QColor("#48484A" if dark else "#D1D1D6"))
        painter.drawPath(path)
        accent = {"success": "#1E8E3E", "error": "#D93025", "warning": "#C77700"}.get(self._level, "#1A73E8")
        bar = QPainterPath()
        bar.addRoundedRect(self.rect().adjusted(1, 1, 0, -1).adjusted(0, 0, -(self.width() - 5), 0), 2, 2)
        painter.fillPath(bar, QColor(accent))
