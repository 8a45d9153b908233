"""The Add job dialog: a new jobs.toml job on a Mac mini (name, command as arguments, schedule, timeout).

The command is a list of arguments, one per line, exactly as the worker will start it (no shell: a `;` or
`$(…)` is just text in an argument); the first must be a program's absolute path, as launchd's PATH is
short. The schedule is checked and previewed as in the Edit dialog, by cron(8)'s rules (jobs.toml's
scheduler); no schedule means "by hand only". `request()` is the create request to queue: the job
`jobs:<key>` with its args (core.actions), checked with the rules the database applies.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core import actions
from cronmirror_desktop.ui.edit_schedule_dialog import ScheduleEditor
from cronmirror_desktop.ui.theme import signal_color

NO_SCHEDULE = "by_hand"


class AddJobDialog(QDialog):
    """`hosts`: the Mac minis to choose from (several on one project); `taken`: job ids that exist."""

    def __init__(
        self,
        *,
        hosts: list[str] | None = None,
        taken: set[str] | None = None,
        mac_zone: str | None = None,
        now: datetime | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("addJobDialog")
        self.setWindowTitle("Add job")
        self.setMinimumWidth(560)
        self.taken = taken or set()
        self._key_edited = False
        layout = QVBoxLayout(self)
        intro = QLabel(
            "A command the Mac mini's worker runs on its schedule, added to its jobs.toml. No shell: each "
            "line below is one argument, given to the program as it is. The worker adds it only if its "
            "owner allowed the program (worker.new_job_programs on the Mac mini), since anyone with this "
            "project's public key could ask.",
            self,
        )
        intro.setWordWrap(True)
        intro.setEnabled(False)
        layout.addWidget(intro)

        form = QFormLayout()
        self.name = QLineEdit(self)
        self.name.setObjectName("addName")
        self.name.setMaxLength(actions.MAX_NAME)
        self.name.setPlaceholderText("e.g. Nightly backup")
        form.addRow("Name", self.name)
        self.key = QLineEdit(self)
        self.key.setObjectName("addKey")
        self.key.setMaxLength(64)
        self.key.setToolTip("Its [jobs.<key>] in jobs.toml; the job's id is jobs:<key>.")
        form.addRow("Key", self.key)
        self.command = QPlainTextEdit(self)
        self.command.setObjectName("addCommand")
        self.command.setPlaceholderText("/usr/local/bin/restic\nbackup\n/Users/me")
        self.command.setTabChangesFocus(True)
        self.command.setFixedHeight(self.command.fontMetrics().height() * 6)
        form.addRow("Command\n(one argument\nper line)", self.command)
        self.command_preview = QLabel(self)
        self.command_preview.setObjectName("addCommandPreview")
        self.command_preview.setWordWrap(True)
        self.command_preview.setEnabled(False)
        form.addRow("", self.command_preview)
        self.timeout = QSpinBox(self)
        self.timeout.setObjectName("addTimeout")
        self.timeout.setRange(0, actions.MAX_TIMEOUT_S)
        self.timeout.setSuffix(" s")
        self.timeout.setSpecialValueText("the worker's default")
        form.addRow("Timeout", self.timeout)
        self.enabled = QCheckBox("Enabled (runs on its schedule)", self)
        self.enabled.setChecked(True)
        form.addRow("", self.enabled)
        self.host = QComboBox(self)
        self.host.setObjectName("addHost")
        for host in hosts or []:
            self.host.addItem(host, host)
        if len(hosts or []) > 1:
            form.addRow("Mac mini", self.host)
        else:
            self.host.hide()
        self.when = QComboBox(self)
        self.when.setObjectName("addWhen")
        self.when.addItem("On a schedule", "schedule")
        self.when.addItem("By hand only", NO_SCHEDULE)
        form.addRow("When", self.when)
        layout.addLayout(form)

        self.editor = ScheduleEditor(source="jobs", mac_zone=mac_zone, now=now, parent=self)
        self.editor.set_schedule("cron", "0 3 * * *", None)
        layout.addWidget(self.editor)

        self.problem = QLabel(self)
        self.problem.setObjectName("addProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {signal_color('error', False).name()}")
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Add job")
        ok.setObjectName("addButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.name.textChanged.connect(self._name_changed)
        self.key.textEdited.connect(self._key_typed)
        for signal in (self.command.textChanged, self.editor.changed, self.timeout.valueChanged):
            signal.connect(self._update)
        self.when.currentIndexChanged.connect(self._update)
        self._update()

    def _name_changed(self, text: str) -> None:
        if not self._key_edited:
            self.key.setText(actions.key_from_name(text) if text.strip() else "")
        self._update()

    def _key_typed(self, _text: str) -> None:
        self._key_edited = True
        self._update()

    def argv(self) -> list[str]:
        return [line for line in self.command.toPlainText().splitlines() if line.strip()]

    def request(self) -> tuple[str, dict[str, Any]]:
        """(job id, create args) as entered; `problem()` says first whether they are usable."""
        key = self.key.text().strip()
        args: dict[str, Any] = {"key": key, "name": self.name.text().strip(), "command": self.argv()}
        if self.when.currentData() != NO_SCHEDULE and self.editor.schedule is not None:
            args["schedule"] = self.editor.schedule
        if self.timeout.value():
            args["timeout"] = self.timeout.value()
        if not self.enabled.isChecked():
            args["enabled"] = False
        if self.host.count() > 1 and self.host.currentData():
            args["host"] = self.host.currentData()
        return f"jobs:{key}", args

    def problem_text(self) -> str:
        if not self.name.text().strip():
            return "Give the job a name."
        argv = self.argv()
        if not argv:
            return "Type the command: the program on the first line, each argument on a line of its own."
        if not argv[0].startswith("/"):
            return "Start with the program's absolute path (e.g. /usr/bin/env): launchd's PATH is short."
        if self.when.currentData() != NO_SCHEDULE and self.editor.schedule is None:
            return f"The schedule cannot be used: {self.editor.problem}"
        job_id, args = self.request()
        if job_id in self.taken:
            return f"A job {job_id} exists already: choose another key."
        problem = actions.args_problem(actions.CREATE, job_id, args)
        return f"{problem[0].upper()}{problem[1:]}." if problem else ""

    def _update(self) -> None:
        self.editor.setEnabled(self.when.currentData() != NO_SCHEDULE)
        argv = self.argv()
        self.command_preview.setText(f"Runs: {shlex.join(argv)}" if argv else "")
        problem = self.problem_text()
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
