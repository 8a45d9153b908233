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
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QPainter
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon, QWidget

from cronmirror_desktop import APP_NAME, BUNDLE_ID, __version__
from cronmirror_desktop.core.config import EffectiveConfig, resolve_config
from cronmirror_desktop.core.controlapi import ControlApiClient
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.logsetup import configure_logging
from cronmirror_desktop.core.paths import app_paths, set_dev_dir
from cronmirror_desktop.core.resources import app_icon_files
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.stores import open_store
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.demo import Demo
from cronmirror_desktop.ui.main_window import MainWindow
from cronmirror_desktop.ui.settings_dialog import SettingsDialog
from cronmirror_desktop.ui.single_instance import Forwarded, SingleInstance
from cronmirror_desktop.ui.theme import ThemeMode, apply_theme
from cronmirror_desktop.ui.tray import TrayIcon, hide_dock_icon, tray_available
from cronmirror_desktop.ui.worker_host import WorkerHost, WorkerState
from cronmirror_desktop.ui.worker_menu import WorkerMenu, start_at_launch
from worker.configured import WorkerParts
from worker.hosted import ConfiguredParts

log = logging.getLogger("cronmirror_desktop")

LOG_NAME = "cronmirror-desktop"
SCREENSHOT_TIMEOUT_S = 20.0
#: Tear-down waits this long beyond the worker's grace period for its thread to end.
WORKER_STOP_MARGIN_S = 5.0
#: The job the demo screenshot shows in the details pane (it has a target agent and requests).
SCREENSHOT_DEMO_JOB = "jobs:weekly-review"


# -- command line ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cronmirror-desktop",
        description="See and trigger the scheduled jobs of your Mac mini, mirrored through Supabase.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo",
        action="store_true",
        help="show demo data from a throwaway local store (nothing you have is touched)",
    )
    mode.add_argument(
        "--local",
        action="store_true",
        help="use the embedded local store even when Supabase is configured",
    )
    parser.add_argument(
        "--project", metavar="ID", help="open this project (the id both tables are scoped by)"
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="once data is shown, save the main window as a PNG and exit",
    )
    parser.add_argument(
        "--theme",
        choices=[m.value for m in ThemeMode],
        default=ThemeMode.SYSTEM.value,
        help="light or dark appearance (default: follow the system)",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="start the worker inside the app at launch: it mirrors this computer's jobs and runs the "
        "queued requests (it can also be started and stopped from the Worker menu)",
    )
    parser.add_argument(
        "--tray-only",
        action="store_true",
        help="live in the menu bar only: no window at start and, on macOS, no Dock icon "
        "(where no menu bar icon is possible, the window is shown instead)",
    )
    # For docs/screenshots: the screenshot shows the Worker menu open.
    parser.add_argument("--screenshot-worker-menu", action="store_true", help=argparse.SUPPRESS)
    # For docs/screenshots: the job whose details the screenshot shows (default: SCREENSHOT_DEMO_JOB).
    parser.add_argument("--screenshot-job", metavar="JOB_ID", help=argparse.SUPPRESS)
    parser.add_argument("--store-file", metavar="PATH", type=Path, help="the local store's SQLite file")
    parser.add_argument(
        "--dev-dir",
        metavar="DIR",
        type=Path,
        help="keep every file (settings, local store, logs, window state) under DIR",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages to the console")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    return parser


# -- logging and crashes --------------------------------------------------------------------------


class CrashReporter:
    """`sys.excepthook` and the loop's exception handler: log it, show one dialog, keep running."""

    def __init__(self, log_file: Path | None) -> None:
        self.log_file = log_file
        self.dialog: QMessageBox | None = None
        self.count = 0

    def install(self) -> None:
        sys.excepthook = self.excepthook

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        self.show(exc)

    def loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, asyncio.CancelledError):
            return
        log.error("asyncio: %s", context.get("message"), exc_info=exc)
        if isinstance(exc, BaseException):
            self.show(exc)

    def show(self, exc: BaseException) -> None:
        self.count += 1
        if QApplication.instance() is None or (self.dialog is not None and self.dialog.isVisible()):
            return
        where = f"\n\nDetails are in the log file:\n{self.log_file}" if self.log_file else ""
        if isinstance(exc, CronMirrorError):
            text = f"{exc.message}\n{exc.hint}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        box = QMessageBox(
            QMessageBox.Icon.Warning, APP_NAME, "Something went wrong, but CronMirror keeps running."
        )
        box.setInformativeText(text + where)
        box.setDetailedText("".join(traceback.format_exception(exc)))
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setObjectName("crashDialog")
        self.dialog = box
        box.show()


# -- the running app ------------------------------------------------------------------------------


