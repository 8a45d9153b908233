"""The Settings dialog over the real configuration code (settings file in the test's dev dir, an
in-memory keychain), with connection tests against the Supabase stand-in and a local Control API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QDialog, QLineEdit

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.config_write import set_value
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.settings_dialog import KEYCHAIN_PLACEHOLDER, SettingsDialog
from cronmirror_desktop.ui.startup import reconfigure
from tests.fake_controlapi import FakeControlApi
from tests.keyring_memory import MemoryKeyring
from tests.supastack import Supastack
from tests.ui_support import PROJECT, UiEnv, env, mirror_row, started, ui_settings, wait_until

__all__ = ["env", "ui_settings"]  # fixtures, used by name


def dialog(qtbot: Any) -> SettingsDialog:
    made = SettingsDialog()
    qtbot.addWidget(made)
    return made


def line(d: SettingsDialog, key: str) -> QLineEdit:
    widget = d.fields[key].widget
    assert isinstance(widget, QLineEdit)
    return widget


def test_shows_stored_values_and_environment_overrides(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_value("supabase_url", "https://abc.supabase.co/rest/v1/")
    set_value("anon_key", "anon-secret")
    monkeypatch.setenv("VITE_API_BASE_URL", "http://mac-mini.local:3737")
    d = dialog(qtbot)
    assert line(d, "supabase_url").text() == "https://abc.supabase.co"
    anon = line(d, "anon_key")
    assert anon.text() == ""  # a stored key is never shown
    assert anon.placeholderText() == KEYCHAIN_PLACEHOLDER
    assert anon.echoMode() is QLineEdit.EchoMode.Password
    control = line(d, "control_api_url")
    assert not control.isEnabled()
    assert control.text() == "http://mac-mini.local:3737"
    note = d.findChild(type(d.status), "note_control_api_url")
    assert note is not None
    assert "VITE_API_BASE_URL" in note.text()


def test_save_puts_plain_values_in_the_file_and_keys_in_the_keychain(
    qtbot: Any, memory_keyring: MemoryKeyring
) -> None:
    d = dialog(qtbot)
    saved: list[bool] = []
    d.saved.connect(lambda: saved.append(True))
    line(d, "supabase_url").setText("https://xyz.supabase.co")
    line(d, "anon_key").setText("the-anon-key")
    line(d, "project").setText("ops")
    line(d, "projects").setText("home, lab")
    assert d.save()
    assert saved == [True]
    assert d.result() == QDialog.DialogCode.Accepted
    config = resolve_config()
    assert config.supabase_url.value == "https://xyz.supabase.co"
    assert config.anon_key.value is not None
    assert config.anon_key.value.get_secret_value() == "the-anon-key"
    assert config.project_id == "ops"
    assert set(config.project_ids) == {"ops", "home", "lab"}
    assert "the-anon-key" not in config.paths.settings_file.read_text()
    assert config.store.value == "supabase"  # auto: URL and key are set


def test_a_bad_value_is_explained_and_the_dialog_stays_open(qtbot: Any) -> None:
    d = dialog(qtbot)
    line(d, "control_api_url").setText("mac-mini:3737")  # no scheme
    assert not d.save()
    assert d.result() != QDialog.DialogCode.Accepted
    assert "Control API URL" in d.status.text()


def test_import_dotenv_from_the_web_app(qtbot: Any, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        'VITE_SUPABASE_URL="https://web.supabase.co"\n'
        "VITE_SUPABASE_PUBLISHABLE_KEY=publishable-key\n"
        "VITE_API_BASE_URL=http://mac-mini.local:3737\n"
        "UNRELATED=1\n"
    )
    d = dialog(qtbot)
    report = d.import_file(env_file)
    assert report is not None
    assert line(d, "supabase_url").text() == "https://web.supabase.co"
    assert line(d, "control_api_url").text() == "http://mac-mini.local:3737"
    assert line(d, "anon_key").placeholderText() == KEYCHAIN_PLACEHOLDER
    assert "publishable-key" not in d.status.text()
    assert "UNRELATED" in d.status.text()
    config = resolve_config()
    assert config.anon_key.value is not None
    assert config.anon_key.value.get_secret_value() == "publishable-key"


def test_an_unusable_keychain_is_explained(qtbot: Any) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    d = dialog(qtbot)
    assert not d.keychain_note.isHidden()
    assert "keychain" in d.keychain_note.text().lower()
    line(d, "anon_key").setText("nowhere-to-keep-it")
    assert not d.save()
    assert d.status.text()


@pytest.mark.pg
async def test_supabase_connection_test(qtbot: Any, supabase_env: Supastack) -> None:
    d = dialog(qtbot)
    line(d, "supabase_url").setText(supabase_env.url)
    line(d, "anon_key").setText(supabase_env.anon_key)
    assert await d.test_supabase()
    assert d.supabase_test.text().startswith("✓ Connected")
    line(d, "anon_key").setText(supabase_env.make_jwt("anon").rsplit(".", 1)[0] + ".wrong")
    assert not await d.test_supabase()
    assert d.supabase_test.text().startswith("✗")


async def test_control_api_connection_test(qtbot: Any) -> None:
    api = FakeControlApi()
    await api.start()
    try:
        d = dialog(qtbot)
        line(d, "control_api_url").setText(api.url)
        assert await d.test_control_api()
        assert d.control_test.text().startswith("✓ Reachable (project front-office)")
    finally:
        await api.stop()
    line(d, "control_api_url").setText("http://127.0.0.1:9")
    assert not await d.test_control_api()
    assert "refused" in d.control_test.text()


@pytest.mark.pg
async def test_saving_supabase_settings_switches_the_running_app_to_it(
    env: UiEnv, supabase_env: Supastack
) -> None:
    from cronmirror_desktop.core.supabasestore import SupabaseStore

    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    async with env, worker:
        await worker.upsert_mirror(PROJECT, [mirror_row("remote", "A job on the Mac mini")])
        controller = await started(env.controller(supabase_configured=False))
        window = env.window(controller)
        window.show()
        assert window.banner.isVisible()  # not configured yet
        set_value("supabase_url", supabase_env.url)
        set_value("anon_key", supabase_env.anon_key)
        await reconfigure(controller, build_parser().parse_args(["--project", PROJECT]))
        await wait_until(lambda: controller.live_state is LiveState.LIVE, within=15, what="live on Supabase")
        await wait_until(lambda: window.proxy.rowCount() == 1, what="the Supabase job")
        assert controller.store.kind == "supabase"
        assert not window.banner.isVisible()
        assert window.connection_panel.supabase.text() == "Live"
