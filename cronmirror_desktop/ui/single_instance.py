"""One CronMirror per user and set of files: launching it again brings the running one to the front.

The first instance listens on a local socket (`QLocalServer`; a Unix socket in the temp dir, a named pipe
on Windows) named after the user and the state directory, so a `--dev-dir` run or another user is a
separate app. A second launch connects, sends one JSON line (`{"command": "activate", ...}` with the
flags that mean something to a running app: `--worker`, `--tray-only`, `--project`), waits for "ok" and
exits 0. A socket file left behind by a crashed instance accepts no connection: it is removed and the new
instance takes the name over.

`--screenshot` and `--demo` runs skip all this (they are throwaway runs, and must not be swallowed by a
running app); tests use their own dev dir, hence their own name.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from cronmirror_desktop.core.paths import app_paths

log = logging.getLogger(__name__)

TIMEOUT_MS = 2000
MAX_MESSAGE_BYTES = 64 * 1024


def instance_name(state_dir: Path | None = None, user: str | None = None) -> str:
    """The socket's name: per user and per state directory (so per `--dev-dir`)."""
    directory = str((state_dir or app_paths().state_dir).expanduser().resolve())
    try:
        who = user or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        who = "user"
    digest = hashlib.sha256(f"{who}\0{directory}".encode()).hexdigest()[:16]
    return f"cronmirror-{digest}"


class Forwarded(StrEnum):
    #: A running instance took the message: this process should exit.
    DELIVERED = "delivered"
    #: Nobody listens (no instance, or a stale socket of a crashed one): this process is the app.
    NO_INSTANCE = "no_instance"
    #: Something accepted the connection but never answered (a hung instance).
    NO_ANSWER = "no_answer"


class SingleInstance(QObject):
    """`forward()` from a second launch; `listen()` in the first, whose `activated` carries each message."""

    activated = Signal(dict)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self.server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytes] = {}

    # -- the second launch --------------------------------------------------------------------

    def forward(self, message: dict[str, Any], timeout_ms: int = TIMEOUT_MS) -> Forwarded:
        """Hand `message` to the running instance, if there is one (blocking, bounded by the timeout)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return Forwarded.NO_INSTANCE
        try:
            socket.write(json.dumps(message).encode() + b"\n")
            socket.waitForBytesWritten(timeout_ms)
            answer = b""
            while b"\n" not in answer and socket.waitForReadyRead(timeout_ms):
                answer += bytes(socket.readAll().data())
            return Forwarded.DELIVERED if answer.startswith(b"ok") else Forwarded.NO_ANSWER
        finally:
            socket.abort()

    # -- the first instance -------------------------------------------------------------------

    def listen(self) -> bool:
        """Take the name; a stale socket (nobody accepts on it) is removed first. False if another
        instance holds it (one that started at the same moment, or a hung one).

        The liveness check comes first because with `UserAccessOption` Qt creates the socket elsewhere and
        renames it into place, silently replacing whatever was there, a live instance's socket included.
        """
        if self._alive():
            log.warning("single instance: %s is held by another instance", self.name)
            return False
        if QLocalServer.removeServer(self.name):
            log.info("single instance: removed the stale socket of a crashed instance (%s)", self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("single instance: cannot listen on %s: %s", self.name, server.errorString())
            server.deleteLater()
            return False
        server.newConnection.connect(self._accept)
        self.server = server
        log.info("single instance: listening on %s", server.fullServerName())
        return True

    @property
    def full_name(self) -> str:
        return self.server.fullServerName() if self.server is not None else ""

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server.deleteLater()
            self.server = None

    def _alive(self) -> bool:
        """Does anything accept connections on the name? (A crashed instance's socket refuses them.)"""
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        alive = probe.waitForConnected(300)
        probe.abort()
        return alive

    def _accept(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE_BYTES:
                socket.abort()
            else:
                self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        self._buffers[socket] = b""
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            log.warning("single instance: ignored a message that is not ours")
            socket.abort()
            return
        socket.write(b"ok\n")
        socket.flush()
        socket.disconnectFromServer()
        log.info("single instance: %s from a second launch", message.get("command", "?"))
        self.activated.emit(message)

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()
