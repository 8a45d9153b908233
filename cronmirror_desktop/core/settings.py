"""Plain settings: the user's choices, in one versioned JSON file under the config dir.

No secrets here (they live in the keychain, see `core.secrets`), and no runtime state (cursors, window
geometry: `AppPaths.state_file`). Loading never fails: a missing file gives the defaults, a corrupt one
gives the defaults plus a warning (and is kept aside as `settings.json.corrupt`), a bad value falls back to
its default with a warning naming it, and keys this version does not know are kept and written back, so an
older and a newer CronMirror can share one file. Saving is atomic (temp file, fsync, rename).

Bump `SETTINGS_VERSION` when a key changes meaning or moves, and add the step to `_MIGRATIONS`; adding a
key with a default needs no bump.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.paths import app_paths

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1

SYNC_INTERVAL_MIN_S = 30
SYNC_INTERVAL_MAX_S = 60
CONCURRENCY_MAX = 16
JOB_TIMEOUT_MIN_S = 10
JOB_TIMEOUT_MAX_S = 24 * 3600
GRACE_PERIOD_MAX_S = 600

#: Job sources the worker knows; the dict in the file may name more (a newer worker's) and keeps them.
DEFAULT_SOURCES: dict[str, bool] = {"gateway": True, "crontab": True, "launchd": True, "jobs": True}

#: Keys that must never be in the plain file; found ones are dropped with a warning.
_SECRET_KEYS = frozenset(
    {"anon_key", "supabase_anon_key", "service_role_key", "supabase_service_role_key", "control_api_token"}
)


def _clamp(value: int, low: int, high: int, name: str, info: ValidationInfo) -> int:
    clamped = min(max(value, low), high)
    if clamped != value and isinstance(info.context, dict):
        info.context.setdefault("warnings", []).append(
            f"{name} = {value} is outside {low}–{high}; using {clamped}."
        )
    return clamped


class WorkerSettings(BaseModel):
    """What the worker on the Mac mini does; the app edits these when it hosts the worker."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    #: Seconds between two mirror syncs; kept within 30–60 s (faster hammers the gateway, slower feels stale).
    sync_interval_s: int = 30
    #: Requests executed at the same time.
    concurrency: int = Field(default=1)
    #: A job still running after this many seconds is stopped and its request ends in `error`.
    job_timeout_s: int = 15 * 60
    #: Seconds a stopped job gets between SIGTERM and SIGKILL.
    grace_period_s: int = 10
    #: Which job sources are mirrored (gateway = ClawdBot/OpenClaw cron, jobs = our jobs.toml).
    sources: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULT_SOURCES))
    #: The gateway CLI (`openclaw`, `clawdbot`); None = look on PATH, newest name first.
    gateway_bin: str | None = None
    #: Our own jobs file for plain command jobs; None = the default under the config dir.
    jobs_file: str | None = None
    #: This machine's name in the mirror (its rows' `host`); None = the host name up to the first dot.
    #: Pin it when the host name changes (a Mac renamed on another network), or the worker would leave
    #: its old rows to a host that no longer exists.
    host: str | None = None
    #: The programs a job *added from a request* may run (its command's first word, exactly as written):
    #: anyone holding the project's public key can queue an Add job, so this worker adds none unless its
    #: owner names the programs here. Never an interpreter or a shell (`sh`, `python`): with one of those
    #: a request could run anything.
    new_job_programs: list[str] = Field(default_factory=list)

    @field_validator("new_job_programs", mode="before")
    @classmethod
    def _program_list(cls, value: object) -> object:
        if isinstance(value, str):  # `config set worker.new_job_programs "restic, /usr/local/bin/backup"`
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("sync_interval_s")
    @classmethod
    def _sync_interval(cls, value: int, info: ValidationInfo) -> int:
        return _clamp(value, SYNC_INTERVAL_MIN_S, SYNC_INTERVAL_MAX_S, "worker.sync_interval_s", info)

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, value: int, info: ValidationInfo) -> int:
        return _clamp(value, 1, CONCURRENCY_MAX, "worker.concurrency", info)

    @field_validator("job_timeout_s")
    @classmethod
    def _job_timeout(cls, value: int, info: ValidationInfo) -> int:
        return _clamp(value, JOB_TIMEOUT_MIN_S, JOB_TIMEOUT_MAX_S, "worker.job_timeout_s", info)

    @field_validator("grace_period_s")
    @classmethod
    def _grace(cls, value: int, info: ValidationInfo) -> int:
        return _clamp(value, 0, GRACE_PERIOD_MAX_S, "worker.grace_period_s", info)

    @field_validator("gateway_bin", "jobs_file", "host")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("host")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 255 or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)):
            raise ValueError("a host name has at most 255 characters and no control characters")
        return value

    def source_enabled(self, name: str) -> bool:
        return self.sources.get(name, DEFAULT_SOURCES.get(name, False))


