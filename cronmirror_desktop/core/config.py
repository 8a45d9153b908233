"""The effective configuration: every value CronMirror runs with, and where each one came from.

Three places hold configuration (see docs/configuration.md):

- the **environment**, for headless use and for people who already have the ClawdOS web app's variables;
- the **keychain**, for secrets (`core.secrets`);
- the **settings file**, for plain values (`core.settings`).

Precedence, per value: an environment variable beats the keychain or settings file; among environment
variables, CronMirror's own name beats the web app's (`SUPABASE_URL` over `VITE_SUPABASE_URL`); an empty
variable counts as unset. `resolve_config()` builds one immutable `EffectiveConfig` from all three; the
stores, the worker, the CLI and the Settings dialog consume that object, and `doctor`/`config show` print
its `rows()`. Resolving never raises: a broken keychain or an invalid URL is recorded on the value it
affects (`problem`, `hint`), and asking for a value that is not usable (`supabase_credentials()`,
`control_api_url_or_raise()`) raises `NotConfigured` with that reason.

The write side lives beside it: `config_write.set_value()` / `unset_value()` (`cronmirror config set`, the
Settings dialog) and `config_import.import_dotenv()` (the `.env` import): secrets go to the keychain, plain
values to the settings file.
"""

from __future__ import annotations

# The key table is re-exported here: most callers want it together with `resolve_config`.
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import SecretStr

from cronmirror_desktop.core.config_keys import (
    ANON_KEY,
    CONFIG_KEYS,
    CONTROL_API_TOKEN,
    CONTROL_API_URL,
    DEFAULT_PROJECT_ID,
    ENV_NAMES,
    GATEWAY_BIN,
    KEYS_BY_NAME,
    PLAIN_SETTING_KEYS,
    PROJECT,
    SECRET_ENV_NAMES,
    SERVICE_ROLE_KEY,
    SUPABASE_URL,
    URL_SUFFIXES,
    ConfigKey,
    Source,
)
from cronmirror_desktop.core.errors import InvalidValue, NotConfigured, SecretStoreError
from cronmirror_desktop.core.paths import AppPaths, app_paths
from cronmirror_desktop.core.secrets import KeychainStatus, SecretStore
from cronmirror_desktop.core.settings import (
    Settings,
    SettingsLoad,
    WorkerSettings,
    load_settings,
)
from cronmirror_desktop.core.urls import normalize_base_url

T = TypeVar("T")


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """One effective value. `value` is None when unset or unavailable; `problem`/`hint` say why it can't
    be used (invalid URL, keychain failure). `origin` names the exact place: an environment variable,
    `keychain`, the settings file path, or `default`. `shadowed` lists lower-precedence environment
    variables that are set too (and ignored)."""

    value: T | None
    source: Source
    origin: str
    problem: str | None = None
    hint: str | None = None
    shadowed: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.value is not None and self.problem is None


@dataclass(frozen=True)
class SupabaseCredentials:
    url: str
    key: SecretStr
    #: "service_role" or "anon": the worker needs to know whether it may write the mirror.
    role: Literal["anon", "service_role"]


@dataclass(frozen=True)
class ConfigRow:
    """One line of `config show`, `doctor` and the Settings dialog; `display` never contains a secret."""

    key: str
    label: str
    display: str
    source: Source
    origin: str
    problem: str | None
    hint: str | None
    env: tuple[str, ...]
    secret: bool


