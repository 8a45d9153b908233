"""Every file location CronMirror uses, in one place.

Plain settings, runtime state, the embedded store, logs and caches all get their directory from here, so a
single switch moves all of them: `--dev-dir DIR` (or `CRONMIRROR_DEV_DIR`) puts everything under DIR, which is
what tests and side-by-side development installs need. `CRONMIRROR_CONFIG_DIR` moves only the settings
(e.g. to share one settings file between the app and a worker started by launchd).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "CronMirror"
APP_AUTHOR = "CronMirror"

ENV_DEV_DIR = "CRONMIRROR_DEV_DIR"
ENV_CONFIG_DIR = "CRONMIRROR_CONFIG_DIR"

SETTINGS_FILE_NAME = "settings.json"


def set_dev_dir(path: str | os.PathLike[str] | None) -> None:
    """Redirect every path of this process under `path` (the `--dev-dir` flag); None undoes it.

    It is stored as `CRONMIRROR_DEV_DIR` in the environment on purpose: a worker or CLI started from this
    process then uses the same files.
    """
    if path is None:
        os.environ.pop(ENV_DEV_DIR, None)
    else:
        os.environ[ENV_DEV_DIR] = str(Path(path).expanduser().resolve())


@dataclass(frozen=True)
class AppPaths:
    """Directories and well-known files. Nothing is created until `ensure()` or a writer needs it."""

    config_dir: Path
    data_dir: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path
    #: Where the locations came from: "platform", "dev-dir" or "CRONMIRROR_CONFIG_DIR" (for `doctor`).
    origin: str = "platform"

    @property
    def settings_file(self) -> Path:
        """User choices (no secrets): see `core.settings`."""
        return self.config_dir / SETTINGS_FILE_NAME

    @property
    def local_store_file(self) -> Path:
        """The embedded SQLite store (the default when Supabase is not configured)."""
        return self.data_dir / "cronmirror.sqlite3"

    @property
    def state_file(self) -> Path:
        """Runtime state (cursors, last-seen ids, window geometry): not user choices, never versioned."""
        return self.state_dir / "state.json"

    def ensure(self) -> AppPaths:
        for directory in (self.config_dir, self.data_dir, self.state_dir, self.log_dir, self.cache_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(env: Mapping[str, str] | None = None) -> AppPaths:
    """The paths for this process: dev dir > `CRONMIRROR_CONFIG_DIR` (settings only) > platform dirs."""
    environ = os.environ if env is None else env
    if environ.get(ENV_DEV_DIR, "").strip():
        dev = Path(environ[ENV_DEV_DIR].strip()).expanduser()
        return AppPaths(
            config_dir=dev / "config",
            data_dir=dev / "data",
            state_dir=dev / "state",
            log_dir=dev / "log",
            cache_dir=dev / "cache",
            origin="dev-dir",
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, APP_AUTHOR)
    config_dir = Path(dirs.user_config_dir)
    origin = "platform"
    if environ.get(ENV_CONFIG_DIR, "").strip():
        config_dir = Path(environ[ENV_CONFIG_DIR].strip()).expanduser()
        origin = ENV_CONFIG_DIR
    return AppPaths(
        config_dir=config_dir,
        data_dir=Path(dirs.user_data_dir),
        state_dir=Path(dirs.user_state_dir),
        log_dir=Path(dirs.user_log_dir),
        cache_dir=Path(dirs.user_cache_dir),
        origin=origin,
    )
