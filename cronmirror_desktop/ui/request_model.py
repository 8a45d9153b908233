"""The run requests model: the newest requests first, moving queued → running → done/error live.

Used twice: the dock (the project's last 20) and the details pane (one job's recent requests, `job_id`
set). Changes arrive one row at a time and are applied with insert/remove/dataChanged, never a reset;
rows past the limit fall off the bottom, except active ones (a queued request must stay cancellable).
While the live subscription is down the model is `stale`: rows are greyed and say so, because they may
no longer be true. "Requested 2 min ago" and a running request's "running for 42 s" are rendered against
the app's one clock and re-rendered, that cell alone, when their words change (clock.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.store import ChangeType, RequestChange
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.clock import DueTimes, ViewClock
from cronmirror_desktop.ui.table_model import Index, RowTableModel
from cronmirror_desktop.ui.theme import is_dark, secondary_text

COL_JOB = 0
COL_REQUESTED = 1
COL_STATUS = 2
COL_DURATION = 3
COL_RESULT = 4
COLUMN_COUNT = 5

HEADERS = {
    COL_JOB: "Job",
    COL_REQUESTED: "Requested",
    COL_STATUS: "Status",
    COL_DURATION: "Duration",
    COL_RESULT: "Result",
}

SortRole = Qt.ItemDataRole.UserRole + 1
ObjectRole = Qt.ItemDataRole.UserRole + 2
#: The request's status word ("queued", "running", ...) for the chip delegate.
StatusRole = Qt.ItemDataRole.UserRole + 3

STATUS_LABELS = {
    "queued": "Queued",
    "running": "Running",
    "done": "Done",
    "error": "Error",
    "cancelled": "Cancelled",
}

_FAR_PAST = float("-inf")
_SECOND = timedelta(seconds=1)


def running_for(started: datetime, now: datetime) -> tuple[str, datetime]:
    """How long a run has been going ("42 s" in whole seconds, then "3 min 4 s", "2 h 5 min") and when
    that text next changes."""
    seconds = max(0, int((now - started).total_seconds()))
    text = f"{seconds} s" if seconds < 60 else timetext.duration(seconds * 1000)
    step = 60 if seconds >= 3600 else 1
    return text, started + timedelta(seconds=(seconds // step + 1) * step)


def running_started(request: CronRunRequest) -> datetime | None:
    """When a running request's run began (None: not running, or no time known)."""
    if request.status != "running" or request.duration_ms is not None:
        return None
    return request.picked_up_at or request.requested_at


def status_label(request: CronRunRequest) -> str:
    if request.stopping:
        return "Stopping…"
    return STATUS_LABELS.get(request.status, request.status)


def _order_key(request: CronRunRequest) -> tuple[float, str]:
    """Newest first: larger requested_at first, then id (a total order, so positions are stable)."""
    stamp = request.requested_at.timestamp() if request.requested_at else _FAR_PAST
    return (-stamp, request.id)


def result_summary(request: CronRunRequest) -> str:
    """One line for the Result column: the reason for an error, else the last line of output."""
    if request.status == "queued":
        return "Waiting for the Mac mini worker"
    if request.status == "running":
        return f"Running on {request.worker_id}" if request.worker_id else "Running"
    reason = request.reason
    if reason:
        return reason
    tail = request.output_tail.strip()
    if tail:
        return tail.splitlines()[-1][:200]
    if request.status == "done":
        code = request.exit_code
        return "Finished" if code in (None, 0) else f"Finished with exit code {code}"
    return ""


def result_details(request: CronRunRequest) -> str:
    """Everything known about the outcome, for the tooltip and the expanded view."""
    lines: list[str] = []
    reason = request.reason
    if reason:
        lines.append(reason)
    if request.exit_code is not None:
        lines.append(f"Exit code {request.exit_code}")
    tail = request.output_tail.strip()
    if tail:
        lines.append("")
        lines.append(tail)
    if request.problems:
        lines.append("")
        lines.append("This row could not be fully read:")
        lines.extend(f"• {p}" for p in request.problems)
    return "\n".join(lines).strip()


