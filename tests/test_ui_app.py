"""Start-up and the entry point: flags, store choice, the demo's worker, crash handling, colours."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from cronmirror_desktop import __version__
from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.ui import theme
from cronmirror_desktop.ui.app import run_app
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.crash_reporter import CrashReporter
from cronmirror_desktop.ui.demo import DEMO_PROJECT, seed_demo
from cronmirror_desktop.ui.main_window import SETTINGS_VERSION
from cronmirror_desktop.ui.presence import AppWindow
from cronmirror_desktop.ui.startup import open_context
from cronmirror_desktop.ui.worker_host import WorkerHost
from tests.ui_support import UiEnv, env, started, ui_settings, wait_until

__all__ = ["env", "ui_settings"]  # fixtures, used by name

ROOT = Path(__file__).resolve().parents[1]


def app_process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "cronmirror_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=environ,
        check=False,
    )


def test_version_flag() -> None:
    done = app_process("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"CronMirror {__version__}"


def test_demo_screenshot_renders_data_and_exits_zero(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = app_process("--demo", "--screenshot", str(shot), "--dev-dir", str(tmp_path / "dev"))
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    # Not a blank window: many distinct colours (text, chips, icons).
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 800, 7)}
    assert len(colours) > 50


def test_flags_parse() -> None:
    args = build_parser().parse_args(
        ["--local", "--project", "ops", "--screenshot", "x.png", "--theme", "dark"]
    )
    assert (args.local, args.project, args.screenshot, args.theme) == (True, "ops", Path("x.png"), "dark")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--demo", "--local"])


async def test_nothing_configured_means_the_local_store(tmp_path: Path) -> None:
    args = build_parser().parse_args([])
    context = await open_context(args, resolve_config())
    try:
        assert isinstance(context.store, LocalStore)
        assert not context.supabase_configured
        assert context.supabase_problem is None
        assert context.control_api is None
        assert Path(context.store.location) == resolve_config().paths.local_store_file
    finally:
        await context.store.close()


async def test_supabase_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITE_SUPABASE_URL", "https://example.supabase.co")
    monkeypatch.setenv("VITE_SUPABASE_PUBLISHABLE_KEY", "anon-key")
    monkeypatch.setenv("CONTROL_API_BASE_URL", "http://mac-mini.local:3737")
    monkeypatch.setenv("CRONMIRROR_PROJECT_ID", "ops")
    context = await open_context(build_parser().parse_args([]), resolve_config())
    try:
        assert context.store.kind == "supabase"
        assert context.supabase_configured
        assert context.project_id == "ops"
        assert context.control_api is not None
        assert context.control_api.base_url == "http://mac-mini.local:3737"
    finally:
        await context.store.close()
        if context.control_api is not None:
            await context.control_api.aclose()
    local = await open_context(build_parser().parse_args(["--local"]), resolve_config())
    try:
        assert local.store.kind == "local"
        assert local.supabase_configured  # configured, just not used this time
    finally:
        await local.store.close()


async def test_supabase_selected_but_incomplete_falls_back_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cronmirror_desktop.core.config_write import set_value

    set_value("store", "supabase")
    monkeypatch.setenv("SUPABASE_URL", "https://example.supabase.co")
    context = await open_context(build_parser().parse_args([]), resolve_config())
    try:
        assert context.store.kind == "local"
        assert context.supabase_problem is not None
        assert "anon key" in context.supabase_problem
    finally:
        await context.store.close()


async def test_run_app_starts_on_the_local_store_and_quits_when_the_window_closes(
    tmp_path: Path, qapp: QApplication, ui_settings: Any, automatic_gc: None
) -> None:
    args = build_parser().parse_args(["--local", "--store-file", str(tmp_path / "mine.sqlite3")])
    QApplication.setQuitOnLastWindowClosed(False)
    try:
        running = asyncio.ensure_future(run_app(qapp, args, settings=ui_settings))
        await wait_until(
            lambda: any(isinstance(w, AppWindow) and w.isVisible() for w in qapp.topLevelWidgets())
        )
        # The store's thread runs now: cycles are collected on the GUI thread only (collector.py).
        assert not gc.isenabled()
        window = next(w for w in qapp.topLevelWidgets() if isinstance(w, AppWindow) and w.isVisible())
        await wait_until(lambda: not window.controller.loading, what="the first snapshot")
        assert window.banner.isVisible()  # not configured
        assert window.empty_label.isVisible()
        window.close()
        assert await asyncio.wait_for(running, 10) == 0
        assert (tmp_path / "mine.sqlite3").exists()
        assert ui_settings.value("layout/version") == SETTINGS_VERSION  # the layout was saved on the way out
        assert gc.isenabled()  # given back
    finally:
        QApplication.setQuitOnLastWindowClosed(True)


async def test_a_quit_request_ends_the_app_through_its_tear_down(
    tmp_path: Path, qapp: QApplication, ui_settings: Any
) -> None:
    args = build_parser().parse_args(["--local", "--store-file", str(tmp_path / "mine.sqlite3")])
    QApplication.setQuitOnLastWindowClosed(False)
    try:
        running = asyncio.ensure_future(run_app(qapp, args, settings=ui_settings))
        await wait_until(
            lambda: any(isinstance(w, AppWindow) and w.isVisible() for w in qapp.topLevelWidgets())
        )
        QApplication.postEvent(qapp, QEvent(QEvent.Type.Quit))  # what ⌘Q or a tray's Quit sends
        assert await asyncio.wait_for(running, 10) == 0
        assert ui_settings.value("layout/version") == SETTINGS_VERSION  # tear-down ran: the layout was saved
        await asyncio.sleep(0.05)  # and the loop is still ours: it did not stop under us
    finally:
        QApplication.setQuitOnLastWindowClosed(True)


def test_crash_reporter_logs_and_shows_a_dialog(qapp: QApplication, caplog: pytest.LogCaptureFixture) -> None:
    reporter = CrashReporter(Path("/tmp/cronmirror-desktop.log"))
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        with caplog.at_level(logging.ERROR):
            reporter.excepthook(type(exc), exc, exc.__traceback__)
    assert "unexpected error" in caplog.text
    assert reporter.dialog is not None
    assert reporter.dialog.isVisible()
    assert "ValueError: a bug" in reporter.dialog.informativeText()
    assert "/tmp/cronmirror-desktop.log" in reporter.dialog.informativeText()
    reporter.excepthook(RuntimeError, RuntimeError("second"), None)  # one dialog at a time
    assert reporter.count == 2
    reporter.dialog.close()


async def test_demo_runs_end_to_end_through_the_hosted_worker(env: UiEnv, tmp_path: Path) -> None:
    demo = await seed_demo(tmp_path / "demo")
    store = LocalStore(demo.store_file, poll_interval=0.05)
    async with env:
        controller = await started(env.controller(store, project_id=DEMO_PROJECT, demo=True))
        statuses = {r.status for r in controller.request_model.requests()}
        assert statuses == {"queued", "running", "done", "error", "cancelled"}
        kinds = {j.schedule_kind for j in controller.job_model.jobs()}
        assert kinds >= {"cron", "every", "at"}
        assert any(j.problems for j in controller.job_model.jobs())  # one unreadable row, shown
        assert any(j.target_agent_key for j in controller.job_model.jobs())  # a ClawdOS agent job
        model = controller.job_model
        late = [
            model.entry_at(r).job.display_name for r in range(model.rowCount()) if model.entry_at(r).is_late
        ]
        assert late == ["Website uptime check"]  # whatever the time of day: one job is Late on purpose
        assert model.host_zones.for_host("mac-mini") == "Europe/Berlin"  # the demo Mac mini published it
        host = WorkerHost(demo.worker_parts)
        host.start()
        try:
            outcome = await controller.run_job("jobs:heartbeat")
            assert outcome.request is not None
            request_id = outcome.request.id

            def finished() -> bool:
                row = controller.request_model.row_of(request_id)
                return row is not None and controller.request_model.request_at(row).status == "done"

            await wait_until(finished, within=30, what="the demo worker to run the job")
            row = controller.request_model.row_of(request_id)
            assert row is not None
            assert "gateway ok" in controller.request_model.request_at(row).output_tail
            assert host.status is not None
            assert host.status.state == "running"
        finally:
            assert await host.stop()
        assert not host.running


# -- colours --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dark", [False, True])
def test_status_chips_are_readable_in_both_themes(dark: bool) -> None:
    for status, chip in theme.CHIPS[dark].items():
        ratio = theme.contrast_ratio(QColor(chip.foreground), QColor(chip.background))
        assert ratio >= 4.5, f"{status} chip: {ratio:.2f}"
    base = QColor("#1C1C1E" if dark else "#FFFFFF")
    for name in ("ok", "error", "warning", "info"):
        assert theme.contrast_ratio(theme.signal_color(name, dark), base) >= 3.0, name


async def test_switching_to_dark_while_running_repaints_the_icons(env: UiEnv, qapp: QApplication) -> None:
    from cronmirror_desktop.ui import icons

    async with env:
        controller = await started(env.controller())
        window = env.window(controller)
        window.show()
        try:
            assert theme.apply_theme(qapp, "dark") is True
            assert theme.is_dark()
            await wait_until(
                lambda: window.run_action.icon().cacheKey() == icons.icon("run", True).cacheKey()
            )
            assert theme.apply_theme(qapp, "light") is False
            assert not theme.is_dark()
            await wait_until(
                lambda: window.run_action.icon().cacheKey() == icons.icon("run", False).cacheKey()
            )
        finally:
            theme.apply_theme(qapp, "light")
