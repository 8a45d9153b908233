"""Paths and the plain settings file: tolerant load, clamps, unknown keys kept, atomic save."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.paths import ENV_CONFIG_DIR, ENV_DEV_DIR, app_paths, set_dev_dir
from cronmirror_desktop.core.settings import (
    SETTINGS_VERSION,
    Settings,
    WorkerSettings,
    load_settings,
    save_settings,
)

# -- paths ----------------------------------------------------------------------------------------


def test_dev_dir_moves_every_path(tmp_path: Path) -> None:
    paths = app_paths({ENV_DEV_DIR: str(tmp_path)})
    assert paths.origin == "dev-dir"
    for directory in (paths.config_dir, paths.data_dir, paths.state_dir, paths.log_dir, paths.cache_dir):
        assert directory.is_relative_to(tmp_path)
    assert paths.settings_file == tmp_path / "config" / "settings.json"
    assert not paths.config_dir.exists()  # nothing is created by asking
    paths.ensure()
    assert paths.config_dir.is_dir()
    assert paths.local_store_file.parent.is_dir()


def test_config_dir_override_moves_only_the_settings(tmp_path: Path) -> None:
    paths = app_paths({ENV_CONFIG_DIR: str(tmp_path)})
    assert paths.origin == ENV_CONFIG_DIR
    assert paths.settings_file == tmp_path / "settings.json"
    assert not paths.data_dir.is_relative_to(tmp_path)


def test_platform_dirs_without_overrides() -> None:
    paths = app_paths({})
    assert paths.origin == "platform"
    assert "CronMirror" in str(paths.config_dir)
    assert "CronMirror" in str(paths.data_dir)


def test_set_dev_dir_is_inherited_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_DEV_DIR)
    set_dev_dir(tmp_path / "dev")
    try:
        assert os.environ[ENV_DEV_DIR] == str((tmp_path / "dev").resolve())
        assert app_paths().config_dir == (tmp_path / "dev").resolve() / "config"
    finally:
        set_dev_dir(None)
    assert ENV_DEV_DIR not in os.environ


def test_the_test_session_never_uses_the_real_config_dir() -> None:
    assert app_paths().origin == "dev-dir"


# -- load -----------------------------------------------------------------------------------------


def test_missing_file_gives_defaults_without_warnings(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path / "settings.json")
    assert loaded.existed is False
    assert loaded.warnings == ()
    assert loaded.settings == Settings()
    worker = loaded.settings.worker
    assert (worker.sync_interval_s, worker.concurrency, worker.job_timeout_s) == (30, 1, 900)
    assert worker.source_enabled("gateway")
    assert loaded.settings.version == SETTINGS_VERSION


def test_round_trip_keeps_values_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "supabase_url": "https://abc.supabase.co",
                "project_ids": ["front-office", "lab", "front-office", "  "],
                "current_project": "lab",
                "control_api_url": "http://mac-mini.local:3737",
                "worker": {
                    "sync_interval_s": 45,
                    "sources": {"launchd": False, "future_source": True},
                    "x": 1,
                },
                "ui": {"columns": ["name", "next"]},
                "added_by_a_newer_version": {"keep": "me"},
            }
        )
    )
    loaded = load_settings(path)
    assert loaded.warnings == ()
    settings = loaded.settings
    assert settings.project_ids == ["front-office", "lab"]
    assert settings.worker.sync_interval_s == 45
    assert not settings.worker.source_enabled("launchd")
    assert settings.worker.source_enabled("future_source")
    settings.control_api_url = "http://other:3737"
    save_settings(settings, path)
    written = json.loads(path.read_text())
    assert written["added_by_a_newer_version"] == {"keep": "me"}
    assert written["worker"]["x"] == 1
    assert written["worker"]["sources"]["future_source"] is True
    assert written["ui"] == {"columns": ["name", "next"]}
    assert load_settings(path).settings == settings


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"supabase_url": "https://a.supabase.co",', "not valid JSON (line 1)"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b'["a", "list"]', "does not hold a JSON object"),
        (b"", "not valid JSON"),
    ],
)
def test_corrupt_file_gives_defaults_a_warning_and_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, expected: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="cronmirror_desktop.core.settings"):
        loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert len(loaded.warnings) == 1
    assert expected in loaded.warnings[0]
    assert expected in caplog.text
    kept = tmp_path / "settings.json.corrupt"
    assert kept.read_bytes() == content
    save_settings(loaded.settings, path)  # saving afterwards works and does not touch the kept copy
    assert kept.read_bytes() == content


def test_bad_values_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "supabase_url": 42,
                "project_ids": ["ok", 7, "also-ok"],
                "store": "cloud",
                "worker": {"concurrency": "many", "job_timeout_s": 1200, "sources": {"gateway": "perhaps"}},
                "control_api_url": "http://mac-mini.local:3737",
                "ui": "not a dict",
            }
        )
    )
    loaded = load_settings(path)
    settings = loaded.settings
    assert settings.supabase_url is None
    assert settings.project_ids == ["ok", "also-ok"]
    assert settings.store == "auto"
    assert settings.worker.concurrency == 1
    assert settings.worker.job_timeout_s == 1200  # the good neighbour survives
    assert settings.worker.source_enabled("gateway")
    assert settings.control_api_url == "http://mac-mini.local:3737"
    assert settings.ui == {}
    joined = "\n".join(loaded.warnings)
    for where in (
        "supabase_url",
        "project_ids.1",
        "store",
        "worker.concurrency",
        "worker.sources.gateway",
        "ui",
    ):
        assert where in joined


@pytest.mark.parametrize(
    ("given", "used"),
    [(5, 30), (30, 30), (59, 59), (600, 60)],
)
def test_sync_interval_is_clamped_to_30_to_60_seconds(tmp_path: Path, given: int, used: int) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"worker": {"sync_interval_s": given}}))
    loaded = load_settings(path)
    assert loaded.settings.worker.sync_interval_s == used
    assert bool(loaded.warnings) == (given != used)
    if given != used:
        assert f"worker.sync_interval_s = {given} is outside 30–60; using {used}" in loaded.warnings[0]


def test_other_worker_limits_are_clamped() -> None:
    worker = WorkerSettings(concurrency=0, job_timeout_s=1, grace_period_s=-4)
    assert (worker.concurrency, worker.job_timeout_s, worker.grace_period_s) == (1, 10, 0)
    worker.concurrency = 1000  # assignment is validated too
    assert worker.concurrency == 16


def test_newer_version_is_read_and_its_number_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": SETTINGS_VERSION + 1, "supabase_url": "https://a.supabase.co"}))
    loaded = load_settings(path)
    assert loaded.settings.supabase_url == "https://a.supabase.co"
    assert "newer CronMirror" in loaded.warnings[0]
    save_settings(loaded.settings, path)
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION + 1


def test_a_nonsense_version_is_read_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": "two", "current_project": "lab"}))
    loaded = load_settings(path)
    assert loaded.settings.version == 1
    assert loaded.settings.current_project == "lab"
    assert "not a version number" in loaded.warnings[0]


def test_secrets_in_the_plain_file_are_ignored_and_dropped_on_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"service_role_key": "eyJ-super-secret", "current_project": "lab"}))
    loaded = load_settings(path)
    assert "service_role_key" in loaded.warnings[0]
    assert "eyJ-super-secret" not in loaded.warnings[0]
    assert "service_role_key" not in loaded.settings.model_dump()
    save_settings(loaded.settings, path)
    assert "eyJ-super-secret" not in path.read_text()


def test_an_unreadable_settings_path_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()  # a directory where the file should be
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert "Could not read" in loaded.warnings[0]


# -- save -----------------------------------------------------------------------------------------


def test_save_creates_the_folder_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config" / "settings.json"
    save_settings(Settings(current_project="lab"), path)
    assert json.loads(path.read_text())["current_project"] == "lab"
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_a_failed_save_keeps_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(current_project="old"), path)
    before = path.read_bytes()

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(CronMirrorError, match="No space left on device"):
        save_settings(Settings(current_project="new"), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_save_into_an_impossible_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CronMirrorError, match="Could not save the settings"):
        save_settings(Settings(), blocker / "settings.json")
