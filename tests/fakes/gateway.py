"""Install the fake gateway CLI (`fake_gateway.py`) as `openclaw` / `clawdbot` in a temp bin directory.

    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    source = GatewaySource(search_dirs=[gw.bin_dir], env=gw.env())   # the source finds `openclaw` there
    gw.configure(down=True)                                          # and now the gateway is down

Each installed name is a tiny shell script that points the fake at its config file and runs it with this
interpreter, so it works on a PATH without anything else (as under launchd).
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAKE = Path(__file__).with_name("fake_gateway.py")
BIN_NAMES = {
    "clawdbot-2026.1.24": ("clawdbot",),
    "openclaw-2026.9.6": ("openclaw",),
}


@dataclass
class FakeGateway:
    variant: str
    bin_dir: Path
    state_dir: Path
    config_path: Path
    log_path: Path

    @property
    def binary(self) -> Path:
        return self.bin_dir / BIN_NAMES[self.variant][0]

    @property
    def jobs_json(self) -> Path:
        return self.state_dir / "cron" / "jobs.json"

    def configure(self, **changes: Any) -> None:
        config = json.loads(self.config_path.read_text())
        config.update(changes)
        self.config_path.write_text(json.dumps(config))

    def write_jobs(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs_json.parent.mkdir(parents=True, exist_ok=True)
        self.jobs_json.write_text(json.dumps({"version": 1, "jobs": jobs}, indent=2))

    def jobs(self) -> list[dict[str, Any]]:
        return json.loads(self.jobs_json.read_text())["jobs"]

    def runs(self, job_id: str) -> list[dict[str, Any]]:
        path = self.state_dir / "cron" / "runs" / f"{job_id}.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def calls(self) -> list[list[str]]:
        if not self.log_path.exists():
            return []
        return [json.loads(x) for x in self.log_path.read_text().splitlines()]

    def env(self) -> dict[str, str]:
        """What a worker on this machine would have: the state-dir override the gateway uses."""
        key = "CLAWDBOT_STATE_DIR" if self.variant.startswith("clawdbot") else "OPENCLAW_STATE_DIR"
        return {key: str(self.state_dir), "HOME": str(self.state_dir.parent)}


def install_fake_gateway(root: Path, variant: str, *, names: tuple[str, ...] | None = None) -> FakeGateway:
    bin_dir = root / "bin"
    state_dir = root / "home" / (".clawdbot" if variant.startswith("clawdbot") else ".openclaw")
    bin_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "cron").mkdir(parents=True, exist_ok=True)
    config = root / "fake-gateway.json"
    log = root / "fake-gateway-calls.jsonl"
    config.write_text(json.dumps({"variant": variant, "state_dir": str(state_dir), "log": str(log)}))
    script = (
        "#!/bin/sh\n"
        f"FAKE_GATEWAY_CONFIG={shlex.quote(str(config))} "
        f'exec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} "$@"\n'
    )
    for name in names or BIN_NAMES[variant]:
        exe = bin_dir / name
        exe.write_text(script)
        exe.chmod(0o755)
    return FakeGateway(variant, bin_dir, state_dir, config, log)


def sample_jobs(now_ms: int | None = None, *, legacy_at: bool = True) -> list[dict[str, Any]]:
    """The three jobs of clawdbot-cron.md §2 (cron / every / at), made current: none is due right now."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    day = 86_400_000
    at = {"kind": "at", "atMs": now + day} if legacy_at else {"kind": "at", "at": _iso(now + day)}
    return [
        {
            "id": "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23",
            "name": "Morning status",
            "description": "Inbox + calendar digest",
            "enabled": True,
            "deleteAfterRun": False,
            "createdAtMs": now - 7 * day,
            "updatedAtMs": now - day,
            "schedule": {"kind": "cron", "expr": "0 7 * * *", "tz": "America/Los_Angeles"},
            "sessionTarget": "isolated",
            "wakeMode": "next-heartbeat",
            "payload": {
                "kind": "agentTurn",
                "message": "Summarize inbox + calendar for today.",
                "model": "opus",
            },
            "state": {
                "nextRunAtMs": now + day // 2,
                "lastRunAtMs": now - day // 2,
                "lastStatus": "ok",
                "lastDurationMs": 48213,
            },
        },
        {
            "id": "9b0d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4",
            "agentId": "ops",
            "name": "Inbox check",
            "enabled": True,
            "deleteAfterRun": False,
            "createdAtMs": now - 3 * day,
            "updatedAtMs": now - 1000,
            "schedule": {"kind": "every", "everyMs": 1_800_000},
            "sessionTarget": "main",
            "wakeMode": "next-heartbeat",
            "payload": {"kind": "systemEvent", "text": "Check for urgent email and flag it."},
            "state": {
                "nextRunAtMs": now + 1_000_000,
                "lastRunAtMs": now - 800_000,
                "lastStatus": "ok",
                "lastDurationMs": 3,
            },
        },
        {
            "id": "c2e7a1f0-5d4b-4c3a-9e8f-0a1b2c3d4e5f",
            "name": "Send reminder",
            "enabled": False,
            "deleteAfterRun": True,
            "createdAtMs": now - day,
            "updatedAtMs": now - day,
            "schedule": at,
            "sessionTarget": "main",
            "wakeMode": "now",
            "payload": {"kind": "systemEvent", "text": "Reminder: submit expense report."},
            "state": {},
        },
    ]


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    value = datetime.fromtimestamp(ms / 1000, UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
