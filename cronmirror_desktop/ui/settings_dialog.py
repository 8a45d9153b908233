"""Settings: Supabase, the Control API, projects and the Mac mini worker's options, with a "Test
connection" for each service and an import of the web app's `.env`.

Everything is read from and written through `core.config` (the same code as `cronmirror config set`):
plain values go to the settings file, keys to the keychain, never anywhere else. Stored keys are never
shown: their fields stay empty with a "stored in the keychain" placeholder, and an empty field means
"keep it". A value set by an environment variable is shown read-only with the variable's name, because
that is the value the app actually uses.

Save stores everything or nothing (issue 19): a key when the keychain cannot hold one refuses the whole
save before anything is written, and a value refused half-way puts the settings file (and the keys
already stored) back as they were. One message says what happened; the dialog grows instead of
squashing its fields, and a long connection-test result is shown whole. Also here: the theme (light,
dark, or the system's), this computer's jobs.toml with Open and Reveal, and what a project id is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDesktopServices, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core.aio import TaskSet
from cronmirror_desktop.core.config import EffectiveConfig, Resolved, Source, resolve_config
from cronmirror_desktop.core.config_import import DotenvImport, import_dotenv
from cronmirror_desktop.core.config_write import set_value, unset_value
from cronmirror_desktop.core.controlapi import ControlApiClient
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.settings import load_settings, save_settings
from cronmirror_desktop.core.stores import supabase_store
from cronmirror_desktop.ui.jobs_file_actions import Opener, open_jobs_file, reveal_jobs_file
from cronmirror_desktop.ui.notifications import Kind, Notifier
from cronmirror_desktop.ui.theme import THEME_KEY, ThemeMode, apply_theme, is_dark, signal_color, stored_theme
from worker.configured import jobs_file_path

log = logging.getLogger(__name__)

TEST_TIMEOUT_S = 10.0
KEYCHAIN_PLACEHOLDER = "•••••••• stored in the keychain (leave empty to keep)"
PROJECT_NOTE = (
    "The id both tables are scoped by: the app, the CLI and the Mac mini's worker must use the same one. "
    "ClawdOS uses front-office, the default."
)
THEME_LABELS = {ThemeMode.SYSTEM: "Follow the system", ThemeMode.LIGHT: "Light", ThemeMode.DARK: "Dark"}


@dataclass
class Field:
    """One editable value: its config key, widget, and the text it started with."""

    key: str
    widget: QLineEdit | QSpinBox | QComboBox
    initial: str
    secret: bool = False

    def text(self) -> str:
        w = self.widget
        if isinstance(w, QSpinBox):
            return str(w.value())
        if isinstance(w, QComboBox):
            return str(w.currentData())
        return w.text().strip()

    @property
    def changed(self) -> bool:
        if self.secret:
            return bool(self.text())
        return self.text() != self.initial

    @property
    def editable(self) -> bool:
        return self.widget.isEnabled()


NOTIFY_LABELS: dict[Kind, str] = {
    "failure": "When a job fails",
    "late": "When a job is late (its expected run did not happen)",
    "recovery": "When a job works again after failing",
}


class SettingsDialog(QDialog):
    """Emits `saved` after values were stored; the app then reconnects with the new configuration."""

    saved = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        config: EffectiveConfig | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.notifier = notifier
        self.setWindowTitle("CronMirror Settings")
        self.setMinimumWidth(620)
        self.config = config or resolve_config(probe_keychain=True)
        self.fields: dict[str, Field] = {}
        self._tasks = TaskSet()
        #: Labels with wrapped messages whose whole text must show (`_fit_height`).
        self._wrapped: set[QLabel] = set()
        self.last_import: DotenvImport | None = None

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.keychain_note = QLabel(self)
        self.keychain_note.setObjectName("keychainNote")
        self.keychain_note.setWordWrap(True)
        layout.addWidget(self.keychain_note)

        tabs = QTabWidget(self)
        tabs.setObjectName("settingsTabs")
        connections = QWidget(tabs)
        first = QVBoxLayout(connections)
        setup = QWidget(tabs)
        second = QVBoxLayout(setup)
        tabs.addTab(connections, "Connections")
        tabs.addTab(setup, "Projects && Worker")
        layout.addWidget(tabs)
        self.tabs = tabs

        supabase = QGroupBox("Supabase", self)
        form = QFormLayout(supabase)
        self._line(form, "supabase_url", "Project URL", "https://<ref>.supabase.co")
        self._line(form, "anon_key", "Anon key", "the anon (publishable) key", secret=True)
        self._line(
            form,
            "service_role_key",
            "Service-role key",
            "only on the Mac mini that runs the worker",
            secret=True,
        )
        self.supabase_test = self._test_row(form, "Test Supabase", self.test_supabase)
        first.addWidget(supabase)

        control = QGroupBox("Control API (optional: makes Run direct)", self)
        form = QFormLayout(control)
        self._line(form, "control_api_url", "URL", "http://mac-mini.local:3737")
        self._line(form, "control_api_token", "Token", "only if a proxy in front asks for one", secret=True)
        self.control_test = self._test_row(form, "Test Control API", self.test_control_api)
        first.addWidget(control)
        first.addStretch(1)

        projects = QGroupBox("Projects", self)
        form = QFormLayout(projects)
        self._line(form, "project", "Current project", "front-office")
        project_note = QLabel(PROJECT_NOTE, self)
        project_note.setObjectName("projectNote")
        project_note.setWordWrap(True)
        project_note.setEnabled(False)
        form.addRow("", project_note)
        self._line(form, "projects", "Other project ids", "comma-separated")
        store = QComboBox(projects)
        for value, label in (("auto", "Supabase when configured, else local"), ("local", "Local store only"),
                             ("supabase", "Supabase only")):  # fmt: skip
            store.addItem(label, value)
        self._register(form, "store", "Store", store, self.config.settings.store)
        second.addWidget(projects)

        worker = QGroupBox("Worker on the Mac mini", self)
        form = QFormLayout(worker)
        w = self.config.worker
        self._spin(form, "worker.sync_interval_s", "Sync every (s)", w.sync_interval_s, 30, 60)
        self._spin(form, "worker.concurrency", "Jobs at once", w.concurrency, 1, 16)
        self._spin(form, "worker.job_timeout_s", "Job timeout (s)", w.job_timeout_s, 10, 86_400)
        self._spin(form, "worker.grace_period_s", "Grace period (s)", w.grace_period_s, 1, 600)
        self._line(form, "worker.jobs_file", "Jobs file", "jobs.toml in the settings folder")
        self.jobs_file_path = QLabel(self)
        self.jobs_file_path.setObjectName("jobsFilePath")
        self.jobs_file_path.setWordWrap(True)
        self.jobs_file_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        open_button = QPushButton("Open", self)
        open_button.setObjectName("openJobsFile")
        open_button.setToolTip(
            "Edit this computer's jobs.toml (an example is written first if there is none)"
        )
        open_button.clicked.connect(lambda: self._jobs_file_action(open_jobs_file))
        reveal_button = QPushButton("Reveal", self)
        reveal_button.setObjectName("revealJobsFile")
        reveal_button.setToolTip("Show jobs.toml in its folder")
        reveal_button.clicked.connect(lambda: self._jobs_file_action(reveal_jobs_file))
        path_row = QWidget(self)
        path_line = QHBoxLayout(path_row)
        path_line.setContentsMargins(0, 0, 0, 0)
        path_line.addWidget(self.jobs_file_path, 1)
        path_line.addWidget(open_button)
        path_line.addWidget(reveal_button)
        form.addRow("", path_row)
        self.fields["worker.jobs_file"].widget.textChanged.connect(lambda _t: self._show_jobs_file())  # type: ignore[union-attr]
        self._show_jobs_file()
        second.addWidget(worker)

        look = QGroupBox("Appearance", self)
        form = QFormLayout(look)
        self.theme = QComboBox(look)
        self.theme.setObjectName("field_theme")
        for mode, label in THEME_LABELS.items():
            self.theme.addItem(label, mode.value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(stored_theme().value)))
        self._theme_initial = stored_theme()
        form.addRow("Theme", self.theme)
        second.addWidget(look)
        #: Notification kinds (only when the app's notifier is handed in).
        self.notify_boxes: dict[Kind, QCheckBox] = {}
        if notifier is not None:
            second.addWidget(self._notifications_group(notifier))
        second.addStretch(1)
        #: How Open and Reveal open a path (the desktop's; tests record it).
        self.open_url: Opener = QDesktopServices.openUrl

        self.status = QLabel(self)
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        layout.addWidget(self.status)
        # The fields never give up height to a message: the dialog grows instead (`_fit_height`).
        tabs.setMinimumHeight(tabs.sizeHint().height())

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.import_button = buttons.addButton("Import .env…", QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button.setObjectName("importDotenv")
        self.import_button.clicked.connect(self._choose_dotenv)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout.addWidget(buttons)
        self._show_keychain()

    # -- building -----------------------------------------------------------------------------

    def _resolved(self, key: str) -> Resolved[Any] | None:
        try:
            return self.config.resolved(key)
        except KeyError:
            return None

    def _line(
        self, form: QFormLayout, key: str, label: str, placeholder: str, *, secret: bool = False
    ) -> None:
        edit = QLineEdit(self)
        edit.setObjectName(f"field_{key}")
        edit.setClearButtonEnabled(not secret)
        resolved = self._resolved(key)
        initial = ""
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            stored = resolved is not None and resolved.value is not None
            edit.setPlaceholderText(KEYCHAIN_PLACEHOLDER if stored else placeholder)
        else:
            edit.setPlaceholderText(placeholder)
            initial = self._plain_value(key, resolved)
            edit.setText(initial)
        self._register(form, key, label, edit, initial, secret=secret)

    def _plain_value(self, key: str, resolved: Resolved[Any] | None) -> str:
        settings = self.config.settings
        if key == "projects":
            current = self.config.project.value
            return ", ".join(p for p in settings.project_ids if p != current)
        if key == "worker.jobs_file":
            return str(self.config.worker.jobs_file or "")
        if resolved is not None and resolved.value is not None and resolved.source is not Source.DEFAULT:
            return str(resolved.value)
        return ""

    def _spin(self, form: QFormLayout, key: str, label: str, value: int | float, low: int, high: int) -> None:
        spin = QSpinBox(self)
        spin.setObjectName(f"field_{key}")
        spin.setRange(low, high)
        spin.setValue(int(value))
        self._register(form, key, label, spin, str(int(value)))

    def _register(
        self,
        form: QFormLayout,
        key: str,
        label: str,
        widget: QLineEdit | QSpinBox | QComboBox,
        initial: str,
        *,
        secret: bool = False,
    ) -> None:
        if isinstance(widget, QComboBox):
            widget.setObjectName(f"field_{key}")
            widget.setCurrentIndex(max(0, widget.findData(initial)))
        resolved = self._resolved(key)
        note_text = ""
        keychain_down = self.config.keychain is not None and not self.config.keychain.usable
        if resolved is not None and resolved.source is Source.ENV:
            widget.setEnabled(False)
            note_text = f"Set by {resolved.origin} in the environment, which takes precedence."
        elif resolved is not None and resolved.problem and not (secret and keychain_down):
            note_text = f"{resolved.problem} {resolved.hint or ''}".strip()  # (keychain: said once, on top)
        form.addRow(label, widget)
        if note_text:
            note = QLabel(note_text, self)
            note.setObjectName(f"note_{key}")
            note.setWordWrap(True)
            note.setEnabled(False)
            form.addRow("", note)
        self.fields[key] = Field(key, widget, initial, secret)

    def _test_row(self, form: QFormLayout, text: str, action: Any) -> QLabel:
        """The test button, and its result on a row of its own below it (beside the button, a long
        result such as "… the app keeps retrying." was cut off)."""
        button = QPushButton(text, self)
        button.setObjectName(text.replace(" ", ""))
        button.clicked.connect(lambda: self._spawn(action()))
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(button)
        line.addStretch(1)
        form.addRow("", row)
        result = QLabel(self)
        result.setWordWrap(True)
        result.setObjectName(f"{button.objectName()}Result")
        result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", result)
        return result

    def _show_keychain(self) -> None:
        status = self.config.keychain
        if status is not None and not status.usable:
            self.keychain_note.setText(
                f"⚠ {status.message or 'The keychain cannot be used.'} {status.hint or ''}".strip()
            )
            self.keychain_note.setStyleSheet(f"color: {signal_color('warning', is_dark()).name()};")
            self.keychain_note.show()
        else:
            self.keychain_note.hide()

    def _notifications_group(self, notifier: Notifier) -> QGroupBox:
        group = QGroupBox("Notifications", self)
        box = QVBoxLayout(group)
        for kind, words in NOTIFY_LABELS.items():
            check = QCheckBox(words, group)
            check.setObjectName(f"notify_{kind}")
            check.setChecked(notifier.prefs.kinds.get(kind, True))
            self.notify_boxes[kind] = check
            box.addWidget(check)
        muted = len(notifier.prefs.muted)
        note = QLabel(
            "At most one per job every 10 minutes; many at once become one summary. "
            + (
                f"{muted} job{'s are' if muted != 1 else ' is'} muted (a job's context menu unmutes it)."
                if muted
                else "Mute a job from its context menu."
            ),
            group,
        )
        note.setObjectName("notifyNote")
        note.setWordWrap(True)
        note.setEnabled(False)
        box.addWidget(note)
        return group

    # -- values -------------------------------------------------------------------------------

    def value(self, key: str) -> str:
        """What the field says now; for an untouched secret, the stored one (for tests of connection)."""
        field = self.fields[key]
        text = field.text()
        if text or not field.secret:
            return text
        resolved = self._resolved(key)
        if resolved is not None and resolved.value is not None:
            return str(resolved.value.get_secret_value())
        return ""

    def save(self) -> bool:
        """Store every changed value, or none: on any problem, say which (one message) and stay open."""
        changed = [f for f in self.fields.values() if f.editable and f.changed]
        keys = [f for f in changed if f.secret]
        plain = [f for f in changed if not f.secret]
        keychain = self.config.keychain
        if keys and keychain is not None and not keychain.usable:
            names = ", ".join(self._label(f.key) for f in keys)
            why = (keychain.message or "the keychain cannot be used").rstrip(".")
            self._say(
                f"Nothing was saved: {names} can only be kept in the keychain, and {why}. "
                f"{keychain.hint or ''}".strip(),
                "error",
            )
            return False
        settings_file = self.config.paths.settings_file
        before = settings_file.read_bytes() if settings_file.exists() else None
        warnings: list[str] = []
        stored_keys: list[tuple[Field, str | None]] = []
        try:
            for field in [*plain, *keys]:
                if field.secret:
                    stored_keys.append((field, self._stored_secret(field.key)))
                warnings.extend(self._store(field))
            theme = ThemeMode(self.theme.currentData())
            if theme is not self._theme_initial:
                self._store_theme(theme)
            if self.notifier is not None:
                self.notifier.set_kinds({kind: box.isChecked() for kind, box in self.notify_boxes.items()})
        except (CronMirrorError, OSError) as exc:
            self._undo(settings_file, before, stored_keys)
            message = f"{exc.message} {exc.hint}".strip() if isinstance(exc, CronMirrorError) else str(exc)
            self._say(f"Nothing was saved: {message}", "error")
            return False
        self.config = resolve_config(probe_keychain=True)
        app = QApplication.instance()
        if isinstance(app, QApplication) and theme is not self._theme_initial:
            apply_theme(app, theme)
        if warnings:
            self._say("\n".join(warnings), "warning")
        self.saved.emit()
        self.accept()
        return True

    def _store(self, field: Field) -> list[str]:
        text = field.text()
        result = set_value(field.key, text) if text else unset_value(field.key)
        warnings = list(result.warnings)
        if result.overridden_by:
            warnings.append(
                f"{field.key} is saved, but {', '.join(result.overridden_by)} still overrides it."
            )
        return warnings

    def _store_theme(self, theme: ThemeMode) -> None:
        loaded = load_settings(self.config.paths.settings_file)
        settings = loaded.settings
        settings.ui = {**settings.ui, THEME_KEY: theme.value}
        save_settings(settings, loaded.path)

    def _stored_secret(self, key: str) -> str | None:
        resolved = self._resolved(key)
        spec_value = resolved.value if resolved is not None and resolved.source is Source.KEYCHAIN else None
        return spec_value.get_secret_value() if spec_value is not None else None

    def _undo(self, settings_file: Path, before: bytes | None, keys: list[tuple[Field, str | None]]) -> None:
        """Put back what this save changed: the settings file as it was, the keys stored before."""
        try:
            if before is None:
                settings_file.unlink(missing_ok=True)
            else:
                settings_file.write_bytes(before)
        except OSError:
            log.exception("could not restore %s", settings_file)
        for field, previous in keys:
            try:
                if previous is None:
                    unset_value(field.key)
                else:
                    set_value(field.key, previous)
            except CronMirrorError:
                log.exception("could not restore %s", field.key)

    def _label(self, key: str) -> str:
        return {"anon_key": "the anon key", "service_role_key": "the service-role key"}.get(
            key, "the Control API token" if key == "control_api_token" else key
        )

    def _show_jobs_file(self) -> None:
        """The jobs file this computer's worker reads: the field's path, else the default's, in full."""
        typed = self.fields["worker.jobs_file"].text()
        path = Path(typed).expanduser() if typed else jobs_file_path(self.config)
        state = "" if path.exists() else " (not there yet: Open writes an example)"
        self.jobs_file_path.setText(f"{path}{state}")
        self._jobs_file = path

    def _jobs_file_action(self, action: Any) -> None:
        try:
            action(self._jobs_file, self.open_url)
        except OSError as exc:
            self._say(f"Could not create {self._jobs_file}: {exc}", "error")
        self._show_jobs_file()

    def import_file(self, path: Path) -> DotenvImport | None:
        """Import a `.env` (secrets → keychain, the rest → settings) and show what happened."""
        try:
            report = import_dotenv(path)
        except CronMirrorError as exc:
            self._say(f"{exc.message} {exc.hint}".strip(), "error")
            return None
        self.last_import = report
        self.config = resolve_config(probe_keychain=True)
        for key, value in report.settings_set:
            field = self.fields.get(key)
            if field is not None and isinstance(field.widget, QLineEdit) and field.editable:
                field.widget.setText(value)
                field.initial = value
        for key in report.secrets_stored:
            field = self.fields.get(key)
            if field is not None and isinstance(field.widget, QLineEdit):
                field.widget.clear()
                field.widget.setPlaceholderText(KEYCHAIN_PLACEHOLDER)
        level = "error" if report.problems else "ok"
        self._say("\n".join(report.summary()), level)
        self.saved.emit()
        return report

    def _choose_dotenv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a .env file", str(Path.home()), "Env files (*.env .env*);;All files (*)"
        )
        if path:
            self.import_file(Path(path))

    def _say(self, text: str, level: str) -> None:
        """The one message: a problem of saving replaces the keychain note (it says the same, and more)."""
        color = {"error": "error", "warning": "warning"}.get(level, "ok")
        self.status.setStyleSheet(f"color: {signal_color(color, is_dark()).name()};")
        self.status.setText(text)
        self.status.setVisible(bool(text))
        if level == "error":
            self.keychain_note.hide()
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow (never squash the fields) so every wrapped message is shown whole. Layouts do not pass a
        wrapped label's height for its width through the tabs to the dialog, so each such label gets it
        as its minimum height, which they do pass."""
        for label in (*self._wrapped, self.status):
            if label.isVisibleTo(self) and label.width() > 0:
                label.setMinimumHeight(label.heightForWidth(label.width()))
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        need = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        need = max(need, layout.totalMinimumSize().height())
        if need > self.height():
            self.resize(self.width(), need)

    # -- testing connections ------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, bool]) -> asyncio.Task[bool]:
        return self._tasks.spawn(coro)

    async def test_supabase(self) -> bool:
        """Read the project list with the entered URL and key (the service-role key if only that is set)."""
        url = self.value("supabase_url")
        key = self.value("anon_key") or self.value("service_role_key")
        label = self.supabase_test
        if not url or not key:
            self._result(label, False, "Enter the project URL and the anon key first.")
            return False
        self._result(label, None, "Testing…")
        try:
            store = supabase_store(url, key)
        except CronMirrorError as exc:
            self._result(label, False, exc.message)
            return False
        try:
            projects = await asyncio.wait_for(store.list_projects(), TEST_TIMEOUT_S)
        except CronMirrorError as exc:
            self._result(label, False, f"{exc.message} {exc.hint}".strip())
            return False
        except TimeoutError:
            self._result(label, False, f"No answer within {TEST_TIMEOUT_S:g} s.")
            return False
        finally:
            with contextlib.suppress(Exception):
                await store.close()
        names = ", ".join(p.project_id for p in projects[:5]) or "no projects yet"
        self._result(label, True, f"Connected: {names}.")
        return True

    async def test_control_api(self) -> bool:
        url = self.value("control_api_url")
        label = self.control_test
        if not url:
            self._result(label, False, "Enter the Control API URL first.")
            return False
        self._result(label, None, "Testing…")
        try:
            client = ControlApiClient(url, token=self.value("control_api_token") or None)
        except CronMirrorError as exc:
            self._result(label, False, exc.message)
            return False
        try:
            health = await client.health()
        finally:
            await client.aclose()
        if health.reachable:
            project = health.status.project_id if health.status else None
            where = f" (project {project})" if project else ""
            self._result(label, True, f"Reachable{where} in {health.elapsed_s * 1000:.0f} ms.")
            return True
        self._result(label, False, health.reason or "Unreachable.")
        return False

    def _result(self, label: QLabel, ok: bool | None, text: str) -> None:
        color = "info" if ok is None else ("ok" if ok else "error")
        label.setStyleSheet(f"color: {signal_color(color, is_dark()).name()};")
        label.setText(("✓ " if ok else "✗ " if ok is False else "") + text)
        self._wrapped.add(label)
        self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._wrapped or self.status.isVisible():
            self._fit_height()

    def done(self, result: int) -> None:
        self._tasks.cancel()
        super().done(result)
