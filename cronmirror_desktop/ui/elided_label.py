"""One-line labels that end in "…" instead of wrapping or widening the window.

`ElidedLabel` takes whatever width it is given (the status bar's worker line: it must never widen the
window). `ShrinkingLabel` asks for its whole text's width and gives way down to a few characters when the
room is short (the connection panel's states, the details heading); either keeps the whole text
(`full_text`), and a shrinking label shows it as its tooltip while it is cut, unless one was set.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ShrinkingLabel(QLabel):
    """One line: as wide as its text when there is room, cut with "…" (down to `min_chars`) when not."""

    def __init__(self, parent: QWidget | None = None, *, min_chars: int = 6) -> None:
        super().__init__(parent)
        self._full = ""
        self._own_tip = ""
        self._min_chars = min_chars
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def full_text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:
        if text == self._full:  # views re-set their texts on every clock tick: no relayout for nothing
            return
        self._full = text
        self.updateGeometry()
        self._elide()

    def text(self) -> str:
        """The whole text (what is shown may be cut: `shown_text`)."""
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def is_cut(self) -> bool:
        return super().text() != self._full

    def setToolTip(self, tip: str) -> None:
        self._own_tip = tip
        super().setToolTip(tip or (self._full if self.is_cut() else ""))

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2
        return QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        fm = self.fontMetrics()
        width = fm.horizontalAdvance(self._full[: self._min_chars] + "…")
        return QSize(min(width, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(width, 0))
        QLabel.setText(self, shown if width > 0 else self._full)
        QLabel.setToolTip(self, self._own_tip or (self._full if self.is_cut() else ""))


class ElidedLabel(ShrinkingLabel):
    """One line that ends in "…" when it does not fit, instead of widening the window (the worker's
    status line can carry a long error): a shrinking label that asks for no width at all."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self.setText(text)
