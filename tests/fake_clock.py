"""A clock tests move by hand, for code that takes a `Clock` (worker.scheduler): `now()` is what the test
says, and `wait(event, seconds)` returns when the event is set or the test advanced past the deadline."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        deadline = self._now + timedelta(seconds=max(0.0, seconds))
        if deadline <= self._now:
            await asyncio.sleep(0)
            return event.is_set()
        sleeper: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (deadline, sleeper)
        self._sleepers.append(entry)
        setter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({sleeper, setter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            setter.cancel()
            if entry in self._sleepers:
                self._sleepers.remove(entry)
        return event.is_set()

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    def set(self, when: datetime) -> None:
        """Move to `when` (never backwards) and wake everyone whose deadline passed."""
        if when < self._now:
            raise ValueError("a fake clock does not go backwards")
        self._now = when
        for deadline, sleeper in list(self._sleepers):
            if deadline <= when and not sleeper.done():
                sleeper.set_result(None)

    @property
    def sleeping(self) -> int:
        """How many waits are pending (a test can wait until the scheduler is idle again)."""
        return sum(1 for _, sleeper in self._sleepers if not sleeper.done())
