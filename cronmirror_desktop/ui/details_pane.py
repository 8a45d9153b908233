"""The details pane: everything about the selected job, kept current as live changes arrive.

Instructions, the schedule in words and as stored (with its time zone), whether it is Late, the next five run
times (the source's own first, then the schedule's, as its scheduler runs them, in the job's zone or its Mac
mini's), the last run, the run history (trend, slow-run note, each run's output), the target agent (ClawdOS
rows), problems of an unreadable row, this job's recent run requests, and for a command job (jobs.toml,
crontab, launchd) how it runs: its argument vector, working directory, timeout and the names of the
environment variables it sets (from its worker's details row, core/worker_report.py; values are never
published).

Times and Late are judged at the app's one clock (clock.py), the job table's too, so the pane and the table
never disagree; the time-dependent parts (Late, next runs, last run) are re-rendered when one of their words
changes, so "20 s ago" never stays on screen for minutes. Time zones follow one rule everywhere in the app: an
instant (a run, a request) is shown in the viewer's own zone; the job's zone (or its Mac mini's) appears only
where its schedule is described, named there when it is not the viewer's.
"""

from __future__ import annotations

import html
import shlex
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.presence import HostZones
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.worker_report import JobDetails
from cronmirror_desktop.ui import icons, schedule_info
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.elided_label import ShrinkingLabel
from cronmirror_desktop.ui.job_model import STATUS_WORDS, row_key
from cronmirror_desktop.ui.request_dock import configure_request_view, fit_to_viewport
from cronmirror_desktop.ui.request_model import COL_DURATION, COL_JOB, COL_RESULT
from cronmirror_desktop.ui.run_history_view import RunHistoryView
from cronmirror_desktop.ui.theme import is_dark, signal_color

NEXT_RUN_COUNT = 5
#: Where a command job comes from, in words.
SOURCE_WORDS = {
    "jobs": "from jobs.toml",
    "crontab": "from the crontab",
    "launchd": "from a launchd agent",
    "gateway": "from the gateway",
}


def command_text(argv: tuple[str, ...]) -> str:
    """A command as its arguments: on one line when none needs quoting ("restic backup /Users/me"),
    else one argument per line (the exact words the process gets, no shell quoting to untangle)."""
    if not argv:
        return "(no command)"
    line = shlex.join(argv)
    if line == " ".join(argv) and len(line) <= 72:
        return line
    return "\n".join([argv[0], *(f"  {arg}" for arg in argv[1:])])


def _section(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text.upper(), parent)
    label.setObjectName("sectionTitle")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.82)
    font.setBold(True)
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
    label.setFont(font)
    label.setEnabled(False)  # the palette's secondary text colour
    return label


