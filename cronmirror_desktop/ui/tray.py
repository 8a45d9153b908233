"""The menu-bar icon (a system tray icon elsewhere): CronMirror's presence while no window is open.

- The icon is a template image (black on transparent, `setIsMask(True)`), so macOS draws it in the menu
  bar's own colour in light and dark mode; the "active" variant (a dot) shows while the hosted worker runs.
- The menu is rebuilt from live state each time it opens (`aboutToShow`) by `WorkerMenu.populate`, the
  same code that fills the window's Worker menu.
- Not every desktop has a tray (GNOME without an extension, Wayland compositors, offscreen):
  `QSystemTrayIcon.isSystemTrayAvailable()` decides, and without one the app keeps its window (which has
  the same controls) and closing it quits.

`hide_dock_icon()` is `--tray-only` on macOS at run time; the `LSUIElement` bundle variant of `build.spec`
(`CRONMIRROR_TRAY_ONLY=1 scripts/package`) does the same for a whole build.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from cronmirror_desktop import APP_NAME
from cronmirror_desktop.core.resources import tray_icon_files
from cronmirror_desktop.ui import icons
from cronmirror_desktop.ui.controller import Level
from cronmirror_desktop.ui.worker_host import ACTIVE_STATES
from cronmirror_desktop.ui.worker_menu import WorkerMenu, WorkerSummary

log = logging.getLogger(__name__)

#: NSApplicationActivationPolicyAccessory: no Dock icon, no app menu; windows can still be shown.
_NS_ACTIVATION_POLICY_ACCESSORY = 1


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


def tray_icon(active: bool) -> QIcon:
    """The template icon at 1x and 2x, marked as a mask so the menu bar recolours it."""
    icon = QIcon()
    try:
        for path in tray_icon_files(active):
            icon.addFile(str(path))
    except FileNotFoundError as exc:  # a packaging slip: still show something
        log.warning("%s", exc)
        return icons.icon("app")
    icon.setIsMask(True)
    return icon


class TrayIcon(QSystemTrayIcon):
    """The menu-bar icon: its menu is `WorkerMenu`'s, its tooltip the worker's status line."""

    def __init__(self, worker_menu: WorkerMenu) -> None:
        super().__init__()
        self.worker_menu = worker_menu
        self._active: bool | None = None
        # A tray menu has no parent widget (it is a top-level popup); kept here, deleted in dispose().
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.menu.aboutToShow.connect(self.rebuild)
        self.setContextMenu(self.menu)
        self.activated.connect(self._activated)
        worker_menu.changed.connect(self.refresh)
        self.rebuild()  # some trays (D-Bus menus) read the menu before they ever show it
        self.refresh()

    def rebuild(self) -> WorkerSummary:
        return self.worker_menu.populate(self.menu, with_open=True)

    def refresh(self) -> None:
        """Icon and tooltip follow the worker (the menu itself is rebuilt when it opens)."""
        summary = self.worker_menu.summary()
        active = summary.state in ACTIVE_STATES
        if active != self._active:
            self._active = active
            self.setIcon(tray_icon(active))
        tip = f"{APP_NAME}\n{summary.line}"
        if summary.problem:
            tip += f"\n{summary.problem}"
        self.setToolTip(tip)

    def notify(self, level: str, text: str) -> None:
        """A notice while no window shows it: warnings and errors become a system notification."""
        if level in (Level.ERROR, Level.WARNING) and self.isVisible() and self.supportsMessages():
            icon = QSystemTrayIcon.MessageIcon.Warning
            self.showMessage(APP_NAME, text, icon, 8000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # macOS opens the menu on a click by itself; elsewhere a click opens the window, as people expect.
        if sys.platform == "darwin":
            return
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.worker_menu.openRequested.emit()

    def dispose(self) -> None:
        self.hide()
        self.setContextMenu(None)  # type: ignore[arg-type]
        self.menu.deleteLater()


def hide_dock_icon() -> bool:
    """macOS: run without a Dock icon (`--tray-only`), through NSApplication's activation policy.

    Done with ctypes on the Objective-C runtime, which every macOS has (no PyObjC needed). Returns False
    elsewhere, or when the runtime cannot be reached; the app then simply keeps its Dock icon.
    """
    if sys.platform != "darwin":
        return False
    try:
        import ctypes
        import ctypes.util

        objc = ctypes.cdll.LoadLibrary(ctypes.util.find_library("objc") or "/usr/lib/libobjc.A.dylib")
        objc.objc_getClass.restype = ctypes.c_void_p
        objc.objc_getClass.argtypes = [ctypes.c_char_p]
        objc.sel_registerName.restype = ctypes.c_void_p
        objc.sel_registerName.argtypes = [ctypes.c_char_p]
        # objc_msgSend must be called through a prototype matching the method (arm64 is strict about it).
        send_id = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(("objc_msgSend", objc))
        send_long = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long)(
            ("objc_msgSend", objc)
        )
        ns_app = send_id(objc.objc_getClass(b"NSApplication"), objc.sel_registerName(b"sharedApplication"))
        if not ns_app:
            return False
        selector = objc.sel_registerName(b"setActivationPolicy:")
        return bool(send_long(ns_app, selector, _NS_ACTIVATION_POLICY_ACCESSORY))
    except (OSError, AttributeError, ValueError, TypeError) as exc:
        log.warning("cannot hide the Dock icon: %s", exc)
        return False
