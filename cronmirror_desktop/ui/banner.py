"""A banner across the top of the window for conditions that need a person: not configured, auth
failed, connection lost. It says what is wrong, what still works, and offers the one useful action."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.theme import is_dark


class BannerKind(StrEnum):
    NOT_CONFIGURED = "not_configured"
    AUTH_FAILED = "auth_failed"
    DISCONNECTED = "disconnected"
    STORE_ERROR = "store_error"
    SUPABASE_UNUSABLE = "supabase_unusable"
    #: Supabase was never reached since the store was opened (not "lost": it never was there).
    UNREACHABLE = "unreachable"
    #: The jobs shown are the ones kept on this computer at the last run, while Supabase is connecting.
    CACHED = "cached"
    #: Requests wait and no worker has been seen for over two sync intervals.
    NO_WORKER = "no_worker"


@dataclass(frozen=True)
class BannerMessage:
    kind: BannerKind
    title: str
    text: str
    action: str | None = "Open Settings…"
    severity: str = "info"  # "info" (blue) / "warning" (amber) / "error" (red)
    dismissible: bool = True


_TINTS = {
    (False, "info"): ("#E8F1FD", "#B9D3F6", "#0A4A9E"),
    (False, "warning"): ("#FFF4DA", "#F0D9A0", "#6B4E00"),
    (False, "error"): ("#FDE7E6", "#F3BDBA", "#9B1B1F"),
    (True, "info"): ("#132A47", "#224A7A", "#9CCBFF"),
    (True, "warning"): ("#3B2F0B", "#5E4A12", "#FFD75E"),
    (True, "error"): ("#45191A", "#6E2627", "#FFA3A0"),
}


class Banner(QWidget):
    actionClicked = Signal(str)  # the BannerKind
    dismissed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.message: BannerMessage | None = None
        self._dismissed: set[BannerKind] = set()
        self.icon = QLabel(self)
        self.title = QLabel(self)
        self.title.setObjectName("bannerTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel(self)
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setOpenExternalLinks(True)
        self.button = QPushButton(self)
        self.button.setObjectName("bannerAction")
        self.button.clicked.connect(self._action)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("bannerDismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self._dismiss)

        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(self.title)
        words.addWidget(self.text)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(12)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(words, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, message: BannerMessage | None) -> None:
        """Show `message` (None hides); a message the user dismissed stays hidden until it changes kind."""
        if message is not None and message.kind in self._dismissed:
            message = None
        self.message = message
        if message is None:
            self.hide()
            return
        dark = is_dark(self.palette())
        _, _, ink = _TINTS[(dark, message.severity)]
        name = {"info": "run", "warning": "warning", "error": "error"}[message.severity]
        if message.severity == "info":
            name = "settings"
        self.icon.setPixmap(icons.icon(name, dark).pixmap(20, 20))
        self.title.setText(message.title)
        self.title.setStyleSheet(f"color: {ink};")
        self.text.setText(message.text)
        self.button.setVisible(message.action is not None)
        self.button.setText(message.action or "")
        self.close_button.setVisible(message.dismissible)
        self.close_button.setIcon(icons.icon("cancel", dark))
        self.show()
        self.update()

    def _action(self) -> None:
        if self.message is not None:
            self.actionClicked.emit(str(self.message.kind))

    def _dismiss(self) -> None:
        if self.message is not None:
            self._dismissed.add(self.message.kind)
            self.dismissed.emit(str(self.message.kind))
        self.show_message(None)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.message is None:
            return
        fill, line, _ = _TINTS[(is_dark(self.palette()), self.message.severity)]
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(fill))
        painter.setPen(QColor(line))
        painter.drawLine(self.rect().bottomLeft(), self.rect().bottomRight())
