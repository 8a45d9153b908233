"""Without a display the app says so (issue 19, point 18), instead of Qt's abort "xcb-cursor0 is needed …
Reinstalling the application may fix this problem"; `--screenshot` still works there, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cronmirror_desktop.ui.app import NO_DISPLAY, display_problem


def without_display() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}


def test_the_app_says_there_is_no_display(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cronmirror_desktop", "--dev-dir", str(tmp_path)],
        env=without_display(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1  # an exit of its own, not Qt's abort (134)
    assert done.stderr.strip() == f"cronmirror-desktop: {NO_DISPLAY}"
    assert NO_DISPLAY == "no display (set DISPLAY, or use --screenshot with QT_QPA_PLATFORM=offscreen)"


def test_a_screenshot_needs_no_display(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cronmirror_desktop",
            "--demo",
            "--dev-dir",
            str(tmp_path),
            "--screenshot",
            str(shot),
        ],
        env=without_display(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("environ", "platform", "problem"),
    [
        ({}, "linux", True),
        ({"DISPLAY": ":0"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland"}, "freebsd14", True),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_which_environments_have_no_display(environ: dict[str, str], platform: str, problem: bool) -> None:
    assert (display_problem(environ, platform) is not None) is problem
