"""Process inspection for tests: is a pid still running (a zombie counts as gone), and memory figures."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """True while `pid` runs. Zombies (exited, not yet reaped by their new parent) count as dead."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return state not in {"Z", "X"}
    out = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return bool(out.stdout.strip()) and not out.stdout.strip().startswith("Z")


def wait_dead(pid: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


def read_pid(path: Path, timeout: float = 5.0) -> int:
    """Wait for a job to write its (grand)child's pid into `path`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if text:
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"no pid appeared in {path}")


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc; elsewhere the peak from getrusage)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover - macOS reports bytes
