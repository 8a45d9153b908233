"""The connection panel: Supabase first, the Control API second (informational), then the worker.

Supabase is what the app runs on (not configured / connecting / live / disconnected / auth error); the
Control API only makes Run direct (not configured / reachable / unreachable); "worker last seen" is the
newest `updated_at` in the mirror, i.e. the last time the Mac mini's worker wrote anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.controller import AppController, ControlApiState
from cronmirror_desktop.ui.theme import is_dark

SUPABASE_WORDS = {
    LiveState.CONNECTING: ("Connecting…", "connecting"),
    LiveState.LIVE: ("Live", "live"),
    LiveState.DISCONNECTED: ("Disconnected", "down"),
    LiveState.AUTH_FAILED: ("Auth error", "down"),
    LiveState.CLOSED: ("Closed", "off"),
}
CONTROL_WORDS = {
    ControlApiState.NOT_CONFIGURED: ("Not configured", "off"),
    ControlApiState.CHECKING: ("Checking…", "connecting"),
    ControlApiState.REACHABLE: ("Reachable · Run is direct", "live"),
    ControlApiState.UNREACHABLE: ("Unreachable · Run is queued", "down"),
}


class StatusItem(QFrame):
    """A light, a bold title and a state text; clicking it asks for Settings."""

    clicked = Signal()

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(5)
        self.light = QLabel(self)
        self.light.setFixedSize(QSize(14, 14))
        self.title = QLabel(title, self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.state = QLabel(self)
        self.state.setObjectName(f"{name}State")
        layout.addWidget(self.light)
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        self.color = "off"

    def set_state(self, text: str, color: str, tooltip: str = "") -> None:
        self.color = color
        self.state.setText(text)
        self.light.setPixmap(icons.icon(f"light-{color}", is_dark(self.palette())).pixmap(14, 14))
        self.setToolTip(tooltip)
        self.setAccessibleDescription(f"{self.title.text()}: {text}")

    def text(self) -> str:
        return self.state.text()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit()
        event.accept()


class ConnectionPanel(QWidget):
    settingsRequested = Signal()

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionPanel")
        self.controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(22)
        self.supabase = StatusItem("Supabase", "supabaseStatus", self)
        self.control = StatusItem("Control API", "controlApiStatus", self)
        self.worker = QLabel(self)
        self.worker.setObjectName("workerLastSeen")
        self.worker.setEnabled(False)
        self.store_label = QLabel(self)
        self.store_label.setObjectName("storeLabel")
        self.store_label.setEnabled(False)
        layout.addWidget(self.supabase)
        layout.addWidget(self.control)
        layout.addWidget(self.worker)
        layout.addStretch(1)
        layout.addWidget(self.store_label)
        self.supabase.clicked.connect(self.settingsRequested)
        self.control.clicked.connect(self.settingsRequested)

        controller.liveStateChanged.connect(self._update_supabase)
        controller.storeChanged.connect(
            lambda: self._update_supabase(controller.live_state, controller.live_detail)
        )
        controller.controlApiChanged.connect(self._update_control)
        controller.job_model.lastSeenChanged.connect(self._update_worker)
        self._worker_due: datetime | None = None
        controller.clock.ticked.connect(self._clock_ticked)
        self._update_supabase(controller.live_state, controller.live_detail)
        self._update_control(controller.control_state, controller.control_detail)
        self._update_worker()

    def _update_supabase(self, state: LiveState, detail: str) -> None:
        c = self.controller
        store = c.store
        if store.kind == "local":
            if c.demo:
                self.supabase.set_state("Not used · demo data", "off", f"Demo data in {store.location}")
            else:
                self.supabase.set_state(
                    "Not configured · using the local store",
                    "off",
                    f"Jobs and requests are kept in {store.location}.\nClick to set up Supabase.",
                )
            live_text = "" if state is LiveState.LIVE else f" ({SUPABASE_WORDS[state][0].lower()})"
            self.store_label.setText(f"Local store{live_text}")
            self.store_label.setToolTip(store.location)
            return
        text, color = SUPABASE_WORDS.get(state, (str(state), "off"))
        tooltip = store.location + (f"\n{detail}" if detail else "")
        if state is LiveState.AUTH_FAILED:
            tooltip += "\nThe server refused the anon key. Check it in Settings."
        self.supabase.set_state(text, color, tooltip)
        self.store_label.setText("")

    def _update_control(self, state: ControlApiState, detail: str) -> None:
        text, color = CONTROL_WORDS[state]
        tooltip = {
            ControlApiState.NOT_CONFIGURED: (
                "Optional. With a Control API URL, Run goes straight to the Mac mini."
            ),
            ControlApiState.REACHABLE: f"{detail}\nRun is sent straight to the Mac mini.",
            ControlApiState.UNREACHABLE: f"{detail}\nRun requests are queued for the worker instead.",
            ControlApiState.CHECKING: detail,
        }[state]
        self.control.set_state(text, color, tooltip)

    def _clock_ticked(self) -> None:
        due = self._worker_due
        if due is not None:
            if due <= self.controller.clock.now:
                self._update_worker()
            else:
                self.controller.clock.wake_at(due)

    def _update_worker(self, *_args: object) -> None:
        seen: datetime | None = self.controller.job_model.last_seen
        self._worker_due = None
        if seen is None:
            self.worker.setText("Worker not seen yet")
            self.worker.setToolTip("No job has been mirrored into this project yet.")
            return
        now = self.controller.clock.now
        self._worker_due = timetext.changes_at(seen, now, past=True)
        self.controller.clock.wake_at(self._worker_due)
        self.worker.setText(f"Worker last seen {timetext.relative(seen, now, past=True)}")
        tip = f"Newest change the Mac mini worker wrote to the mirror: {timetext.absolute(seen)}"
        if now - seen > timedelta(days=1):
            tip += "\nThat is over a day ago: is the worker running?"
        self.worker.setToolTip(tip)
