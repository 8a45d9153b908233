"""This computer's jobs.toml, opened for editing or shown in its folder (the empty table's "Open
jobs.toml", Settings' Open and Reveal). A missing file is created with a commented example first, so there
is something to edit. How a URL is opened is passed in (the desktop's `QDesktopServices.openUrl`; tests
record it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl

#: What a missing jobs.toml starts as: how to write a job (worker/sources/jobs_file.py).
JOBS_FILE_EXAMPLE = """\
# CronMirror's own jobs: plain commands the worker mirrors and runs (no gateway needed).
# One [jobs.<key>] section per job; the job id is "jobs:<key>". For example:
#
# [jobs.backup]
# name = "Nightly backup"
# cron = "30 2 * * *"            # or: every = "30m", or: at = 2026-12-01T09:00:00Z
# tz = "Europe/Berlin"           # default: this computer's zone
# command = ["restic", "backup", "/Users/me"]   # an argument list, never a shell string
# timeout = "20m"
"""

Opener = Callable[[QUrl], object]


def ensure_jobs_file(path: Path) -> None:
    """Create `path` with the example when it does not exist (OSError when it cannot be)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(JOBS_FILE_EXAMPLE, encoding="utf-8")


def open_jobs_file(path: Path, opener: Opener) -> None:
    ensure_jobs_file(path)
    opener(QUrl.fromLocalFile(str(path)))


def reveal_jobs_file(path: Path, opener: Opener) -> None:
    """Show the file in Finder (selected), elsewhere its folder in the file manager."""
    ensure_jobs_file(path)
    if sys.platform == "darwin":
        subprocess.Popen(["/usr/bin/open", "-R", str(path)])
        return
    opener(QUrl.fromLocalFile(str(path.parent)))
