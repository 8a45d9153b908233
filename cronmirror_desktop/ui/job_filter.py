"""The job table's filter: search by name as you type, enabled/disabled/all, status (Late, or the last run's),
and the host when a project has jobs on several.

Why not a `QSortFilterProxyModel`: on every filter change it calls `filterAcceptsRow` once per source row,
10,000 calls into Python per keystroke at 10,000 jobs (5 ms on the bench machine before anything else,
more than the C++ `setFilterFixedString` it is measured against does in all). So this proxy keeps the
accepted rows itself: `_shown` holds the model's entries that pass, in the model's ascending order (proxy
row r is `_shown[r]`, read backwards while the model sorts descending, as the model reads its own list).
Sorting stays the model's (`job_model`); `sort()` is forwarded.

A filter change is one list comprehension over the keys the model precomputed per row (a casefolded
"haystack" of name, job id and host; enabled; status), and it is incremental: a query that only adds to
the previous one (every old word inside a new one: "nig" → "nigh", "nightly" → "nightly b") can only hide
rows, so only the rows shown are checked again; a query that only takes away (every new word inside an
old one) can only bring rows back, so only the hidden rows are. The view is then told once: a few rows
removed or inserted when only a few changed, else one layout change (rows still shown keep their
selection; a selected row that is filtered out is removed with `rowsRemoved` first, so the selection
notices).

Live changes arrive as the model's own precise signals; each changed row alone is judged again and the
proxy announces only what changed for it (inserted, removed, moved, data changed), never a reset. A change
of many rows at once (Late judged again every 30 s, new host zones) refilters once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from enum import StrEnum
from operator import attrgetter
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, SignalInstance

from cronmirror_desktop.ui.job_model import COLUMN_COUNT, HEADERS, JobEntry, JobTableModel
from cronmirror_desktop.ui.table_model import Index, RowTableModel


class EnabledFilter(StrEnum):
    ALL = "all"
    ENABLED = "enabled"
    DISABLED = "disabled"


class StatusFilter(StrEnum):
    ALL = "all"
    LATE = "late"
    FAILED = "error"
    OK = "ok"
    SKIPPED = "skipped"
    NEVER = "never"
    INVALID = "invalid"


STATUS_FILTER_LABELS = {
    StatusFilter.ALL: "Any status",
    StatusFilter.LATE: "Late",
    StatusFilter.FAILED: "Failed",
    StatusFilter.OK: "Succeeded",
    StatusFilter.SKIPPED: "Skipped",
    StatusFilter.NEVER: "Never run",
    StatusFilter.INVALID: "Unreadable rows",
}
ENABLED_FILTER_LABELS = {
    EnabledFilter.ALL: "All jobs",
    EnabledFilter.ENABLED: "Enabled",
    EnabledFilter.DISABLED: "Disabled",
}

#: At most this many rows changing are announced row by row; more make one layout change.
FEW_ROWS = 8
#: A data change of more rows than this refilters every row in one pass instead of row by row.
MANY_ROWS = 64

_sort_key = attrgetter("sort_key")


def _find(entries: list[JobEntry], entry: JobEntry) -> int | None:
    """Where `entry` is in `entries` (sorted by sort key, which are unique), or None."""
    i = bisect.bisect_left(entries, entry.sort_key, key=_sort_key)
    return i if i < len(entries) and entries[i] is entry else None


def narrows(old: Sequence[str], new: Sequence[str]) -> bool:
    """Whether search terms `new` can only match rows `old` matched: every old term lies inside a new one
    (a row holding every new term then holds every old one)."""
    return all(any(term in longer for longer in new) for term in old)


class JobFilterProxy(RowTableModel):
    """Typed setters store the state and refilter once; the rows shown are the model's entries.

    A flat table model of its own rather than a `QAbstractProxyModel`: Qt then answers `parent()` and
    the like in C++ instead of calling into Python several times per change. It maps indexes to and from
    the job model as a proxy does (`mapToSource`, `mapFromSource`)."""

    headers = HEADERS
    right_aligned = JobTableModel.right_aligned

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: tuple[str, ...] = ()
        self._text = ""
        self._enabled = EnabledFilter.ALL
        self._status = StatusFilter.ALL
        #: Only jobs of this host (None: every host).
        self._host: str | None = None
        #: Whether any of the above hides rows (kept up to date by the setters).
        self._filtering = False
        self._model: JobTableModel | None = None
        #: The entries shown, in ascending order of their sort key (the model's order).
        self._shown: list[JobEntry] = []
        self._descending = False
        #: The source's signals this proxy is connected to (to disconnect on a new source).
        self._wired: list[tuple[SignalInstance, Callable[..., object]]] = []
        #: During a move in the source: (entry, its index in `_shown`) of the rows moving that are shown.
        self._moving: list[tuple[JobEntry, int]] = []
        #: During a layout change of the source: (persistent index, its entry or None, its column).
        self._tracked: list[tuple[QModelIndex, JobEntry | None, int]] = []

    # -- the source -----------------------------------------------------------------------------

    def setSourceModel(self, model: JobTableModel | None) -> None:
        """Filter `model` (None: none; no rows)."""
        self.beginResetModel()
        for signal, slot in self._wired:
            signal.disconnect(slot)
        self._wired = []
        self._model = model
        if model is not None:
            self._wire(model)
        self._reload()
        self.endResetModel()

    def sourceModel(self) -> JobTableModel | None:
        return self._model

    def _wire(self, model: JobTableModel) -> None:
        wiring: tuple[tuple[SignalInstance, Callable[..., object]], ...] = (
            (model.modelAboutToBeReset, self.beginResetModel),
            (model.modelReset, self._source_reset),
            (model.rowsInserted, self._source_inserted),
            (model.rowsAboutToBeRemoved, self._source_removing),
            (model.rowsAboutToBeMoved, self._source_moving),
            (model.rowsMoved, self._source_moved),
            (model.layoutAboutToBeChanged, self._source_layout_changing),
            (model.layoutChanged, self._source_layout_changed),
            (model.dataChanged, self._source_data_changed),
            (model.headerDataChanged, self.headerDataChanged.emit),
        )
        for signal, slot in wiring:
            signal.connect(slot)
            self._wired.append((signal, slot))

    def _reload(self) -> None:
        model = self._model
        self._shown = [] if model is None else self._select(model.ascending_entries())
        self._descending = False if model is None else model.descending

    # -- typed setters ------------------------------------------------------------------------

    @property
    def search_text(self) -> str:
        return self._text

    @property
    def enabled_filter(self) -> EnabledFilter:
        return self._enabled

    @property
    def status_filter(self) -> StatusFilter:
        return self._status

    @property
    def host_filter(self) -> str | None:
        return self._host

    def set_search_text(self, text: str) -> None:
        terms = tuple(text.casefold().split())
        self._text = text
        old, self._terms = self._terms, terms
        if terms == old:
            return
        self._note_filtering()
        if narrows(old, terms):
            self._show(self._select(self._shown), narrowed=True)
        elif narrows(terms, old):
            self._show(self._select_more(), widened=True)
        else:
            self._refilter()

    def set_enabled_filter(self, mode: EnabledFilter | str) -> None:
        mode = EnabledFilter(mode)
        if mode is not self._enabled:
            self._enabled = mode
            self._note_filtering()
            self._refilter()

    def set_status_filter(self, status: StatusFilter | str) -> None:
        status = StatusFilter(status)
        if status is not self._status:
            self._status = status
            self._note_filtering()
            self._refilter()

    def set_host_filter(self, host: str | None) -> None:
        """Only the jobs of `host` (None or "": every host's)."""
        host = host or None
        if host != self._host:
            self._host = host
            self._note_filtering()
            self._refilter()

    @property
    def is_filtering(self) -> bool:
        return self._filtering

    def _note_filtering(self) -> None:
        self._filtering = (
            bool(self._terms)
            or self._enabled is not EnabledFilter.ALL
            or self._status is not StatusFilter.ALL
            or self._host is not None
        )

    # -- judging ------------------------------------------------------------------------------

    def accepts(self, entry: JobEntry) -> bool:
        """Whether `entry` passes the filter as it stands."""
        if self._enabled is not EnabledFilter.ALL and entry.enabled != (
            self._enabled is EnabledFilter.ENABLED
        ):
            return False
        if self._host is not None and entry.job.host != self._host:
            return False
        status = self._status
        if status is not StatusFilter.ALL:
            if status is StatusFilter.LATE:
                if not entry.is_late:
                    return False
            elif status is StatusFilter.INVALID:
                if not entry.job.problems:
                    return False
            elif status is StatusFilter.NEVER:
                if entry.status is not None:
                    return False
            elif entry.status != status.value:
                return False
        key = entry.search_key
        return all(term in key for term in self._terms)

    def _select(self, entries: list[JobEntry]) -> list[JobEntry]:
        """The entries that pass, in their order; the common cases (a search alone, one or two words) are
        plain comprehensions, the rest asks `accepts` per entry."""
        terms = self._terms
        if self._enabled is EnabledFilter.ALL and self._status is StatusFilter.ALL and self._host is None:
            if not terms:
                return list(entries)
            if len(terms) == 1:
                (term,) = terms
                return [e for e in entries if term in e.search_key]
            if len(terms) == 2:
                first, second = terms
                return [e for e in entries if first in e.search_key and second in e.search_key]
        accepts = self.accepts
        return [e for e in entries if accepts(e)]

    def _select_more(self) -> list[JobEntry]:
        """After a search that can only bring rows back: the rows shown stay, only the hidden are judged."""
        model = self._model
        if model is None:
            return []
        entries = model.ascending_entries()
        if not self.is_filtering:
            return list(entries)
        shown = set(self._shown)
        found = self._select([e for e in entries if e not in shown])
        if not found:
            return self._shown
        shown.update(found)
        return [e for e in entries if e in shown]

    def _refilter(self) -> None:
        if self._model is not None:
            self._show(self._select(self._model.ascending_entries()))

    # -- telling the view ---------------------------------------------------------------------

    def _row(self, position: int, count: int | None = None) -> int:
        """The proxy row of `_shown[position]` (with `count` rows shown)."""
        n = len(self._shown) if count is None else count
        return n - 1 - position if self._descending else position

    def _position(self, entry: JobEntry) -> int | None:
        """Where `entry` is in `_shown` (None: not shown)."""
        return _find(self._shown, entry)

    def _entry(self, row: int) -> JobEntry:
        shown = self._shown
        return shown[len(shown) - 1 - row] if self._descending else shown[row]

    def _show(self, new: list[JobEntry], *, narrowed: bool = False, widened: bool = False) -> None:
        """Make `new` (a subsequence of the model's order) the rows shown, telling the view the least
        that is true: nothing, a few rows removed or inserted, or one layout change."""
        old = self._shown
        if len(new) == len(old) and (narrowed or widened or new == old):
            return  # a narrower (wider) result of the same size is the same rows
        if not old or not new:
            self._replace_all(new)
        elif narrowed and len(old) - len(new) <= FEW_ROWS:
            keep = set(new)
            for entry in [e for e in old if e not in keep]:
                self._remove_shown(entry)
        elif widened and len(new) - len(old) <= FEW_ROWS:
            had = set(old)
            for entry in [e for e in new if e not in had]:
                self._insert_shown(entry)
        else:
            self._relayout(new)

    def _replace_all(self, new: list[JobEntry]) -> None:
        """From no rows to some, or from some to none: one insertion or removal of all of them."""
        if self._shown:
            self.beginRemoveRows(QModelIndex(), 0, len(self._shown) - 1)
            self._shown = []
            self.endRemoveRows()
        if new:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._shown = new
            self.endInsertRows()

    def _relayout(self, new: list[JobEntry]) -> None:
        """Many rows change: one layout change. The rows someone holds an index to (the selection, the
        current row) that are filtered out leave first with `rowsRemoved`, as a view and its selection
        expect of a row that goes away; the others keep their indexes on their rows."""
        held = {self._entry(index.row()) for index in self.persistentIndexList() if index.isValid()}
        for entry in held:
            if _find(new, entry) is None:
                self._remove_shown(entry)
        self.layoutAboutToBeChanged.emit()
        tracked = [(index, self._entry(index.row())) for index in self.persistentIndexList()]
        self._shown = new
        if tracked:
            moved = []
            for index, entry in tracked:
                position = self._position(entry)
                moved.append(
                    QModelIndex() if position is None else self.index(self._row(position), index.column())
                )
            self.changePersistentIndexList([index for index, _ in tracked], moved)
        self.layoutChanged.emit()

    def _remove_shown(self, entry: JobEntry) -> None:
        position = self._position(entry)
        if position is None:
            return
        row = self._row(position)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._shown[position]
        self.endRemoveRows()

    def _insert_shown(self, entry: JobEntry) -> None:
        shown = self._shown
        position = bisect.bisect_left(shown, entry.sort_key, key=_sort_key)
        row = self._row(position, len(shown) + 1)
        self.beginInsertRows(QModelIndex(), row, row)
        shown.insert(position, entry)
        self.endInsertRows()

    # -- the source's changes -------------------------------------------------------------------

    def _source_reset(self) -> None:
        self._reload()
        self.endResetModel()

    def _source_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        model = self._model
        assert model is not None
        for row in range(first, last + 1):
            entry = model.entry_at(row)
            if self.accepts(entry):
                self._insert_shown(entry)

    def _source_removing(self, _parent: QModelIndex, first: int, last: int) -> None:
        model = self._model
        assert model is not None
        for entry in [model.entry_at(row) for row in range(first, last + 1)]:
            self._remove_shown(entry)

    def _source_moving(self, _parent: QModelIndex, first: int, last: int, *_dest: Any) -> None:
        """A row's sort key is about to change (the model keeps it on its old key until the move is done)."""
        model = self._model
        assert model is not None
        self._moving = []
        for row in range(first, last + 1):
            entry = model.entry_at(row)
            position = self._position(entry)
            if position is not None:
                self._moving.append((entry, position))

    def _source_moved(self, *_args: Any) -> None:
        moving, self._moving = self._moving, []
        if len(moving) > 1:  # pragma: no cover - the job model moves one row at a time
            self._relayout(sorted(self._shown, key=_sort_key))
            return
        for entry, old in moving:
            shown = self._shown
            del shown[old]
            new = bisect.bisect_left(shown, entry.sort_key, key=_sort_key)
            shown.insert(old, entry)  # back until the view has been told
            n = len(shown)
            old_row, new_row = self._row(old, n), self._row(new, n)
            if old_row == new_row:
                del shown[old]
                shown.insert(new, entry)
                continue
            self.beginMoveRows(
                QModelIndex(), old_row, old_row, QModelIndex(), new_row + 1 if new_row > old_row else new_row
            )
            del shown[old]
            shown.insert(new, entry)
            self.endMoveRows()

    def _source_layout_changing(self, *_args: Any) -> None:
        """The model is about to sort again: every entry gets a new key, the order a new direction."""
        self.layoutAboutToBeChanged.emit()
        self._tracked = [
            (index, self._entry(index.row()) if index.isValid() else None, index.column())
            for index in self.persistentIndexList()
        ]

    def _source_layout_changed(self, *_args: Any) -> None:
        model = self._model
        assert model is not None
        self._shown.sort(key=_sort_key)
        self._descending = model.descending
        tracked, self._tracked = self._tracked, []
        if tracked:
            moved = []
            for _index, entry, column in tracked:
                position = None if entry is None else self._position(entry)
                moved.append(QModelIndex() if position is None else self.index(self._row(position), column))
            self.changePersistentIndexList([index for index, _, _ in tracked], moved)
        self.layoutChanged.emit()

    def _source_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Sequence[int] = ()) -> None:
        """Rows whose data changed are judged again (when filtering; a row may now pass or not), and the
        change is passed on for the rows shown."""
        model = self._model
        assert model is not None
        first, last = top.row(), bottom.row()
        if first < 0 or last < first:
            return
        if first == last:  # a live change, a relative time: one row
            entry = model.entry_at(first)
            shown = self._shown
            position = _find(shown, entry)
            if self._filtering and self.accepts(entry) != (position is not None):
                if position is None:
                    self._insert_shown(entry)
                else:
                    self._remove_shown(entry)
                return  # inserted or removed: nothing else to say about it
            if position is not None:
                row = len(shown) - 1 - position if self._descending else position
                self.dataChanged.emit(
                    self.createIndex(row, top.column()), self.createIndex(row, bottom.column()), roles
                )
            return
        ends = sorted((model.entry_at(first).sort_key, model.entry_at(last).sort_key))
        if self.is_filtering:
            if last - first + 1 > MANY_ROWS:
                self._refilter()
            else:
                for entry in [model.entry_at(row) for row in range(first, last + 1)]:
                    if self.accepts(entry) != (self._position(entry) is not None):
                        if self._position(entry) is None:
                            self._insert_shown(entry)
                        else:
                            self._remove_shown(entry)
        start = bisect.bisect_left(self._shown, ends[0], key=_sort_key)
        stop = bisect.bisect_right(self._shown, ends[1], key=_sort_key) - 1
        if start <= stop:
            rows = sorted((self._row(start), self._row(stop)))
            self.dataChanged.emit(
                self.createIndex(rows[0], top.column()), self.createIndex(rows[1], bottom.column()), roles
            )

    # -- the Qt model interface (headers and flags: RowTableModel's) --------------------------------

    def row_count(self) -> int:
        return len(self._shown)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if 0 <= row < len(self._shown) and 0 <= column < COLUMN_COUNT and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    def mapToSource(self, proxy_index: Index) -> QModelIndex:
        """The job model's index of the same cell (invalid for an invalid index)."""
        model = self._model
        if model is None or not proxy_index.isValid() or proxy_index.row() >= len(self._shown):
            return QModelIndex()
        return model.index(model.row_of_entry(self._entry(proxy_index.row())), proxy_index.column())

    def mapFromSource(self, source_index: Index) -> QModelIndex:
        """This model's index of a job model's cell (invalid when its row is filtered out)."""
        model = self._model
        if model is None or not source_index.isValid():
            return QModelIndex()
        position = self._position(model.entry_at(source_index.row()))
        if position is None:
            return QModelIndex()
        return self.createIndex(self._row(position), source_index.column())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        model = self._model
        if model is None or not index.isValid():
            return None
        return model.entry_data(self._entry(index.row()), index.column(), role)

    # -- sorting is the model's ---------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._model is not None:
            self._model.sort(column, order)
