"""Run by tests/test_ui_tray_xvfb.py under a real X server with a system tray (Xvfb + trayer): start the
app exactly as `cronmirror-desktop ARGS` would (the tray decided by Qt, not by the test), report what the
desktop shows as one JSON line, then quit from the menu-bar icon's menu."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import qasync
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from cronmirror_desktop.ui.app import run_app
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.presence import Presence
from cronmirror_desktop.ui.worker_host import WorkerState

WAIT_S = 10.0


async def until(predicate: Any, within: float = WAIT_S) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def probe(presence: Presence, report: dict[str, Any]) -> None:
    tray, host = presence.tray, presence.worker_menu.host
    report["tray"] = tray is not None
    if tray is not None:
        # Embedded by the tray manager: only then has the icon a place (and a size) on the screen.
        report["embedded"] = await until(lambda: not tray.geometry().isEmpty())
        geometry = tray.geometry()
        report["geometry"] = [geometry.x(), geometry.y(), geometry.width(), geometry.height()]
        report["visible"] = tray.isVisible()
    report["worker_running"] = await until(lambda: host.state is WorkerState.RUNNING)
    report["window_visible"] = presence.window.isVisible()
    if tray is not None:
        report["tooltip"] = tray.toolTip()
        tray.menu.aboutToShow.emit()
        report["menu"] = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    presence.worker_menu.quit_action.trigger()


async def main(app: QApplication, argv: list[str]) -> dict[str, Any]:
    # trayer may still be claiming the tray selection when this starts
    report: dict[str, Any] = {"available": await until(QSystemTrayIcon.isSystemTrayAvailable)}
    tasks: set[asyncio.Task[None]] = set()

    def started(presence: Presence) -> None:
        tasks.add(asyncio.get_running_loop().create_task(probe(presence, report), name="probe"))

    report["exit"] = await run_app(app, build_parser().parse_args(argv), on_started=started)
    return report


if __name__ == "__main__":
    qt = QApplication(sys.argv[:1])
    qt.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        print(json.dumps(runner.run(main(qt, sys.argv[1:]))))