@dataclass(frozen=True)
class EffectiveConfig:
    """Immutable snapshot. Build with `resolve_config()`; build a new one after changing anything."""

    paths: AppPaths
    settings: Settings
    settings_warnings: tuple[str, ...]
    supabase_url: Resolved[str]
    anon_key: Resolved[SecretStr]
    service_role_key: Resolved[SecretStr]
    control_api_url: Resolved[str]
    control_api_token: Resolved[SecretStr]
    project: Resolved[str]
    gateway_bin: Resolved[str]
    #: "supabase" or "local"; origin says why (a setting, or what "auto" found).
    store: Resolved[str]
    #: The current project first, then the configured ones.
    project_ids: tuple[str, ...]
    worker: WorkerSettings
    #: None when the keychain was not consulted (every secret came from the environment).
    keychain: KeychainStatus | None
    #: Environment variables that are set and read (names only).
    env_in_use: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The settings object is mutable; keep private copies so nobody can change the snapshot.
        object.__setattr__(self, "settings", self.settings.model_copy(deep=True))
        object.__setattr__(self, "worker", self.worker.model_copy(deep=True))

    @property
    def project_id(self) -> str:
        return self.project.value or DEFAULT_PROJECT_ID

    def resolved(self, key: str) -> Resolved[Any]:
        """The value for a `config` key ("supabase_url", "anon_key", ..., "store")."""
        if key != "store" and key not in KEYS_BY_NAME:
            raise KeyError(key)
        value: Resolved[Any] = getattr(self, key)
        return value

    def supabase_credentials(self, *, role: Literal["anon", "service_role"] = "anon") -> SupabaseCredentials:
        """URL and key for `role` ("anon", or "service_role" for the worker, which falls back to the anon
        key only when no service-role key is configured: the seed's anon-worker mode)."""
        missing: list[str] = []
        if not self.supabase_url.usable:
            missing.append(self._why(SUPABASE_URL, self.supabase_url))
        key = self.anon_key
        used_role: Literal["anon", "service_role"] = "anon"
        if role == "service_role" and (self.service_role_key.usable or not self.anon_key.usable):
            key, used_role = self.service_role_key, "service_role"
        if not key.usable:
            missing.append(self._why(SERVICE_ROLE_KEY if used_role == "service_role" else ANON_KEY, key))
        if missing:
            raise NotConfigured(" ".join(missing), self._hint(self.supabase_url, key))
        assert self.supabase_url.value is not None
        assert key.value is not None
        return SupabaseCredentials(self.supabase_url.value, key.value, used_role)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this process holds (keys, tokens), for redacting them from what jobs print."""
        values = (self.anon_key, self.service_role_key, self.control_api_token)
        return tuple(v.value.get_secret_value() for v in values if v.value is not None)

    def control_api_url_or_raise(self) -> str:
        if not self.control_api_url.usable:
            raise NotConfigured(
                self._why(CONTROL_API_URL, self.control_api_url), self._hint(self.control_api_url)
            )
        assert self.control_api_url.value is not None
        return self.control_api_url.value

    @staticmethod
    def _why(spec: ConfigKey, value: Resolved[Any]) -> str:
        if value.problem:
            return value.problem
        return f"{spec.label} is not set."

    @staticmethod
    def _hint(*values: Resolved[Any]) -> str | None:
        return next((value.hint for value in values if value.hint), None)

    def rows(self) -> list[ConfigRow]:
        """One row per value, in display order, secrets shown only as set / not set."""
        rows = []
        for spec in CONFIG_KEYS:
            value = self.resolved(spec.key)
            secret = spec.secret is not None
            rows.append(
                ConfigRow(
                    spec.key,
                    spec.label,
                    _display(value, secret=secret),
                    value.source,
                    value.origin,
                    value.problem,
                    value.hint,
                    spec.env,
                    secret,
                )
            )
        store = self.store
        rows.append(
            ConfigRow(
                "store",
                "Store",
                store.value or "",
                store.source,
                store.origin,
                store.problem,
                store.hint,
                (),
                False,
            )
        )
        return rows

    def as_json(self) -> dict[str, Any]:
        """Stable JSON for `cronmirror config show --json`: secrets appear only as set / not set."""
        return {
            "values": {
                row.key: {
                    "value": None if row.secret else self.resolved(row.key).value,
                    "set": self.resolved(row.key).value is not None,
                    "source": row.source.value,
                    "origin": row.origin,
                    "problem": row.problem,
                }
                for row in self.rows()
            },
            "project_ids": list(self.project_ids),
            "worker": self.worker.model_dump(mode="json"),
            "keychain": None
            if self.keychain is None
            else {
                "usable": self.keychain.usable,
                "backend": self.keychain.backend,
                "problem": self.keychain.message,
            },
            "settings_file": str(self.paths.settings_file),
            "settings_warnings": list(self.settings_warnings),
            "env_in_use": list(self.env_in_use),
        }


def _display(value: Resolved[Any], *, secret: bool) -> str:
    if value.value is None:
        return "unavailable" if value.problem and value.source is Source.UNSET else "not set"
    if secret:
        return "set"
    return str(value.value)


# -- resolving ------------------------------------------------------------------------------------


def resolve_config(
    *,
    env: Mapping[str, str] | None = None,
    paths: AppPaths | None = None,
    secrets: SecretStore | None = None,
    settings: SettingsLoad | None = None,
    probe_keychain: bool = False,
) -> EffectiveConfig:
    """Read environment, settings file and keychain into one `EffectiveConfig`. Never raises.

    The keychain is only asked for secrets the environment does not provide (so a fully env-configured
    worker never triggers a keychain prompt), and after its first failure not asked again. With
    `probe_keychain` (for `doctor` and Settings) its status is checked even when no secret is needed.
    """
    environ = os.environ if env is None else env
    paths = app_paths(environ) if paths is None else paths
    loaded = load_settings(paths.settings_file) if settings is None else settings
    store = SecretStore() if secrets is None else secrets
    current = loaded.settings
    settings_origin = str(loaded.path)
    env_in_use: list[str] = []

    def from_env(spec: ConfigKey) -> tuple[str, str, tuple[str, ...]] | None:
        present = [name for name in spec.env if environ.get(name, "").strip()]
        if not present:
            return None
        env_in_use.append(present[0])
        return present[0], environ[present[0]].strip(), tuple(present[1:])

    def plain(spec: ConfigKey, setting_value: str | None, default: str | None = None) -> Resolved[str]:
        found = from_env(spec)
        if found is not None:
            name, raw, shadowed = found
            return checked_value(spec, raw, Source.ENV, name, shadowed)
        if setting_value is not None:
            return checked_value(spec, setting_value, Source.SETTINGS, settings_origin, ())
        if default is not None:
            return Resolved(default, Source.DEFAULT, "default")
        return Resolved(None, Source.UNSET, "")

    keychain_failure: SecretStoreError | None = None
    keychain_failure_label = ""
    keychain_used = False

    def secret(spec: ConfigKey) -> Resolved[SecretStr]:
        nonlocal keychain_failure, keychain_failure_label, keychain_used
        assert spec.secret is not None
        found = from_env(spec)
        if found is not None:
            name, raw, shadowed = found
            return Resolved(SecretStr(raw), Source.ENV, name, shadowed=shadowed)
        if keychain_failure is None:
            keychain_used = True
            try:
                value = store.get(spec.secret)
            except SecretStoreError as exc:
                keychain_failure, keychain_failure_label = exc, spec.label
            else:
                if value is None:
                    return Resolved(None, Source.UNSET, "keychain")
                return Resolved(value, Source.KEYCHAIN, "keychain")
        assert keychain_failure is not None
        return Resolved(
            None,
            Source.UNSET,
            "keychain",
            # The keychain was asked once, about the first secret; say this secret's name, not that one's.
            problem=f"{spec.label} is unavailable: "
            + keychain_failure.message.replace(keychain_failure_label, spec.label),
            hint=f"{keychain_failure.hint} Or set {spec.env[0]}.",
        )

    supabase_url = plain(SUPABASE_URL, current.supabase_url)
    anon_key = secret(ANON_KEY)
    service_role_key = secret(SERVICE_ROLE_KEY)
    control_api_url = plain(CONTROL_API_URL, current.control_api_url)
    control_api_token = secret(CONTROL_API_TOKEN)
    first_configured = current.current_project or (current.project_ids[0] if current.project_ids else None)
    project = plain(PROJECT, first_configured, DEFAULT_PROJECT_ID)
    gateway_bin = plain(GATEWAY_BIN, current.worker.gateway_bin)

    keychain: KeychainStatus | None = None
    if keychain_failure is not None:
        keychain = KeychainStatus(False, store.backend_name, keychain_failure.message, keychain_failure.hint)
    elif probe_keychain:
        keychain = store.status()
    elif keychain_used:
        keychain = KeychainStatus(True, store.backend_name)

    project_ids: list[str] = []
    for candidate in (project.value, *current.project_ids):
        if candidate and candidate not in project_ids:
            project_ids.append(candidate)

    return EffectiveConfig(
        paths=paths,
        settings=current,
        settings_warnings=loaded.warnings,
        supabase_url=supabase_url,
        anon_key=anon_key,
        service_role_key=service_role_key,
        control_api_url=control_api_url,
        control_api_token=control_api_token,
        project=project,
        gateway_bin=gateway_bin,
        store=_store_kind(current, supabase_url, anon_key, settings_origin),
        project_ids=tuple(project_ids),
        worker=current.worker.model_copy(update={"gateway_bin": gateway_bin.value}),
        keychain=keychain,
        env_in_use=tuple(env_in_use),
    )


def checked_value(
    spec: ConfigKey, raw: str, source: Source, origin: str, shadowed: tuple[str, ...]
) -> Resolved[str]:
    if spec.key in URL_SUFFIXES:
        try:
            value = normalize_base_url(
                raw, what=f"{spec.label} (from {origin})", strip_suffixes=URL_SUFFIXES[spec.key]
            )
        except InvalidValue as exc:
            return Resolved(raw, source, origin, exc.message, exc.hint, shadowed)
        return Resolved(value, source, origin, shadowed=shadowed)
    return Resolved(raw.strip(), source, origin, shadowed=shadowed)


def _store_kind(
    settings: Settings, url: Resolved[str], anon_key: Resolved[SecretStr], settings_origin: str
) -> Resolved[str]:
    if settings.store == "local":
        return Resolved("local", Source.SETTINGS, settings_origin)
    if settings.store == "supabase":
        if url.usable and anon_key.usable:
            return Resolved("supabase", Source.SETTINGS, settings_origin)
        return Resolved(
            "supabase",
            Source.SETTINGS,
            settings_origin,
            problem="The Supabase store is selected but its URL or anon key is missing.",
            hint="Set both in Settings, or switch the store to local.",
        )
    if url.usable and anon_key.usable:
        return Resolved("supabase", Source.DEFAULT, "auto: Supabase URL and anon key are set")
    return Resolved("local", Source.DEFAULT, "auto: Supabase is not configured")


def env_names_set(env: Mapping[str, str] | None = None) -> list[str]:
    """Which of CronMirror's environment variables are set (names only): for `doctor`."""
    environ = os.environ if env is None else env
    return [name for name in ENV_NAMES if environ.get(name, "").strip()]


def describe_precedence() -> list[str]:
    """One line per value: which names win, highest first (for `config show --help` and docs)."""
    lines = []
    for spec in CONFIG_KEYS:
        stored = "keychain" if spec.secret else f"settings file ({spec.setting})"
        lines.append(f"{spec.key}: {' > '.join(spec.env)} > {stored}")
    return lines


__all__ = [
    "ANON_KEY",
    "CONFIG_KEYS",
    "CONTROL_API_TOKEN",
    "CONTROL_API_URL",
    "DEFAULT_PROJECT_ID",
    "ENV_NAMES",
    "GATEWAY_BIN",
    "KEYS_BY_NAME",
    "PLAIN_SETTING_KEYS",
    "PROJECT",
    "SECRET_ENV_NAMES",
    "SERVICE_ROLE_KEY",
    "SUPABASE_URL",
    "URL_SUFFIXES",
    "ConfigKey",
    "ConfigRow",
    "EffectiveConfig",
    "Resolved",
    "Source",
    "SupabaseCredentials",
    "checked_value",
    "describe_precedence",
    "env_names_set",
    "resolve_config",
]
