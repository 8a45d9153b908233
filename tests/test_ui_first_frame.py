"""What waits for the first frame (app.py, first_paint.py): the Control API's health check and the
single-instance server start once the window has painted the first snapshot, not before.

Real parts: `run_app` with its real store (an SQLite file), a real HTTP server answering like the Control
API (tests/fake_controlapi.py) and a real `SingleInstance`. The one stand-in is at the outer edge: the
store's first snapshot is held back until the Control API has been asked something (what the old start-up
did at once) or a second has passed, so a health check that does not wait shows up before the data.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication

from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.ui import app as app_module
from cronmirror_desktop.ui.app import run_app
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.controller import AppController, ControlApiState
from cronmirror_desktop.ui.presence import Presence
from cronmirror_desktop.ui.single_instance import SingleInstance
from cronmirror_desktop.ui.startup import StartupContext
from tests.fake_controlapi import FakeControlApi
from tests.ui_support import PROJECT, HeldBackStore, mirror_row, ui_settings, wait_until

__all__ = ["ui_settings"]  # fixtures, used by name


class FirstDataPaint(QObject):
    """Notes, at the window's first paint that shows jobs, what had happened by then."""

    def __init__(self, presence: Presence, api: FakeControlApi, instance: SingleInstance) -> None:
        super().__init__(presence.window)
        self.controller: AppController = presence.worker_menu.controller
        self.api = api
        self.instance = instance
        self.seen: tuple[int, bool] | None = None  # (Control API requests, single instance listening)
        presence.window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        shows_jobs = self.controller.job_model.rowCount() > 0 and not self.controller.loading
        if event.type() == QEvent.Type.Paint and shows_jobs and self.seen is None:
            self.seen = (len(self.api.requests), self.instance.server is not None)
        return False


async def test_the_health_check_and_the_single_instance_server_wait_for_the_first_frame(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_file = tmp_path / "app.sqlite3"
    seeding = LocalStore(store_file)
    async with seeding:
        await seeding.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
    api = await FakeControlApi().start()
    monkeypatch.setenv("CONTROL_API_BASE_URL", api.url)
    release = asyncio.Event()
    real_open = app_module.open_context

    async def held_back(args: object, config: object = None) -> StartupContext:
        context = await real_open(args)  # type: ignore[arg-type]
        context.store = HeldBackStore(context.store, release)
        return context

    monkeypatch.setattr(app_module, "open_context", held_back)

    async def release_when_asked() -> None:
        with contextlib.suppress(AssertionError):
            await wait_until(lambda: api.requests, within=1.0)
        release.set()

    releasing = asyncio.ensure_future(release_when_asked())
    instance = SingleInstance()  # not listening yet, as main() hands it over
    args = build_parser().parse_args(["--local", "--store-file", str(store_file), "--project", PROJECT])
    ready: asyncio.Future[Presence] = asyncio.get_running_loop().create_future()
    QApplication.setQuitOnLastWindowClosed(False)
    running = asyncio.ensure_future(
        run_app(qapp, args, settings=ui_settings, instance=instance, tray=False, on_started=ready.set_result)
    )
    window = None
    try:
        presence = await asyncio.wait_for(ready, 10)
        window = presence.window
        first = FirstDataPaint(presence, api, instance)
        assert instance.server is None
        await wait_until(lambda: first.seen is not None, what="the first frame with jobs")
        assert first.seen == (0, False)  # nothing asked, nothing listening while that frame was made
        controller = presence.worker_menu.controller
        reachable = ControlApiState.REACHABLE
        await wait_until(lambda: controller.control_state is reachable, what="the health check")
        await wait_until(lambda: instance.server is not None, what="the single-instance server")
        assert [path for _method, path, _headers in api.requests][:1] == ["/api/status"]
    finally:
        releasing.cancel()
        if window is not None:
            window.close()
        assert await asyncio.wait_for(running, 15) == 0
        instance.close()
        await api.stop()
        QApplication.setQuitOnLastWindowClosed(True)
