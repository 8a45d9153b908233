"""The job table's columns in whatever width the window has: Name and Status always in view, never behind
a horizontal scroll bar.

Each column has a preferred width (what its usual text needs, or what the user dragged it to). When the
table is narrower than all of them together, the long columns give way first: Schedule is cut with "…"
down to `SCHEDULE_MIN`, Name (which takes the rest of the width) down to `NAME_MIN`; then the columns a
person can do without — Duration, then Enabled — are hidden until the table is wide enough again. The
cells elide, so nothing wraps or spills.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject
from PySide6.QtWidgets import QHeaderView, QTableView

from cronmirror_desktop.ui.job_model import COL_DURATION, COL_ENABLED, COL_NAME, COL_SCHEDULE

NAME_MIN = 140
SCHEDULE_MIN = 90
#: Hidden in this order when even the shortest Schedule and Name do not fit.
OPTIONAL_COLUMNS = (COL_DURATION, COL_ENABLED)


class ColumnFit(QObject):
    """Keeps `table`'s columns within its viewport (see the module docstring). `preferred` maps each
    fixed-width column to its width; the Name column stretches."""

    def __init__(self, table: QTableView, preferred: dict[int, int]) -> None:
        super().__init__(table)
        self.table = table
        self.preferred = dict(preferred)
        #: Columns this object hid (others may be hidden for their own reasons, e.g. Host).
        self.hidden_by_fit: set[int] = set()
        self._fitting = False
        header = table.horizontalHeader()
        header.sectionResized.connect(self._resized_by_hand)
        table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _resized_by_hand(self, column: int, _old: int, new: int) -> None:
        """A width the user dragged to is that column's preferred width from now on."""
        header = self.table.horizontalHeader()
        if self._fitting or column == COL_NAME or new <= 0:
            return
        if header.sectionResizeMode(column) == QHeaderView.ResizeMode.Interactive:
            self.preferred[column] = new

    def fit(self) -> None:
        table = self.table
        available = table.viewport().width()
        if available <= 0 or self._fitting:
            return
        self._fitting = True
        try:
            for column in sorted(self.hidden_by_fit):  # try with everything first
                table.setColumnHidden(column, False)
            self.hidden_by_fit.clear()
            while True:
                fixed = sum(
                    self.preferred.get(c, table.columnWidth(c))
                    for c in range(table.model().columnCount())
                    if c not in (COL_NAME, COL_SCHEDULE) and not table.isColumnHidden(c)
                )
                room = available - fixed - NAME_MIN
                schedule = max(SCHEDULE_MIN, min(self.preferred[COL_SCHEDULE], room))
                if room >= SCHEDULE_MIN or not self._hide_one():
                    break
            for column, width in self.preferred.items():
                if column not in (COL_NAME, COL_SCHEDULE) and not table.isColumnHidden(column):
                    table.setColumnWidth(column, width)
            table.setColumnWidth(COL_SCHEDULE, schedule)
        finally:
            self._fitting = False

    def preferred_state(self) -> QByteArray:
        """The header's state as the user left it (preferred widths, nothing hidden for room), to save."""
        table, header = self.table, self.table.horizontalHeader()
        self._fitting = True
        try:
            for column in self.hidden_by_fit:
                table.setColumnHidden(column, False)
            for column, width in self.preferred.items():
                table.setColumnWidth(column, width)
            state = header.saveState()
        finally:
            self._fitting = False
        self.fit()
        return state

    def _hide_one(self) -> bool:
        for column in OPTIONAL_COLUMNS:
            if not self.table.isColumnHidden(column):
                self.table.setColumnHidden(column, True)
                self.hidden_by_fit.add(column)
                return True
        return False
