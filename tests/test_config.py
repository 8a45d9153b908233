"""The effective configuration: precedence, provenance, broken keychains, `config set`, `.env` import."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import keyring.backends.fail
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from cronmirror_desktop.core.config import (
    DEFAULT_PROJECT_ID,
    ENV_NAMES,
    EffectiveConfig,
    Source,
    describe_precedence,
    env_names_set,
    resolve_config,
)
from cronmirror_desktop.core.config_import import import_dotenv
from cronmirror_desktop.core.config_write import set_value, unset_value
from cronmirror_desktop.core.errors import CronMirrorError, InvalidValue, NotConfigured, SecretStoreError
from cronmirror_desktop.core.paths import AppPaths, app_paths
from cronmirror_desktop.core.presence import default_host
from cronmirror_desktop.core.secrets import KEYRING_SERVICE, SecretName, SecretStore
from cronmirror_desktop.core.settings import Settings, load_settings, save_settings
from tests.keyring_memory import MemoryKeyring

ANON = "eyJhbGciOiJIUzI1NiJ9.anon-secret-value"
SERVICE = "eyJhbGciOiJIUzI1NiJ9.service-role-secret-value"
TOKEN = "control-api-token-secret-value"
ALL_SECRETS = (ANON, SERVICE, TOKEN)


class CountingFailKeyring(keyring.backends.fail.Keyring):
    """The real `fail.Keyring`, counting how often it is asked."""

    calls = 0

    def get_password(self, service: str, username: str, password: str | None = None) -> str | None:
        type(self).calls += 1
        return super().get_password(service, username)


class ExplodingKeyring(KeyringBackend):
    """Fails the test if anyone touches it."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("the keychain must not be consulted")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("the keychain must not be consulted")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("the keychain must not be consulted")


@pytest.fixture
def paths() -> AppPaths:
    return app_paths()


def _no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in ALL_SECRETS:
            assert secret not in text


def _store(memory_keyring: MemoryKeyring, name: SecretName, value: str) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, name.value)] = value


# -- resolving ------------------------------------------------------------------------------------


def test_nothing_configured(paths: AppPaths) -> None:
    config = resolve_config(env={}, paths=paths)
    assert config.supabase_url.source is Source.UNSET
    assert config.anon_key.value is None
    assert config.anon_key.origin == "keychain"
    assert config.anon_key.problem is None
    assert (config.project.value, config.project.source) == (DEFAULT_PROJECT_ID, Source.DEFAULT)
    assert config.project_ids == (DEFAULT_PROJECT_ID,)
    assert (config.store.value, config.store.origin) == ("local", "auto: Supabase is not configured")
    assert config.keychain is not None
    assert config.keychain.usable
    assert config.worker.sync_interval_s == 30
    with pytest.raises(NotConfigured, match=r"Supabase URL is not set\. Supabase anon key is not set\."):
        config.supabase_credentials()
    with pytest.raises(NotConfigured, match="Control API URL is not set"):
        config.control_api_url_or_raise()


