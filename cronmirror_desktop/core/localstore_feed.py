"""The embedded store's change feed: live events for one project, read from the file's change log.

Triggers append every write to a `changes` log (see localstore.py). A subscription reads the log past the
last sequence number it delivered. It is woken at once by writes made through any LocalStore in this
process (the wakers below), and polls the log's head every `poll_interval` seconds for writes by other
processes, asking SQLite's `PRAGMA data_version` first so an idle poll costs microseconds. If the log was
pruned past a slow subscriber, it gets a fresh Snapshot instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from cronmirror_desktop.core.aio import cancel_and_wait, wait_event
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.store import EventHandler, LiveState, StateChange, Subscription

if TYPE_CHECKING:
    from cronmirror_desktop.core.localstore import LocalStore

# -- in-process wake-ups ------------------------------------------------------------------------------

_wakers_lock = threading.Lock()
_wakers: dict[str, set[Callable[[], None]]] = {}


def register_waker(path: str, waker: Callable[[], None]) -> None:
    with _wakers_lock:
        _wakers.setdefault(path, set()).add(waker)


def unregister_waker(path: str, waker: Callable[[], None]) -> None:
    with _wakers_lock:
        _wakers.get(path, set()).discard(waker)


def wake_all(path: str) -> None:
    with _wakers_lock:
        wakers = list(_wakers.get(path, ()))
    for wake in wakers:
        wake()


class LocalSubscription(Subscription):
    def __init__(self, project_id: str, store: LocalStore, handler: EventHandler) -> None:
        super().__init__(project_id=project_id)
        self._store = store
        self._handler = handler
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._poll_conn: sqlite3.Connection | None = None

    def start(self) -> None:
        register_waker(self._store._key, self._waker)
        self._task = self._loop.create_task(self._follow(), name=f"local-subscription:{self.project_id}")

    def _waker(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._wake.set)

    def _set_state(self, state: LiveState, detail: str = "") -> None:
        self.state = state
        self._emit(StateChange(state, detail))

    async def _follow(self) -> None:
        store = self._store
        self._set_state(LiveState.CONNECTING)
        while True:
            try:
                head, snapshot = await store._run(lambda conn: store._snapshot(conn, self.project_id))
                break
            except CronMirrorError as exc:  # the file is unusable for now: say so, and try again
                self._set_state(LiveState.DISCONNECTED, exc.message)
                await asyncio.sleep(1)
        self._emit(snapshot)
        self._set_state(LiveState.LIVE)
        version = self._data_version()
        while True:
            woken = await wait_event(self._wake, store.poll_interval)
            self._wake.clear()
            if not woken:
                # A timed poll: ask the file whether anyone committed since (microseconds, no thread hop).
                now = self._data_version()
                if now is not None and now == version:
                    continue
                version = now
            try:
                head, events = await store._run(
                    partial(store._changes_since, project_id=self.project_id, after=head)
                )
                if events is None:
                    head, snapshot = await store._run(lambda conn: store._snapshot(conn, self.project_id))
                    self._emit(snapshot)
                    continue
            except CronMirrorError as exc:
                self._set_state(LiveState.DISCONNECTED, exc.message)
                await asyncio.sleep(1)
                continue
            if self.state is not LiveState.LIVE:
                self._set_state(LiveState.LIVE)
            for event in events:
                self._emit(event)

    def _data_version(self) -> int | None:
        """`PRAGMA data_version` of a connection of our own: it changes whenever any other connection (in
        this process or another) commits. None when the file can't be asked: then we read the log."""
        try:
            if self._poll_conn is None:
                self._poll_conn = sqlite3.connect(self._store.path, check_same_thread=False, timeout=0.05)
            return int(self._poll_conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    async def close(self) -> None:
        if self.state is LiveState.CLOSED:
            return
        unregister_waker(self._store._key, self._waker)
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._poll_conn is not None:
            self._poll_conn.close()
            self._poll_conn = None
        self._store.forget(self)
        self.state = LiveState.CLOSED
