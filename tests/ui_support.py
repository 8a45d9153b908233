"""Shared pieces of the desktop UI tests: rows, a real LocalStore per test, a controller, a window.

Everything is real (widgets, models, an SQLite file in the test's tmp dir); the only stand-ins are at the
outer edge: `DelayingStore` plays a network that delivers events late, `ScriptedStates` a server whose
connection state changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest, ProjectInfo
from cronmirror_desktop.core.store import (
    EventHandler,
    LiveState,
    QueueOutcome,
    Snapshot,
    StateChange,
    Store,
    StoreEvent,
    Subscription,
)
from cronmirror_desktop.core.timeutil import format_timestamp
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.job_filter import JobFilterProxy
from cronmirror_desktop.ui.job_model import JobTableModel
from cronmirror_desktop.ui.main_window import MainWindow

PROJECT = "front-office"
WORKER = "test-worker"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SHUTDOWN_LIMIT_S = 3.0

_ids = itertools.count(1)


def mirror_row(job_id: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
    """A row as the worker writes it through `upsert_mirror` (MIRROR_COLUMNS only)."""
    row: dict[str, Any] = {
        "job_id": job_id,
        "name": name or job_id.replace("-", " ").title(),
        "schedule_kind": "every",
        "schedule_expr": "1800000",
        "tz": None,
        "enabled": True,
        "next_run_at": None,
        "last_run_at": None,
        "last_status": None,
        "last_duration_ms": None,
        "instructions": None,
    }
    row.update(fields)
    return row


def job(
    job_id: str, name: str | None = None, *, project: str = PROJECT, row_id: str | None = None, **fields: Any
) -> CronMirrorJob:
    """A parsed job as a store delivers it (with an `id` and `updated_at`)."""
    raw = mirror_row(job_id, name, **fields)
    raw.setdefault("updated_at", format_timestamp(NOW))
    for key in ("next_run_at", "last_run_at"):
        if isinstance(raw[key], datetime):
            raw[key] = format_timestamp(raw[key])
    return CronMirrorJob.from_row({"id": row_id or f"row-{job_id}", "project_id": project, **raw})


def request(
    job_id: str,
    status: str = "queued",
    *,
    request_id: str | None = None,
    age: timedelta = timedelta(minutes=1),
    project: str = PROJECT,
    **fields: Any,
) -> CronRunRequest:
    raw = {
        "id": request_id or f"req-{next(_ids)}",
        "project_id": project,
        "job_id": job_id,
        "requested_by": "ui",
        "requested_at": format_timestamp(NOW - age),
        "status": status,
        **fields,
    }
    return CronRunRequest.from_row(raw)


async def wait_until(predicate: Callable[[], object], within: float = 5.0, what: str = "condition") -> None:
    """Poll `predicate` on the session loop (Qt keeps running while we sleep)."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def run(loop: asyncio.AbstractEventLoop, coro: Awaitable[Any]) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


@pytest.fixture
def ui_settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat)


class UiEnv:
    """A real store file, a second store on it playing the Mac mini's worker, and the controllers and
    windows a test builds. Use it as `async with env:` so everything is closed while the loop still runs:
    a subscription left open past the end of an async test gets stepped by Qt after qasync has stopped
    the loop, and dies with "no running event loop" (see docs/testing.md)."""

    def __init__(self, tmp_path: Path, settings: QSettings, qtbot: Any) -> None:
        self.path = tmp_path / "store.sqlite3"
        self.settings = settings
        self.qtbot = qtbot
        self.store = LocalStore(self.path, poll_interval=0.05)
        self.writer = LocalStore(self.path, poll_interval=0.05)
        self.controllers: list[AppController] = []
        self.closed = False

    def controller(self, store: Store | None = None, **kwargs: Any) -> AppController:
        kwargs.setdefault("project_id", PROJECT)
        controller = AppController(store or self.store, **kwargs)
        self.controllers.append(controller)
        return controller

    def window(self, controller: AppController, **kwargs: Any) -> MainWindow:
        window = MainWindow(controller, self.settings, **kwargs)
        self.qtbot.addWidget(window)
        return window

    async def __aenter__(self) -> UiEnv:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        started = time.monotonic()
        for controller in self.controllers:
            await controller.stop()
        await self.store.close()
        await self.writer.close()
        # Shutting down must be prompt: a swallowed cancellation once made it take a minute.
        took = time.monotonic() - started
        assert took < SHUTDOWN_LIMIT_S, f"closing the controllers and stores took {took:.1f} s"


@pytest.fixture
def env(
    tmp_path: Path, ui_settings: QSettings, qtbot: Any, event_loop: asyncio.AbstractEventLoop
) -> Iterator[UiEnv]:
    made = UiEnv(tmp_path, ui_settings, qtbot)
    yield made
    if not made.closed:  # a sync test, or a failed async one: close what is left
        run(event_loop, made.aclose())


async def started(controller: AppController) -> AppController:
    """Start and wait for the first Snapshot to be shown."""
    await controller.start()
    await wait_until(lambda: not controller.loading, what="the first snapshot")
    return controller


def checked_proxy(model: JobTableModel, qtmodeltester: Any) -> JobFilterProxy:
    """The job filter over `model`, watched by Qt's model tester from here on."""
    proxy = JobFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    return proxy


# -- outer-edge stand-ins -------------------------------------------------------------------------


