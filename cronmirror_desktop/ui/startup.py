"""What the app opens at start (and again after Settings are saved): the store, the Control API, the
hosted worker's parts, the icon and the window's saved state.

Only what the first frame needs is imported with this module: the Supabase store, the Control API client
(HTTP), the hosted worker and the Settings dialog are imported where they are first used, so a start on
the embedded store never loads them (tests/test_app_startup_imports.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QWidget

from cronmirror_desktop.core.config import EffectiveConfig, resolve_config
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.paths import app_paths
from cronmirror_desktop.core.resources import app_icon_files
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.stores import open_store
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.worker_host import WorkerHost, WorkerState

if TYPE_CHECKING:
    from cronmirror_desktop.core.controlapi import ControlApiClient
    from cronmirror_desktop.ui.demo import Demo
    from cronmirror_desktop.ui.settings_dialog import SettingsDialog
    from worker.configured import WorkerParts

log = logging.getLogger("cronmirror_desktop")

#: Tear-down waits this long beyond the worker's grace period for its thread to end.
WORKER_STOP_MARGIN_S = 5.0


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
    #: The configuration it was opened from (None for the demo), for the hosted worker's settings.
    config: EffectiveConfig | None = None


async def open_context(args: argparse.Namespace, config: EffectiveConfig | None = None) -> StartupContext:
    """Pick the store: --demo (a seeded temp store); Supabase when configured (unless --local); else the
    embedded local store, which is also the fallback when Supabase is configured but cannot be used."""
    if args.demo:
        from cronmirror_desktop.ui.demo import seed_demo

        tmp = tempfile.TemporaryDirectory(prefix="cronmirror-demo-")
        demo = await seed_demo(Path(tmp.name), mistake=getattr(args, "demo_mistake", False))
        store = LocalStore(demo.store_file, poll_interval=0.25)
        await store.open()
        project = args.project or demo.project_id
        return StartupContext(store, False, demo=True, project_id=project, cleanup=[tmp], demo_setup=demo)

    config = config or resolve_config()
    configured = config.supabase_url.usable and config.anon_key.usable
    project = args.project or config.project.value
    control_api: ControlApiClient | None = None
    if config.control_api_url.usable:
        from cronmirror_desktop.core.controlapi import ControlApiClient  # HTTP: only when configured

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
        config=config,
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


def ui_state(directory: Path | None = None) -> QSettings:
    """Window geometry and column layout: runtime state, kept apart from the user's settings."""
    path = (directory or app_paths().state_dir) / "ui-state.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def show_settings(parent: QWidget, controller: AppController, args: argparse.Namespace) -> SettingsDialog:
    """Open Settings (window-modal, so the app keeps updating behind it); on save, reconnect."""
    from cronmirror_desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(parent, notifier=controller.notifier)
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
    config = context.config or resolve_config()
    factory = configured_parts(project=args.project, local=args.local, store_file=args.store_file)
    wait = config.worker.grace_period_s + WORKER_STOP_MARGIN_S
    return factory, args.project or config.project_id, wait


def configured_parts(
    *, project: str | None, local: bool, store_file: Path | None
) -> Callable[[], WorkerParts]:
    """`worker.hosted.ConfiguredParts`, imported when the worker starts (on its thread) rather than with
    the app: the worker's modules are for the launches that run it."""

    def parts() -> WorkerParts:
        from worker.hosted import ConfiguredParts

        return ConfiguredParts(project=project, local=local, store_file=store_file)()

    return parts


async def wait_for_worker(host: WorkerHost, within: float) -> bool:
    """Until the hosted worker runs (or failed, or `within` seconds passed): for `--worker --screenshot`."""
    deadline = asyncio.get_running_loop().time() + within
    while host.state not in (WorkerState.RUNNING, WorkerState.FAILED, WorkerState.STOPPED):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return host.state is WorkerState.RUNNING
