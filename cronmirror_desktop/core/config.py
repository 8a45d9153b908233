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

`set_value()` / `unset_value()` / `import_dotenv()` are the write side, shared by `cronmirror config set`,
the Settings dialog and the `.env` import: secrets go to the keychain, plain values to the settings file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import SecretStr, ValidationError

from cronmirror_desktop.core.dotenv import parse_dotenv
from cronmirror_desktop.core.errors import CronMirrorError, InvalidValue, NotConfigured, SecretStoreError
from cronmirror_desktop.core.paths import AppPaths, app_paths
from cronmirror_desktop.core.secrets import KeychainStatus, SecretName, SecretStore
from cronmirror_desktop.core.settings import (
    Settings,
    SettingsLoad,
    WorkerSettings,
    load_settings,
    save_settings,
)
from cronmirror_desktop.core.urls import normalize_base_url

#: ClawdOS's default project (its Control API and worker use it when none is given).
DEFAULT_PROJECT_ID = "front-office"

T = TypeVar("T")


class Source(StrEnum):
    ENV = "env"
    KEYCHAIN = "keychain"
    SETTINGS = "settings"
    DEFAULT = "default"
    UNSET = "unset"


@dataclass(frozen=True)
class ConfigKey:
    """One configurable value: its `config set` name, label, environment names (highest precedence
    first), and where it is stored (a keychain entry or a dotted settings path)."""

    key: str
    label: str
    env: tuple[str, ...]
    secret: SecretName | None = None
    setting: str | None = None


SUPABASE_URL = ConfigKey(
    "supabase_url", "Supabase URL", ("SUPABASE_URL", "VITE_SUPABASE_URL"), setting="supabase_url"
)
ANON_KEY = ConfigKey(
    "anon_key",
    "Supabase anon key",
    ("SUPABASE_ANON_KEY", "VITE_SUPABASE_PUBLISHABLE_KEY", "VITE_SUPABASE_ANON_KEY"),
    secret=SecretName.ANON_KEY,
)
SERVICE_ROLE_KEY = ConfigKey(
    "service_role_key",
    "Supabase service-role key",
    ("SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SERVICE_KEY"),
    secret=SecretName.SERVICE_ROLE_KEY,
)
CONTROL_API_URL = ConfigKey(
    "control_api_url",
    "Control API URL",
    ("CONTROL_API_BASE_URL", "VITE_API_BASE_URL"),
    setting="control_api_url",
)
CONTROL_API_TOKEN = ConfigKey(
    "control_api_token",
    "Control API token",
    ("CONTROL_API_TOKEN", "CONTROL_API_KEY"),
    secret=SecretName.CONTROL_API_TOKEN,
)
PROJECT = ConfigKey(
    "project", "Project", ("CRONMIRROR_PROJECT_ID", "CLAWDOS_PROJECT_ID"), setting="current_project"
)
GATEWAY_BIN = ConfigKey(
    "gateway_bin", "Gateway CLI", ("CRONMIRROR_GATEWAY_BIN", "EXECUTOR_BIN"), setting="worker.gateway_bin"
)

#: The values with an environment override, in display order.
CONFIG_KEYS: tuple[ConfigKey, ...] = (
    SUPABASE_URL,
    ANON_KEY,
    SERVICE_ROLE_KEY,
    CONTROL_API_URL,
    CONTROL_API_TOKEN,
    PROJECT,
    GATEWAY_BIN,
)

#: Every environment variable this module reads (tests clear them; `doctor` lists those that are set).
ENV_NAMES: tuple[str, ...] = tuple(name for spec in CONFIG_KEYS for name in spec.env)

#: The environment variables that hold our secrets, under every name we accept (never handed to a job).
SECRET_ENV_NAMES: frozenset[str] = frozenset(
    name for spec in CONFIG_KEYS if spec.secret is not None for name in spec.env
)

#: Plain settings `set_value` accepts besides the keys above (dotted paths into `Settings`).
PLAIN_SETTING_KEYS: tuple[str, ...] = (
    "projects",
    "store",
    "worker.sync_interval_s",
    "worker.concurrency",
    "worker.job_timeout_s",
    "worker.grace_period_s",
    "worker.jobs_file",
    "worker.host",
    "worker.sources.<name>",
)

_URL_SUFFIXES = {"supabase_url": ("/rest/v1", "/auth/v1", "/realtime/v1"), "control_api_url": ("/api",)}


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
        if key != "store" and key not in _SPECS:
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
            return _checked(spec, raw, Source.ENV, name, shadowed)
        if setting_value is not None:
            return _checked(spec, setting_value, Source.SETTINGS, settings_origin, ())
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


