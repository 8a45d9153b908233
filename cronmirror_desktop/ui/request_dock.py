"""The Run requests dock: the project's last 20 requests, live, with cancel, stop and the result on demand.

Hovering a row shows its result (reason, exit code, output tail) as a tooltip; selecting it expands the same
text below the table, and for a running request that text is its live output (the worker sends it every 2 s).
The one button withdraws a queued request ("Cancel Request") or asks the worker to stop a running one ("Stop";
the worker ends the job's whole process group and records it as stopped). While the subscription is down the
dock says the list is stale and since when, because a row may have moved on without us hearing about it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.chips import PulseDriver, RequestDelegate
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.request_model import (
    COL_DURATION,
    COL_JOB,
    COL_REQUESTED,
    COL_RESULT,
    COL_STATUS,
    RequestTableModel,
    result_details,
    running_for,
    running_started,
    status_label,
)
from cronmirror_desktop.ui.theme import is_dark


def configure_request_view(view: QTableView, model: RequestTableModel) -> RequestDelegate:
    """Shared by the dock and the details pane: columns, chip delegate, compact rows."""
    view.setModel(model)
    delegate = RequestDelegate(view)
    view.setItemDelegate(delegate)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setMouseTracking(True)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 12)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    fm = view.fontMetrics()
    view.setColumnWidth(COL_JOB, fm.horizontalAdvance("M") * 16)
    view.setColumnWidth(COL_REQUESTED, fm.horizontalAdvance("2 h 14 min ago") + 16)
    view.setColumnWidth(COL_STATUS, fm.horizontalAdvance("Stopping…") + 44)
    view.setColumnWidth(COL_DURATION, fm.horizontalAdvance("12 min 30 s") + 16)
    view.setColumnWidth(COL_RESULT, fm.horizontalAdvance("M") * 20)
    return delegate


EMPTY_TEXT = "No run requests yet. Select a job and press Run."
CACHED_TEXT = "Run requests show once Supabase answers."


class RequestDock(QDockWidget):
    """Bound to the controller's `request_model`; `highlight(id)` selects and flashes a request."""

    cancelRequested = Signal(str)

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__("Run requests", parent)
        self.setObjectName("runRequestsDock")
        self.controller = controller
        self.model = controller.request_model
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.status_label = QLabel(body)
        self.status_label.setObjectName("requestsStatus")
        self.stale_label = QLabel(body)
        self.stale_label.setObjectName("staleLabel")
        self.stale_label.setVisible(False)
        self.cancel_button = QPushButton(icons.icon("cancel", is_dark()), "Cancel Request", body)
        self.cancel_button.setObjectName("cancelRequestButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel_selected)
        bar.addWidget(self.status_label)
        bar.addWidget(self.stale_label)
        bar.addStretch(1)
        bar.addWidget(self.cancel_button)
        layout.addLayout(bar)

        self.view = QTableView(body)
        self.view.setObjectName("requestsTable")
        self.delegate = configure_request_view(self.view, self.model)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.pulse = PulseDriver(self.view, self.model)

        self.details = QPlainTextEdit(body)
        self.details.setObjectName("requestDetails")
        self.details.setReadOnly(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.details.setFont(mono)
        self.details.setPlaceholderText("Select a request to see its output and result.")
        #: "Running for 1 min 12 s" over the output of a selected running request (ticks with the clock).
        self.running_label = QLabel(body)
        self.running_label.setObjectName("requestRunningFor")
        self.detail_box = QWidget(body)
        box = QVBoxLayout(self.detail_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addWidget(self.running_label)
        box.addWidget(self.details, 1)
        self.detail_box.setVisible(False)

        split = QSplitter(Qt.Orientation.Horizontal, body)
        split.addWidget(self.view)
        split.addWidget(self.detail_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        layout.addWidget(split, 1)
        self.splitter = split
        self.setWidget(body)

        self.empty_label = QLabel(EMPTY_TEXT, self.view.viewport())
        self.empty_label.setObjectName("requestsEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)
        # Sized with the viewport itself (not with the dock, whose size settles before the table's):
        # otherwise it was drawn as a clipped fragment, "yet. Select a jo", until the next resize.
        fit_to_viewport(self.empty_label, self.view)

        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        for signal in (
            self.model.modelReset,
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.dataChanged,
        ):
            signal.connect(self._model_changed)
        controller.liveStateChanged.connect(self._live_changed)
        controller.highlightRequest.connect(self.highlight)
        self._model_changed()

    # -- state --------------------------------------------------------------------------------

    def selected_request(self) -> CronRunRequest | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.request_at(rows[0].row())

    def highlight(self, request_id: str) -> None:
        """Bring the dock up, select the request and flash it (used for "already queued")."""
        row = self.model.row_of(request_id)
        self.show()
        self.raise_()
        if row is None:
            return
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.scrollTo(index)
        self.delegate.flash(request_id)

    def _model_changed(self, *_args: object) -> None:
        count = self.model.rowCount()
        active = self.model.active_count()
        self.status_label.setText(
            f"{active} active · last {count}" if active else f"Last {count}" if count else ""
        )
        self.empty_label.setVisible(count == 0)
        self.empty_label.setGeometry(self.view.viewport().rect())
        self._selection_changed()
        self.pulse.update_state()

    def _live_changed(self, state: LiveState, detail: str) -> None:
        # The jobs shown may be the ones kept at the last run (no requests are kept): say why it is empty.
        self.empty_label.setText(EMPTY_TEXT if self.controller.cached_at is None else CACHED_TEXT)
        stale = self.model.stale
        self.stale_label.setVisible(stale)
        if stale and not self.controller.ever_live:  # never connected: nothing here is out of date yet
            self.stale_label.setText("⚠ Not connected yet: requests show once the store answers")
            self.stale_label.setToolTip(detail or "The app keeps trying.")
        elif stale:
            since = self.controller.stale_since
            when = f" since {since.astimezone():%H:%M}" if isinstance(since, datetime) else ""
            self.stale_label.setText(f"⚠ Not live{when}: statuses may be out of date")
            self.stale_label.setToolTip(detail or "The live connection is down; the app keeps retrying.")
        self.setWindowTitle("Run requests (stale)" if stale else "Run requests")

    def _selection_changed(self, *_args: object) -> None:
        request = self.selected_request()
        label, tip, enabled = self._cancel_action(request)
        self.cancel_button.setText(label)
        self.cancel_button.setToolTip(tip)
        self.cancel_button.setEnabled(enabled)
        if request is None:
            self.detail_box.setVisible(False)
            return
        started = running_started(request)
        self.running_label.setVisible(started is not None)
        if started is not None:
            took, _ = running_for(started, self.controller.clock.now)
            self.running_label.setText(f"Running for {took}" + (" · stopping…" if request.stopping else ""))
        text = result_details(request)
        head = (
            f"{self.controller.job_name(request.job_id)} · {status_label(request)}"
            f" · requested {timetext.absolute(request.requested_at)}"
        )
        self._show_details(f"{head}\n\n{text}" if text else f"{head}\n\nNo output yet.")
        self.detail_box.setVisible(True)

    def _show_details(self, text: str) -> None:
        """Replace the text only when it changed (a tick must not lose the reader's place); output that
        grows while the reader is at its end stays followed."""
        if text == self.details.toPlainText():
            return
        bar = self.details.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 2
        keep = bar.value()
        self.details.setPlainText(text)
        bar.setValue(bar.maximum() if following and keep > 0 else keep)

    def _cancel_action(self, request: CronRunRequest | None) -> tuple[str, str, bool]:
        """The button's (and the menu's) words for `request`: withdraw it, stop it, or why neither."""
        if request is not None and request.status == "running":
            if request.stopping:
                return "Stop", "Already asked the worker to stop it; waiting for it to end.", False
            if not self.controller.can_stop(request):
                return "Stop", "The gateway runs this job itself; its run cannot be stopped from here.", False
            return "Stop", "Ask the worker to stop this run (the job's whole process group ends).", True
        return (
            "Cancel Request",
            "Withdraw the selected queued request before a worker picks it up",
            request is not None and request.status == "queued",
        )

    def _cancel_selected(self) -> None:
        request = self.selected_request()
        if request is not None and self._cancel_action(request)[2]:
            self.cancel(request.id)

    def cancel(self, request_id: str) -> asyncio.Task[object]:
        self.cancelRequested.emit(request_id)
        return self.controller.spawn(f"cancel:{request_id}", self.controller.cancel_request(request_id))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        request = self.model.request_at(index.row())
        menu = QMenu(self)
        label, tip, enabled = self._cancel_action(request)
        cancel = QAction(label, menu)
        cancel.setToolTip(tip)
        cancel.setEnabled(enabled)
        cancel.triggered.connect(lambda: self.cancel(request.id))
        menu.addAction(cancel)
        copy = QAction("Copy Result", menu)
        copy.triggered.connect(lambda: _copy(result_details(request)))
        menu.addAction(copy)
        menu.popup(self.view.viewport().mapToGlobal(pos))


class _FitToViewport(QObject):
    def __init__(self, label: QLabel, view: QTableView) -> None:
        super().__init__(label)
        self._label = label
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show) and isinstance(watched, QWidget):
            self._label.setGeometry(watched.rect())
        return False


def fit_to_viewport(label: QLabel, view: QTableView) -> None:
    """Keep a placeholder over an item view's viewport exactly as large as the viewport, always."""
    _FitToViewport(label, view)
    label.setGeometry(view.viewport().rect())


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
