"""The selected job's recent runs (`cron_run_log`), newest first, kept live (a running run updates in place).

Vorta's table-model template like the other models: column constants, one `data()` dispatching on role, a
sort role with native values and an object role; rows change in place on a live event, and only a new job
or a reload resets the model. Relative start times are rendered against the app's one clock and
re-rendered, those cells alone, when their words change (clock.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QGuiApplication

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.run_log import RunLogEntry
from cronmirror_desktop.core.store import ChangeType, RunLogChange
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.clock import DueTimes, ViewClock
from cronmirror_desktop.ui.table_model import Index, RowTableModel
from cronmirror_desktop.ui.theme import is_dark, secondary_text, signal_color

COL_STARTED = 0
COL_TRIGGER = 1
COL_STATUS = 2
COL_DURATION = 3
COL_RESULT = 4

ObjectRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

TRIGGER_WORDS = {
    "schedule": "Scheduled",
    "catch-up": "Catch-up",
    "request": "Requested",
    "manual": "By hand",
    "unknown": "—",
}
STATUS_WORDS = {
    "running": "Running",
    "ok": "OK",
    "error": "Failed",
    "skipped": "Skipped",
    "cancelled": "Stopped",
}
_STATUS_ICONS = {
    "ok": "ok",
    "error": "error",
    "skipped": "skipped",
    "cancelled": "warning",
    "running": "info",
}
_STATUS_COLORS = {
    "ok": "ok",
    "error": "error",
    "skipped": "warning",
    "cancelled": "warning",
    "running": "info",
}


class RunHistoryModel(RowTableModel):
    """Runs of one job (`job_id`; None: no job), newest first, at most `limit`."""

    headers: ClassVar[dict[int, str]] = {
        COL_STARTED: "Started",
        COL_TRIGGER: "Trigger",
        COL_STATUS: "Status",
        COL_DURATION: "Duration",
        COL_RESULT: "Result",
    }
    right_aligned = frozenset({COL_DURATION})

    def __init__(self, parent: QObject | None = None, *, clock: ViewClock, limit: int = 50) -> None:
        super().__init__(parent)
        self.clock = clock
        self.limit = limit
        self.job_id: str | None = None
        self._rows: list[RunLogEntry] = []
        self._due: DueTimes[str] = DueTimes()
        #: A narrow view hides the Status column and shows the status icon by the start time instead.
        self.status_icon_in_started = False
        self.clock.ticked.connect(self._times_due)

    def set_status_icon_in_started(self, on: bool) -> None:
        if on != self.status_icon_in_started:
            self.status_icon_in_started = on
            if self._rows:
                last = len(self._rows) - 1
                roles = [Qt.ItemDataRole.DecorationRole]
                self.dataChanged.emit(self.index(0, COL_STARTED), self.index(last, COL_STARTED), roles)

    def row_count(self) -> int:
        return len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column)
        if role == ObjectRole:
            return entry
        if role == SortRole:
            return self._sort_value(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == COL_STATUS:
                return signal_color(_STATUS_COLORS.get(entry.status, "info"), is_dark())
            if column in (COL_STARTED, COL_DURATION, COL_TRIGGER):
                return secondary_text(QGuiApplication.palette())
        if role == Qt.ItemDataRole.DecorationRole:
            if column == COL_STATUS or (column == COL_STARTED and self.status_icon_in_started):
                return icons.icon(_STATUS_ICONS.get(entry.status, "info"), is_dark())
            if column == COL_RESULT and entry.problems:
                return icons.icon("warning", is_dark())
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, entry: RunLogEntry, column: int) -> str | None:
        if column == COL_STARTED:
            now = self.clock.now
            changes = timetext.changes_at(entry.run_at, now, past=True)
            if self._due.note(entry.run_key, changes):
                self.clock.wake_at(changes)
            return timetext.relative(entry.run_at, now, past=True)
        if column == COL_TRIGGER:
            return TRIGGER_WORDS.get(entry.trigger, entry.trigger)
        if column == COL_STATUS:
            return STATUS_WORDS.get(entry.status, entry.status)
        if column == COL_DURATION:
            return timetext.duration(entry.duration_ms, empty="")
        if column == COL_RESULT:
            return entry.first_line
        return None

    def _sort_value(self, entry: RunLogEntry, column: int) -> Any:
        if column == COL_STARTED:
            return entry.run_at.timestamp() if entry.run_at else 0.0
        if column == COL_DURATION:
            return entry.duration_ms if entry.duration_ms is not None else -1
        return self._display(entry, column) or ""

    def _tooltip(self, entry: RunLogEntry, column: int) -> str | None:
        if column == COL_STARTED:
            known = entry.trigger in TRIGGER_WORDS and entry.trigger != "unknown"
            how = f"{TRIGGER_WORDS[entry.trigger]} run, started" if known else "Started"
            text = f"{how} {timetext.absolute(entry.run_at)}"
            if entry.finished_at is not None:
                text += f"\nFinished {timetext.absolute(entry.finished_at)}"
            if self.status_icon_in_started:  # the Status column is hidden: its word is here
                text = f"{STATUS_WORDS.get(entry.status, entry.status)} · {text}"
            return text
        parts = [entry.summary or "", *(f"! {p}" for p in entry.problems)]
        text = "\n".join(p for p in parts if p)
        return text or None

    # -- access --------------------------------------------------------------------------------

    def entry_at(self, row: int) -> RunLogEntry:
        return self._rows[row]

    def entries(self) -> list[RunLogEntry]:
        return list(self._rows)

    def row_of(self, run_key: str) -> int | None:
        for row, entry in enumerate(self._rows):
            if entry.run_key == run_key:
                return row
        return None

    # -- changes -------------------------------------------------------------------------------

    def set_entries(self, entries: list[RunLogEntry]) -> None:
        """A new job, or a reload: the one reset."""
        self.beginResetModel()
        self._rows = sorted(entries, key=_newest_first)[: self.limit]
        self._due = DueTimes()
        self.endResetModel()

    def clear(self) -> None:
        self.set_entries([])

    def apply(self, change: RunLogChange) -> None:
        """A live change of the run log: rows of other jobs are ignored; a known run updates in place."""
        entry = change.entry
        if change.type is ChangeType.DELETE:
            self._remove_id(change.row_id)
            return
        if entry is None or self.job_id is None or entry.job_id != self.job_id:
            return
        row = self.row_of(entry.run_key)
        if row is not None:
            self._rows[row] = entry
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.headers) - 1))
            return
        position = 0
        while position < len(self._rows) and _newest_first(self._rows[position]) <= _newest_first(entry):
            position += 1
        if position >= self.limit:
            return
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, entry)
        self.endInsertRows()
        if len(self._rows) > self.limit:
            last = len(self._rows) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._rows.pop()
            self.endRemoveRows()

    def _remove_id(self, row_id: str) -> None:
        for row, entry in enumerate(self._rows):
            if entry.id == row_id:
                self.beginRemoveRows(QModelIndex(), row, row)
                self._rows.pop(row)
                self.endRemoveRows()
                return

    def _times_due(self) -> None:
        for key in self._due.due(self.clock.now):
            row = self.row_of(key)
            if row is not None:
                index = self.index(row, COL_STARTED)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        self.clock.wake_at(self._due.next_at)


def _newest_first(entry: RunLogEntry) -> tuple[float, str]:
    started = entry.run_at.timestamp() if isinstance(entry.run_at, datetime) else 0.0
    return (-started, entry.run_key)
