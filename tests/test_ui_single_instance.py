"""One CronMirror per user and dev dir: a second launch activates the first and exits 0; a crashed
instance's socket is taken over; a hung one is not mistaken for none; throwaway runs are never blocked.

The second launch is a real `python -m cronmirror_desktop` process (a client in this process would block
the very loop that has to answer it); the first instance is `run_app` in this process, on the test's own
dev dir, hence its own socket name.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir, QSettings
from PySide6.QtWidgets import QApplication

from cronmirror_desktop.core.config_write import set_value
from cronmirror_desktop.ui.app import run_app
from cronmirror_desktop.ui.cli_args import build_parser
from cronmirror_desktop.ui.presence import Presence, claim_single_instance
from cronmirror_desktop.ui.single_instance import Forwarded, SingleInstance, instance_name
from cronmirror_desktop.ui.worker_host import WorkerState
from tests.ui_support import ui_settings, wait_until

__all__ = ["ui_settings"]  # fixtures, used by name

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def instance(qapp: QApplication) -> Iterator[SingleInstance]:
    made = SingleInstance()
    yield made
    made.close()


def socket_path(name: str) -> Path:
    """Where QLocalServer puts a plain name on Unix."""
    return Path(QDir.tempPath()) / name


def second_launch(*flags: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # same CRONMIRROR_DEV_DIR as this test
    return subprocess.run(
        [sys.executable, "-m", "cronmirror_desktop", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environ,
        check=False,
    )


def test_the_name_is_per_user_and_per_dev_dir(tmp_path: Path) -> None:
    assert instance_name(tmp_path / "a", "ann") == instance_name(tmp_path / "a", "ann")
    assert instance_name(tmp_path / "a", "ann") != instance_name(tmp_path / "b", "ann")
    assert instance_name(tmp_path / "a", "ann") != instance_name(tmp_path / "a", "bob")
    assert instance_name().startswith("cronmirror-")
    assert len(str(socket_path(instance_name()))) < 100  # Unix socket paths are short (104 on macOS)


async def test_a_second_launch_brings_the_first_to_the_front_with_its_flags(
    qapp: QApplication, ui_settings: QSettings, tmp_path: Path, instance: SingleInstance
) -> None:
    for source in ("gateway", "crontab", "launchd"):
        set_value(f"worker.sources.{source}", "false")
    assert instance.listen()
    QApplication.setQuitOnLastWindowClosed(False)
    args = build_parser().parse_args(["--local", "--store-file", str(tmp_path / "app.sqlite3")])
    ready: asyncio.Future[Presence] = asyncio.get_running_loop().create_future()
    running = asyncio.ensure_future(
        run_app(qapp, args, settings=ui_settings, instance=instance, on_started=ready.set_result)
    )
    try:
        presence = await asyncio.wait_for(ready, 10)
        window, host = presence.window, presence.worker_menu.host
        window.hide()  # as if closed into the menu bar
        assert host.state is WorkerState.STOPPED

        # The second process talks to this loop, so it runs in a thread while the loop keeps serving.
        done = await asyncio.to_thread(second_launch, "--worker", "--project", "lab")
        assert done.returncode == 0, done.stderr
        await wait_until(window.isVisible, what="the first instance's window")
        assert host.state in (WorkerState.STARTING, WorkerState.RUNNING)  # --worker reached it
        assert presence.worker_menu.controller.project_id == "lab"  # and --project
        await wait_until(lambda: host.state is WorkerState.RUNNING)
    finally:
        window.close()
        assert await asyncio.wait_for(running, 15) == 0
        QApplication.setQuitOnLastWindowClosed(True)


def deliver_raw(name: str, payload: bytes) -> bytes:
    """A client from a plain thread: send one line, read the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(socket_path(name)))
        client.sendall(payload)
        return client.recv(16)


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
async def test_the_socket_of_a_crashed_instance_is_taken_over(instance: SingleInstance) -> None:
    stale = socket_path(instance.name)
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))  # bound, never listening, never removed: what a killed instance leaves
    leftover.close()
    assert stale.exists()
    assert instance.forward({"command": "activate"}, timeout_ms=500) is Forwarded.NO_INSTANCE
    assert instance.listen()
    assert instance.full_name == str(stale)
    messages: list[dict[str, object]] = []
    instance.activated.connect(messages.append)
    answer = await asyncio.to_thread(deliver_raw, instance.name, b'{"command": "activate", "worker": true}\n')
    assert answer == b"ok\n"
    await wait_until(lambda: messages, what="the message")
    assert messages == [{"command": "activate", "worker": True}]
    # Not ours: ignored, and the server keeps serving.
    assert await asyncio.to_thread(deliver_raw, instance.name, b"GET / HTTP/1.1\r\n\r\n") == b""
    assert await asyncio.to_thread(deliver_raw, instance.name, b'{"command": "activate"}\n') == b"ok\n"
    await wait_until(lambda: len(messages) == 2)


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
def test_a_hung_instance_is_not_mistaken_for_none(instance: SingleInstance) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hung:
        hung.bind(str(socket_path(instance.name)))
        hung.listen(16)  # accepts connections (the kernel queues them), never answers
        assert instance.forward({"command": "activate"}, timeout_ms=300) is Forwarded.NO_ANSWER
        assert not instance.listen()  # and it is not "stale": its socket is left alone
        assert socket_path(instance.name).exists()
    socket_path(instance.name).unlink()


@pytest.mark.parametrize("flags", [["--demo"], ["--local", "--screenshot", "x.png"]], ids=["demo", "shot"])
async def test_throwaway_runs_skip_it(instance: SingleInstance, flags: list[str]) -> None:
    assert instance.listen()
    messages: list[object] = []
    instance.activated.connect(messages.append)
    assert claim_single_instance(build_parser().parse_args(flags)) == (None, None)
    await asyncio.sleep(0.1)
    assert messages == []


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
def test_the_first_launch_listens_and_removes_its_socket_on_the_way_out(qapp: QApplication) -> None:
    code, mine = claim_single_instance(build_parser().parse_args(["--local"]))
    assert code is None
    assert mine is not None
    try:
        assert mine.full_name == str(socket_path(mine.name))
        assert socket_path(mine.name).exists()
    finally:
        mine.close()
    assert not socket_path(mine.name).exists()
