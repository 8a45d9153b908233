"""The worker's own LaunchAgent: absolute paths, Homebrew on PATH, no secrets."""

from __future__ import annotations

import plistlib
from pathlib import Path

import pytest

from worker import launchagent


def test_plist_has_absolute_command_homebrew_path_and_logs(tmp_path: Path) -> None:
    agent = launchagent.plan(home=tmp_path, log_dir=tmp_path / "logs")
    data = plistlib.loads(agent.content)
    assert agent.path == tmp_path / "Library" / "LaunchAgents" / "app.cronmirror.worker.plist"
    assert data["Label"] == "app.cronmirror.worker"
    program = data["ProgramArguments"]
    assert Path(program[0]).is_absolute()
    assert Path(program[0]).exists()
    assert program[-1] == "run"
    path = data["EnvironmentVariables"]["PATH"].split(":")
    assert "/opt/homebrew/bin" in path
    assert "/usr/local/bin" in path
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["StandardErrorPath"] == str(tmp_path / "logs" / "worker.stderr.log")


def test_plist_carries_plain_settings_only(tmp_path: Path) -> None:
    agent = launchagent.plan(
        home=tmp_path, log_dir=tmp_path, extra_env={"CRONMIRROR_PROJECT_ID": "front-office"}
    )
    env = plistlib.loads(agent.content)["EnvironmentVariables"]
    assert env["CRONMIRROR_PROJECT_ID"] == "front-office"
    with pytest.raises(ValueError, match="never go into a plist"):
        launchagent.plan(home=tmp_path, log_dir=tmp_path, extra_env={"SUPABASE_SERVICE_ROLE_KEY": "x"})
