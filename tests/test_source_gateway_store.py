"""Gateway plumbing without the CLI: state-dir resolution (§6), the read-only stores, binary search, JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from worker.sources.gateway_cli import GatewayError, cli_environment, extract_json, find_binary
from worker.sources.gateway_store import locate_store, read_store, resolve_state_dir


def make_dirs(home: Path, *names: str) -> None:
    for name in names:
        (home / name / "cron").mkdir(parents=True)


def test_state_dir_env_overrides_in_order(tmp_path: Path) -> None:
    make_dirs(tmp_path, ".openclaw")
    env = {"CLAWDBOT_STATE_DIR": str(tmp_path / "c"), "MOLTBOT_STATE_DIR": str(tmp_path / "m")}
    assert resolve_state_dir(env, tmp_path) == tmp_path / "m"
    env["OPENCLAW_STATE_DIR"] = str(tmp_path / "o")
    assert resolve_state_dir(env, tmp_path) == tmp_path / "o"
    assert resolve_state_dir({"CLAWDBOT_STATE_DIR": "  "}, tmp_path) == tmp_path / ".openclaw"


def test_state_dir_default_order_and_symlinks(tmp_path: Path) -> None:
    assert resolve_state_dir({}, tmp_path) is None
    make_dirs(tmp_path, ".clawdbot")
    assert resolve_state_dir({}, tmp_path) == tmp_path / ".clawdbot"
    make_dirs(tmp_path, ".moltbot")
    assert resolve_state_dir({}, tmp_path) == tmp_path / ".moltbot"
    # OpenClaw's migration: the real dir moves to ~/.openclaw, ~/.clawdbot becomes a symlink to it.
    other = tmp_path / "elsewhere"
    (tmp_path / ".moltbot").rename(other)
    (tmp_path / ".moltbot").symlink_to(other)
    assert resolve_state_dir({}, tmp_path) == other
    make_dirs(tmp_path, ".openclaw")
    assert resolve_state_dir({}, tmp_path) == tmp_path / ".openclaw"


def test_cron_store_override_from_the_config(tmp_path: Path) -> None:
    make_dirs(tmp_path, ".clawdbot")
    state = tmp_path / ".clawdbot"
    assert locate_store({}, tmp_path).jobs_json == state / "cron" / "jobs.json"
    (state / "clawdbot.json").write_text(json.dumps({"cron": {"store": "~/custom/jobs.json"}}))
    assert (
        locate_store({"HOME": str(tmp_path)}, tmp_path).jobs_json == Path("~/custom/jobs.json").expanduser()
    )
    (state / "clawdbot.json").write_text(json.dumps({"cron": {"store": "alt/jobs.json"}}))
    assert locate_store({}, tmp_path).jobs_json == state / "alt" / "jobs.json"
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"cron": {"store": str(tmp_path / "x.json")}}))
    assert locate_store({"CLAWDBOT_CONFIG_PATH": str(config)}, tmp_path).jobs_json == tmp_path / "x.json"
    (state / "clawdbot.json").write_text("{ // JSON5 comment\n cron: { store: 'y' }, }")
    location = locate_store({}, tmp_path)
    assert location.jobs_json == state / "cron" / "jobs.json"
    assert "not plain JSON" in location.notes[0]


def test_read_store_json_and_problems(tmp_path: Path) -> None:
    make_dirs(tmp_path, ".openclaw")
    location = locate_store({}, tmp_path)
    assert location.jobs_json is not None
    assert read_store(location).problem == f"no job store at {location.jobs_json}"
    location.jobs_json.write_text(json.dumps({"version": 1, "jobs": [{"id": "a"}]}))
    assert read_store(location).jobs == [{"id": "a"}]
    location.jobs_json.write_text("{truncated")
    assert "is unreadable" in (read_store(location).problem or "")
    location.jobs_json.write_text(json.dumps({"version": 1}))
    assert "has no job list" in (read_store(location).problem or "")


def test_read_store_sqlite_when_json_was_migrated(tmp_path: Path) -> None:
    make_dirs(tmp_path, ".openclaw")
    db = tmp_path / ".openclaw" / "state" / "openclaw.sqlite"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("create table cron_jobs (id text primary key, job_json text, state_json text)")
        conn.execute(
            "insert into cron_jobs values (?, ?, ?)",
            ("j1", json.dumps({"id": "j1", "name": "From SQLite"}), json.dumps({"lastStatus": "ok"})),
        )
    conn.close()
    before = db.read_bytes()
    read = read_store(locate_store({}, tmp_path))
    assert read.problem is None
    assert read.jobs == [{"id": "j1", "name": "From SQLite", "state": {"lastStatus": "ok"}}]
    assert db.read_bytes() == before


def test_find_binary_prefers_openclaw_then_clawdbot_and_honours_a_configured_path(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for directory, name in ((first, "clawdbot"), (second, "openclaw"), (second, "moltbot")):
        directory.mkdir(exist_ok=True)
        exe = directory / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    assert find_binary(None, [first, second]) == second / "openclaw"
    assert find_binary(None, [first, second], names=("clawdbot", "moltbot")) == first / "clawdbot"
    (second / "openclaw").chmod(0o644)  # not executable: skipped
    assert find_binary(None, [first, second]) == first / "clawdbot"
    assert find_binary(second / "moltbot", [first]) == second / "moltbot"
    assert find_binary(tmp_path / "missing", [first, second]) is None


def test_cli_environment_puts_the_cli_and_node_homes_first(tmp_path: Path) -> None:
    binary = tmp_path / "bin" / "openclaw"
    env = cli_environment(binary, {"PATH": "/usr/bin:/bin", "X": "1"}, [Path("/opt/homebrew/bin")])
    assert env["PATH"].split(":")[:2] == [str(tmp_path / "bin"), "/opt/homebrew/bin"]
    assert env["PATH"].endswith("/usr/bin:/bin")
    assert env["X"] == "1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"jobs": []}', {"jobs": []}),
        ('[plugins] loaded x\n{"jobs": [{"id": "a"}]}\n', {"jobs": [{"id": "a"}]}),
        ('[1] warming {up}\n[{"id": "b"}] trailing log line', [{"id": "b"}]),
        ("\x1b[33mwarn\x1b[0m [2] {\n" + '{"jobs": [], "hasMore": false}', {"jobs": [], "hasMore": False}),
    ],
)
def test_extract_json_skips_noise(text: str, expected: object) -> None:
    def accept(v: object) -> bool:
        return (isinstance(v, dict) and "jobs" in v) or (
            isinstance(v, list) and all(isinstance(i, dict) for i in v)
        )

    assert extract_json(text, accept) == expected


def test_extract_json_without_json_is_a_clear_error() -> None:
    with pytest.raises(
        GatewayError, match=r"no usable JSON in the CLI's output \(it began: 'Usage: openclaw"
    ):
        extract_json("Usage: openclaw cron list [options]\n", lambda v: True)