def _checked(
    spec: ConfigKey, raw: str, source: Source, origin: str, shadowed: tuple[str, ...]
) -> Resolved[str]:
    if spec.key in _URL_SUFFIXES:
        try:
            value = normalize_base_url(
                raw, what=f"{spec.label} (from {origin})", strip_suffixes=_URL_SUFFIXES[spec.key]
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


# -- writing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetResult:
    """What `set_value`/`unset_value` did: where the value went, and what still overrides it."""

    key: str
    stored_in: Source
    #: Environment variables that are set and take precedence over what was just stored.
    overridden_by: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


_SPECS = {spec.key: spec for spec in CONFIG_KEYS}


def set_value(
    key: str,
    value: str,
    *,
    paths: AppPaths | None = None,
    secrets: SecretStore | None = None,
    env: Mapping[str, str] | None = None,
) -> SetResult:
    """Store one value given as text (what `cronmirror config set KEY VALUE` and the Settings dialog do).

    Secrets go to the keychain and nowhere else; URLs are normalised and checked first; numbers out of
    range are clamped with a warning. Raises `InvalidValue` for an unknown key or a bad value, and
    `SecretStoreError` when the keychain can't take a secret.
    """
    environ = os.environ if env is None else env
    spec = _SPECS.get(key)
    if spec is not None and spec.secret is not None:
        (SecretStore() if secrets is None else secrets).set(spec.secret, value)
        return SetResult(key, Source.KEYCHAIN, _overriding(spec, environ))
    paths = app_paths(environ) if paths is None else paths
    loaded = load_settings(paths.settings_file)
    data = loaded.settings.model_dump(mode="json")
    text = value.strip()
    if spec is not None and spec.key in _URL_SUFFIXES:
        text = normalize_base_url(text, what=spec.label, strip_suffixes=_URL_SUFFIXES[spec.key])
    if key == "project":
        if not text:
            raise InvalidValue("The project id is empty.")
        data["current_project"] = text
        if text not in data["project_ids"]:
            data["project_ids"].append(text)
    elif key == "projects":
        data["project_ids"] = [item.strip() for item in text.split(",") if item.strip()]
    else:
        path = spec.setting if spec is not None and spec.setting else key
        _assign(data, path, text)
    settings, warnings = _validated(data, key)
    save_settings(settings, paths.settings_file)
    return SetResult(key, Source.SETTINGS, _overriding(spec, environ) if spec else (), tuple(warnings))


def unset_value(
    key: str,
    *,
    paths: AppPaths | None = None,
    secrets: SecretStore | None = None,
    env: Mapping[str, str] | None = None,
) -> SetResult:
    """Remove a stored value (keychain entry or setting, back to its default)."""
    environ = os.environ if env is None else env
    spec = _SPECS.get(key)
    if spec is not None and spec.secret is not None:
        (SecretStore() if secrets is None else secrets).delete(spec.secret)
        return SetResult(key, Source.KEYCHAIN, _overriding(spec, environ))
    paths = app_paths(environ) if paths is None else paths
    loaded = load_settings(paths.settings_file)
    data = loaded.settings.model_dump(mode="json")
    defaults = Settings().model_dump(mode="json")
    if key == "project":
        data["current_project"] = None
    elif key == "projects":
        data["project_ids"] = []
    else:
        path = spec.setting if spec is not None and spec.setting else key
        _assign(data, path, _lookup(defaults, path), remove_if_missing=True)
    settings, warnings = _validated(data, key)
    save_settings(settings, paths.settings_file)
    return SetResult(key, Source.SETTINGS, _overriding(spec, environ) if spec else (), tuple(warnings))


def _overriding(spec: ConfigKey | None, environ: Mapping[str, str]) -> tuple[str, ...]:
    if spec is None:
        return ()
    return tuple(name for name in spec.env if environ.get(name, "").strip())


_MISSING = object()


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


_WORKER_PLAIN = (
    "sync_interval_s",
    "concurrency",
    "job_timeout_s",
    "grace_period_s",
    "jobs_file",
    "gateway_bin",
    "host",
)
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _check_plain_key(dotted: str) -> None:
    parts = dotted.split(".")
    ok = (
        dotted in {"supabase_url", "control_api_url", "store"}
        or (len(parts) == 2 and parts[0] == "worker" and parts[1] in _WORKER_PLAIN)
        or (len(parts) == 3 and parts[:2] == ["worker", "sources"] and bool(_SOURCE_NAME.fullmatch(parts[2])))
    )
    if not ok:
        raise InvalidValue(
            f"Unknown setting {dotted!r}.",
            "Known: " + ", ".join([spec.key for spec in CONFIG_KEYS] + list(PLAIN_SETTING_KEYS)),
        )


def _assign(data: dict[str, Any], dotted: str, value: Any, *, remove_if_missing: bool = False) -> None:
    _check_plain_key(dotted)
    parts = dotted.split(".")
    container = data
    for part in parts[:-1]:
        container = container.setdefault(part, {})
    if value is _MISSING and remove_if_missing:
        container.pop(parts[-1], None)
    elif value == "" and parts[-1] in {"gateway_bin", "jobs_file", "host"}:
        container[parts[-1]] = None
    else:
        container[parts[-1]] = value


def _validated(data: dict[str, Any], key: str) -> tuple[Settings, list[str]]:
    context: dict[str, Any] = {"warnings": []}
    try:
        settings = Settings.model_validate(data, context=context)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise InvalidValue(f"Invalid value for {key}: {first['msg']}.") from None
    return settings, list(context["warnings"])


# -- .env import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DotenvImport:
    """What an import did. Holds names only for secrets; plain values (URLs, ids) may be shown."""

    source: str
    settings_set: tuple[tuple[str, str], ...] = ()
    secrets_stored: tuple[str, ...] = ()
    #: Recognised names that lost to a higher-precedence name in the same file.
    shadowed: tuple[str, ...] = ()
    #: Names in the file CronMirror does not use.
    ignored: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    used_names: Mapping[str, str] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """Lines for the CLI and the import dialog; never a secret value."""
        lines = [f"Imported from {self.source}:"]
        lines += [
            f"  {key} = {value}  (settings, from {self.used_names.get(key, key)})"
            for key, value in self.settings_set
        ]
        lines += [
            f"  {key}: stored in the keychain (from {self.used_names.get(key, key)})"
            for key in self.secrets_stored
        ]
        if not self.settings_set and not self.secrets_stored:
            lines.append("  nothing")
        if self.shadowed:
            lines.append("Not used (a higher-precedence name is in the file): " + ", ".join(self.shadowed))
        if self.ignored:
            lines.append("Not CronMirror settings (ignored): " + ", ".join(self.ignored))
        lines += [f"Note: {note}" for note in self.notes]
        lines += [f"Problem: {problem}" for problem in self.problems]
        return lines


def import_dotenv(
    source: Path | str,
    *,
    text: str | None = None,
    paths: AppPaths | None = None,
    secrets: SecretStore | None = None,
) -> DotenvImport:
    """Import the values CronMirror knows from a `.env` file: secrets into the keychain, plain values into
    the settings file (saved once, atomically). A secret the keychain won't take is reported, and stored
    nowhere else. `text` overrides reading `source` (which then only names it)."""
    paths = app_paths() if paths is None else paths
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CronMirrorError(
                f"Could not read {source}: {getattr(exc, 'strerror', None) or type(exc).__name__}."
            ) from None
    parsed = parse_dotenv(text)
    problems = list(parsed.problems)
    notes: list[str] = []
    known = {name for spec in CONFIG_KEYS for name in spec.env}
    ignored = tuple(name for name in parsed.values if name not in known)
    shadowed: list[str] = []
    chosen: dict[str, tuple[str, str]] = {}
    for spec in CONFIG_KEYS:
        present = [name for name in spec.env if parsed.values.get(name, "").strip()]
        if present:
            chosen[spec.key] = (present[0], parsed.values[present[0]].strip())
            shadowed += present[1:]

    store = SecretStore() if secrets is None else secrets
    stored: list[str] = []
    for spec in CONFIG_KEYS:
        if spec.secret is None or spec.key not in chosen:
            continue
        try:
            store.set(spec.secret, chosen[spec.key][1])
        except (SecretStoreError, InvalidValue) as exc:
            problems.append(
                f"{spec.key} (from {chosen[spec.key][0]}) was not stored: {exc.message} {exc.hint}".strip()
            )
            continue
        stored.append(spec.key)
        if spec is SERVICE_ROLE_KEY:
            notes.append(
                "the service-role key can rewrite the mirror: keep it only on the Mac mini's keychain."
            )

    loaded = load_settings(paths.settings_file)
    data = loaded.settings.model_dump(mode="json")
    settings_set: list[tuple[str, str]] = []
    for spec in CONFIG_KEYS:
        if spec.secret is not None or spec.key not in chosen:
            continue
        name, raw = chosen[spec.key]
        checked = _checked(spec, raw, Source.ENV, name, ())
        if checked.problem:
            problems.append(checked.problem)
            continue
        assert checked.value is not None
        if spec is PROJECT:
            data["current_project"] = checked.value
            if checked.value not in data["project_ids"]:
                data["project_ids"].append(checked.value)
        else:
            assert spec.setting is not None
            _assign(data, spec.setting, checked.value)
        settings_set.append((spec.key, checked.value))
    if settings_set:
        settings, _ = _validated(data, "the imported values")
        save_settings(settings, paths.settings_file)
    return DotenvImport(
        source=str(source),
        settings_set=tuple(settings_set),
        secrets_stored=tuple(stored),
        shadowed=tuple(shadowed),
        ignored=ignored,
        problems=tuple(problems),
        notes=tuple(notes),
        used_names={key: name for key, (name, _) in chosen.items()},
    )


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