def _value(parent: QWidget, *, selectable: bool = True) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DetailsPane(QWidget):
    """Call `show_job(job)` (None for no selection); it follows that row's live changes itself."""

    runRequested = Signal(str)

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.controller = controller
        self._row_id: str | None = None
        self.job: CronMirrorJob | None = None
        #: The hosts' zones the pane was filled with (a new zone changes the schedule's words).
        self._filled_zones: HostZones | None = None

        self.stack = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self.placeholder = QLabel("Select a job to see its schedule, next runs and recent requests.", self)
        self.placeholder.setObjectName("detailsPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)
        self.stack.addWidget(self.placeholder)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(scroll)
        body.setObjectName("detailsBody")
        scroll.setWidget(body)
        self.stack.addWidget(scroll)
        self.scroller = scroll
        self.body = body

        lay = QVBoxLayout(body)
        lay.setContentsMargins(16, 14, 16, 14)
        lay.setSpacing(6)

        # One line, cut with "…" (the whole name in its tooltip): a long name wrapped to seven bold lines.
        self.title = ShrinkingLabel(body, min_chars=8)
        self.title.setObjectName("detailsTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        title_font = self.title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.35)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.subtitle = _value(body)
        self.subtitle.setObjectName("detailsSubtitle")
        self.subtitle.setEnabled(False)
        self.run_button = QPushButton(icons.icon("run", is_dark()), "Run Now", body)
        self.run_button.setObjectName("detailsRunButton")
        self.run_button.clicked.connect(self._run_clicked)
        self.run_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)

        head = QGridLayout()
        head.setHorizontalSpacing(12)
        head.addWidget(self.title, 0, 0)
        head.addWidget(self.run_button, 0, 1, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.subtitle, 1, 0, 1, 2)
        head.setColumnStretch(0, 1)
        lay.addLayout(head)

        self.problems = QLabel(body)
        self.problems.setObjectName("detailsProblems")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.problems)

        self.late = QLabel(body)
        self.late.setObjectName("detailsLate")
        self.late.setWordWrap(True)
        self.late.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.late)

        lay.addSpacing(6)
        lay.addWidget(_section("Schedule", body))
        self.schedule = _value(body)
        self.schedule.setObjectName("detailsSchedule")
        self.expression = _value(body)
        self.expression.setObjectName("detailsExpression")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.expression.setFont(mono)
        lay.addWidget(self.schedule)
        lay.addWidget(self.expression)

        # What a command job runs comes right after when: it is what a person checks first.
        self.command_title = _section("Command", body)
        self.command = _value(body)
        self.command.setObjectName("detailsCommand")
        self.command.setFont(mono)
        self.command_info = _value(body)
        self.command_info.setObjectName("detailsCommandInfo")
        lay.addSpacing(6)
        lay.addWidget(self.command_title)
        lay.addWidget(self.command)
        lay.addWidget(self.command_info)

        lay.addSpacing(6)
        lay.addWidget(_section(f"Next {NEXT_RUN_COUNT} runs", body))
        self.next_runs = _value(body)
        self.next_runs.setObjectName("detailsNextRuns")
        lay.addWidget(self.next_runs)

        lay.addSpacing(6)
        lay.addWidget(_section("Last run", body))
        self.last_run = _value(body)
        self.last_run.setObjectName("detailsLastRun")
        lay.addWidget(self.last_run)

        lay.addSpacing(6)
        self.history_title = _section("Run history", body)
        lay.addWidget(self.history_title)
        self.history = RunHistoryView(controller.job_history, body)
        lay.addWidget(self.history)

        lay.addSpacing(6)
        lay.addWidget(_section("Recent requests", body))
        self.requests_view = QTableView(body)
        self.requests_view.setObjectName("detailsRequests")
        configure_request_view(self.requests_view, controller.job_requests)
        self.requests_view.setColumnHidden(COL_JOB, True)
        self.requests_view.setColumnHidden(COL_DURATION, True)  # the result and its tooltip say it
        self.requests_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.requests_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.requests_view.setColumnWidth(COL_RESULT, 60)  # the last column stretches over the rest
        self.requests_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        lay.addWidget(self.requests_view)
        self.requests_empty = QLabel("No run requests for this job yet.", self.requests_view.viewport())
        self.requests_empty.setEnabled(False)
        self.requests_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.requests_empty.setWordWrap(True)
        fit_to_viewport(self.requests_empty, self.requests_view)

        self.target_title = _section("Target agent", body)
        self.target = _value(body)
        self.target.setObjectName("detailsTarget")
        lay.addSpacing(6)
        lay.addWidget(self.target_title)
        lay.addWidget(self.target)

        lay.addSpacing(6)
        lay.addWidget(_section("Instructions", body))
        self.instructions = QPlainTextEdit(body)
        self.instructions.setObjectName("detailsInstructions")
        self.instructions.setReadOnly(True)
        self.instructions.setFrameShape(QFrame.Shape.StyledPanel)
        self.instructions.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        lay.addWidget(self.instructions)

        lay.addStretch(1)

        model = controller.job_model
        for signal in (
            model.dataChanged,
            model.rowsRemoved,
            model.rowsInserted,
            model.modelReset,
            model.layoutChanged,
        ):
            signal.connect(self._job_model_changed)
        jr = controller.job_requests
        for signal in (jr.modelReset, jr.rowsInserted, jr.rowsRemoved):
            signal.connect(self._requests_changed)
        #: When one of the relative times shown next reads differently (None: none shown).
        self._times_due: datetime | None = None
        controller.clock.ticked.connect(self._clock_ticked)
        controller.workersChanged.connect(self.refresh)
        self.show_job(None)

    # -- API ----------------------------------------------------------------------------------

    def show_job(self, job: CronMirrorJob | None) -> None:
        self.job = job
        self._row_id = row_key(job) if job is not None else None
        self.controller.select_job(job)
        if job is None:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        self._fill(job)

    def show_history(self) -> None:
        """Scroll the run history to the top of the pane, its latest run selected (its output shown)."""
        if self.job is None:
            return
        self.history.select_latest()
        self.body.adjustSize()
        self.scroller.verticalScrollBar().setValue(self.history_title.y() - 8)

    def refresh(self) -> None:
        if self.job is not None:
            self._fill(self.job)

    # -- internals ----------------------------------------------------------------------------

    def _job_model_changed(self, *_args: object) -> None:
        if self._row_id is None:
            return
        model = self.controller.job_model
        row = model.row_of(self._row_id)
        if row is None:
            self.show_job(None)  # deleted, or the project changed
            return
        job = model.job_at(row)
        if job is not self.job or model.host_zones != self._filled_zones:
            self.job = job
            self._fill(job)

    def _fit_instructions(self, text: str) -> None:
        """As tall as the text (wrapped), between 2 and 8 lines; longer text scrolls."""
        fm = self.instructions.fontMetrics()
        width = max(120, self.instructions.viewport().width() or self.width() - 40)
        lines = 0
        for paragraph in (text or " ").splitlines() or [" "]:
            lines += max(1, -(-fm.horizontalAdvance(paragraph) // width))
        lines = max(2, min(8, lines))
        margins = self.instructions.contentsMargins()
        frame = 2 * self.instructions.frameWidth() + margins.top() + margins.bottom() + 10
        self.instructions.setFixedHeight(lines * fm.lineSpacing() + frame)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.job is not None:
            self._fit_instructions(self.job.instructions or "")

    def _requests_changed(self, *_args: object) -> None:
        rows = self.controller.job_requests.rowCount()
        view = self.requests_view
        shown = min(max(rows, 1), 5)  # up to five rows without scrolling; the rest scroll
        height = view.horizontalHeader().height() + shown * view.verticalHeader().defaultSectionSize()
        view.setFixedHeight(height + 2 * view.frameWidth() + 2)
        empty = rows == 0
        self.requests_empty.setVisible(empty)
        self.requests_empty.setGeometry(self.requests_view.viewport().rect())

    def _clock_ticked(self) -> None:
        if self.job is None or self._times_due is None:
            return
        if self._times_due <= self.controller.clock.now:
            self._fill_times(self.job)
        else:
            self.controller.clock.wake_at(self._times_due)

    def _run_clicked(self) -> None:
        if self.job is not None:
            self.runRequested.emit(self.job.job_id)

    def _fill(self, job: CronMirrorJob) -> None:
        model = self.controller.job_model
        self._filled_zones = model.host_zones
        mac_zone = model.host_zones.for_host(job.host)
        dark = is_dark(self.palette())
        self.title.setText(job.display_name or "(unnamed)")
        parts = [f"Job id {job.job_id}" if job.job_id else "No job id"]
        if job.host:
            parts.append(f"on {job.host}")
        parts.append("enabled" if job.enabled else "disabled")
        if job.job_intent:
            parts.append(job.job_intent)
        self.subtitle.setText(" · ".join(parts))
        self.run_button.setEnabled(bool(job.job_id))
        self.history.show_job(job)

        if job.problems:
            color = signal_color("warning", dark).name()
            items = "".join(f"<li>{html.escape(p)}</li>" for p in job.problems)
            self.problems.setText(
                f"<div style='color:{color}'><b>⚠ This row could not be fully read.</b>"
                f"<ul style='margin:2px 0 0 -20px'>{items}</ul></div>"
            )
            self.problems.setVisible(True)
        else:
            self.problems.setVisible(False)

        self.schedule.setText(schedule_info.describe(job, mac_zone))
        self.expression.setText(
            f"{schedule_info.expression(job)}\nTime zone: {schedule_info.zone_text(job, mac_zone)}"
        )
        self._fill_times(job)

        target = job.target_agent_key
        self.target_title.setVisible(bool(target))
        self.target.setVisible(bool(target))
        if target:
            extra = (
                f" · context: {job.context_policy}"
                if job.context_policy and job.context_policy != "default"
                else ""
            )
            self.target.setText(f"{target}{extra}")

        details = self.controller.job_details.get(job.job_id)
        self._fill_command(details)
        text = job.instructions or ""
        self.instructions.setPlainText(text)
        self.instructions.setPlaceholderText(
            "No instructions: a command job (its command is above)."
            if details is not None
            else "No instructions (a system event, or a job whose worker does not say how it runs)."
        )
        self._fit_instructions(text)
        self._requests_changed()

    def _fill_command(self, details: JobDetails | None) -> None:
        for widget in (self.command_title, self.command, self.command_info):
            widget.setVisible(details is not None)
        if details is None:
            return
        self.command.setText(command_text(details.command))
        self.command.setToolTip(
            "Run as an argument vector, never through a shell:\n"
            + "\n".join(f"{i}. {arg}" for i, arg in enumerate(details.command, 1))
        )
        parts = [SOURCE_WORDS.get(details.source or "", f"from {details.source or 'an unknown source'}")]
        parts.append(f"in {details.cwd}" if details.cwd else "in the worker's home folder")
        if details.timeout_s is not None:
            parts.append(f"timeout {timetext.interval(int(details.timeout_s * 1000))}")
        elif self.controller.default_timeout_s is not None:
            parts.append(
                f"timeout {timetext.interval(int(self.controller.default_timeout_s * 1000))} "
                "(the worker's default)"
            )
        lines = [" · ".join(parts)]
        if details.env:
            lines.append(f"Sets {', '.join(details.env)} (values not shown)")
        self.command_info.setText("\n".join(lines))

    def _fill_times(self, job: CronMirrorJob) -> None:
        """The next runs and the last run: instants in the viewer's zone, relative words at the clock's
        now (re-rendered by `_clock_ticked` when one of them reads differently)."""
        clock = self.controller.clock
        now = clock.now
        mac_zone = self.controller.job_model.host_zones.for_host(job.host)
        due: list[datetime | None] = []

        def ago(when: datetime, *, past: bool = False) -> str:
            due.append(timetext.changes_at(when, now, past=past))
            # No-break spaces: "(in 1 d 23 h)" wraps as a whole or not at all, never leaving "h)" alone.
            return timetext.relative(when, now, past=past).replace(" ", "\u00a0")

        late = schedule_info.late(job, now, mac_zone)
        if late.late:
            color = signal_color("warning", is_dark(self.palette())).name()
            self.late.setText(
                f"<span style='color:{color}'><b>Late:</b> {html.escape(late.reason)}, and it has not run "
                "since.</span>"
            )
        self.late.setVisible(late.late)
        if late.late and late.expected_at is not None:  # "expected at 03:10, 12 min ago" ages
            due.append(timetext.changes_at(late.expected_at, now, past=True))
        elif late.expected_at is not None:  # when it would become Late
            due.append(late.expected_at + (late.grace or timedelta(minutes=2)))

        runs, why = schedule_info.next_runs(job, NEXT_RUN_COUNT, after=now, mac_zone=mac_zone)
        if not job.enabled:
            self.next_runs.setText(
                "Disabled: it does not run on its schedule."
                + (f"\nWould run: {timetext.absolute(runs[0])}" if runs else "")
            )
        elif runs:
            self.next_runs.setText("\n".join(f"{timetext.absolute(r)}   ({ago(r)})" for r in runs))
        else:
            self.next_runs.setText(why or "No upcoming runs.")

        if job.last_run_at is None:
            self.last_run.setText("Never run.")
        else:
            status = STATUS_WORDS.get(job.last_status, job.last_status or "unknown")
            took = (
                f" in {timetext.duration(job.last_duration_ms)}" if job.last_duration_ms is not None else ""
            )
            self.last_run.setText(
                f"{status}{took}, {ago(job.last_run_at, past=True)}\n{timetext.absolute(job.last_run_at)}"
            )
        self._times_due = min((d for d in due if d is not None), default=None)
        clock.wake_at(self._times_due)