class AppWindow(MainWindow):
    """The main window plus the app's close policy (see the module docstring): while `keep_alive()` says
    the app lives in the menu bar, closing only hides the window (`hiddenToMenuBar`); otherwise `closed`
    ends the app."""

    closed = Signal()
    hiddenToMenuBar = Signal()

    def __init__(self, *args: Any, keep_alive: Callable[[], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_alive = keep_alive

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if not event.isAccepted():
            return
        if self.keep_alive is not None and self.keep_alive():
            self.hiddenToMenuBar.emit()
        else:
            self.closed.emit()


def bring_to_front(window: QWidget) -> None:
    """Show the window, un-minimised, in front (Open CronMirror, a second launch)."""
    window.show()
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.raise_()
    window.activateWindow()


class QuitGuard(QObject):
    """Turns a quit request (⌘Q, the Dock's Quit, a tray's Quit, logging out) into "end run_app": Qt would
    otherwise leave its event loop at once, stopping the asyncio loop while tear-down still needs it."""

    def __init__(self, done: asyncio.Event) -> None:
        super().__init__()
        self._done = done
        self.requests = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Quit:
            self.requests += 1
            self._done.set()
            return True
        return False


@dataclass
class StartupContext:
    """What `run_app` opens: the store, the Control API, and how they were chosen (shown in the window)."""

    store: Store
    supabase_configured: bool
    demo: bool = False
    project_id: str | None = None
    configured_projects: tuple[str, ...] = ()
    control_api: ControlApiClient | None = None
    #: Why Supabase is configured but not used (shown as a banner), e.g. a missing anon key.
    supabase_problem: str | None = None
    #: `--demo`: its files, and the worker that serves them.
    demo_setup: Demo | None = None
    cleanup: list[Any] = field(default_factory=list)


async def open_context(args: argparse.Namespace, config: EffectiveConfig | None = None) -> StartupContext:
    """Pick the store: --demo (a seeded temp store); Supabase when configured (unless --local); else the
    embedded local store, which is also the fallback when Supabase is configured but cannot be used."""
    if args.demo:
        from cronmirror_desktop.ui.demo import seed_demo

        tmp = tempfile.TemporaryDirectory(prefix="cronmirror-demo-")
        demo = await seed_demo(Path(tmp.name))
        store = LocalStore(demo.store_file, poll_interval=0.25)
        await store.open()
        project = args.project or demo.project_id
        return StartupContext(store, False, demo=True, project_id=project, cleanup=[tmp], demo_setup=demo)

    config = config or resolve_config()
    configured = config.supabase_url.usable and config.anon_key.usable
    project = args.project or config.project.value
    control_api: ControlApiClient | None = None
    if config.control_api_url.usable:
        try:
            control_api = ControlApiClient.from_config(config)
        except CronMirrorError as exc:
            log.warning("Control API not usable: %s", exc)
    chosen: Store | None = None
    problem: str | None = None
    if not args.local and config.store.value == "supabase":
        if config.store.problem:
            problem = f"{config.store.problem} {config.store.hint or ''}".strip()
        else:
            try:
                chosen = open_store(config)
            except CronMirrorError as exc:
                problem = f"{exc.message} {exc.hint}".strip()
    if chosen is None:
        local = LocalStore(args.store_file or config.paths.local_store_file)
        await local.open()
        chosen = local
    return StartupContext(
        chosen,
        supabase_configured=configured,
        project_id=project,
        configured_projects=tuple(config.project_ids),
        control_api=control_api,
        supabase_problem=problem,
    )


def app_icon() -> QIcon:
    """The shipped app icon at every size; the painted one if the files are missing (a packaging slip)."""
    try:
        files = app_icon_files()
    except FileNotFoundError as exc:
        log.warning("%s", exc)
        return icons.icon("app")
    icon = QIcon()
    for path in files:
        icon.addFile(str(path))
    return icon


def screenshot_state() -> QSettings:
    path = Path(tempfile.mkdtemp(prefix="cronmirror-shot-")) / "ui-state.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def ui_state(directory: Path | None = None) -> QSettings:
    """Window geometry and column layout: runtime state, kept apart from the user's settings."""
    path = (directory or app_paths().state_dir) / "ui-state.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


async def take_screenshot(
    window: MainWindow,
    controller: AppController,
    path: Path,
    *,
    worker_menu: bool = False,
    job_id: str | None = None,
) -> bool:
    """Wait until data is shown (or a timeout), let the window settle, save it as a PNG. `worker_menu`
    opens the Worker menu and draws it where it drops down (a popup is a window of its own, which
    `grab()` of the main window does not include)."""
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
    if controller.demo:  # show a failed request's result expanded in the dock
        failed = next((r for r in controller.request_model.requests() if r.status == "error"), None)
        if failed is not None:
            window.dock.highlight(failed.id)
    window.table.setFocus()
    await asyncio.sleep(0.4)  # layouts, the details pane's requests and fades settle
    path.parent.mkdir(parents=True, exist_ok=True)
    image = window.grab()
    if worker_menu and window.worker_button is not None and window.worker_popup is not None:
        button, popup = window.worker_button, window.worker_popup
        popup.popup(button.mapToGlobal(button.rect().bottomLeft()))
        await asyncio.sleep(0.2)
        at = button.mapTo(window, button.rect().bottomLeft())
        at.setX(min(at.x(), window.width() - popup.width() - 8))  # as Qt keeps a menu on the screen
        painter = QPainter(image)
        painter.drawPixmap(at, popup.grab())
        painter.end()
        popup.close()
    saved = image.save(str(path), "PNG")
    log.info("screenshot %s: %s", "saved" if saved else "FAILED", path)
    return shown and saved


def show_settings(parent: QWidget, controller: AppController, args: argparse.Namespace) -> SettingsDialog:
    """Open Settings (window-modal, so the app keeps updating behind it); on save, reconnect."""
    dialog = SettingsDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.saved.connect(lambda: controller.spawn("reconfigure", reconfigure(controller, args)))
    dialog.open()
    return dialog


async def reconfigure(controller: AppController, args: argparse.Namespace) -> None:
    """Open the store and Control API the saved settings describe, and hand them to the controller."""
    if controller.demo:
        controller.notice.emit("info", "Saved. The demo keeps its own data; start without --demo to use it.")
        return
    context = await open_context(args)
    await controller.replace_store(
        context.store,
        supabase_configured=context.supabase_configured,
        supabase_problem=context.supabase_problem,
        control_api=context.control_api,
        configured_projects=context.configured_projects,
        project_id=args.project,
    )
    where = "Supabase" if context.store.kind == "supabase" else "the local store"
    controller.notice.emit("success", f"Settings saved. Now using {where}.")


def worker_setup(
    args: argparse.Namespace, context: StartupContext
) -> tuple[Callable[[], WorkerParts], str, float]:
    """What the hosted worker runs on: the demo's own worker, or the effective configuration (the same
    store the app uses: `--local`, `--store-file`, or Supabase with the service-role key). Returns its
    factory, its project and how long tear-down waits for it."""
    if context.demo_setup is not None:
        return context.demo_setup.worker_parts, context.demo_setup.project_id, 15.0
    config = resolve_config()
    factory = ConfiguredParts(project=args.project, local=args.local, store_file=args.store_file)
    wait = config.worker.grace_period_s + WORKER_STOP_MARGIN_S
    return factory, args.project or config.project_id, wait


class Presence:
    """Where the app shows itself: the window, and the menu-bar icon when the desktop has one."""

    def __init__(
        self,
        window: AppWindow,
        worker_menu: WorkerMenu,
        tray: TrayIcon | None,
        *,
        tray_only: bool,
    ) -> None:
        self.window = window
        self.worker_menu = worker_menu
        self.tray = tray
        self.tray_only = tray_only
        self._told_hidden = False
        window.keep_alive = self.keep_alive
        window.hiddenToMenuBar.connect(self._hidden)
        worker_menu.openRequested.connect(self.open_window)
        worker_menu.controller.notice.connect(self._notice)
        #: macOS answers a click on the Dock icon, or launching the app again from Finder, itself (no
        #: second process reaches our single-instance socket): the app just becomes active.
        self.reopens_on_activation = sys.platform == "darwin"
        self._app = QApplication.instance()
        if isinstance(self._app, QApplication):
            self._app.applicationStateChanged.connect(self._application_state)

    def dispose(self) -> None:
        """Disconnect from the application (it outlives this window: tests start many apps on one)."""
        if isinstance(self._app, QApplication):
            with contextlib.suppress(RuntimeError, TypeError):
                self._app.applicationStateChanged.disconnect(self._application_state)

    def keep_alive(self) -> bool:
        """Closing the window keeps the app in the menu bar while the worker runs (or --tray-only)."""
        in_menu_bar = self.tray is not None and self.tray.isVisible()
        return in_menu_bar and (self.tray_only or self.worker_menu.active)

    def show_at_start(self) -> None:
        if self.tray is not None:
            self.tray.show()
        if self.tray_only and self.tray is not None:
            hide_dock_icon()
            return
        self.window.show()
        if self.tray_only:
            self.worker_menu.controller.notice.emit(
                "warning", "This desktop has no menu bar icons (system tray), so CronMirror shows its window."
            )

    def open_window(self) -> None:
        bring_to_front(self.window)

    def activate(self, message: dict[str, Any]) -> None:
        """A second launch: its flags, then bring this app to the front (unless it asked for the menu
        bar only and there is one)."""
        project = message.get("project")
        controller = self.worker_menu.controller
        if isinstance(project, str) and project and project != controller.project_id:
            controller.switch_project(project)
        if message.get("worker"):
            self.worker_menu.start()
        if not (message.get("tray_only") and self.tray is not None and self.tray.isVisible()):
            self.open_window()

    def _application_state(self, state: Qt.ApplicationState) -> None:
        """Reopen: the app was activated (Dock icon, Finder) while its window hid in the menu bar."""
        hidden_in_menu_bar = not self.window.isVisible() and not self.tray_only
        if (
            self.reopens_on_activation
            and state == Qt.ApplicationState.ApplicationActive
            and hidden_in_menu_bar
        ):
            self.open_window()

    def _hidden(self) -> None:
        if self.tray is not None and not self._told_hidden and self.tray.supportsMessages():
            self._told_hidden = True
            self.tray.showMessage(
                APP_NAME,
                "CronMirror keeps running in the menu bar. Open or quit it from there.",
                QSystemTrayIcon.MessageIcon.Information,
                5000,
            )

    def _notice(self, level: str, text: str) -> None:
        if self.tray is not None and not self.window.isVisible():
            self.tray.notify(level, text)


async def wait_for_worker(host: WorkerHost, within: float) -> bool:
    """Until the hosted worker runs (or failed, or `within` seconds passed): for `--worker --screenshot`."""
    deadline = asyncio.get_running_loop().time() + within
    while host.state not in (WorkerState.RUNNING, WorkerState.FAILED, WorkerState.STOPPED):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return host.state is WorkerState.RUNNING


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
    the app is quit, tear down. Returns the exit code. `instance` delivers second launches; `tray`
    overrides whether the desktop has a system tray (default: ask Qt); `on_started` is handed the
    window, menus and icon once they are shown (tests use it; with `--tray-only` no window is findable)."""
    try:
        context = await open_context(args)
    except CronMirrorError as exc:
        QMessageBox.critical(None, APP_NAME, f"{exc.message}\n\n{exc.hint}")
        return 1
    controller = AppController(
        context.store,
        supabase_configured=context.supabase_configured,
        configured_projects=context.configured_projects,
        project_id=context.project_id,
        control_api=context.control_api,
        supabase_problem=context.supabase_problem,
        demo=context.demo,
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
        window.resize(1280, 800)
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
    if on_started is not None:
        on_started(presence)
    exit_code = 0
    try:
        await controller.start()
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
                job_id=args.screenshot_job,
            )
            exit_code = 0 if ok else 1
            window.close()
        await done.wait()
    finally:
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
    return exit_code


def activation_message(args: argparse.Namespace) -> dict[str, Any]:
    """What a second launch tells the running app (the flags that mean something to it)."""
    return {
        "command": "activate",
        "worker": args.worker,
        "tray_only": args.tray_only,
        "project": args.project,
    }


def claim_single_instance(args: argparse.Namespace) -> tuple[int | None, SingleInstance | None]:
    """Hand this launch to a running CronMirror (then exit with the returned code), or become the one.
    Screenshots and the demo are throwaway runs and skip it."""
    if args.screenshot is not None or args.demo:
        return None, None
    instance = SingleInstance()
    forwarded = instance.forward(activation_message(args))
    if forwarded is Forwarded.DELIVERED:
        log.info("CronMirror already runs; it was brought to the front")
        return 0, None
    if forwarded is Forwarded.NO_ANSWER:
        log.error("CronMirror already runs but does not answer (%s)", instance.name)
        QMessageBox.warning(
            None,
            APP_NAME,
            "CronMirror is already running but does not respond. Quit it (or end it in Activity Monitor) "
            "and open CronMirror again.",
        )
        return 1, None
    if not instance.listen():
        return None, None  # another launch won the race: carry on without (two windows, no harm)
    return None, instance


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.dev_dir is not None:
        set_dev_dir(args.dev_dir)
    if (
        args.screenshot is not None
        and "QT_QPA_PLATFORM" not in os.environ
        and sys.platform.startswith("linux")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
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
    apply_theme(app, args.theme)
    hints = app.styleHints()
    if args.theme == ThemeMode.SYSTEM.value and hints is not None:
        hints.colorSchemeChanged.connect(lambda _scheme: apply_theme(app, ThemeMode.SYSTEM))
    app.setWindowIcon(app_icon())

    reporter = CrashReporter(log_file)
    reporter.install()
    early_exit, instance = claim_single_instance(args)
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
