"""Small asyncio helpers that are easy to get wrong."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109 - that is the point
    """Wait until `event` is set or `timeout` seconds pass; True if it was set.

    Not `asyncio.wait_for(event.wait(), t)`: on Python 3.11 that swallows a cancellation arriving just as
    the event is set, so a loop built on it cannot be stopped. `asyncio.timeout` propagates it.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(task: asyncio.Task[object]) -> None:
    """Cancel `task` and wait until it has ended, without swallowing a cancellation aimed at the caller.

    `with suppress(CancelledError): await task` would also eat the caller's own cancellation (so a
    `wait_for(close(), t)` around it could never time out): re-raise when the caller is being cancelled.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
