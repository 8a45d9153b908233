"""Start-up: QApplication first, then the asyncio loop through qasync, then the window.

Order matters: the QApplication must exist before qasync's loop (which drives Qt's event loop), and the
loop must outlive the window so tear-down can still await (stopping the hosted worker, closing a
subscription, the store). That is why closing the window does not quit Qt directly:
`setQuitOnLastWindowClosed(False)`, the window's `closed` signal ends `run_app`, which tears down and
returns; only then does the loop stop.

Where the app lives: in its window, and in the menu bar (`tray.py`) when the desktop has one. Closing the
window hides it into the menu bar while the hosted worker runs (or with `--tray-only`); otherwise it ends
the app, as before. Quit (menu bar, ⌘Q, logging out) always ends it through the same tear-down, which
gives a running job the worker's grace period. A second launch activates the running app instead
(`single_instance.py`).

The first frame comes first: what no pixel of it needs waits until the window has painted the first
snapshot (`first_paint.py`): the Control API's health check and the single-instance server (a second
launch is still handed over before any window shows; only taking the name waits). The modules behind the
Supabase store, the Control API, the keychain, the hosted worker and the dialogs are imported where they
are first used (`startup.py`), so a start on the embedded store shows its persisted jobs without them.

Failures never vanish: `sys.excepthook` and the loop's exception handler log with a traceback (to a
rotating file in the user log dir) and show a dialog saying where the log is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from cronmirror_desktop import APP_NAME, BUNDLE_ID, __version__
from cronmirror_desktop.core.certificates import use_bundled_certificates
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.logsetup import configure_logging
from cronmirror_desktop.core.paths import app_paths, set_dev_dir
from cronmirror_desktop.core.snapshot_cache import SnapshotCache
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.collector import GuiThreadCollector
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.crash_reporter import CrashReporter
from cronmirror_desktop.ui.first_paint import FirstFrame
from cronmirror_desktop.ui.notifications import NotificationPrefs
from cronmirror_desktop.ui.presence import AppWindow, Presence, QuitGuard, claim_single_instance
from cronmirror_desktop.ui.screenshot import SCREENSHOT_TIMEOUT_S, screenshot_state, take_screenshot
from cronmirror_desktop.ui.startup import (
    app_icon,
    open_context,
    show_settings,
    ui_state,
    wait_for_worker,
    worker_setup,
)
from cronmirror_desktop.ui.theme import ThemeMode, apply_theme, stored_theme
from cronmirror_desktop.ui.tray import TrayIcon, tray_available
from cronmirror_desktop.ui.worker_host import WorkerHost
from cronmirror_desktop.ui.worker_menu import WorkerMenu, start_at_launch

if TYPE_CHECKING:
    from cronmirror_desktop.ui.single_instance import SingleInstance

log = logging.getLogger("cronmirror_desktop")

LOG_NAME = "cronmirror-desktop"


async def run_app(
    app: QApplication,
    args: argparse.Namespace,
    *,
    settings: QSettings | None = None,
    instance: SingleInstance | None = None,
    tray: bool | None = None,
    on_started: Callable[[Presence], object] | None = None,
) -> int:
    """Open the store, show the window (or only the menu-bar icon), run until the window is closed or
    the app is quit, tear down. Returns the exit code. `instance` delivers second launches (it takes its
    name after the first paint if it has not yet: `claim_single_instance(listen=False)`); `tray`
    overrides whether the desktop has a system tray (default: ask Qt); `on_started` is handed the
    window, menus and icon once they are shown (tests use it; with `--tray-only` no window is findable)."""
    try:
        context = await open_context(args)
    except CronMirrorError as exc:
        QMessageBox.critical(None, APP_NAME, f"{exc.message}\n\n{exc.hint}")
        return 1
    # From here on threads run beside the GUI (the store's, the hosted worker's): cycles holding Qt
    # objects must be collected on this thread only.
    collector = GuiThreadCollector()  # no parent: not one more child of the app per run
    collector.start()
    throwaway = args.screenshot is not None or context.demo
    controller = AppController(
        context.store,
        supabase_configured=context.supabase_configured,
        configured_projects=context.configured_projects,
        project_id=context.project_id,
        control_api=context.control_api,
        supabase_problem=context.supabase_problem,
        demo=context.demo,
        # A screenshot or the demo neither reads nor changes this user's notification choices.
        notification_prefs=None if throwaway else NotificationPrefs.load(),
        save_notification_prefs=None if throwaway else NotificationPrefs.save,
        # Nor does it show or keep this user's last known jobs.
        snapshot_cache=None if throwaway else SnapshotCache(app_paths().cache_dir / "snapshots"),
    )
    if settings is None:
        # A screenshot shows the default layout at 1280×800, not whatever this user left behind.
        settings = screenshot_state() if args.screenshot is not None else ui_state()
    factory, worker_project, stop_wait = worker_setup(args, context)
    host = WorkerHost(factory)
    worker_menu = WorkerMenu(
        host,
        controller,
        project_id=worker_project,
        stop_wait=stop_wait,
        remember_choice=context.demo_setup is None,
    )
    window = AppWindow(
        controller,
        settings,
        open_settings=lambda parent: show_settings(parent, controller, args),
        worker_menu=worker_menu,
    )
    if args.screenshot is not None:
        width, _, height = (args.screenshot_size or "1280x800").partition("x")
        window.resize(int(width), int(height))
    has_tray = (tray_available() if tray is None else tray) and args.screenshot is None
    tray_icon = TrayIcon(worker_menu) if has_tray else None
    presence = Presence(window, worker_menu, tray_icon, tray_only=args.tray_only)
    # The demo's own worker executes Run requests (harmless shell commands). Not for screenshots unless
    # asked: they should show every request status as seeded, not as the worker moved them on.
    if args.screenshot is not None:
        start_worker = args.worker
    elif context.demo_setup is not None:
        start_worker = True
    else:
        start_worker = args.worker or start_at_launch()

    done = asyncio.Event()
    window.closed.connect(done.set)
    worker_menu.quitRequested.connect(done.set)
    guard = QuitGuard(done)
    app.installEventFilter(guard)
    if instance is not None:
        instance.activated.connect(presence.activate)
    presence.show_at_start()
    first_frame = FirstFrame(window, controller)
    after_first_frame = asyncio.ensure_future(_after_first_frame(first_frame, instance))
    if on_started is not None:
        on_started(presence)
    exit_code = 0
    try:
        await controller.start(checks_after=first_frame.shown)
        if start_worker:
            worker_menu.start()
        if args.screenshot is not None:
            if start_worker:
                await wait_for_worker(host, SCREENSHOT_TIMEOUT_S)
            ok = await take_screenshot(
                window,
                controller,
                args.screenshot,
                worker_menu=args.screenshot_worker_menu,
                sources=args.screenshot_sources,
                job_id=args.screenshot_job,
                job_menu=args.screenshot_job_menu,
                edit=args.screenshot_edit,
                watching=args.screenshot_watching,
            )
            exit_code = 0 if ok else 1
            window.close()
        await done.wait()
    finally:
        after_first_frame.cancel()
        first_frame.close()
        if instance is not None:  # a launch from now on starts a new app instead of waking this one
            instance.activated.disconnect(presence.activate)
            instance.close()
        with contextlib.suppress(Exception):
            window.save_layout()
        window.hide()
        # A running job gets the worker's grace period; the menu-bar icon says "stopping" meanwhile.
        if not await host.stop(stop_wait):
            log.warning("the hosted worker did not stop within %.0f s", stop_wait)
        if tray_icon is not None:
            tray_icon.dispose()
        presence.dispose()
        await controller.stop()
        for item in context.cleanup:
            with contextlib.suppress(Exception):
                item.cleanup()
        app.removeEventFilter(guard)
        collector.stop()
    return exit_code


async def _after_first_frame(first_frame: FirstFrame, instance: SingleInstance | None) -> None:
    """Start-up work no pixel of the first frame needs (see the module docstring)."""
    await first_frame.shown.wait()
    if instance is not None and instance.server is None:
        instance.listen()  # False: another launch took the name first; this one carries on without


NO_DISPLAY = "no display (set DISPLAY, or use --screenshot with QT_QPA_PLATFORM=offscreen)"


def display_problem(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why Qt could not open a window here, said before it tries: on Linux and the BSDs without DISPLAY
    (or WAYLAND_DISPLAY) Qt aborts with "xcb-cursor0 is needed ... Reinstalling the application may fix
    this problem", which sends people after the wrong cause. None: there is a display (or a platform
    plugin that needs none, such as offscreen)."""
    if platform.startswith(("darwin", "win", "cygwin")):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip()
    x11 = bool(environ.get("DISPLAY", "").strip())
    wayland = bool(environ.get("WAYLAND_DISPLAY", "").strip())
    if chosen in ("", "xcb") and not x11 and not (chosen == "" and wayland):
        return NO_DISPLAY
    if chosen.startswith("wayland") and not wayland:
        return NO_DISPLAY
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_bundled_certificates()  # before any TLS context exists (the frozen app's wss:// needs it)
    if args.dev_dir is not None:
        set_dev_dir(args.dev_dir)
    if (
        args.screenshot is not None
        and "QT_QPA_PLATFORM" not in os.environ
        and sys.platform.startswith("linux")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    problem = display_problem(os.environ)
    if problem is not None:
        print(f"cronmirror-desktop: {problem}", file=sys.stderr)
        return 1
    log_file = configure_logging(
        app_paths().log_dir,
        LOG_NAME,
        console=args.verbose,
        level=logging.DEBUG if args.verbose else logging.INFO,
    )
    log.info("%s %s starting", APP_NAME, __version__)

    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setOrganizationDomain(BUNDLE_ID)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(BUNDLE_ID)
    app.setQuitOnLastWindowClosed(False)  # the window's `closed` ends run_app; see the module docstring
    theme = ThemeMode(args.theme) if args.theme else stored_theme()
    apply_theme(app, theme)
    hints = app.styleHints()
    if hints is not None:  # follows the system while that is the choice (Settings may change it)
        hints.colorSchemeChanged.connect(
            lambda _scheme: apply_theme(app, ThemeMode.SYSTEM) if stored_theme() is ThemeMode.SYSTEM else None
        )
    app.setWindowIcon(app_icon())

    reporter = CrashReporter(log_file)
    reporter.install()
    early_exit, instance = claim_single_instance(args, listen=False)  # listens after the first frame
    if early_exit is not None:
        return early_exit
    try:
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            runner.get_loop().set_exception_handler(reporter.loop_handler)
            code = runner.run(run_app(app, args, instance=instance))
    finally:
        if instance is not None:
            instance.close()
    log.info("%s exits with %s", APP_NAME, code)
    return code
