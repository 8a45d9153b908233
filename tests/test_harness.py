"""The test harness itself: async tests run on the session's qasync loop, with Qt alive underneath."""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QTimer


async def test_async_tests_run_on_the_qasync_loop_and_qt_timers_fire() -> None:
    loop = asyncio.get_running_loop()
    assert type(loop).__module__.startswith("qasync")
    fired = loop.create_future()
    QTimer.singleShot(10, lambda: fired.set_result("qt timer"))
    assert await asyncio.wait_for(fired, 2) == "qt timer"


async def test_the_loop_is_shared_across_tests(event_loop: asyncio.AbstractEventLoop) -> None:
    assert asyncio.get_running_loop() is event_loop


async def test_cancel_and_wait_does_not_swallow_the_callers_cancellation() -> None:
    from cronmirror_desktop.core.aio import cancel_and_wait

    inner = asyncio.get_running_loop().create_task(asyncio.sleep(3600))

    async def closer() -> None:
        await cancel_and_wait(inner)
        await asyncio.sleep(3600)  # only reached if the cancellation below was swallowed

    outer = asyncio.get_running_loop().create_task(closer())
    await asyncio.sleep(0)
    outer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(outer, 2)
    assert outer.cancelled()
    assert inner.cancelled()
