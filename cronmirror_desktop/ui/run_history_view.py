"""The details pane's "Run history": the trend line, a note when the last run was unusually slow, the recent
runs (time, trigger, status, duration, first line of output or error), and the full stored output of the
run that is selected. It shows the controller's `job_history` (loaded for the selected job, kept live)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QObject, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.run_log import RunLogEntry
from cronmirror_desktop.ui.history_model import (
    COL_DURATION,
    COL_STARTED,
    COL_STATUS,
    COL_TRIGGER,
    STATUS_WORDS,
    TRIGGER_WORDS,
    RunHistoryModel,
)
from cronmirror_desktop.ui.sparkline import DurationSparkline, slow_note
from cronmirror_desktop.ui.theme import is_dark, signal_color

#: Sources whose own scheduled runs the worker never sees (only runs made through CronMirror are listed).
_UNSEEN_SCHEDULES = {"crontab": "cron", "launchd": "launchd"}
#: Rows shown without scrolling.
_VISIBLE_ROWS = 6
#: The Result column's least width; below it, Trigger is hidden (the output's head still says it).
_RESULT_MIN = 110


class RunHistoryView(QWidget):
    def __init__(self, model: RunHistoryModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runHistory")
        self.model = model
        self._job: CronMirrorJob | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        self.sparkline = DurationSparkline(self)
        layout.addWidget(self.sparkline)
        self.note = QLabel(self)
        self.note.setObjectName("runHistoryNote")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.unseen = QLabel(self)
        self.unseen.setObjectName("runHistoryUnseen")
        self.unseen.setWordWrap(True)
        self.unseen.setEnabled(False)
        layout.addWidget(self.unseen)

        self.table = QTableView(self)
        self.table.setObjectName("runHistoryTable")
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.viewport().installEventFilter(self)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.table)
        self.empty = QLabel("No runs recorded yet.", self.table.viewport())
        self.empty.setObjectName("runHistoryEmpty")
        self.empty.setEnabled(False)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.output = QPlainTextEdit(self)
        self.output.setObjectName("runHistoryOutput")
        self.output.setReadOnly(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.output.setFont(mono)
        self.output.setVisible(False)
        self.output.setFixedHeight(self.output.fontMetrics().lineSpacing() * 8 + 12)
        layout.addWidget(self.output)

        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.dataChanged):
            signal.connect(self._changed)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self._changed()

    def show_job(self, job: CronMirrorJob | None) -> None:
        self._job = job
        unseen = _UNSEEN_SCHEDULES.get(job.source or "") if job is not None else None
        self.unseen.setVisible(unseen is not None)
        if unseen is not None:
            self.unseen.setText(
                f"{unseen} runs this job on its schedule without telling anyone: only the runs made through "
                "CronMirror are listed here."
            )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return False

    def _fit_columns(self) -> None:
        """Each column as wide as its widest text; in a narrow pane Trigger gives way, then the Status
        column (its icon moves next to the start time), so the result keeps a readable width."""
        fm = self.table.fontMetrics()
        icon = self.table.iconSize().width() if self.table.iconSize().width() > 0 else 16
        model, rows = self.model, range(self.model.rowCount())

        def widest(column: int, sample: str) -> int:
            texts = [str(model.index(row, column).data() or "") for row in rows] or [sample]
            return max(fm.horizontalAdvance(text) for text in texts) + 16

        started, trigger = widest(COL_STARTED, "2 min ago"), widest(COL_TRIGGER, "Scheduled")
        status, duration = widest(COL_STATUS, "OK") + icon + 6, widest(COL_DURATION, "1.2 s")
        room = self.table.viewport().width() - _RESULT_MIN
        show_trigger = started + trigger + status + duration <= room
        show_status = show_trigger or started + status + duration <= room
        self.table.setColumnHidden(COL_TRIGGER, not show_trigger)
        self.table.setColumnHidden(COL_STATUS, not show_status)
        model.set_status_icon_in_started(not show_status)
        widths = {COL_STARTED: started + (0 if show_status else icon + 6), COL_TRIGGER: trigger}
        widths.update({COL_STATUS: status, COL_DURATION: duration})
        for column, width in widths.items():
            if self.table.columnWidth(column) != width:
                self.table.setColumnWidth(column, width)
        self.empty.setGeometry(self.table.viewport().rect())

    def select_latest(self) -> None:
        if self.model.rowCount():
            self.table.selectRow(0)

    def selected(self) -> RunLogEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.entry_at(rows[0].row()) if rows else None

    def _changed(self, *_args: object) -> None:
        entries = self.model.entries()
        self.sparkline.set_entries(entries)
        note = slow_note(entries)
        self.note.setVisible(note is not None)
        if note is not None:
            self.note.setText(f"⚠ {note}")
            self.note.setToolTip("Compared with the median of the runs before it (up to 20).")
            self.note.setStyleSheet(f"color: {signal_color('warning', is_dark()).name()};")
        rows = self.model.rowCount()
        shown = min(max(rows, 1), _VISIBLE_ROWS)
        height = (
            self.table.horizontalHeader().height() + shown * self.table.verticalHeader().defaultSectionSize()
        )
        self.table.setFixedHeight(height + 2 * self.table.frameWidth() + 2)
        self.empty.setVisible(rows == 0)
        self._fit_columns()
        self._selected()

    def _selected(self, *_args: QItemSelection) -> None:
        entry = self.selected()
        self.output.setVisible(entry is not None)
        if entry is None:
            return
        head = (
            f"{TRIGGER_WORDS.get(entry.trigger, entry.trigger)} run · "
            f"{STATUS_WORDS.get(entry.status, entry.status)} · started {timetext.absolute(entry.run_at)}"
        )
        if entry.duration_ms is not None:
            head += f" · took {timetext.duration(entry.duration_ms)}"
        body = "\n\n".join(t for t in (entry.summary or "", entry.output) if t.strip())
        text = f"{head}\n\n{body}" if body else f"{head}\n\nNo output was recorded."
        if text != self.output.toPlainText():  # a tick re-renders the table, not the reader's place
            self.output.setPlainText(text)