def test_values_from_settings_and_keychain(paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    save_settings(
        Settings(
            supabase_url="https://abc.supabase.co",
            control_api_url="http://mac-mini.local:3737",
            project_ids=["lab", "front-office"],
            current_project="lab",
        ),
        paths.settings_file,
    )
    _store(memory_keyring, SecretName.ANON_KEY, ANON)
    _store(memory_keyring, SecretName.CONTROL_API_TOKEN, TOKEN)
    config = resolve_config(env={}, paths=paths)
    assert (config.supabase_url.value, config.supabase_url.source) == (
        "https://abc.supabase.co",
        Source.SETTINGS,
    )
    assert config.supabase_url.origin == str(paths.settings_file)
    assert config.anon_key.source is Source.KEYCHAIN
    assert config.anon_key.value is not None
    assert config.anon_key.value.get_secret_value() == ANON
    assert config.control_api_token.source is Source.KEYCHAIN
    assert config.service_role_key.value is None
    assert config.project.value == "lab"
    assert config.project_ids == ("lab", "front-office")
    assert config.store.value == "supabase"
    credentials = config.supabase_credentials()
    assert (credentials.url, credentials.role) == ("https://abc.supabase.co", "anon")
    assert config.control_api_url_or_raise() == "http://mac-mini.local:3737"


def test_environment_beats_keychain_and_settings_and_our_names_beat_vite(
    paths: AppPaths, memory_keyring: MemoryKeyring
) -> None:
    save_settings(Settings(supabase_url="https://from-settings.supabase.co"), paths.settings_file)
    _store(memory_keyring, SecretName.ANON_KEY, "keychain-anon")
    env = {
        "SUPABASE_URL": "https://ours.supabase.co/",
        "VITE_SUPABASE_URL": "https://vite.supabase.co",
        "VITE_SUPABASE_PUBLISHABLE_KEY": ANON,
        "VITE_SUPABASE_ANON_KEY": "older-vite-name",
        "VITE_API_BASE_URL": "http://127.0.0.1:3737/api/",
        "CLAWDOS_PROJECT_ID": "clawdos-project",
        "EXECUTOR_BIN": "/opt/homebrew/bin/openclaw",
    }
    config = resolve_config(env=env, paths=paths)
    assert (config.supabase_url.value, config.supabase_url.origin) == (
        "https://ours.supabase.co",
        "SUPABASE_URL",
    )
    assert config.supabase_url.shadowed == ("VITE_SUPABASE_URL",)
    assert config.anon_key.origin == "VITE_SUPABASE_PUBLISHABLE_KEY"
    assert config.anon_key.value is not None
    assert config.anon_key.value.get_secret_value() == ANON
    assert config.anon_key.shadowed == ("VITE_SUPABASE_ANON_KEY",)
    assert (config.control_api_url.value, config.control_api_url.source) == (
        "http://127.0.0.1:3737",
        Source.ENV,
    )
    assert (config.project.value, config.project.origin) == ("clawdos-project", "CLAWDOS_PROJECT_ID")
    assert config.worker.gateway_bin == "/opt/homebrew/bin/openclaw"
    assert config.gateway_bin.origin == "EXECUTOR_BIN"
    assert set(config.env_in_use) == {
        "SUPABASE_URL",
        "VITE_SUPABASE_PUBLISHABLE_KEY",
        "VITE_API_BASE_URL",
        "CLAWDOS_PROJECT_ID",
        "EXECUTOR_BIN",
    }
    env["CRONMIRROR_PROJECT_ID"] = "ours"
    env["SUPABASE_ANON_KEY"] = "our-anon"
    config = resolve_config(env=env, paths=paths)
    assert config.project.value == "ours"
    assert config.anon_key.origin == "SUPABASE_ANON_KEY"


def test_empty_environment_variables_count_as_unset(paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    _store(memory_keyring, SecretName.ANON_KEY, ANON)
    config = resolve_config(env={"SUPABASE_ANON_KEY": "  ", "SUPABASE_URL": ""}, paths=paths)
    assert config.anon_key.source is Source.KEYCHAIN
    assert config.supabase_url.source is Source.UNSET


def test_an_invalid_url_is_a_problem_on_that_value_not_an_exception(paths: AppPaths) -> None:
    config = resolve_config(env={"CONTROL_API_BASE_URL": "mac-mini.local:3737"}, paths=paths)
    assert config.control_api_url.value == "mac-mini.local:3737"
    assert config.control_api_url.problem is not None
    assert "needs a scheme" in config.control_api_url.problem
    assert "CONTROL_API_BASE_URL" in config.control_api_url.problem
    assert config.control_api_url.hint == "Write it with http:// or https://, e.g. http://mac-mini.local:3737"
    assert not config.control_api_url.usable
    with pytest.raises(NotConfigured, match="needs a scheme"):
        config.control_api_url_or_raise()


def test_a_broken_keychain_never_raises_and_is_asked_once(paths: AppPaths) -> None:
    CountingFailKeyring.calls = 0
    config = resolve_config(
        env={"SUPABASE_URL": "https://abc.supabase.co", "CONTROL_API_TOKEN": TOKEN},
        paths=paths,
        secrets=SecretStore(CountingFailKeyring()),
    )
    assert CountingFailKeyring.calls == 1
    for value in (config.anon_key, config.service_role_key):
        assert value.value is None
        assert value.source is Source.UNSET
        assert value.problem is not None
        assert "No system keychain is available" in value.problem
    assert config.anon_key.hint is not None
    assert config.anon_key.hint.endswith("Or set SUPABASE_ANON_KEY.")
    assert config.control_api_token.source is Source.ENV  # the environment still works
    assert config.keychain is not None
    assert config.keychain.usable is False
    assert config.keychain.backend == "tests.test_config.CountingFailKeyring"
    assert config.store.value == "local"
    with pytest.raises(NotConfigured, match="Supabase anon key is unavailable: No system keychain"):
        config.supabase_credentials()
    rows = {row.key: row for row in config.rows()}
    assert rows["anon_key"].display == "unavailable"
    assert rows["control_api_token"].display == "set"


def test_a_keychain_that_fails_to_load_is_reported(paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> KeyringBackend:
        raise keyring.errors.InitError("no dbus")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    config = resolve_config(env={}, paths=paths)
    assert config.keychain is not None
    assert not config.keychain.usable
    assert config.anon_key.problem is not None
    assert "could not be opened" in config.anon_key.problem


def test_secrets_all_from_the_environment_leave_the_keychain_alone(paths: AppPaths) -> None:
    env = {"SUPABASE_ANON_KEY": ANON, "SUPABASE_SERVICE_ROLE_KEY": SERVICE, "CONTROL_API_TOKEN": TOKEN}
    config = resolve_config(env=env, paths=paths, secrets=SecretStore(ExplodingKeyring()))
    assert config.keychain is None
    assert config.service_role_key.source is Source.ENV
    probed = resolve_config(
        env=env, paths=paths, secrets=SecretStore(keyring.backends.fail.Keyring()), probe_keychain=True
    )
    assert probed.keychain is not None
    assert probed.keychain.usable is False


def test_the_worker_prefers_the_service_role_key_and_falls_back_to_anon(paths: AppPaths) -> None:
    base = {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_ANON_KEY": ANON}
    anon_only = resolve_config(env=base, paths=paths)
    assert anon_only.supabase_credentials(role="service_role").role == "anon"
    both = resolve_config(env={**base, "SUPABASE_SERVICE_ROLE_KEY": SERVICE}, paths=paths)
    credentials = both.supabase_credentials(role="service_role")
    assert credentials.role == "service_role"
    assert credentials.key.get_secret_value() == SERVICE
    assert both.supabase_credentials().key.get_secret_value() == ANON


def test_project_precedence(paths: AppPaths) -> None:
    save_settings(Settings(project_ids=["first", "second"]), paths.settings_file)
    assert resolve_config(env={}, paths=paths).project.value == "first"
    save_settings(Settings(project_ids=["first", "second"], current_project="second"), paths.settings_file)
    config = resolve_config(env={}, paths=paths)
    assert (config.project.value, config.project_ids) == ("second", ("second", "first"))
    config = resolve_config(env={"CRONMIRROR_PROJECT_ID": "env-project"}, paths=paths)
    assert config.project_ids == ("env-project", "first", "second")
    assert config.project_id == "env-project"


def test_store_selection(paths: AppPaths) -> None:
    save_settings(Settings(store="supabase"), paths.settings_file)
    config = resolve_config(env={}, paths=paths)
    assert config.store.value == "supabase"
    assert config.store.problem == "The Supabase store is selected but its URL or anon key is missing."
    save_settings(Settings(store="local"), paths.settings_file)
    env = {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_ANON_KEY": ANON}
    assert resolve_config(env=env, paths=paths).store.value == "local"


def test_the_snapshot_is_immutable_and_owns_its_settings(paths: AppPaths) -> None:
    loaded = load_settings(paths.settings_file)
    config = resolve_config(env={}, paths=paths, settings=loaded)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.project_ids = ()  # type: ignore[misc]
    loaded.settings.current_project = "changed-later"
    loaded.settings.worker.concurrency = 4
    assert config.settings.current_project is None
    assert config.worker.concurrency == 1


def test_settings_warnings_reach_the_config(paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text("{not json")
    config = resolve_config(env={}, paths=paths)
    assert "not valid JSON" in config.settings_warnings[0]


def test_no_secret_in_repr_rows_json_or_logs(
    paths: AppPaths, memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    _store(memory_keyring, SecretName.SERVICE_ROLE_KEY, SERVICE)
    _store(memory_keyring, SecretName.CONTROL_API_TOKEN, TOKEN)
    with caplog.at_level(logging.DEBUG):
        config = resolve_config(env={"SUPABASE_ANON_KEY": ANON}, paths=paths, probe_keychain=True)
    rows = config.rows()
    assert [row.key for row in rows] == [
        "supabase_url",
        "anon_key",
        "service_role_key",
        "control_api_url",
        "control_api_token",
        "project",
        "gateway_bin",
        "store",
    ]
    shown = json.dumps(config.as_json())
    assert json.loads(shown)["values"]["anon_key"] == {
        "value": None,
        "set": True,
        "source": "env",
        "origin": "SUPABASE_ANON_KEY",
        "problem": None,
    }
    _no_secret_in(repr(config), str(config), repr(rows), shown, caplog.text)


def test_env_names_and_precedence_text() -> None:
    assert "VITE_SUPABASE_PUBLISHABLE_KEY" in ENV_NAMES
    assert env_names_set({"SUPABASE_URL": "x", "VITE_API_BASE_URL": "", "OTHER": "y"}) == ["SUPABASE_URL"]
    assert (
        "supabase_url: SUPABASE_URL > VITE_SUPABASE_URL > settings file (supabase_url)"
        in describe_precedence()
    )
    assert (
        "anon_key: SUPABASE_ANON_KEY > VITE_SUPABASE_PUBLISHABLE_KEY > VITE_SUPABASE_ANON_KEY > keychain"
        in describe_precedence()
    )


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITE_SUPABASE_URL", "https://from-process.supabase.co")
    config = resolve_config()
    assert config.supabase_url.value == "https://from-process.supabase.co"
    assert isinstance(config, EffectiveConfig)


# -- config set / unset -----------------------------------------------------------------------------


def test_set_routes_secrets_to_the_keychain_and_plain_values_to_the_file(
    paths: AppPaths, memory_keyring: MemoryKeyring
) -> None:
    result = set_value("service_role_key", SERVICE, paths=paths, env={})
    assert result.stored_in is Source.KEYCHAIN
    assert memory_keyring.entries[(KEYRING_SERVICE, "supabase_service_role_key")] == SERVICE
    assert not paths.settings_file.exists()

    result = set_value("supabase_url", " https://abc.supabase.co/rest/v1/ ", paths=paths, env={})
    assert result.stored_in is Source.SETTINGS
    assert load_settings(paths.settings_file).settings.supabase_url == "https://abc.supabase.co"
    set_value("project", "lab", paths=paths, env={})
    set_value("worker.sources.launchd", "off", paths=paths, env={})
    set_value("worker.gateway_bin", "/usr/local/bin/clawdbot", paths=paths, env={})
    warned = set_value("worker.sync_interval_s", "90", paths=paths, env={})
    assert warned.warnings == ("worker.sync_interval_s = 90 is outside 30–60; using 60.",)
    settings = load_settings(paths.settings_file).settings
    assert (settings.current_project, settings.project_ids) == ("lab", ["lab"])
    assert settings.worker.source_enabled("launchd") is False
    assert settings.worker.sync_interval_s == 60
    assert settings.worker.gateway_bin == "/usr/local/bin/clawdbot"
    _no_secret_in(paths.settings_file.read_text())

    config = resolve_config(env={}, paths=paths)
    assert config.service_role_key.source is Source.KEYCHAIN
    assert config.project.value == "lab"


def test_the_workers_host_name_can_be_pinned(paths: AppPaths) -> None:
    from worker.configured import build_sources

    assert build_sources(resolve_config(env={}, paths=paths)).host == default_host()
    set_value("worker.host", " mini-studio ", paths=paths, env={})
    assert build_sources(resolve_config(env={}, paths=paths)).host == "mini-studio"
    set_value("worker.host", "", paths=paths, env={})
    assert load_settings(paths.settings_file).settings.worker.host is None


def test_the_programs_an_added_job_may_run_are_named_in_the_settings(paths: AppPaths) -> None:
    from worker.configured import build_sources
    from worker.sources.jobs_file import JobsFileSource

    def allowed() -> frozenset[str]:
        sources = build_sources(resolve_config(env={}, paths=paths)).sources
        [jobs] = [s for s in sources if isinstance(s, JobsFileSource)]
        return jobs.new_job_programs

    assert allowed() == frozenset()  # none by default: every Add job is refused
    set_value("worker.new_job_programs", " /opt/homebrew/bin/restic, backup.sh ,", paths=paths, env={})
    assert allowed() == {"/opt/homebrew/bin/restic", "backup.sh"}
    unset_value("worker.new_job_programs", paths=paths, env={})
    assert allowed() == frozenset()


def test_set_reports_an_environment_variable_that_still_wins(paths: AppPaths) -> None:
    result = set_value(
        "control_api_url", "http://mac-mini.local:3737", paths=paths, env={"VITE_API_BASE_URL": "x"}
    )
    assert result.overridden_by == ("VITE_API_BASE_URL",)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("control_api_url", "mac-mini.local:3737", "needs a scheme"),
        ("supabase_url", "ftp://abc", "must start with http"),
        ("worker.concurrency", "lots", "Invalid value for worker.concurrency"),
        ("worker.host", "mini\x1b]0;x", "no control characters"),
        ("store", "cloud", "Invalid value for store"),
        ("colour", "blue", "Unknown setting 'colour'"),
        ("worker.sources", "x", "Unknown setting"),
        ("version", "9", "Unknown setting"),
        ("project", " ", "project id is empty"),
    ],
)
def test_set_refuses_bad_values_and_leaves_the_file_alone(
    paths: AppPaths, key: str, value: str, message: str
) -> None:
    save_settings(Settings(current_project="before"), paths.settings_file)
    before = paths.settings_file.read_bytes()
    with pytest.raises(InvalidValue, match=message):
        set_value(key, value, paths=paths, env={})
    assert paths.settings_file.read_bytes() == before


def test_set_a_secret_without_a_keychain_is_a_clear_error(paths: AppPaths) -> None:
    with pytest.raises(SecretStoreError, match="No system keychain") as info:
        set_value("anon_key", ANON, paths=paths, env={}, secrets=SecretStore(keyring.backends.fail.Keyring()))
    _no_secret_in(str(info.value))
    assert not paths.settings_file.exists()


def test_unset(paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    set_value("anon_key", ANON, paths=paths, env={})
    set_value("control_api_url", "http://mac-mini.local:3737", paths=paths, env={})
    set_value("worker.job_timeout_s", "120", paths=paths, env={})
    set_value("worker.sources.extra", "true", paths=paths, env={})
    unset_value("anon_key", paths=paths, env={})
    unset_value("control_api_url", paths=paths, env={})
    unset_value("worker.job_timeout_s", paths=paths, env={})
    unset_value("worker.sources.extra", paths=paths, env={})
    assert memory_keyring.entries == {}
    settings = load_settings(paths.settings_file).settings
    assert settings.control_api_url is None
    assert settings.worker.job_timeout_s == 900
    assert "extra" not in settings.worker.sources


# -- .env import ------------------------------------------------------------------------------------

CLAWDOS_DOTENV = f"""
# agent-hub .env (web app + Control API + worker)
VITE_SUPABASE_PROJECT_ID="abcdefghijklmnop"
VITE_SUPABASE_PUBLISHABLE_KEY="{ANON}"
VITE_SUPABASE_URL="https://abcdefghijklmnop.supabase.co"
VITE_API_BASE_URL=http://127.0.0.1:3737
export SUPABASE_SERVICE_ROLE_KEY='{SERVICE}'
CLAWDOS_PROJECT_ID=front-office
EXECUTOR_BIN=/opt/homebrew/bin/openclaw
PORT=3737
"""


def test_import_a_clawdos_env_file(
    tmp_path: Path, paths: AppPaths, memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / ".env"
    source.write_text(CLAWDOS_DOTENV)
    with caplog.at_level(logging.DEBUG):
        report = import_dotenv(source, paths=paths)
    assert dict(report.settings_set) == {
        "supabase_url": "https://abcdefghijklmnop.supabase.co",
        "control_api_url": "http://127.0.0.1:3737",
        "project": "front-office",
        "gateway_bin": "/opt/homebrew/bin/openclaw",
    }
    assert set(report.secrets_stored) == {"anon_key", "service_role_key"}
    # The Supabase project ref is not a CronMirror project id: never imported as one.
    assert report.ignored == ("VITE_SUPABASE_PROJECT_ID", "PORT")
    assert report.problems == ()
    assert any("only on the Mac mini" in note for note in report.notes)
    assert memory_keyring.entries[(KEYRING_SERVICE, "supabase_anon_key")] == ANON
    assert memory_keyring.entries[(KEYRING_SERVICE, "supabase_service_role_key")] == SERVICE
    summary = "\n".join(report.summary())
    assert "anon_key: stored in the keychain (from VITE_SUPABASE_PUBLISHABLE_KEY)" in summary
    assert (
        "supabase_url = https://abcdefghijklmnop.supabase.co  (settings, from VITE_SUPABASE_URL)" in summary
    )
    _no_secret_in(summary, repr(report), paths.settings_file.read_text(), caplog.text)

    config = resolve_config(env={}, paths=paths)
    assert config.supabase_url.source is Source.SETTINGS
    assert config.anon_key.source is Source.KEYCHAIN
    assert config.worker.gateway_bin == "/opt/homebrew/bin/openclaw"
    assert config.store.value == "supabase"


def test_import_prefers_our_names_and_reports_the_shadowed_ones(
    paths: AppPaths, memory_keyring: MemoryKeyring
) -> None:
    text = f"VITE_SUPABASE_ANON_KEY=older\nSUPABASE_ANON_KEY={ANON}\nSUPABASE_URL=https://a.supabase.co\nVITE_SUPABASE_URL=https://b.supabase.co\n"
    report = import_dotenv("inline", text=text, paths=paths)
    assert memory_keyring.entries[(KEYRING_SERVICE, "supabase_anon_key")] == ANON
    assert dict(report.settings_set)["supabase_url"] == "https://a.supabase.co"
    assert set(report.shadowed) == {"VITE_SUPABASE_ANON_KEY", "VITE_SUPABASE_URL"}


def test_import_without_a_keychain_stores_plain_values_and_reports_the_secrets(paths: AppPaths) -> None:
    report = import_dotenv(
        "inline",
        text=CLAWDOS_DOTENV + "broken line\nCONTROL_API_BASE_URL=not-a-url\n",
        paths=paths,
        secrets=SecretStore(keyring.backends.fail.Keyring()),
    )
    assert report.secrets_stored == ()
    problems = "\n".join(report.problems)
    assert "anon_key (from VITE_SUPABASE_PUBLISHABLE_KEY) was not stored: No system keychain" in problems
    assert "service_role_key (from SUPABASE_SERVICE_ROLE_KEY) was not stored" in problems
    assert "line 11: expected NAME=value" in problems
    assert "needs a scheme" in problems  # CONTROL_API_BASE_URL beats VITE_API_BASE_URL, and is invalid
    settings = load_settings(paths.settings_file).settings
    assert settings.supabase_url == "https://abcdefghijklmnop.supabase.co"
    assert settings.control_api_url is None
    _no_secret_in(paths.settings_file.read_text(), problems, "\n".join(report.summary()))


def test_import_of_a_missing_file_is_a_clear_error(tmp_path: Path, paths: AppPaths) -> None:
    with pytest.raises(CronMirrorError, match="Could not read") as info:
        import_dotenv(tmp_path / "nope.env", paths=paths)
    assert "No such file" in str(info.value)
