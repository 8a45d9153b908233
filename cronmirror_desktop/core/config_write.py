"""The write side of the configuration: store one value where it belongs (`cronmirror config set`, the
Settings dialog). Secrets go to the keychain and nowhere else; plain values to the settings file, which is
validated as a whole and saved atomically. What is read back is `config.resolve_config()`'s business."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cronmirror_desktop.core.config import (
    CONFIG_KEYS,
    KEYS_BY_NAME,
    PLAIN_SETTING_KEYS,
    URL_SUFFIXES,
    ConfigKey,
    Source,
)
from cronmirror_desktop.core.errors import InvalidValue
from cronmirror_desktop.core.paths import AppPaths, app_paths
from cronmirror_desktop.core.secrets import SecretStore
from cronmirror_desktop.core.settings import Settings, load_settings, save_settings
from cronmirror_desktop.core.urls import normalize_base_url


@dataclass(frozen=True)
class SetResult:
    """What `set_value`/`unset_value` did: where the value went, and what still overrides it."""

    key: str
    stored_in: Source
    #: Environment variables that are set and take precedence over what was just stored.
    overridden_by: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


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
    spec = KEYS_BY_NAME.get(key)
    if spec is not None and spec.secret is not None:
        (SecretStore() if secrets is None else secrets).set(spec.secret, value)
        return SetResult(key, Source.KEYCHAIN, _overriding(spec, environ))
    paths = app_paths(environ) if paths is None else paths
    loaded = load_settings(paths.settings_file)
    data = loaded.settings.model_dump(mode="json")
    text = value.strip()
    if spec is not None and spec.key in URL_SUFFIXES:
        text = normalize_base_url(text, what=spec.label, strip_suffixes=URL_SUFFIXES[spec.key])
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
        assign_setting(data, path, text)
    settings, warnings = validated_settings(data, key)
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
    spec = KEYS_BY_NAME.get(key)
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
        assign_setting(data, path, _lookup(defaults, path), remove_if_missing=True)
    settings, warnings = validated_settings(data, key)
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


#: The worker's plain settings (from the one list `config` shows), and the gateway CLI's path.
_WORKER_PLAIN = (
    *(key.split(".", 1)[1] for key in PLAIN_SETTING_KEYS if key.startswith("worker.") and "<" not in key),
    "gateway_bin",
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


def assign_setting(data: dict[str, Any], dotted: str, value: Any, *, remove_if_missing: bool = False) -> None:
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


def validated_settings(data: dict[str, Any], key: str) -> tuple[Settings, list[str]]:
    context: dict[str, Any] = {"warnings": []}
    try:
        settings = Settings.model_validate(data, context=context)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise InvalidValue(f"Invalid value for {key}: {first['msg']}.") from None
    return settings, list(context["warnings"])
