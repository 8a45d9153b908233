"""Execute queued run requests exactly once: claim atomically, hold a lease, report an honest result.

- Claims go through the store's atomic claim (FOR UPDATE SKIP LOCKED in Supabase, one writer in SQLite),
  so two workers never take the same request.
- While a job runs, the lease is extended every `heartbeat_every` seconds; if another party rescued the
  request meanwhile (our lease was lost), the job still finishes, but its late result changes nothing.
- Only a job that the local sources list under the request's exact id is run (SourceSet.run); any other
  request ends as `error` ("unknown job") with nothing executed.
- Stopping: no new claims; running jobs get `grace` seconds; then their process groups are killed and the
  requests end as `error` saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.store import Store
from worker.outcome import RunOutcome
from worker.process import ProcessStarted
from worker.sources.registry import SourceSet

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
HEARTBEAT_EVERY = 10.0


@dataclass(frozen=True)
class Finished:
    """One request this worker ran (or refused), and whether the store took the result."""

    request: CronRunRequest
    outcome: RunOutcome
    recorded: bool


class Executor:
    def __init__(
        self,
        store: Store,
        project_id: str,
        sources: SourceSet,
        worker_id: str,
        *,
        concurrency: int = 1,
        job_timeout: float = 900.0,
        lease_seconds: int = LEASE_SECONDS,
        heartbeat_every: float = HEARTBEAT_EVERY,
        on_started: Callable[[CronRunRequest, ProcessStarted], None] | None = None,
        on_finished: Callable[[Finished], None] | None = None,
    ) -> None:
        self.store = store
        self.project_id = project_id
        self.sources = sources
        self.worker_id = worker_id
        self.concurrency = max(1, concurrency)
        self.job_timeout = job_timeout
        self.lease_seconds = lease_seconds
        self.heartbeat_every = heartbeat_every
        self._on_started = on_started
        self._on_finished = on_finished
        self._running: dict[str, tuple[CronRunRequest, asyncio.Task[Finished]]] = {}
        self._stopping = False
        self._stop_reason = ""

    @property
    def running(self) -> list[CronRunRequest]:
        return [request for request, _ in self._running.values()]

    async def claim_available(self) -> list[asyncio.Task[Finished]]:
        """Claim and start as many queued requests as free slots allow; returns the started runs."""
        started: list[asyncio.Task[Finished]] = []
        while not self._stopping and len(self._running) < self.concurrency:
            request = await self.store.claim_next(self.project_id, self.worker_id, self.lease_seconds)
            if request is None:
                break
            task = asyncio.get_running_loop().create_task(
                self._execute(request), name=f"run-request:{request.id}"
            )
            self._running[request.id] = (request, task)
            task.add_done_callback(lambda _t, rid=request.id: self._done(rid))
            started.append(task)
        return started

    def _done(self, request_id: str) -> None:
        self._running.pop(request_id, None)

    async def wait_idle(self) -> list[Finished]:
        """Wait for every running request to finish."""
        tasks = [task for _, task in self._running.values()]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return [r for r in results if isinstance(r, Finished)]

    async def drain(self) -> list[Finished]:
        """Claim and execute everything queued now (respecting the concurrency), then return."""
        tasks: list[asyncio.Task[Finished]] = []
        while True:
            tasks += await self.claim_available()
            if not self._running:
                break
            await asyncio.wait(
                [task for _, task in self._running.values()], return_when=asyncio.FIRST_COMPLETED
            )
        return [t.result() for t in tasks if not t.cancelled() and t.exception() is None]

    async def stop(self, grace: float, reason: str = "the worker was stopped") -> None:
        """Stop claiming; give running jobs `grace` seconds; then kill them and report why."""
        self._stopping = True
        self._stop_reason = reason
        tasks = [task for _, task in self._running.values()]
        if not tasks:
            return
        log.info("waiting up to %.0f s for %d running job(s)", grace, len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _execute(self, request: CronRunRequest) -> Finished:
        started_mono = time.monotonic()
        heartbeat = asyncio.get_running_loop().create_task(
            self._heartbeat(request), name=f"heartbeat:{request.id}"
        )

        def started(info: ProcessStarted) -> None:
            if self._on_started is not None:
                self._on_started(request, info)

        try:
            outcome = await self.sources.run(request.job_id, timeout=self.job_timeout, on_started=started)
        except asyncio.CancelledError:
            seconds = time.monotonic() - started_mono
            outcome = RunOutcome(
                "error",
                f"{self._stop_reason or 'the worker stopped'} after {seconds:.0f} s, "
                "before the job finished; its process group was killed",
                source="worker",
                job_id=request.job_id,
                duration_ms=int(seconds * 1000),
            )
            await self._report(request, outcome)
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return await self._report(request, outcome)

    async def _report(self, request: CronRunRequest, outcome: RunOutcome) -> Finished:
        try:
            recorded = await self.store.complete(
                request.id, self.worker_id, outcome.verdict, outcome.result(self.worker_id)
            )
        except CronMirrorError as exc:
            log.error("could not report the result of %s: %s", request.id, exc)
            recorded = False
        if not recorded:
            log.warning(
                "request %s (%s) finished as %s, but our lease was gone: the result was not recorded",
                request.id,
                request.job_id,
                outcome.verdict,
            )
        else:
            log.info("request %s (%s): %s — %s", request.id, request.job_id, outcome.verdict, outcome.reason)
        finished = Finished(request, outcome, recorded)
        if self._on_finished is not None:
            try:
                self._on_finished(finished)
            except Exception:
                log.exception("on_finished failed")
        return finished

    async def _heartbeat(self, request: CronRunRequest) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                held = await self.store.heartbeat(request.id, self.worker_id, self.lease_seconds)
            except CronMirrorError as exc:
                log.warning("heartbeat for %s failed (will retry): %s", request.id, exc)
                continue
            if not held:
                log.warning("lost the lease of %s; the job goes on, its result won't count", request.id)
                return