class WrappingStore(Store):
    """Delegates everything to a real store; subclasses change how events reach the subscriber."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.kind = inner.kind  # type: ignore[misc]

    @property
    def location(self) -> str:
        return self.inner.location

    async def close(self) -> None:
        await self.inner.close()

    async def list_projects(self, configured: Sequence[str] = ()) -> list[ProjectInfo]:
        return await self.inner.list_projects(configured)

    async def list_jobs(self, project_id: str) -> list[CronMirrorJob]:
        return await self.inner.list_jobs(project_id)

    async def queue_run(
        self, project_id: str, job_id: str, requested_by: str, *, action: str = "run", args: Any = None
    ) -> QueueOutcome:
        return await self.inner.queue_run(project_id, job_id, requested_by, action=action, args=args)

    async def list_requests(
        self, project_id: str, limit: int = 20, job_id: str | None = None
    ) -> list[CronRunRequest]:
        return await self.inner.list_requests(project_id, limit, job_id)

    async def get_request(self, request_id: str) -> CronRunRequest | None:
        return await self.inner.get_request(request_id)

    async def cancel_request(self, project_id: str, request_id: str, by: str | None = None) -> CronRunRequest:
        return await self.inner.cancel_request(project_id, request_id, by)

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        return await self.inner.subscribe(project_id, on_event)

    async def mirror_rows(self, project_id: str) -> list[CronMirrorJob]:
        return await self.inner.mirror_rows(project_id)

    async def upsert_mirror(self, project_id: str, rows: Sequence[Any]) -> int:
        return await self.inner.upsert_mirror(project_id, rows)

    async def delete_mirror(self, project_id: str, job_ids: Sequence[str], *, host: str | None = None) -> int:
        return await self.inner.delete_mirror(project_id, job_ids, host=host)

    async def claim_next(
        self,
        project_id: str,
        worker_id: str,
        lease_seconds: int = 60,
        *,
        host: str | None = None,
        actions: Sequence[str] = ("run",),
    ) -> CronRunRequest | None:
        return await self.inner.claim_next(project_id, worker_id, lease_seconds, host=host, actions=actions)

    async def heartbeat(self, request_id: str, worker_id: str, lease_seconds: int = 60) -> bool:
        return await self.inner.heartbeat(request_id, worker_id, lease_seconds)

    async def complete(self, request_id: str, worker_id: str, status: Any, result: Any) -> bool:
        return await self.inner.complete(request_id, worker_id, status, result)

    async def report_progress(self, request_id: str, worker_id: str, result: Any) -> bool:
        return await self.inner.report_progress(request_id, worker_id, result)

    async def record_runs(self, project_id: str, entries: Sequence[Any]) -> int:
        return await self.inner.record_runs(project_id, entries)

    async def run_history(self, project_id: str, job_id: str | None = None, limit: int = 50) -> list[Any]:
        return await self.inner.run_history(project_id, job_id, limit)

    async def latest_runs(self, project_id: str) -> dict[str, Any]:
        return await self.inner.latest_runs(project_id)

    async def prune_run_log(self, project_id: str, keep: int = 200) -> int:
        return await self.inner.prune_run_log(project_id, keep)

    async def rescue_expired(self, project_id: str | None = None) -> list[CronRunRequest]:
        return await self.inner.rescue_expired(project_id)


class HeldBackStore(WrappingStore):
    """Subscribes (and so delivers the first snapshot) only once `release` is set: a network that has not
    answered yet."""

    def __init__(self, inner: Store, release: asyncio.Event) -> None:
        super().__init__(inner)
        self.release = release

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        await self.release.wait()
        return await self.inner.subscribe(project_id, on_event)


class DelayingStore(WrappingStore):
    """A network that delivers every event `delay` seconds late, even after the subscription closed —
    what Realtime can do when a message is already in flight while the app switches projects.
    `in_flight` holds the events picked up and not yet delivered (tests wait on it, not on the clock)."""

    def __init__(self, inner: Store, delay: float) -> None:
        super().__init__(inner)
        self.delay = delay
        self.in_flight: list[StoreEvent] = []
        self.delivered_late: list[StoreEvent] = []

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        loop = asyncio.get_running_loop()

        def late(event: StoreEvent) -> None:
            self.in_flight.append(event)

            def deliver() -> None:
                self.in_flight.remove(event)
                self.delivered_late.append(event)
                on_event(event)

            loop.call_later(self.delay, deliver)

        return await self.inner.subscribe(project_id, late)


class SnapshotTrackingStore(WrappingStore):
    """Remembers every subscription and whether it has delivered its first Snapshot yet."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.subscriptions: list[tuple[Subscription, list[bool]]] = []

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        seen: list[bool] = []

        def tracked(event: StoreEvent) -> None:
            if isinstance(event, Snapshot):
                seen.append(True)
            on_event(event)

        subscription = await self.inner.subscribe(project_id, tracked)
        self.subscriptions.append((subscription, seen))
        return subscription

    def settled(self) -> bool:
        """Every subscription made has shown its Snapshot or was closed: nothing is still on its way."""
        return all(seen or sub.state is LiveState.CLOSED for sub, seen in self.subscriptions)


class StateScriptStore(WrappingStore):
    """A server whose connection goes through the given states after the first Snapshot."""

    def __init__(self, inner: Store, kind: str = "supabase") -> None:
        super().__init__(inner)
        self.kind = kind  # type: ignore[misc]
        self.handlers: list[EventHandler] = []

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        self.handlers.append(on_event)
        return await self.inner.subscribe(project_id, on_event)

    def push(self, state: LiveState, detail: str = "") -> None:
        self.handlers[-1](StateChange(state, detail))


# -- time: the one clock, and the viewer's zone ---------------------------------------------------


class ManualClock:
    """The app's time source in a test: it moves only when the test says (`advance`), never by sleeping.
    Pass it as `AppController(clock=...)`; then `controller.clock.tick()` shows its time everywhere."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@contextlib.contextmanager
def viewer_zone(name: str) -> Iterator[None]:
    """Run with this computer's local time zone set to `name` (the viewer's zone), then restore it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
