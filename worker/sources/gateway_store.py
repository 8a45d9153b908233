"""The gateway's own job store, read **read-only** when the gateway is down (clawdbot-cron.md §2, §6).

The gateway caches `jobs.json` in memory and rewrites it from memory, so a write from us would be lost or
would clobber its state: this module only ever opens files for reading (SQLite with `mode=ro`).
State dir: `OPENCLAW_STATE_DIR` → `MOLTBOT_STATE_DIR` → `CLAWDBOT_STATE_DIR` → the first existing of
`~/.openclaw`, `~/.moltbot`, `~/.clawdbot` (symlinks followed: OpenClaw leaves `~/.clawdbot → ~/.openclaw`).
Store: the config's `cron.store` if set (plain-JSON configs only), else `<state dir>/cron/jobs.json`;
OpenClaw ≥ 2026.6.1 keeps jobs in `<state dir>/state/openclaw.sqlite` (`cron_jobs`), read as a last resort.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_DIR_ENV = ("OPENCLAW_STATE_DIR", "MOLTBOT_STATE_DIR", "CLAWDBOT_STATE_DIR")
CONFIG_PATH_ENV = ("OPENCLAW_CONFIG_PATH", "MOLTBOT_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH")
STATE_DIR_NAMES = (".openclaw", ".moltbot", ".clawdbot")
CONFIG_NAMES = ("openclaw.json", "moltbot.json", "clawdbot.json")


@dataclass(frozen=True)
class StoreLocation:
    state_dir: Path | None
    jobs_json: Path | None
    sqlite: Path | None
    notes: tuple[str, ...] = ()


def resolve_state_dir(env: Mapping[str, str], home: Path) -> Path | None:
    for key in STATE_DIR_ENV:
        value = env.get(key, "").strip()
        if value:
            return Path(value).expanduser().resolve()
    for name in STATE_DIR_NAMES:
        candidate = home / name
        if candidate.is_dir():
            return candidate.resolve()
    return None


def locate_store(env: Mapping[str, str], home: Path) -> StoreLocation:
    state_dir = resolve_state_dir(env, home)
    if state_dir is None:
        return StoreLocation(None, None, None, ("no ~/.openclaw, ~/.moltbot or ~/.clawdbot state directory",))
    notes: list[str] = []
    jobs_json = state_dir / "cron" / "jobs.json"
    override = _configured_store(env, state_dir, notes)
    if override is not None:
        jobs_json = override
    sqlite = state_dir / "state" / "openclaw.sqlite"
    return StoreLocation(state_dir, jobs_json, sqlite if sqlite.is_file() else None, tuple(notes))


def _configured_store(env: Mapping[str, str], state_dir: Path, notes: list[str]) -> Path | None:
    config = next((Path(env[k]).expanduser() for k in CONFIG_PATH_ENV if env.get(k, "").strip()), None)
    if config is None:
        config = next((state_dir / n for n in CONFIG_NAMES if (state_dir / n).is_file()), None)
    if config is None or not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notes.append(f"{config.name} is not plain JSON (JSON5?); its cron.store setting was not read")
        return None
    cron = data.get("cron") if isinstance(data, dict) else None
    store = cron.get("store") if isinstance(cron, dict) else None
    if not isinstance(store, str) or not store.strip():
        return None
    path = Path(store.strip()).expanduser()
    return path if path.is_absolute() else state_dir / path


@dataclass(frozen=True)
class StoreRead:
    jobs: list[Any]
    origin: str
    problem: str | None = None


def read_store(location: StoreLocation) -> StoreRead:
    """The raw job objects from jobs.json (or the SQLite store), read-only; `problem` says what went wrong."""
    if location.jobs_json is not None and location.jobs_json.is_file():
        path = location.jobs_json
        try:
            with path.open("rb") as handle:  # read-only on purpose: never write the gateway's store
                data = json.loads(handle.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            return StoreRead([], str(path), f"{path} is unreadable: {exc}")
        jobs = data.get("jobs") if isinstance(data, dict) else data
        if not isinstance(jobs, list):
            return StoreRead([], str(path), f"{path} has no job list")
        return StoreRead(jobs, str(path))
    if location.sqlite is not None:
        return _read_sqlite(location.sqlite)
    where = location.jobs_json or "the gateway's state directory"
    return StoreRead([], str(where), f"no job store at {where}")


def _read_sqlite(path: Path) -> StoreRead:
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error as exc:
        return StoreRead([], str(path), f"{path} is unreadable: {exc}")
    try:
        rows = connection.execute("SELECT job_json, state_json FROM cron_jobs").fetchall()
    except sqlite3.Error as exc:
        return StoreRead([], str(path), f"{path} has no readable cron_jobs table: {exc}")
    finally:
        connection.close()
    jobs: list[Any] = []
    for job_json, state_json in rows:
        try:
            job = json.loads(job_json)
            if state_json and isinstance(job, dict):
                job["state"] = json.loads(state_json)
        except (TypeError, ValueError):
            continue
        jobs.append(job)
    return StoreRead(jobs, str(path))
