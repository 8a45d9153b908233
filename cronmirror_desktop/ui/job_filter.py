"""The job table's filter: search by name as you type, enabled/disabled/all, status (Late, or the last run's),
and the host when a project has jobs on several.

Qt calls `filterAcceptsRow` once per row on every change of the filter: 10,000 calls into Python per
keystroke. So a filter change first decides every row in one list comprehension over keys the model
precomputed (a casefolded name, the status, the enabled flag), and the calls Qt then makes only index
that list. A single row changed by a live event is judged on its own. Sorting is the model's own (see
`job_model`); `sort()` is forwarded.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt, qVersion

from cronmirror_desktop.ui.job_model import JobEntry, JobTableModel

_QT_HAS_FILTER_CHANGE = tuple(int(p) for p in qVersion().split(".")[:2]) >= (6, 10)


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


class JobFilterProxy(QSortFilterProxyModel):
    """Typed setters store the state and refilter once; only rows are refiltered, never columns."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: tuple[str, ...] = ()
        self._text = ""
        self._enabled = EnabledFilter.ALL
        self._status = StatusFilter.ALL
        #: Only jobs of this host (None: every host).
        self._host: str | None = None
        self._model: JobTableModel | None = None
        #: Every row's verdict (in the source model's row order) while a filter change is applied.
        self._verdicts: list[bool] | None = None

    def setSourceModel(self, model: JobTableModel) -> None:  # type: ignore[override]
        self._model = model
        super().setSourceModel(model)

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

    def set_search_text(self, text: str) -> None:
        terms = tuple(text.casefold().split())
        self._text = text
        if terms != self._terms:
            self._begin()
            self._terms = terms
            self._end()

    def set_enabled_filter(self, mode: EnabledFilter | str) -> None:
        mode = EnabledFilter(mode)
        if mode is not self._enabled:
            self._begin()
            self._enabled = mode
            self._end()

    def set_status_filter(self, status: StatusFilter | str) -> None:
        status = StatusFilter(status)
        if status is not self._status:
            self._begin()
            self._status = status
            self._end()

    @property
    def host_filter(self) -> str | None:
        return self._host

    def set_host_filter(self, host: str | None) -> None:
        """Only the jobs of `host` (None or "": every host's)."""
        host = host or None
        if host != self._host:
            self._begin()
            self._host = host
            self._end()

    @property
    def is_filtering(self) -> bool:
        return (
            bool(self._terms)
            or self._enabled is not EnabledFilter.ALL
            or self._status is not StatusFilter.ALL
            or self._host is not None
        )

    def _begin(self) -> None:
        if _QT_HAS_FILTER_CHANGE:
            self.beginFilterChange()

    def _end(self) -> None:
        model = self._model
        if model is not None:
            self._verdicts = self._judge_all(model.entries_in_row_order())
        try:
            if _QT_HAS_FILTER_CHANGE:
                self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
            else:  # pragma: no cover - Qt < 6.10 (invalidateFilter is slated for deprecation)
                self.invalidateRowsFilter()
        finally:
            self._verdicts = None

    # -- filtering ----------------------------------------------------------------------------

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        verdicts = self._verdicts
        if verdicts is not None:
            return verdicts[source_row]
        model = self._model
        if model is None:
            return True
        return self._accepts(model.entry_at(source_row))

    def _judge_all(self, entries: list[JobEntry]) -> list[bool]:
        """Every row's verdict at once; the common cases (search only) are plain comprehensions."""
        terms = self._terms
        if self._enabled is EnabledFilter.ALL and self._status is StatusFilter.ALL and self._host is None:
            if not terms:
                return [True] * len(entries)
            if len(terms) == 1:
                term = terms[0]
                return [term in entry.search_key for entry in entries]
        accepts = self._accepts
        return [accepts(entry) for entry in entries]

    def _accepts(self, entry: JobEntry) -> bool:
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

    # -- sorting is the model's ---------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._model is not None:
            self._model.sort(column, order)
