"""The connection panel: Supabase first, the Control API second (informational), then the project's
worker(s) and their sources.

Supabase is what the app runs on (not configured / connecting / live / disconnected / auth error); the
Control API only makes Run direct (not configured / reachable / unreachable). The worker line is about the
project's workers as their presence rows tell (core/worker_report.py): "Worker on mac-mini · seen 12 s ago
· 1 running · 2 queued", marked "(this app)" for the one inside this app; the toolbar's Worker menu is
only about that one. Without presence rows (ClawdOS's worker) it says when the mirror was last written.
"Sources" says what the worker's sources found: a warning badge with a popover when a source needs a look
("jobs: 1 job left out" and the line of jobs.toml that is wrong).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QToolButton, QWidget, QWidgetAction

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.core.worker_report import SourceReport, WorkerReport
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.controller import AppController, ControlApiState
from cronmirror_desktop.ui.elided_label import ShrinkingLabel
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
        self.state = ShrinkingLabel(self)
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
        self.worker = ShrinkingLabel(self, min_chars=12)
        self.worker.setObjectName("workerLastSeen")
        self.worker.setEnabled(False)
        self.sources = QToolButton(self)
        self.sources.setObjectName("sourcesBadge")
        self.sources.setText("Sources")
        self.sources.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.sources.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sources.setAutoRaise(True)
        self.sources_popup = QMenu(self.sources)
        self.sources_popup.setObjectName("sourcesPopup")
        self.sources_text = QLabel(self.sources_popup)
        self.sources_text.setObjectName("sourcesText")
        self.sources_text.setTextFormat(Qt.TextFormat.RichText)
        self.sources_text.setWordWrap(True)
        self.sources_text.setMinimumWidth(380)
        self.sources_text.setMaximumWidth(560)
        self.sources_text.setContentsMargins(12, 8, 12, 8)
        self.sources_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        holder = QWidgetAction(self.sources_popup)
        holder.setDefaultWidget(self.sources_text)
        self.sources_popup.addAction(holder)
        self.sources.setMenu(self.sources_popup)
        self.sources.hide()
        #: The id of the worker inside this app while it runs (MainWindow sets it), to mark it.
        self.own_worker_id: Callable[[], str | None] = lambda: None
        self.store_label = ShrinkingLabel(self)
        self.store_label.setObjectName("storeLabel")
        self.store_label.setEnabled(False)
        layout.addWidget(self.supabase)
        layout.addWidget(self.control)
        layout.addWidget(self.worker)
        layout.addWidget(self.sources)
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
        controller.workersChanged.connect(self._update_worker)
        controller.request_model.activeCountChanged.connect(self._update_worker)
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
        c = self.controller
        now = c.clock.now
        self._worker_due = None
        reports = sorted(c.workers.values(), key=lambda w: w.seen_at or now, reverse=True)
        self._update_sources(reports)
        if reports:
            first, rest = reports[0], reports[1:]
            text = self._worker_words(first, now)
            if rest:
                text += f" · +{len(rest)} more"
            self.worker.setText(text)
            self.worker.setToolTip("\n\n".join(self._worker_tip(w, now) for w in reports))
            self._wake([w.seen_at for w in reports], now)
            return
        seen: datetime | None = c.job_model.last_seen
        if seen is None:
            self.worker.setText("Worker: none seen yet")
            self.worker.setToolTip("No worker has written to this project's mirror yet.")
            return
        self.worker.setText(f"Worker last wrote {timetext.relative(seen, now, past=True)}")
        tip = f"Newest change a worker wrote to the mirror: {timetext.absolute(seen)}"
        if now - seen > timedelta(days=1):
            tip += "\nThat is over a day ago: is the worker running?"
        self.worker.setToolTip(
            tip + "\n(It publishes no presence: ClawdOS's worker, or an older CronMirror.)"
        )
        self._wake([seen], now)

    def _wake(self, stamps: list[datetime | None], now: datetime) -> None:
        due = [timetext.changes_at(s, now, past=True) for s in stamps if s is not None]
        self._worker_due = min((d for d in due if d is not None), default=None)
        self.controller.clock.wake_at(self._worker_due)

    def _is_own(self, report: WorkerReport) -> bool:
        own = self.own_worker_id()
        return own is not None and report.worker_id == own

    def _worker_words(self, report: WorkerReport, now: datetime) -> str:
        """ "Worker on mac-mini · seen 12 s ago · 1 running · 2 queued" (who, when, what it does)."""
        who = f"Worker on {report.name}" + (" (this app)" if self._is_own(report) else "")
        ago = timetext.relative(report.seen_at, now, past=True, empty="never")
        if report.stopped:
            return f"{who} · stopped {ago}"
        parts = [who, f"seen {ago}"]
        if report.running is not None:
            parts.append(f"{report.running} running")
        if report.queued is not None:
            parts.append(f"{report.queued} queued")
        return " · ".join(parts)

    def _worker_tip(self, report: WorkerReport, now: datetime) -> str:
        lines = [self._worker_words(report, now)]
        if report.worker_id:
            lines.append(
                f"Worker id {report.worker_id}" + (f", version {report.version}" if report.version else "")
            )
        if report.seen_at is not None:
            lines.append(f"Last presence {timetext.absolute(report.seen_at)}")
        if report.sync_every_s is not None:
            lines.append(f"Syncs every {timetext.interval(int(report.sync_every_s * 1000))}")
        lines += [s.summary() for s in report.sources]
        if self._is_own(report):
            lines.append("This is the worker inside this app (the toolbar's In-app worker menu).")
        return "\n".join(lines)

    def _update_sources(self, reports: list[WorkerReport]) -> None:
        """The badge: what the newest report that lists sources found."""
        with_sources = next((w for w in reports if w.sources), None)
        if with_sources is None:
            self.sources.hide()
            return
        problems = with_sources.source_problems
        dark = is_dark(self.palette())
        if problems:
            self.sources.setIcon(icons.icon("warning", dark))
            count = sum(max(1, len(s.warnings)) for s in problems)
            self.sources.setText(f"Sources · {count} to look at")
        else:
            self.sources.setIcon(icons.icon("light-live", dark))
            self.sources.setText("Sources")
        self.sources.setToolTip("\n".join(s.summary() for s in with_sources.sources))
        self.sources_text.setText(sources_html(with_sources.sources, with_sources.name))
        self.sources.show()


def sources_html(sources: tuple[SourceReport, ...], host: str) -> str:
    """The popover: each source's state in one line, then its warnings."""
    rows = [f"<b>What the worker on {html.escape(host)} found</b>"]
    for source in sources:
        rows.append(f"<p style='margin:6px 0 0 0'>{html.escape(source.summary())}</p>")
        if source.warnings:
            items = "".join(f"<li>{html.escape(w)}</li>" for w in source.warnings)
            rows.append(f"<ul style='margin:2px 0 0 -20px'>{items}</ul>")
    return "".join(rows)
