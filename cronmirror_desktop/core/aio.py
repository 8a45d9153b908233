"""Small asyncio helpers that are easy to get wrong."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


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


class TaskSet:
    """Background tasks started the one way the app starts them: with a name, a strong reference until
    they end (an unreferenced task can be garbage-collected mid-flight), a newer task of the same name
    replacing (cancelling) the older one, and failures handed to `on_error` instead of being lost.

    Tasks run on the loop running when `spawn` is called (in the app: qasync's, also inside Qt slots).
    """

    def __init__(self, on_error: Callable[[str, BaseException], None] | None = None) -> None:
        self._on_error = on_error
        self._named: dict[str, asyncio.Task[Any]] = {}
        self._anonymous: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """Start `coro`; with `name`, an unfinished task of that name is cancelled first."""
        if name is not None:
            previous = self._named.get(name)
            if previous is not None and not previous.done():
                previous.cancel()
        task = asyncio.get_running_loop().create_task(coro, name=f"cronmirror:{name or 'task'}")
        if name is not None:
            self._named[name] = task
        else:
            self._anonymous.add(task)
        task.add_done_callback(partial(self._done, name))
        return task

    def get(self, name: str) -> asyncio.Task[Any] | None:
        """The unfinished task called `name`, if there is one."""
        task = self._named.get(name)
        return task if task is not None and not task.done() else None

    def cancel(self, *, keep: asyncio.Task[Any] | None = None) -> list[asyncio.Task[Any]]:
        """Cancel every task (but `keep`, e.g. the one calling); returns the cancelled ones."""
        tasks = [t for t in (*self._named.values(), *self._anonymous) if t is not keep and not t.done()]
        for task in tasks:
            task.cancel()
        self._named = {n: t for n, t in self._named.items() if t is keep}
        self._anonymous = {t for t in self._anonymous if t is keep}
        return tasks

    async def cancel_and_wait(self) -> None:
        """Cancel every task and wait until all have ended (their failures are not reported)."""
        for task in self.cancel():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def __len__(self) -> int:
        return sum(1 for t in (*self._named.values(), *self._anonymous) if not t.done())

    def _done(self, name: str | None, task: asyncio.Task[Any]) -> None:
        if name is not None:
            if self._named.get(name) is task:
                del self._named[name]
        else:
            self._anonymous.discard(task)
        if task.cancelled() or self._on_error is None:
            return
        exc = task.exception()
        if exc is not None:
            self._on_error(name or "a background task", exc)