class RequestTableModel(RowTableModel):
    """Rows are `CronRunRequest`s, newest first; `ObjectRole` gives the request."""

    headers = HEADERS

    #: A row was added or changed status (for the tray and the dock title).
    activeCountChanged = Signal(int)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        limit: int = 20,
        job_id: str | None = None,
        clock: ViewClock | None = None,
    ) -> None:
        super().__init__(parent)
        self.limit = limit
        self.job_id = job_id
        self._rows: list[CronRunRequest] = []
        self._stale = False
        self._names: Callable[[str], str | None] = lambda _job_id: None
        self.clock = clock if clock is not None else ViewClock(parent=self)
        self._due: DueTimes[str] = DueTimes()
        #: When each running request's "running for …" next changes.
        self._running_due: DueTimes[str] = DueTimes()
        self.clock.ticked.connect(self._times_due)

    # -- Qt model interface -------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        request = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(request, column)
        if role == ObjectRole:
            return request
        if role == StatusRole:
            return request.status
        if role == SortRole:
            return self._sort_value(request, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(request, column)
        if role == Qt.ItemDataRole.ForegroundRole and (
            self._stale or column in (COL_REQUESTED, COL_DURATION)
        ):
            return secondary_text(QGuiApplication.palette())
        if role == Qt.ItemDataRole.DecorationRole and column == COL_JOB and request.problems:
            return icons.icon("warning", is_dark())
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, request: CronRunRequest, column: int) -> str | None:
        if column == COL_JOB:
            name = self._names(request.job_id) or request.job_id or "(no job id)"
            return name if request.is_run else f"{name} · {request.action_text}"
        if column == COL_REQUESTED:
            now = self.clock.now
            changes = timetext.changes_at(request.requested_at, now, past=True)
            if self._due.note(request.id, changes):
                self.clock.wake_at(changes)
            return timetext.relative(request.requested_at, now, past=True)
        if column == COL_STATUS:
            return status_label(request)
        if column == COL_DURATION:
            started = running_started(request)
            if started is not None:
                text, changes = running_for(started, self.clock.now)
                if self._running_due.note(request.id, changes):
                    self.clock.wake_at(changes)
                return text
            return timetext.duration(request.duration_ms, empty="")
        if column == COL_RESULT:
            return result_summary(request)
        return None

    def _sort_value(self, request: CronRunRequest, column: int) -> Any:
        if column == COL_REQUESTED:
            return request.requested_at.timestamp() if request.requested_at else None
        if column == COL_DURATION:
            return request.duration_ms
        return self._display(request, column)

    def _tooltip(self, request: CronRunRequest, column: int) -> str | None:
        if column == COL_REQUESTED:
            who = f" by {request.requested_by}" if request.requested_by else ""
            text = f"Requested {timetext.absolute(request.requested_at)}{who}"
            if request.picked_up_at:
                text += f"\nPicked up {timetext.absolute(request.picked_up_at)}"
            if request.completed_at:
                text += f"\nFinished {timetext.absolute(request.completed_at)}"
            return text
        details = result_details(request)
        stale = "\n\n(Not live: this may have changed since.)" if self._stale else ""
        started = running_started(request)
        if column == COL_DURATION and started is not None:
            return f"Running for {running_for(started, self.clock.now)[0]}{stale}"
        if column in (COL_RESULT, COL_STATUS) and details:
            return details + stale
        if column == COL_JOB:
            return f"Job id: {request.job_id}\nRequest id: {request.id}{stale}"
        return stale.strip() or None

    # -- row access ---------------------------------------------------------------------------

    def request_at(self, row: int) -> CronRunRequest:
        return self._rows[row]

    def requests(self) -> list[CronRunRequest]:
        return list(self._rows)

    def row_of(self, request_id: str) -> int | None:
        for row, request in enumerate(self._rows):
            if request.id == request_id:
                return row
        return None

    def active_count(self) -> int:
        return sum(1 for r in self._rows if r.is_active)

    def has_running(self) -> bool:
        return any(r.status == "running" for r in self._rows)

    @property
    def stale(self) -> bool:
        return self._stale

    def set_stale(self, stale: bool) -> None:
        if stale != self._stale:
            self._stale = stale
            self._all_changed()

    def set_name_lookup(self, names: Callable[[str], str | None]) -> None:
        self._names = names
        if self._rows:
            last = len(self._rows) - 1
            self.dataChanged.emit(
                self.index(0, COL_JOB), self.index(last, COL_JOB), [Qt.ItemDataRole.DisplayRole]
            )

    def _times_due(self) -> None:
        """The clock ticked: re-render the "Requested … ago" and "running for …" cells whose words
        changed, only those."""
        now = self.clock.now
        for due, column in ((self._due, COL_REQUESTED), (self._running_due, COL_DURATION)):
            for request_id in due.due(now):
                row = self.row_of(request_id)
                if row is not None:
                    index = self.index(row, column)
                    self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
            self.clock.wake_at(due.next_at)

    def _all_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, COLUMN_COUNT - 1))

    # -- changes ------------------------------------------------------------------------------

    def accepts(self, request: CronRunRequest) -> bool:
        return self.job_id is None or request.job_id == self.job_id

    def set_requests(self, requests: list[CronRunRequest]) -> None:
        """Replace every row (a Snapshot or a fresh load): the one place the model resets."""
        unique = {r.id: r for r in requests if self.accepts(r)}
        rows = sorted(unique.values(), key=_order_key)
        self.beginResetModel()
        self._rows = rows
        self._due.clear()
        self._running_due.clear()
        self.endResetModel()
        self._trim()
        self.activeCountChanged.emit(self.active_count())

    def clear(self) -> None:
        self.set_requests([])

    def apply(self, change: RequestChange) -> None:
        if change.type is ChangeType.DELETE or change.request is None:
            self.remove(change.row_id)
        else:
            self.upsert(change.request)

    def upsert(self, request: CronRunRequest) -> None:
        """Insert or update one request in place (idempotent: a realtime echo of our own insert is fine)."""
        if not self.accepts(request):
            return
        row = self.row_of(request.id)
        if row is not None:
            old = self._rows[row]
            if _order_key(old) == _order_key(request):
                self._rows[row] = request
                self.dataChanged.emit(self.index(row, 0), self.index(row, COLUMN_COUNT - 1))
                if old.status != request.status:
                    self.activeCountChanged.emit(self.active_count())
                return
            self.remove(request.id, emit=False)
        key = _order_key(request)
        position = next((i for i, r in enumerate(self._rows) if _order_key(r) > key), len(self._rows))
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, request)
        self.endInsertRows()
        self._trim()
        self.activeCountChanged.emit(self.active_count())

    def remove(self, request_id: str, *, emit: bool = True) -> None:
        row = self.row_of(request_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()
        if emit:
            self.activeCountChanged.emit(self.active_count())

    def _trim(self) -> None:
        """Drop the oldest finished rows beyond the limit (active rows stay)."""
        row = len(self._rows) - 1
        while len(self._rows) > self.limit and row >= 0:
            if not self._rows[row].is_active:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
            row -= 1
