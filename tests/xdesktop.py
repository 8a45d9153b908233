"""A real X desktop with a system tray, for the one test and the one bundle check that need a real menu-bar
icon: Xvfb on a free display (it writes the number to `-displayfd` once it accepts clients) and Debian's
`trayer` as the tray. Offscreen Qt has no tray, and neither has bare Xvfb."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
from collections.abc import Iterator


class DesktopError(RuntimeError):
    """The X server did not start."""


@contextlib.contextmanager
def desktop_with_tray() -> Iterator[str]:
    """Yields the display name (":N"); stops trayer and Xvfb afterwards."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    tray: subprocess.Popen[bytes] | None = None
    try:
        ready, _, _ = select.select([read_end], [], [], 15)
        number = os.read(read_end, 32).decode().strip() if ready else ""
        if not number.isdigit():
            raise DesktopError(f"Xvfb did not start (it said {number!r})")
        display = f":{number}"
        tray = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "24"],
            env={**os.environ, "DISPLAY": display},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        yield display
    finally:
        os.close(read_end)
        for process in (tray, server):
            if process is not None:
                process.terminate()
                process.wait(10)
