"""Failures never vanish: `sys.excepthook` and the loop's exception handler log with a traceback (to a
rotating file in the user log dir) and show a dialog saying where the log is."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from cronmirror_desktop import APP_NAME
from cronmirror_desktop.core.errors import CronMirrorError

log = logging.getLogger("cronmirror_desktop")


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
