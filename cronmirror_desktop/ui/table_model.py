"""What every CronMirror table model shares (Vorta's table-model template): header labels, flat read-only
rows without children. A subclass sets `headers` (column -> label) and says how many rows it holds; its
own `data()` dispatches on the roles it serves."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex

ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class RowTableModel(QAbstractTableModel):
    #: Column number -> header label; every column has one.
    headers: ClassVar[dict[int, str]]
    #: Columns whose header (and, by convention, cells) align right: numbers.
    right_aligned: ClassVar[frozenset[int]] = frozenset()

    def row_count(self) -> int:
        raise NotImplementedError  # pragma: no cover - every model says how many rows it holds

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers.get(section)
        if role == Qt.ItemDataRole.TextAlignmentRole and section in self.right_aligned:
            return _RIGHT
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags
