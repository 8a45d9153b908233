"""`--screenshot PATH`: render the window offscreen once data is shown, for docs/screenshots and CI.

When is the window "shown"? Once the first snapshot is in the tables, the selected job's requests and run
history (loaded when it is selected) are in its details pane, and no fade (a toast) is still running; then
the event loop gets a short moment for the layouts and zero-delay timers those posted. Waiting for those
things, not for a fixed time, keeps a screenshot of a slow store complete and one of a fast store quick
(bench/bench_app.py's `first_paint_ms` ends when this PNG exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

from PySide6.QtCore import QAbstractAnimation, QSettings
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QWidget

from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.main_window import MainWindow

log = logging.getLogger("cronmirror_desktop")

SCREENSHOT_TIMEOUT_S = 20.0
#: The loads and fades the screenshot waits for (see the module docstring) get this long at most.
SETTLE_LIMIT_S = 10.0
#: Then layouts and zero-delay timers run: a few turns of the event loop, with room to spare.
SETTLE_GRACE_S = 0.05
#: The controller's tasks whose results the details pane shows (controller.select_job).
DETAILS_TASKS = ("job-requests", "job-history")
#: The job the demo screenshot shows in the details pane (it has a target agent and requests).
SCREENSHOT_DEMO_JOB = "jobs:weekly-review"


def screenshot_state() -> QSettings:
    path = Path(tempfile.mkdtemp(prefix="cronmirror-shot-")) / "ui-state.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


async def take_screenshot(
    window: MainWindow,
    controller: AppController,
    path: Path,
    *,
    worker_menu: bool = False,
    sources: bool = False,
    job_id: str | None = None,
    job_menu: bool = False,
    edit: str | None = None,
    watching: bool = False,
) -> bool:
    """Wait until data is shown (or a timeout), let the window settle, save it as a PNG. `worker_menu`
    opens the Worker menu and draws it where it drops down (a popup is a window of its own, which
    `grab()` of the main window does not include); `sources` does the same with the connection panel's
    Sources popover. `job_id`: the job whose details are shown (the demo's default: SCREENSHOT_DEMO_JOB).
    `job_menu`: that job's context menu open at its row; `edit`: its Edit dialog open with this schedule
    typed in (ui/job_actions.py). `watching`: the details pane scrolled to the run history, and the running
    request selected in the dock (its live output)."""
    loaded = asyncio.Event()
    controller.loadingChanged.connect(lambda loading: None if loading else loaded.set())
    if not controller.loading:
        loaded.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loaded.wait(), SCREENSHOT_TIMEOUT_S)
    shown = not controller.loading
    wanted = (job_id is not None or controller.demo) and window.select_job(job_id or SCREENSHOT_DEMO_JOB)
    if shown and window.proxy.rowCount() and not wanted and not window.selected_job():
        window.table.selectRow(0)
    if controller.demo:  # show a failed (or the running) request's result expanded in the dock
        status = "running" if watching else "error"
        chosen = next((r for r in controller.request_model.requests() if r.status == status), None)
        if chosen is not None:
            window.dock.highlight(chosen.id)
    window.table.setFocus()
    await settle(window, controller)
    if watching:
        window.details.show_history()
        await asyncio.sleep(0.1)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = window.grab()
    menus: list[tuple[QWidget, QMenu]] = []
    if worker_menu and window.worker_button is not None and window.worker_popup is not None:
        menus.append((window.worker_button, window.worker_popup))
    if sources and window.connection_panel.sources.isVisible():
        menus.append((window.connection_panel.sources, window.connection_panel.sources_popup))
    for button, popup in menus:
        popup.popup(button.mapToGlobal(button.rect().bottomLeft()))
        await asyncio.sleep(0.2)
        at = button.mapTo(window, button.rect().bottomLeft())
        at.setX(min(at.x(), window.width() - popup.width() - 8))  # as Qt keeps a menu on the screen
        painter = QPainter(image)
        painter.drawPixmap(at, popup.grab())
        painter.end()
        popup.close()
    if job_menu or edit is not None:
        await _draw_job_actions(window, image, job_menu=job_menu, edit=edit)
    saved = image.save(str(path), "PNG")
    log.info("screenshot %s: %s", "saved" if saved else "FAILED", path)
    return shown and saved


async def settle(window: MainWindow, controller: AppController, within: float = SETTLE_LIMIT_S) -> bool:
    """Until the details pane has what it loads and no animation runs (see the module docstring), then a
    moment for layouts. False when `within` ran out first (the screenshot is taken as it is)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = [t for t in (controller.task(name) for name in DETAILS_TASKS) if t is not None and not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=within)
    while any(a.state() == QAbstractAnimation.State.Running for a in window.findChildren(QAbstractAnimation)):
        if loop.time() > deadline:
            log.warning("screenshot: an animation still runs after %.0f s", within)
            return False
        await asyncio.sleep(0.02)
    await asyncio.sleep(SETTLE_GRACE_S)
    done = all(t.done() for t in pending)
    if not done:
        log.warning("screenshot: the details pane's loads did not finish within %.0f s", within)
    return done


async def _draw_job_actions(window: MainWindow, image: QPixmap, *, job_menu: bool, edit: str | None) -> None:
    """The selected job's context menu (at its row) or Edit dialog (centred), drawn over `image`."""
    job = window.selected_job()
    if job is None:
        return
    rows = window.table.selectionModel().selectedRows()
    painter = QPainter(image)
    if job_menu and rows:
        cell = window.table.visualRect(rows[0])
        at = cell.center()
        at.setX(cell.right() - 24)  # where a right-click at the end of the name opens it
        menu = window.job_actions.menu_for(job)
        menu.popup(window.table.viewport().mapToGlobal(at))
        await asyncio.sleep(0.2)
        painter.drawPixmap(window.table.viewport().mapTo(window, at), menu.grab())
        menu.close()
    if edit is not None:
        dialog = window.job_actions.edit(job)
        if dialog is not None:
            dialog.editor.expr.setText(edit)
            dialog.adjustSize()
            await asyncio.sleep(0.3)
            shot = dialog.grab()
            painter.fillRect(image.rect(), QColor(0, 0, 0, 70))  # the window behind a sheet
            painter.drawPixmap((image.width() - shot.width()) // 2, 90, shot)
            dialog.reject()
    painter.end()
