"""Logging for the app, the worker and the CLI: a rotating file in the user log dir, stderr when wanted.

Secrets never reach a log: keys live in SecretStr values and are never formatted; URLs are shown redacted.
Log files are 0600 all the same (job ids, host names and errors are nobody else's business), including the
files a rotation creates.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Any

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files only their owner can read."""

    def _open(self) -> Any:
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)
        return stream


def configure_logging(log_dir: Path, name: str, *, console: bool = False, level: int = logging.INFO) -> Path:
    """Send the root logger to `<log_dir>/<name>.log` (rotated) and, optionally, stderr.

    Idempotent: calling it again replaces the handlers it added before. Returns the log file's path.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cronmirror", False):
            root.removeHandler(handler)
            handler.close()
    formatter = logging.Formatter(FORMAT)
    path = log_dir / f"{name}.log"
    handlers: list[logging.Handler] = []
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        )
    except OSError as exc:  # a read-only home must not stop the app
        print(f"cronmirror: cannot write the log file {path}: {exc}", file=sys.stderr)
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._cronmirror = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Chatty libraries: their DEBUG output includes request URLs with keys in query strings.
    for noisy in ("httpx", "httpcore", "websockets", "hpack", "realtime"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return path
