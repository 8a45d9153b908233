"""The worker hosted inside another program (the desktop app): its own thread, its own asyncio loop.

Why a thread with its own loop: the app's loop is Qt's (qasync); a job's subprocess plumbing, the store's
HTTP clients and the worker's timers must not depend on the GUI staying responsive, and httpx clients are
bound to the loop that made them. The host learns what happens only through `on_status`, called on the
worker's thread: a Qt host turns it into a queued signal (one rule for hopping threads).

`start()` and `stop()` are idempotent and race-free: a lock guards the thread handle, every start makes a
fresh stop event inside the new loop, and `start()` returns only once `stop()` can reach that event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.stores import open_store
from worker.configured import WorkerParts
from worker.service import WorkerService, WorkerStatus

log = logging.getLogger(__name__)

THREAD_NAME = "cronmirror-hosted-worker"


@dataclass(frozen=True)
class ConfiguredParts:
    """A `WorkerParts` factory from the effective configuration, as `cronmirror-worker run` builds it
    (service-role key from the environment or keychain, the enabled sources, the worker settings).

    Resolved afresh at every start, on the worker's thread, so a key saved in Settings is used by the next
    start. `local` (with `store_file`) runs it on the embedded store, as the app does when it uses one.
    """

    project: str | None = None
    local: bool = False
    store_file: Path | None = None

    def __call__(self) -> WorkerParts:
        config = resolve_config()
        store = open_store(config, role="service_role", local=self.local, local_path=self.store_file)
        return WorkerParts.from_config(config, store, self.project)


class HostedWorker:
    def __init__(
        self,
        factory: Callable[[], WorkerParts],
        *,
        on_status: Callable[[WorkerStatus], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        self._factory = factory
        self._on_status = on_status
        self._on_failed = on_failed
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._service: WorkerService | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> WorkerStatus | None:
        service = self._service
        return service.status if service is not None else None

    def start(self) -> bool:
        """Start the worker unless it runs already; returns True if this call started it."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            ready = threading.Event()
            thread = threading.Thread(target=self._main, args=(ready,), name=THREAD_NAME, daemon=True)
            self._thread = thread
            thread.start()
        ready.wait(10)
        return True

    def stop(self, wait: float | None = None) -> bool:
        """Ask the worker to stop (running jobs get their grace period). With `wait`, join the thread for
        up to that many seconds and return whether it ended; without, return at once (True)."""
        with self._lock:
            loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop just closed: the thread is ending anyway
                loop.call_soon_threadsafe(stop.set)
        if wait is None or thread is None:
            return True
        thread.join(wait)
        return not thread.is_alive()

    def sync_now(self) -> bool:
        """Ask the running service to sync at once; False when there is none (stopped or starting)."""
        with self._lock:
            loop = self._loop
        service = self._service
        if loop is None or service is None:
            return False
        try:
            loop.call_soon_threadsafe(service.request_sync)
        except RuntimeError:  # the loop closed meanwhile: the worker is ending
            return False
        return True

    def _main(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._run(ready))
        except Exception as exc:  # never let the hosting app see a thread die silently
            log.exception("the hosted worker failed")
            self._failed(f"The worker stopped unexpectedly: {exc}")
        finally:
            ready.set()
            with self._lock:
                self._loop = None
                self._stop = None
                self._service = None

    async def _run(self, ready: threading.Event) -> None:
        stop = asyncio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop = stop
        ready.set()
        try:
            parts = self._factory()
        except CronMirrorError as exc:
            self._failed(str(exc))
            return
        async with parts.store:
            service = parts.service(on_status=self._on_status)
            self._service = service
            await service.run(stop)

    def _failed(self, message: str) -> None:
        if self._on_failed is not None:
            try:
                self._on_failed(message)
            except Exception:
                log.exception("on_failed callback failed")
