"""The test harness itself: async tests run on the session's qasync loop, with Qt alive underneath."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QTimer


async def test_async_tests_run_on_the_qasync_loop_and_qt_timers_fire() -> None:
    loop = asyncio.get_running_loop()
    assert type(loop).__module__.startswith("qasync")
    fired = loop.create_future()
    QTimer.singleShot(10, lambda: fired.set_result("qt timer"))
    assert await asyncio.wait_for(fired, 2) == "qt timer"


async def test_the_loop_is_shared_across_tests(event_loop: asyncio.AbstractEventLoop) -> None:
    assert asyncio.get_running_loop() is event_loop
