"""Settings save everything or nothing, in one message, without squashing the fields (issue 19, points 12
and 13), and keep the theme, show this computer's jobs.toml with Open and Reveal, and say what a project
id is. The real configuration code, a real settings file in the test's dev dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.config_write import set_value
from cronmirror_desktop.ui import theme
from cronmirror_desktop.ui.settings_dialog import SettingsDialog
from tests.keyring_memory import MemoryKeyring
from tests.pgcluster import free_port

REPO = Path(__file__).resolve().parent.parent


def shown(qtbot: Any) -> SettingsDialog:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    QApplication.processEvents()
    return dialog


def line(d: SettingsDialog, key: str) -> QLineEdit:
    widget = d.fields[key].widget
    assert isinstance(widget, QLineEdit)
    return widget


def visible_messages(d: SettingsDialog) -> list[str]:
    return [label.text() for label in (d.keychain_note, d.status) if label.isVisible() and label.text()]


def test_without_a_keychain_nothing_is_saved_and_it_is_said_once(qtbot: Any) -> None:
    """Save said it failed, yet supabase_url was written; a red copy of the orange keychain warning
    appeared below and squashed the fields."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    d = shown(qtbot)
    [warning] = visible_messages(d)
    assert "keychain" in warning.lower()  # said before saving
    url, anon = line(d, "supabase_url"), line(d, "anon_key")
    heights = {key: d.fields[key].widget.height() for key in ("supabase_url", "anon_key", "project")}
    url.setText("https://xyz.supabase.co")
    anon.setText("the-anon-key")
    assert not d.save()
    assert d.isVisible()  # stays open
    config = resolve_config()
    assert config.supabase_url.value is None  # all or nothing: the URL was not written either
    assert not config.paths.settings_file.exists()
    [message] = visible_messages(d)  # one message
    assert message.startswith("Nothing was saved: the anon key can only be kept in the keychain")
    QApplication.processEvents()
    assert {key: d.fields[key].widget.height() for key in heights} == heights  # fields keep their height
    assert d.status.height() >= d.status.heightForWidth(d.status.width())  # and the message is whole


def test_a_value_refused_half_way_puts_everything_back(qtbot: Any, memory_keyring: MemoryKeyring) -> None:
    set_value("project", "ops")
    settings_file = resolve_config().paths.settings_file
    before = settings_file.read_bytes()
    d = shown(qtbot)
    line(d, "supabase_url").setText("https://xyz.supabase.co")  # fine, and written first ...
    line(d, "control_api_url").setText("mac-mini:3737")  # ... then this is refused (no scheme)
    line(d, "anon_key").setText("the-anon-key")
    assert not d.save()
    assert settings_file.read_bytes() == before
    config = resolve_config()
    assert config.supabase_url.value is None
    assert config.anon_key.value is None
    [message] = visible_messages(d)
    assert message.startswith("Nothing was saved:")
    assert "Control API URL" in message


async def test_a_long_connection_test_result_is_shown_whole(qtbot: Any) -> None:
    """ "Test Supabase" cut its result off ("retrying." missing)."""
    d = shown(qtbot)
    line(d, "supabase_url").setText(f"http://127.0.0.1:{free_port()}")
    line(d, "anon_key").setText("x" * 40)
    assert not await d.test_supabase()
    QApplication.processEvents()
    result = d.supabase_test
    assert result.text().startswith("✗ ")
    assert len(result.text()) > 40
    assert result.height() >= result.heightForWidth(result.width())
    bottom = result.mapTo(d, result.rect().bottomLeft()).y()
    assert bottom <= d.height()


def test_the_theme_is_kept_and_applied(qtbot: Any, qapp: QApplication) -> None:
    d = shown(qtbot)
    combo = d.theme
    assert isinstance(combo, QComboBox)
    assert combo.currentData() == "system"
    try:
        combo.setCurrentIndex(combo.findData("dark"))
        assert d.save()
        assert theme.stored_theme() is theme.ThemeMode.DARK
        assert theme.is_dark()  # applied at once
        again = shown(qtbot)
        assert again.theme.currentData() == "dark"
    finally:
        theme.apply_theme(qapp, "light")


def test_the_app_starts_in_the_stored_theme(tmp_path: Path) -> None:
    """Run for real: no --theme, the settings say dark, the window is dark."""
    dev = tmp_path / "dev"
    (dev / "config").mkdir(parents=True)
    (dev / "config" / "settings.json").write_text(json.dumps({"ui": {"theme": "dark"}}))
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cronmirror_desktop",
            "--demo",
            "--dev-dir",
            str(dev),
            "--screenshot",
            str(shot),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert image.pixelColor(image.width() // 2, 4).lightness() < 100  # the toolbar's dark window colour


def test_the_jobs_file_is_shown_whole_with_open_and_reveal(qtbot: Any) -> None:
    d = shown(qtbot)
    expected = resolve_config().paths.config_dir / "jobs.toml"
    assert d.jobs_file_path.text() == f"{expected} (not there yet: Open writes an example)"
    opened: list[QUrl] = []
    d.open_url = lambda url: opened.append(url)  # type: ignore[assignment,misc,return-value]
    d.findChild(type(d.buttons.buttons()[0]), "openJobsFile").click()  # type: ignore[union-attr]
    assert [u.toLocalFile() for u in opened] == [str(expected)]
    assert "[jobs.backup]" in expected.read_text()
    assert d.jobs_file_path.text() == str(expected)
    d.findChild(type(d.buttons.buttons()[0]), "revealJobsFile").click()  # type: ignore[union-attr]
    assert opened[-1].toLocalFile() == str(expected.parent)
    line(d, "worker.jobs_file").setText("~/elsewhere/my-jobs.toml")
    assert d.jobs_file_path.text().startswith(str(Path.home() / "elsewhere" / "my-jobs.toml"))


def test_the_project_id_is_explained(qtbot: Any) -> None:
    d = shown(qtbot)
    note = d.findChild(QLabel, "projectNote")
    assert note is not None
    assert "front-office" in note.text()
    assert "same one" in note.text()


def test_the_readme_says_what_to_do_without_a_secret_service() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Linux without a Secret Service", 1)[1].split("\n## ", 1)[0]
    for needed in ("SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "keyrings.alt",
                   "CRONMIRROR_ALLOW_INSECURE_KEYRING=1"):  # fmt: skip
        assert needed in section
