"""The Edit dialog: a job's name and schedule, checked and previewed as you type, in the job's own dialect.

`ScheduleEditor` (also used by the Add job dialog) holds the kind (cron expression, interval, once), the text
and the time zone; every keystroke is read the way the job's scheduler will read it (core.actions:
`schedule_from_text`, `schedule_problem`; the gateway's croner rules or cron(8)'s), and the description and
the next five runs (in the job's zone, else its Mac mini's) follow, or the reason it cannot be used. What the
job's source cannot take is not offered: a crontab entry gets cron expressions without a zone of its own, a
launchd job no schedule at all. OK queues what changed (a rename and/or a new schedule) through the
controller, as the context menu does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core import actions
from cronmirror_desktop.core.rows import CronMirrorJob, zone_or_none
from cronmirror_desktop.core.schedule import AT, CRON, EVERY, InvalidSchedule, next_runs
from cronmirror_desktop.core.schedule_text import try_describe
from cronmirror_desktop.core.timetext import absolute
from cronmirror_desktop.core.timeutil import now_utc, parse_iso
from cronmirror_desktop.ui.theme import signal_color

PREVIEW_COUNT = 5
KIND_LABELS = {CRON: "Cron expression", EVERY: "Every (interval)", AT: "Once, at"}
PLACEHOLDERS = {
    CRON: "e.g. 0 7 * * 1-5   or   @daily",
    EVERY: "e.g. 30m, 2h, 1d",
    AT: "e.g. 2026-12-24 18:00",
}
NO_ZONE = ""


def _zones() -> list[str]:
    return sorted(available_timezones())


class ScheduleEditor(QWidget):
    """Kind, expression and zone of a schedule for a job of `source`, validated and previewed live.
    `schedule` is the args of a valid schedule (None while it is not)."""

    changed = Signal()

    def __init__(
        self,
        *,
        source: str | None,
        job_id: str | None = None,
        mac_zone: str | None = None,
        now: datetime | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.job_id = job_id
        self.mac_zone = mac_zone
        self.now = now or now_utc()
        self.kinds = actions.SOURCE_SCHEDULE_KINDS.get(source or "gateway", ())
        self.schedule: dict[str, Any] | None = None
        self.problem = ""

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.kind = QComboBox(self)
        self.kind.setObjectName("scheduleKind")
        for kind in self.kinds:
            self.kind.addItem(KIND_LABELS[kind], kind)
        form.addRow("Runs", self.kind)
        self.expr = QLineEdit(self)
        self.expr.setObjectName("scheduleExpr")
        self.expr.setClearButtonEnabled(True)
        form.addRow("Schedule", self.expr)
        self.zone = QComboBox(self)
        self.zone.setObjectName("scheduleZone")
        self.zone.setEditable(True)
        self.zone.addItem(self._no_zone_label(), NO_ZONE)
        for name in _zones():
            self.zone.addItem(name, name)
        completer = QCompleter([self.zone.itemText(i) for i in range(self.zone.count())], self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.zone.setCompleter(completer)
        form.addRow("Time zone", self.zone)
        self.description = QLabel(self)
        self.description.setObjectName("scheduleDescription")
        self.description.setWordWrap(True)
        form.addRow("In words", self.description)
        self.preview = QLabel(self)
        self.preview.setObjectName("schedulePreview")
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(f"Next {PREVIEW_COUNT} runs", self.preview)
        self.error = QLabel(self)
        self.error.setObjectName("scheduleProblem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {signal_color('error', False).name()}")
        form.addRow("", self.error)
        self._form = form

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.expr.textChanged.connect(self.update_preview)
        self.zone.currentTextChanged.connect(self.update_preview)

    def _no_zone_label(self) -> str:
        return f"None (the Mac mini's: {self.mac_zone})" if self.mac_zone else "None (the Mac mini's)"

    # -- values ---------------------------------------------------------------------------------

    def set_schedule(self, kind: str | None, expr: str | None, tz: str | None) -> None:
        """Show a job's current schedule (its `every` in minutes or hours, its `at` in its zone)."""
        if kind not in self.kinds:
            kind = self.kinds[0] if self.kinds else None
            expr = ""
        index = self.kind.findData(kind)
        if index >= 0:
            self.kind.setCurrentIndex(index)
        text = expr or ""
        if kind == EVERY and text.isdigit():
            text = (
                actions.schedule_words({"kind": EVERY, "expr": text}).removeprefix("every ").replace(" ", "")
            )
        elif kind == AT and text:
            try:
                zone = zone_or_none(tz or self.mac_zone or "") or None
                text = f"{parse_iso(text).astimezone(zone):%Y-%m-%d %H:%M}" if zone else text
            except ValueError:
                pass
        self.expr.setText(text)
        zone_index = self.zone.findData(tz or NO_ZONE)
        if zone_index >= 0:
            self.zone.setCurrentIndex(zone_index)
        else:
            self.zone.setEditText(tz or "")
        self._kind_changed()

    @property
    def kind_value(self) -> str | None:
        data = self.kind.currentData()
        return str(data) if data else None

    @property
    def zone_value(self) -> str | None:
        text = self.zone.currentText().strip()
        if not text or text == self._no_zone_label():
            return None
        return text

    def _kind_changed(self) -> None:
        kind = self.kind_value
        self.expr.setPlaceholderText(PLACEHOLDERS.get(kind or "", ""))
        # A zone belongs to cron expressions (an `at` without an offset is read in it too); a crontab entry
        # has none of its own (CRON_TZ covers every line below it).
        self.zone.setEnabled(kind in (CRON, AT) and self.source != "crontab")
        self.update_preview()

    # -- checking and previewing ------------------------------------------------------------------

    def update_preview(self) -> None:
        self.schedule, self.problem = self._read()
        if self.schedule is None:
            self.description.setText("")
            self.preview.setText("")
            self.error.setText(self.problem)
        else:
            self.error.setText("")
            self._show_preview(self.schedule)
        self.changed.emit()

    def _read(self) -> tuple[dict[str, Any] | None, str]:
        kind = self.kind_value
        text = self.expr.text().strip()
        if kind is None:
            return None, actions.why_not(self.source, actions.SET_SCHEDULE) or "no schedule can be set"
        if not text:
            return None, "Type a schedule."
        zone = self.zone_value if self.zone.isEnabled() else None
        try:
            schedule = actions.schedule_from_text(text, kind=kind, tz=zone, default_tz=self.mac_zone)
        except InvalidSchedule as exc:
            return None, exc.message
        if schedule["kind"] != CRON:
            schedule.pop("tz", None)
        problem = actions.schedule_problem(schedule, source=self.source, job_id=self.job_id)
        if problem is not None:
            return None, problem
        return schedule, ""

    def _show_preview(self, schedule: dict[str, Any]) -> None:
        parsed = actions.as_schedule(schedule, source=self.source, job_id=self.job_id)
        self.description.setText(try_describe(parsed, default_tz=self.mac_zone, with_tz=True))
        shown_zone = zone_or_none(schedule.get("tz") or self.mac_zone or "") or None
        try:
            runs = next_runs(parsed, after=self.now, count=PREVIEW_COUNT, default_tz=self.mac_zone)
        except InvalidSchedule as exc:
            self.preview.setText(exc.message)
            return
        if not runs:
            empty = (
                "counted from its last run, once it has run"
                if schedule["kind"] == EVERY
                else "none: the time has passed"
            )
            self.preview.setText(empty)
            return
        self.preview.setText("\n".join(absolute(run, shown_zone) for run in runs))


