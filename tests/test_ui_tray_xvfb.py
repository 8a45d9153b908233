"""The real menu-bar icon on a real X server: Xvfb with Debian's `trayer` as the system tray.

Offscreen Qt has no tray (and neither has bare Xvfb), so this is the one test where
`QSystemTrayIcon.isSystemTrayAvailable()` is True for real and the icon gets embedded, with a place on
the screen. The app runs as `--tray-only --worker` in a subprocess (tests/xvfb_tray_probe.py).
Needs `xvfb`, `trayer` and Qt's xcb libraries (`.ci/run` installs them); without them it is skipped with
that hint, and under `CI=true` it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cronmirror_desktop.core.config_write import set_value
from tests.xdesktop import desktop_with_tray

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "the real-tray test needs Xvfb and trayer: sudo apt-get install xvfb trayer"


@pytest.fixture
def display() -> Iterator[str]:
    missing = [tool for tool in ("Xvfb", "trayer") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but {', '.join(missing)} is missing; {INSTALL_HINT}", pytrace=False)
        pytest.skip(INSTALL_HINT)
    with desktop_with_tray() as name:
        yield name


def test_the_menu_bar_icon_shows_on_a_desktop_with_a_tray(display: str, tmp_path: Path) -> None:
    for source in ("gateway", "crontab", "launchd"):
        set_value(f"worker.sources.{source}", "false")  # the subprocess shares this test's dev dir
    environ = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.MemoryKeyring",
        "PYTHONPATH": str(ROOT),
    }
    environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the X11 tray (XEmbed), not a D-Bus one
    flags = ["--local", "--store-file", str(tmp_path / "app.sqlite3"), "--tray-only", "--worker"]
    done = subprocess.run(
        [sys.executable, "-m", "tests.xvfb_tray_probe", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["available"] is True  # Qt sees the tray
    assert report["tray"] is True  # and the app made its icon because of that
    assert report["embedded"] is True, report
    assert report["visible"] is True
    _x, y, width, height = report["geometry"]
    assert width > 0
    assert height > 0
    assert y < 24  # in trayer's strip at the top of the screen
    assert report["window_visible"] is False  # --tray-only
    assert report["worker_running"] is True  # --worker
    assert report["tooltip"].startswith("CronMirror\nIn-app worker running")
    assert report["menu"][1:] == [
        "Stop worker",
        "Sync now",
        "Start worker when CronMirror opens",
        "Open CronMirror",
        "Quit CronMirror",
    ]
    assert report["menu"][0].startswith("In-app worker running")
    assert report["exit"] == 0  # quit from the menu: tear-down ran and returned
