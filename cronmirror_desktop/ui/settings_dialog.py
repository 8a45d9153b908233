"""Settings: Supabase, the Control API, projects and the Mac mini worker's options, with a "Test
connection" for each service and an import of the web app's `.env`.

Everything is read from and written through `core.config` (the same code as `cronmirror config set`):
plain values go to the settings file, keys to the keychain, never anywhere else. Stored keys are never
shown: their fields stay empty with a "stored in the keychain" placeholder, and an empty field means
"keep it". A value set by an environment variable is shown read-only with the variable's name, because
that is the value the app actually uses.
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
from PySide6.QtWidgets import (
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
from cronmirror_desktop.core.stores import supabase_store
from cronmirror_desktop.ui.theme import is_dark, signal_color

log = logging.getLogger(__name__)

TEST_TIMEOUT_S = 10.0
KEYCHAIN_PLACEHOLDER = "•••••••• stored in the keychain (leave empty to keep)"


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


class SettingsDialog(QDialog):
    """Emits `saved` after values were stored; the app then reconnects with the new configuration."""

    saved = Signal()

    def __init__(self, parent: QWidget | None = None, *, config: EffectiveConfig | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("CronMirror Settings")
        self.setMinimumWidth(620)
        self.config = config or resolve_config(probe_keychain=True)
        self.fields: dict[str, Field] = {}
        self._tasks = TaskSet()
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
        second.addWidget(worker)
        second.addStretch(1)

        self.status = QLabel(self)
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

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
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        button = QPushButton(text, row)
        button.setObjectName(text.replace(" ", ""))
        result = QLabel(row)
        result.setWordWrap(True)
        result.setObjectName(f"{button.objectName()}Result")
        button.clicked.connect(lambda: self._spawn(action()))
        line.addWidget(button)
        line.addWidget(result, 1)
        form.addRow("", row)
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
        """Store every changed value; on any problem, say which and stay open."""
        problems: list[str] = []
        warnings: list[str] = []
        for field in self.fields.values():
            if not field.editable or not field.changed:
                continue
            text = field.text()
            try:
                result = set_value(field.key, text) if text else unset_value(field.key)
            except CronMirrorError as exc:
                problems.append(f"{exc.message} {exc.hint}".strip())
                continue
            warnings.extend(result.warnings)
            if result.overridden_by:
                warnings.append(
                    f"{field.key} is saved, but {', '.join(result.overridden_by)} still overrides it."
                )
        if problems:
            self._say("\n".join(problems), "error")
            return False
        self.config = resolve_config(probe_keychain=True)
        if warnings:
            self._say("\n".join(warnings), "warning")
        self.saved.emit()
        self.accept()
        return True

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
        color = {"error": "error", "warning": "warning"}.get(level, "ok")
        self.status.setStyleSheet(f"color: {signal_color(color, is_dark()).name()};")
        self.status.setText(text)

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

    def done(self, result: int) -> None:
        self._tasks.cancel()
        super().done(result)