class EditScheduleDialog(QDialog):
    """Edit `job`'s name (when its source can rename) and schedule (when it can take one). `changes()`
    lists the requests to queue, as (action, args)."""

    def __init__(
        self,
        job: CronMirrorJob,
        *,
        mac_zone: str | None = None,
        now: datetime | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("editScheduleDialog")
        self.job = job
        self.setWindowTitle(f"Edit “{job.display_name}”")
        self.setMinimumWidth(520)
        can = actions.capabilities(job.source)
        layout = QVBoxLayout(self)
        where = QLabel(self._where(), self)
        where.setWordWrap(True)
        where.setEnabled(False)
        layout.addWidget(where)

        names = QFormLayout()
        self.name = QLineEdit(job.name, self)
        self.name.setObjectName("jobName")
        self.name.setMaxLength(actions.MAX_NAME)
        self.name.setEnabled(actions.RENAME in can)
        if actions.RENAME not in can:
            self.name.setToolTip(actions.why_not(job.source, actions.RENAME) or "")
        names.addRow("Name", self.name)
        layout.addLayout(names)

        self.editor = ScheduleEditor(
            source=job.source, job_id=job.source_job_id, mac_zone=mac_zone, now=now, parent=self
        )
        self.editor.set_schedule(job.schedule_kind, job.schedule_expr, job.tz)
        self.editor.setEnabled(actions.SET_SCHEDULE in can)
        layout.addWidget(self.editor)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Save")
        ok.setObjectName("saveButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.editor.changed.connect(self._update_ok)
        self.name.textChanged.connect(self._update_ok)
        self._update_ok()

    def _where(self) -> str:
        job = self.job
        source = {
            "gateway": "the gateway",
            "jobs": "jobs.toml",
            "crontab": "the crontab",
            "launchd": "launchd",
        }
        host = f" on {job.host}" if job.host else ""
        return (
            f"{job.job_id} — {source.get(job.source or 'gateway', job.source)}{host}. The change is sent to "
            "the Mac mini's worker, which applies it there."
        )

    def changes(self) -> list[tuple[str, dict[str, Any]]]:
        wanted: list[tuple[str, dict[str, Any]]] = []
        name = self.name.text().strip()
        if self.name.isEnabled() and name and name != self.job.name:
            wanted.append((actions.RENAME, {"name": name}))
        schedule = self.editor.schedule
        if self.editor.isEnabled() and schedule is not None and not self._same_schedule(schedule):
            wanted.append((actions.SET_SCHEDULE, schedule))
        return wanted

    def _same_schedule(self, schedule: dict[str, Any]) -> bool:
        job = self.job
        if (schedule["kind"], schedule.get("tz")) != (job.schedule_kind, job.tz or None):
            return False
        if schedule["kind"] == AT and job.schedule_expr:
            try:
                return parse_iso(schedule["expr"]) == parse_iso(job.schedule_expr)
            except ValueError:
                return False
        return " ".join(str(schedule["expr"]).split()) == " ".join((job.schedule_expr or "").split())

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        name_ok = bool(self.name.text().strip()) or not self.name.isEnabled()
        schedule_ok = self.editor.schedule is not None or not self.editor.isEnabled()
        ok.setEnabled(name_ok and schedule_ok and bool(self.changes()))
