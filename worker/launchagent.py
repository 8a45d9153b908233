"""A LaunchAgent that keeps `cronmirror-worker run` alive on the Mac mini.

Why a LaunchAgent (per user, in the GUI session) and not a LaunchDaemon: the worker reads the user's
keychain for the service-role key and runs the user's own jobs (their crontab, their gateway). launchd
starts agents with a bare PATH (/usr/bin:/bin:/usr/sbin:/sbin), so the plist sets one that includes
Homebrew, where `openclaw`/`clawdbot` usually live. Secrets never go into the plist.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LABEL = "app.cronmirror.worker"
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
LAUNCHD_PATH = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


@dataclass(frozen=True)
class AgentPlan:
    """Where the plist goes and what it says."""

    path: Path
    content: bytes


def worker_command() -> list[str]:
    """The absolute command that starts the worker daemon, from this very installation."""
    script = shutil.which("cronmirror-worker", path=str(Path(sys.executable).parent))
    if script:
        return [str(Path(script).resolve()), "run"]
    return [str(Path(sys.executable).resolve()), "-m", "worker", "run"]


def plan(
    *,
    home: Path | None = None,
    log_dir: Path,
    command: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> AgentPlan:
    """The LaunchAgent for this user. `extra_env` is for plain settings only, never for keys."""
    home = home or Path.home()
    secretish = [name for name in extra_env or {} if any(w in name.upper() for w in _SECRET_WORDS)]
    if secretish:
        raise ValueError(f"secrets never go into a plist: {', '.join(secretish)}; use the keychain")
    env = {"PATH": LAUNCHD_PATH, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    agent = {
        "Label": LABEL,
        "ProgramArguments": command or worker_command(),
        "RunAtLoad": True,
        # Restart after a crash, not after a clean `cronmirror-worker` exit (e.g. misconfiguration).
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "ProcessType": "Background",
        "WorkingDirectory": str(home),
        "EnvironmentVariables": env,
        "StandardOutPath": str(log_dir / "worker.stdout.log"),
        "StandardErrorPath": str(log_dir / "worker.stderr.log"),
    }
    path = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    return AgentPlan(path=path, content=plistlib.dumps(agent, sort_keys=False))


def launchctl_available() -> bool:
    return sys.platform == "darwin" and shutil.which("launchctl") is not None


def install(agent: AgentPlan) -> list[str]:
    """Write the plist and (re)load it into this user's GUI domain. Returns what was done."""
    done = []
    agent.path.parent.mkdir(parents=True, exist_ok=True)
    domain = f"gui/{os.getuid()}"
    if agent.path.exists():
        subprocess.run(["launchctl", "bootout", f"{domain}/{LABEL}"], capture_output=True, check=False)
        done.append(f"unloaded the previous {LABEL}")
    agent.path.write_bytes(agent.content)
    done.append(f"wrote {agent.path}")
    subprocess.run(["launchctl", "bootstrap", domain, str(agent.path)], capture_output=True, check=True)
    done.append(f"loaded {LABEL} into {domain}; it starts now and at every login")
    return done


def uninstall(agent: AgentPlan) -> list[str]:
    done = []
    subprocess.run(["launchctl", "bootout", f"gui/{os.getuid()}/{LABEL}"], capture_output=True, check=False)
    done.append(f"stopped {LABEL}")
    if agent.path.exists():
        agent.path.unlink()
        done.append(f"removed {agent.path}")
    return done