class Settings(BaseModel):
    """Everything a user chooses that is not a secret. Environment variables override some of these at
    run time (see `core.config`); this model is only what the file says."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    version: int = SETTINGS_VERSION
    #: `https://<ref>.supabase.co`; None = not configured (the embedded local store is used).
    supabase_url: str | None = None
    #: Projects the user works with, besides those the `cron_projects` view lists.
    project_ids: list[str] = Field(default_factory=list)
    #: The project shown and used by default.
    current_project: str | None = None
    #: The Mac mini's Control API, e.g. `http://mac-mini.local:3737`; None = direct mode off.
    control_api_url: str | None = None
    #: auto = Supabase when its URL and anon key are configured, else the embedded local store.
    store: Literal["auto", "local", "supabase"] = "auto"
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    #: Free-form preferences of the desktop UI (columns, filters, theme); core never interprets them.
    ui: dict[str, Any] = Field(default_factory=dict)

    @field_validator("supabase_url", "control_api_url", "current_project")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("project_ids")
    @classmethod
    def _unique_ids(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for item in value:
            item = item.strip()
            if item and item not in seen:
                seen.append(item)
        return seen


@dataclass(frozen=True)
class SettingsLoad:
    """The loaded settings, what was wrong with the file (one sentence each), and where it was."""

    settings: Settings
    warnings: tuple[str, ...]
    path: Path
    existed: bool


#: version N → function turning a version-N dict into a version-N+1 dict.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def default_settings_path() -> Path:
    return app_paths().settings_file


def load_settings(path: Path | None = None) -> SettingsLoad:
    """Read the settings file tolerantly. Never raises for anything in or about the file."""
    path = default_settings_path() if path is None else path
    warnings: list[str] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SettingsLoad(Settings(), (), path, existed=False)
    except OSError as exc:
        warnings.append(f"Could not read {path} ({exc.strerror or type(exc).__name__}); using defaults.")
        return _finish(Settings(), warnings, path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        kept = _keep_corrupt(path, raw)
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        warnings.append(
            f"{path} is not valid JSON{where}; using defaults. The broken file was kept as {kept}."
        )
        return _finish(Settings(), warnings, path)
    if not isinstance(data, dict):
        kept = _keep_corrupt(path, raw)
        warnings.append(f"{path} does not hold a JSON object; using defaults. It was kept as {kept}.")
        return _finish(Settings(), warnings, path)
    data = _migrate(data, warnings)
    for key in sorted(_SECRET_KEYS & data.keys()):
        data.pop(key)
        warnings.append(
            f"{path} contained {key!r}: secrets belong in the keychain, so it was ignored and will be "
            "removed on the next save. Store it with `cronmirror config set`."
        )
    return _finish(_validate_tolerantly(data, warnings), warnings, path)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path = default_settings_path() if path is None else path
    text = json.dumps(settings.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise CronMirrorError(
            f"Could not save the settings to {path}: {exc.strerror or type(exc).__name__}.",
            "Check that the folder exists and is writable (or choose another with --dev-dir).",
        ) from None
    log.debug("settings saved to %s", path)
    return path


def _finish(settings: Settings, warnings: list[str], path: Path) -> SettingsLoad:
    for warning in warnings:
        log.warning("settings: %s", warning)
    return SettingsLoad(settings, tuple(warnings), path, existed=True)


def _keep_corrupt(path: Path, raw: bytes) -> Path:
    """Copy a broken file aside (the next save would overwrite it), so nothing the user wrote is lost."""
    target = path.with_name(path.name + ".corrupt")
    try:
        target.write_bytes(raw)
    except OSError:
        log.debug("could not keep the corrupt settings file at %s", target)
    return target


def _migrate(data: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        warnings.append(f"version = {version!r} is not a version number; reading the file as version 1.")
        version = 1
    while version < SETTINGS_VERSION:
        data = _MIGRATIONS[version](data)
        version += 1
    if version > SETTINGS_VERSION:
        warnings.append(
            f"The settings file was written by a newer CronMirror (version {version}); "
            "settings this version does not know are kept unchanged."
        )
    data["version"] = version
    return data


def _validate_tolerantly(data: dict[str, Any], warnings: list[str]) -> Settings:
    """Validate; each invalid value is removed (→ its default) with a warning, and validation retried."""
    for _ in range(50):
        context: dict[str, Any] = {"warnings": []}
        try:
            settings = Settings.model_validate(data, context=context)
        except ValidationError as exc:
            removed = False
            for error in exc.errors(include_url=False, include_input=False):
                loc = tuple(error["loc"])
                if loc and _remove_at(data, loc):
                    removed = True
                    warnings.append(f"{'.'.join(map(str, loc))}: {error['msg']}; using the default.")
            if not removed:
                warnings.append(
                    f"The settings could not be read ({exc.error_count()} problems); using defaults."
                )
                return Settings()
            continue
        warnings.extend(context["warnings"])
        return settings
    warnings.append("The settings have too many invalid values; using defaults.")
    return Settings()


def _remove_at(data: Any, loc: tuple[Any, ...]) -> bool:
    """Delete the value at `loc` (dict keys / list indexes); False when the path does not exist."""
    container = data
    for step in loc[:-1]:
        try:
            container = container[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = loc[-1]
    if isinstance(container, dict) and last in container:
        del container[last]
        return True
    if isinstance(container, list) and isinstance(last, int) and 0 <= last < len(container):
        del container[last]
        return True
    return False
