"""What the app lets you do to a job: its context menu, double-click to edit, the Edit and Add job dialogs,
and the pending requests on its row.

Menu: Run now, Enable/Disable, Edit schedule…, Remove job… (jobs.toml), Mute notifications (a tick: this
job's failure, Late and recovery notifications stay silent on this computer; ui/notifications.py keeps it),
Copy job id, and Add job… (a new jobs.toml job). An action the job's source cannot do is greyed out, its
tooltip saying why (core.actions.capabilities and why_not, the same table the worker applies). Everything
goes through `AppController.request_action`: the Control API for what it does itself (enable/disable of a
gateway job), else the queue, as Run does. A job's pending actions show at the right of its name ("Disable
requested 5 s ago", shortened to "Disable requested" or "Disable" when the column is narrow), from the
request list the app keeps live anyway; pending runs are in the Run requests dock, as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, Qt
from PySide6.QtGui import QAction, QFontMetrics, QGuiApplication, QHelpEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMenu,
    QMessageBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QWidget,
)

from cronmirror_desktop.core import actions
from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest
from cronmirror_desktop.core.timeutil import now_utc
from cronmirror_desktop.ui.chips import paint_chip
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.job_model import COL_NAME, ObjectRole
from cronmirror_desktop.ui.theme import is_dark

if TYPE_CHECKING:  # the dialogs are imported when one opens, not with the window
    from cronmirror_desktop.ui.add_job_dialog import AddJobDialog
    from cronmirror_desktop.ui.edit_schedule_dialog import EditScheduleDialog

Index = QModelIndex | QPersistentModelIndex


def pending_lines(requests: list[CronRunRequest], now: datetime | None = None) -> list[str]:
    when = now or now_utc()
    return [actions.pending_words(r.action, r.status, r.requested_at, when) for r in requests]


class PendingDelegate(QStyledItemDelegate):
    """The Name cell: the name as usual, and the job's pending requests as a chip at its right."""

    def __init__(self, view: QTableView, controller: AppController) -> None:
        super().__init__(view)
        self.controller = controller

    def _pending(self, index: Index) -> list[CronRunRequest]:
        job = index.data(ObjectRole)
        if not isinstance(job, CronMirrorJob):
            return []
        return [r for r in self.controller.active_requests_for(job.job_id) if not r.is_run]

    def chip_texts(self, index: Index) -> list[str]:
        """What the chip may say, longest first: "Disable requested 5 s ago", "Disable requested", "Disable"
        (plus "+1" when more actions wait)."""
        pending = self._pending(index)
        if not pending:
            return []
        first = pending[0]
        more = f" +{len(pending) - 1}" if len(pending) > 1 else ""
        full = pending_lines(pending, self.controller.clock.now)[0]
        state = "in progress" if first.status == "running" else "requested"
        word = actions.words(first.action)
        return [full + more, f"{word} {state}{more}", word + more]

    def chip_text(self, index: Index, room: int | None = None, fm: QFontMetrics | None = None) -> str:
        texts = self.chip_texts(index)
        if not texts:
            return ""
        if room is None or fm is None:
            return texts[0]
        return next((t for t in texts if fm.horizontalAdvance(t) + 30 <= room), texts[-1])

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        fm = QFontMetrics(option.font)
        room = int(option.rect.width() * 0.6)
        text = self.chip_text(index, room, fm)
        if not text:
            super().paint(painter, option, index)
            return
        width = min(fm.horizontalAdvance(text) + 30, max(0, room))
        label = fm.elidedText(text, Qt.TextElideMode.ElideRight, width - 24)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:  # the cell's background (selection) across the whole width
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        named = QStyleOptionViewItem(option)
        named.rect = option.rect.adjusted(0, 0, -width, 0)
        super().paint(painter, named, index)
        status = "running" if any(r.status == "running" for r in self._pending(index)) else "queued"
        chip_rect = QRect(option.rect.right() - width, option.rect.top(), width, option.rect.height())
        paint_chip(painter, chip_rect, status, label, is_dark(option.palette), None)

    def helpEvent(
        self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        lines = pending_lines(self._pending(index), self.controller.clock.now)
        if not lines:
            return super().helpEvent(event, view, option, index)
        tooltip = index.data(Qt.ItemDataRole.ToolTipRole) or ""
        QToolTip.showText(
            event.globalPos(), f"{tooltip}\n\nWaiting on the Mac mini:\n" + "\n".join(lines), view
        )
        return True


class JobActions(QObject):
    """Attaches the menu, double-click and pending chips to the job table of `window`."""

    def __init__(self, window: QWidget, controller: AppController, table: QTableView) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.table = table
        self.dialog: EditScheduleDialog | AddJobDialog | None = None
        self.delegate = PendingDelegate(table, controller)
        table.setItemDelegateForColumn(COL_NAME, self.delegate)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._menu_at)
        table.doubleClicked.connect(self._double_clicked)
        requests = controller.request_model
        for signal in (
            requests.dataChanged,
            requests.rowsInserted,
            requests.rowsRemoved,
            requests.modelReset,
        ):
            signal.connect(self._repaint_names)

    def _repaint_names(self, *_args: object) -> None:
        self.table.viewport().update()

    # -- the menu ----------------------------------------------------------------------------------

    def job_at(self, pos: QPoint) -> CronMirrorJob | None:
        index = self.table.indexAt(pos)
        job = index.data(ObjectRole) if index.isValid() else None
        return job if isinstance(job, CronMirrorJob) else None

    def menu_for(self, job: CronMirrorJob | None) -> QMenu:
        """The context menu for `job` (None: a click beside the rows, where only Add job… is offered)."""
        menu = QMenu(self.table)
        menu.setObjectName("jobMenu")
        menu.setToolTipsVisible(True)
        if job is not None:
            self._item(menu, "Run now", job, actions.RUN)
            toggle = actions.DISABLE if job.enabled else actions.ENABLE
            self._item(menu, actions.words(toggle), job, toggle)
            edit = self._item(menu, "Edit schedule…", job, actions.SET_SCHEDULE, lambda: self.edit(job))
            if not edit.isEnabled() and actions.RENAME in actions.capabilities(job.source):
                edit.setEnabled(True)  # the name can still be changed there
                edit.setText("Edit…")
            self._item(menu, "Remove job…", job, actions.DELETE, lambda: self.remove(job))
            menu.addSeparator()
            mute = menu.addAction("Mute notifications")
            mute.setObjectName("muteNotifications")
            mute.setCheckable(True)
            mute.setChecked(self.controller.notifier.is_muted(job.job_id))
            mute.setToolTip("No failure, Late or recovery notifications for this job on this computer")
            mute.toggled.connect(lambda muted: self.controller.notifier.mute(job.job_id, muted))
            copy = menu.addAction("Copy job id")
            copy.setObjectName("copyJobId")
            copy.triggered.connect(lambda: self.copy_id(job))
            menu.addSeparator()
        add = menu.addAction("Add job…")
        add.setObjectName("addJob")
        add.setToolTip("A new command job in the Mac mini's jobs.toml")
        add.triggered.connect(self.add_job)
        return menu

    def _item(self, menu: QMenu, text: str, job: CronMirrorJob, action: str, handler: Any = None) -> QAction:
        item = menu.addAction(text)
        item.setObjectName(f"action_{action}")
        why = actions.why_not(job.source, action)
        pending = [r for r in self.controller.active_requests_for(job.job_id) if r.action == action]
        if why is not None:
            item.setEnabled(False)
            item.setToolTip(why[0].upper() + why[1:] + ".")
        elif pending:
            item.setToolTip(pending_lines(pending)[0])
        item.triggered.connect(handler or (lambda: self.request(job, action)))
        return item

    def _menu_at(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
        menu = self.menu_for(self.job_at(pos))
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _double_clicked(self, index: QModelIndex) -> None:
        job = index.data(ObjectRole)
        if isinstance(job, CronMirrorJob):
            self.edit(job)

    # -- what the items do ------------------------------------------------------------------------

    def request(self, job: CronMirrorJob, action: str, args: dict[str, Any] | None = None) -> None:
        self.controller.spawn(
            f"{action}:{job.job_id}", self.controller.request_action(job.job_id, action, args)
        )

    def copy_id(self, job: CronMirrorJob) -> None:
        QGuiApplication.clipboard().setText(job.job_id)

    def mac_zone(self, job: CronMirrorJob | None) -> str | None:
        return self.controller.job_model.host_zones.for_host(job.host if job is not None else None)

    def edit(self, job: CronMirrorJob) -> EditScheduleDialog | None:
        can = actions.capabilities(job.source)
        if actions.SET_SCHEDULE not in can and actions.RENAME not in can:
            reason = actions.why_not(job.source, actions.SET_SCHEDULE) or "it cannot be edited from here"
            self.controller.notice.emit("warning", f"“{job.display_name}”: {reason}.")
            return None
        from cronmirror_desktop.ui.edit_schedule_dialog import EditScheduleDialog

        dialog = EditScheduleDialog(
            job, mac_zone=self.mac_zone(job), now=self.controller.job_model.now, parent=self.window
        )
        dialog.accepted.connect(lambda: self._queue_changes(job, dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _queue_changes(self, job: CronMirrorJob, dialog: EditScheduleDialog) -> None:
        for action, args in dialog.changes():
            self.request(job, action, args)

    def remove(self, job: CronMirrorJob) -> None:
        answer = QMessageBox.question(
            self.window,
            "Remove job",
            f"Remove “{job.display_name}” ({job.job_id}) from the Mac mini's jobs.toml?\n\n"
            "Its table is taken out of the file; the rest of the file stays as it is.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.request(job, actions.DELETE)

    def add_job(self) -> AddJobDialog:
        model = self.controller.job_model
        hosts = sorted({j.host for j in model.jobs() if j.source == "jobs" and j.host}) or model.hosts()
        from cronmirror_desktop.ui.add_job_dialog import AddJobDialog

        dialog = AddJobDialog(
            hosts=hosts,
            taken={j.job_id for j in model.jobs()},
            mac_zone=self.controller.job_model.host_zones.for_host(hosts[0] if hosts else None),
            now=model.now,
            parent=self.window,
        )
        dialog.accepted.connect(lambda: self._queue_create(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _queue_create(self, dialog: AddJobDialog) -> None:
        job_id, args = dialog.request()
        self.controller.spawn(
            f"create:{job_id}", self.controller.request_action(job_id, actions.CREATE, args)
        )
