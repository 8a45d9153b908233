"""Execute queued run requests exactly once: claim atomically, hold a lease, report an honest result.

- Claims go through the store's atomic claim (FOR UPDATE SKIP LOCKED in Supabase, one writer in SQLite),
  so two workers never take the same request. A slot that frees up claims the next request at once.
- While a job runs, and until its result is reported, the lease is extended every `heartbeat_every`
  seconds. If the request was rescued meanwhile (someone else ended it), the late result changes nothing.
- Only a job that the local sources list under the request's exact id is run (SourceSet.run); any other
  request ends as `error` ("unknown job") with nothing executed. A job still running from this worker's
  previous life (`worker.orphans`) is never started a second time.
- Results are never lost to a store that is briefly away: each is kept in the outbox (`worker.outbox`)
  before it is reported, and reported with backoff until the store answers; what a crash leaves there is
  reported by the next start. Output is made storable and free of the secrets the worker holds first.
- Stopping: no new claims; running jobs get `grace` seconds; then their process groups are killed and the
  requests end as `error` saying why.
- Slots are shared with the jobs.toml jobs the worker runs on their schedule (`run_scheduled`, called by
  worker.scheduler): `concurrency` runs at a time in all, and a job never runs twice at once, whatever
  started it (a request, its schedule, or a previous life of the worker).
- Action requests (enable, disable, set_schedule, ... — core.actions) are claimed like runs and applied
  through the job's own source (SourceSet.apply); after a change the mirror is synced (`on_applied`)
  before the request is reported, so whoever sees `done` sees the new state in the mirror too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from cronmirror_desktop.core.actions import ACTIONS
from cronmirror_desktop.core.errors import CronMirrorError, InvalidRow
from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.text import storable_text
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc
from worker.jobs import LocalJob
from worker.orphans import RunningRecord, RunningRegistry, own_marker, process_start_marker
from worker.outbox import Outbox, OutboxEntry
from worker.outcome import RunOutcome
from worker.process import KILL_GRACE_SECONDS, TAIL_CHARS, LiveOutput, OnStarted, ProcessStarted
from worker.sources.gateway_map import SOURCE as GATEWAY
from worker.sources.registry import SourceSet

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
HEARTBEAT_EVERY = 10.0
#: Backoff between attempts to report a result while the store can't be reached: first, and at most.
REPORT_BACKOFF = (0.25, 10.0)
#: How long a worker that is being stopped tries to report a killed job's result before leaving it in
#: the outbox for its next start.
STOP_REPORT_TIMEOUT = 5.0
#: A running request's live output is published at most this often, and only when it changed.
PROGRESS_EVERY = 2.0


@dataclass(frozen=True)
class Finished:
    """One request this worker ran (or refused), and whether the store took the result."""

    request: CronRunRequest
    outcome: RunOutcome
    recorded: bool
    #: The result as reported (storable, secrets redacted).
    result: dict[str, Any] = field(default_factory=dict)


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
        outbox: Outbox | None = None,
        registry: RunningRegistry | None = None,
        redact: Callable[[str], str] | None = None,
        report_backoff: tuple[float, float] = REPORT_BACKOFF,
        on_started: Callable[[CronRunRequest, ProcessStarted], None] | None = None,
        on_finished: Callable[[Finished], None] | None = None,
        on_applied: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.project_id = project_id
        self.sources = sources
        self.worker_id = worker_id
        self.concurrency = max(1, concurrency)
        self.job_timeout = job_timeout
        self.lease_seconds = lease_seconds
        self.heartbeat_every = heartbeat_every
        self.outbox = outbox if outbox is not None else Outbox(None)
        self.registry = registry if registry is not None else RunningRegistry(None)
        self._redact = redact
        self._backoff = report_backoff
        self._on_started = on_started
        self._on_finished = on_finished
        self._on_applied = on_applied
        #: The actions this worker claims and applies (all of core.actions).
        self.actions: tuple[str, ...] = ACTIONS
        self._running: dict[str, tuple[CronRunRequest, asyncio.Task[Finished]]] = {}
        #: Jobs still running from this worker's previous life: job id -> its record.
        self._survivors: dict[str, RunningRecord] = {}
        #: Requests whose result a task of this life is reporting (the outbox flush leaves them alone).
        self._delivering: set[str] = set()
        self._stopping = False
        self._stop_reason = ""
        #: The source run of each running request (cancelled alone when someone asks to stop it).
        self._run_tasks: dict[str, asyncio.Task[RunOutcome]] = {}
        #: Requests someone asked to stop: request id -> who asked.
        self._stop_asked: dict[str, str] = {}
        #: Stop requests that could not be carried out (gateway runs): request id -> who asked.
        self._stop_refused: dict[str, str] = {}
        #: What each running request's process printed so far.
        self._live: dict[str, LiveOutput] = {}
        #: False while live events are down: heartbeats then also look for stop requests.
        self.events_live = True
        self.progress_every = PROGRESS_EVERY
        #: Scheduled runs holding a slot, and those waiting for one: local job id -> (job, when it started).
        self._scheduled: dict[str, tuple[LocalJob, datetime | None]] = {}
        self._scheduled_waiting: dict[str, LocalJob] = {}
        self._slot_freed = asyncio.Event()

    @property
    def running(self) -> list[CronRunRequest]:
        return [request for request, _ in self._running.values()]

    # -- survivors of a previous life -------------------------------------------------------------

    def adopt(self, record: RunningRecord) -> None:
        """Treat `record`'s job as running until `release` (it outlived the worker that started it)."""
        self._survivors[record.job_id] = record

    def release(self, record: RunningRecord) -> None:
        if self._survivors.get(record.job_id) == record:
            del self._survivors[record.job_id]
        self.registry.remove(record.request_id)

    @property
    def reporting(self) -> bool:
        """A result of this life is waiting for the store to take it."""
        return bool(self._delivering)

    @property
    def survivors(self) -> list[RunningRecord]:
        return list(self._survivors.values())

    # -- claiming -----------------------------------------------------------------------------------

    async def claim_available(self) -> list[asyncio.Task[Finished]]:
        """Claim and start as many queued requests as free slots allow; returns the started runs."""
        started: list[asyncio.Task[Finished]] = []
        while not self._stopping and self._slots_in_use() < self.concurrency:
            request = await self.store.claim_next(
                self.project_id,
                self.worker_id,
                self.lease_seconds,
                host=self.sources.host,
                actions=self.actions,
            )
            if request is None:
                break
            task = asyncio.get_running_loop().create_task(
                self._execute(request), name=f"run-request:{request.id}"
            )
            self._running[request.id] = (request, task)
            task.add_done_callback(partial(self._forget, request.id))
            started.append(task)
        return started

    def _forget(self, request_id: str, _task: object = None) -> None:
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
        self._slot_freed.set()  # scheduled runs still waiting for a slot give up
        tasks = [task for _, task in self._running.values()]
        if not tasks:
            return
        log.info("waiting up to %.0f s for %d running job(s)", grace, len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    # -- running one request ------------------------------------------------------------------------

    async def _execute(self, request: CronRunRequest) -> Finished:
        started_mono = time.monotonic()
        loop = asyncio.get_running_loop()
        heartbeat = loop.create_task(
            self._heartbeat(request.id, self.worker_id), name=f"heartbeat:{request.id}"
        )
        progress = loop.create_task(self._progress(request), name=f"progress:{request.id}")
        if request.cancel_requested_at is not None:  # asked to stop before it even started
            self._stop_asked[request.id] = request.cancel_requested_by or "someone"
        try:
            outcome = await self._run(request, started_mono)
            finished = await self._report(request, outcome)
        finally:
            for helper in (heartbeat, progress):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            self._live.pop(request.id, None)
            self._stop_asked.pop(request.id, None)
            self.registry.remove(request.id)
            self._running.pop(request.id, None)  # the slot is free before anyone hears of the end
            self._slot_freed.set()
        if self._on_finished is not None:
            try:
                self._on_finished(finished)
            except Exception:
                log.exception("on_finished failed")
        return finished

    async def _run(self, request: CronRunRequest, started_mono: float) -> RunOutcome:
        if request.action_problem is not None:  # a row the client rules would have refused
            return RunOutcome.refused(
                f"the request is not usable ({request.action_problem}); nothing was run or changed",
                source="worker",
                job_id=request.job_id,
                action=request.action,
            )
        if not request.is_run:
            if request.id in self._stop_asked:  # withdrawn before it was applied
                who = self._stop_asked[request.id]
                return RunOutcome(
                    "cancelled",
                    f"stopped by {who} before it was applied; nothing was changed",
                    source="worker",
                    job_id=request.job_id,
                    ran=False,
                    action=request.action,
                )
            return await self._apply(request, started_mono)
        survivor = self._survivors.get(request.job_id)
        if survivor is not None:
            return RunOutcome.refused(
                f"not started: {request.job_id} is still running from before the worker restarted "
                f"(process group {survivor.pgid}, started {survivor.started_at}); CronMirror never runs "
                "two copies of one job at once",
                source="worker",
                job_id=request.job_id,
            )
        job = self.sources.find(request.job_id)
        scheduled = self._scheduled.get(job.job_id) if job is not None else None
        if scheduled is not None:
            since = f", started {format_timestamp(scheduled[1])}" if scheduled[1] is not None else ""
            return RunOutcome.refused(
                f"not started: {request.job_id} is running on its schedule{since}; CronMirror never runs "
                "two copies of one job at once",
                source="worker",
                job_id=request.job_id,
            )

        if request.id in self._stop_asked:
            return self._stopped_outcome(request, started_mono, before_start=True)

        def started(info: ProcessStarted) -> None:
            self._record_running(request, info)
            if info.output is not None and (job is None or job.source != GATEWAY):
                self._live[request.id] = info.output  # a gateway run's CLI output is not the job's
            if self._on_started is not None:
                self._on_started(request, info)

        run = asyncio.get_running_loop().create_task(
            self.sources.run(request.job_id, timeout=self.job_timeout, on_started=started),
            name=f"run:{request.id}",
        )
        self._run_tasks[request.id] = run
        try:
            return await asyncio.shield(run)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if run.cancelled() and request.id in self._stop_asked and not (current and current.cancelling()):
                return self._stopped_outcome(request, started_mono)
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
            seconds = time.monotonic() - started_mono
            outcome = RunOutcome(
                "error",
                f"{self._stop_reason or 'the worker stopped'} after {seconds:.0f} s, "
                "before the job finished; its process group was killed",
                source="worker",
                job_id=request.job_id,
                duration_ms=int(seconds * 1000),
            )
            entry = self._keep(request, outcome)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_REPORT_TIMEOUT):
                    await self.deliver(entry, retry=False)
            raise
        finally:
            self._run_tasks.pop(request.id, None)

    # -- stopping one request -------------------------------------------------------------------------

    def stop_request(self, request_id: str, by: str | None) -> bool:
        """Someone asked to stop this running request: end its job's process group (TERM, then KILL after
        the grace) and report `cancelled`. False when it is not ours or cannot be stopped from here."""
        entry = self._running.get(request_id)
        if entry is None or request_id in self._stop_asked:
            return False
        request, _ = entry
        job = self.sources.find(request.job_id)
        if job is not None and job.source == GATEWAY:
            log.info(
                "stop of %s (%s) asked by %s: a gateway run cannot be stopped from here; it goes on",
                request_id,
                request.job_id,
                by or "someone",
            )
            self._stop_refused.setdefault(request_id, by or "someone")
            return False
        self._stop_asked[request_id] = by or "someone"
        run = self._run_tasks.get(request_id)
        log.info("stopping %s (%s), asked by %s", request_id, request.job_id, by or "someone")
        if run is not None and not run.done():
            run.cancel()
        return True

    def _stopped_outcome(
        self, request: CronRunRequest, started_mono: float, *, before_start: bool = False
    ) -> RunOutcome:
        seconds = time.monotonic() - started_mono
        who = self._stop_asked.get(request.id) or "someone"
        live = self._live.get(request.id)
        if before_start:
            reason = f"stopped by {who} before it started; nothing was run"
        else:
            reason = f"stopped by {who} after {seconds:.0f} s; its process group was ended"
        return RunOutcome(
            "cancelled",
            reason,
            source="worker",
            job_id=request.job_id,
            duration_ms=int(seconds * 1000),
            stdout_tail=live.stdout if live is not None else "",
            stderr_tail=live.stderr if live is not None else "",
            ran=not before_start,
        )

    async def _progress(self, request: CronRunRequest) -> None:
        """Publish the running job's output every `progress_every` seconds while it changes."""
        published = -1
        while True:
            await asyncio.sleep(self.progress_every)
            live = self._live.get(request.id)
            if live is None or live.total_bytes == published:
                continue
            size = live.total_bytes
            result = {
                "stdoutTail": self._text(live.stdout),
                "stderrTail": self._text(live.stderr),
                "live": True,
                "workerId": self.worker_id,
            }
            try:
                await self.store.report_progress(request.id, self.worker_id, result)
            except CronMirrorError as exc:
                log.debug("live output of %s not published: %s", request.id, exc)
                continue
            published = size

    def _text(self, text: str) -> str:
        return storable_text(self._redact(text) if self._redact is not None else text)[-TAIL_CHARS:]

    async def _apply(self, request: CronRunRequest, started_mono: float) -> RunOutcome:
        """An action request: applied by the job's source; on success the mirror is synced before the
        result is reported (a failed sync only delays that: the sync loop runs anyway)."""
        outcome = await self.sources.apply(request.job_id, request.action, request.args)
        if outcome.ok and self._on_applied is not None:
            try:
                await self._on_applied()
            except Exception:
                log.exception("syncing after %s of %s failed", request.action, request.job_id)
        return replace(
            outcome, duration_ms=outcome.duration_ms or int((time.monotonic() - started_mono) * 1000)
        )

    def _record_running(self, request: CronRunRequest, info: ProcessStarted) -> None:
        job = self.sources.find(request.job_id)
        timeout = (job.timeout_s if job is not None and job.timeout_s else None) or self.job_timeout
        self._register(request.id, request.job_id, info, timeout, "request")

    # -- scheduled runs (worker.scheduler) ---------------------------------------------------------

    def _slots_in_use(self) -> int:
        """Requests running, plus scheduled runs running or waiting for a slot (they go first)."""
        return len(self._running) + len(self._scheduled) + len(self._scheduled_waiting)

    def running_copy(self, job: LocalJob) -> str | None:
        """Why `job` counts as running now (a request, a scheduled run, a survivor of a previous life of
        the worker), in words; None when it does not."""
        for request, _ in self._running.values():
            if request.job_id in (job.mirror_id, job.job_id):
                return f"run request {request.id} is still running it"
        scheduled = self._scheduled.get(job.job_id)
        if scheduled is not None:
            since = f" (started {format_timestamp(scheduled[1])})" if scheduled[1] is not None else ""
            return f"its previous scheduled run is still running{since}"
        if job.job_id in self._scheduled_waiting:
            return "its previous scheduled run is still waiting for a free slot"
        survivor = self._survivors.get(job.mirror_id) or self._survivors.get(job.job_id)
        if survivor is not None:
            return (
                f"it is still running from before the worker restarted (process group {survivor.pgid}, "
                f"started {survivor.started_at})"
            )
        return None

    async def run_scheduled(
        self, job: LocalJob, *, run_id: str, trigger: str, on_started: OnStarted | None = None
    ) -> RunOutcome:
        """Run a listed job because its schedule says so, in one of the executor's slots (waiting for one;
        a waiting scheduled run goes before the next claim). Recorded in the registry like a request's run,
        so a survivor is recognised after a crash. Never raises for a failed run; refuses (nothing run)
        when the job already runs or the worker is stopping. The caller checks `running_copy` first."""
        if self._stopping:
            return RunOutcome.refused("the worker was stopping", source="worker", job_id=job.mirror_id)
        if (why := self.running_copy(job)) is not None:
            return RunOutcome.refused(f"not started: {why}", source="worker", job_id=job.mirror_id)
        self._scheduled_waiting[job.job_id] = job
        try:
            while len(self._running) + len(self._scheduled) >= self.concurrency:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                if self._stopping:
                    return RunOutcome.refused(
                        "the worker was stopped before a slot was free", source="worker", job_id=job.mirror_id
                    )
        finally:
            self._scheduled_waiting.pop(job.job_id, None)
        self._scheduled[job.job_id] = (job, None)

        def started(info: ProcessStarted) -> None:
            self._scheduled[job.job_id] = (job, info.started_at)
            self._record_scheduled(job, run_id, trigger, info)
            if on_started is not None:
                on_started(info)

        try:
            return await self.sources.run_listed(job, timeout=self.job_timeout, on_started=started)
        finally:
            self.registry.remove(run_id)
            self._scheduled.pop(job.job_id, None)
            self._slot_freed.set()

    def _record_scheduled(self, job: LocalJob, run_id: str, trigger: str, info: ProcessStarted) -> None:
        self._register(run_id, job.mirror_id, info, job.timeout_s or self.job_timeout, trigger)

    def _register(self, run_id: str, job_id: str, info: ProcessStarted, timeout: float, trigger: str) -> None:
        """Note a started job in the running registry (orphans.py): a worker started after a crash finds it
        there, with the deadline its timeout set."""
        deadline = info.started_at + timedelta(seconds=timeout + KILL_GRACE_SECONDS)
        self.registry.add(
            RunningRecord(
                request_id=run_id,
                job_id=job_id,
                worker_id=self.worker_id,
                pgid=info.pid,
                started_at=format_timestamp(info.started_at) or "",
                deadline=format_timestamp(deadline) or "",
                marker=process_start_marker(info.pid),
                worker_pid=os.getpid(),
                worker_marker=own_marker(),
                trigger=trigger,
            )
        )

    # -- reporting ------------------------------------------------------------------------------------

    def _keep(self, request: CronRunRequest, outcome: RunOutcome) -> OutboxEntry:
        entry = OutboxEntry(
            request_id=request.id,
            job_id=request.job_id,
            worker_id=self.worker_id,
            status=outcome.verdict,
            result=outcome.result(self.worker_id, self._redact),
            finished_at=format_timestamp(now_utc()) or "",
        )
        self.outbox.put(entry)
        return entry

    async def _report(self, request: CronRunRequest, outcome: RunOutcome) -> Finished:
        refused_by = self._stop_refused.pop(request.id, None)
        if refused_by is not None:
            outcome = replace(
                outcome,
                reason=f"{outcome.reason} ({refused_by} asked to stop it, but a gateway run cannot be "
                "stopped from here; it ran to its end)",
            )
        entry = self._keep(request, outcome)
        recorded = await self.deliver(entry, retry=True)
        if recorded:
            log.info("request %s (%s): %s — %s", request.id, request.job_id, outcome.verdict, outcome.reason)
        return Finished(request, outcome, bool(recorded), entry.result)

    async def deliver(self, entry: OutboxEntry, *, retry: bool = True) -> bool | None:
        """Report `entry`: True when recorded, False when the store refused it (the request was ended
        meanwhile), None when the store could not be reached (then it stays in the outbox).

        With `retry`, store trouble is retried with backoff until the store answers (the lease is kept by
        the heartbeat meanwhile); a result the store refuses as data is replaced by a minimal one."""
        self._delivering.add(entry.request_id)
        delay, failures = self._backoff[0], 0
        try:
            while True:
                try:
                    recorded = await self.store.complete(
                        entry.request_id, entry.worker_id, entry.status, entry.result
                    )
                except InvalidRow as exc:
                    if entry.result.get("minimal"):
                        log.error("the store refused even a minimal result for %s: %s", entry.request_id, exc)
                        self.outbox.remove(entry.request_id)
                        return False
                    log.warning(
                        "the store refused the result of %s (%s); reporting a minimal one",
                        entry.request_id,
                        exc,
                    )
                    entry = replace(entry, result=minimal_result(entry.result, exc.message))
                    self.outbox.put(entry)
                    continue
                except CronMirrorError as exc:
                    failures += 1
                    if failures == 1:
                        log.warning(
                            "could not report the result of %s yet (%s); %s",
                            entry.request_id,
                            exc.message,
                            "retrying" if retry else "it stays in the outbox",
                        )
                    if not retry:
                        return None
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                    delay = min(self._backoff[1], delay * 2)
                    continue
                break
        finally:
            self._delivering.discard(entry.request_id)
        self.outbox.remove(entry.request_id)
        if failures:
            log.info("reported the result of %s after %d failed attempt(s)", entry.request_id, failures)
        if not recorded:
            await self._explain_refusal(entry)
        return recorded

    async def _explain_refusal(self, entry: OutboxEntry) -> None:
        try:
            current = await self.store.get_request(entry.request_id)
        except CronMirrorError:
            current = None
        now = f"{current.status}: {current.reason}" if current is not None else "gone"
        log.warning(
            "request %s (%s) finished as %s, but it had already ended (%s): the result was not recorded",
            entry.request_id,
            entry.job_id,
            entry.status,
            now,
        )

    async def flush_outbox(self) -> int:
        """Report what an earlier life (or a failed attempt of this one) left in the outbox; one attempt
        each. Returns how many are still unreported (store unreachable)."""
        entries = [e for e in self.outbox.entries() if e.request_id not in self._delivering]
        for done, entry in enumerate(entries):
            if await self.deliver(entry, retry=False) is None:
                return len(entries) - done  # the store is away: the rest waits for the next round
            if entry.worker_id != self.worker_id:
                log.info(
                    "reported %s (%s), left by worker %s", entry.request_id, entry.job_id, entry.worker_id
                )
        return 0

    # -- leases -------------------------------------------------------------------------------------

    async def _look_for_stop(self, request_id: str) -> None:
        """Without live events a stop request is not announced: read the request now and then."""
        try:
            current = await self.store.get_request(request_id)
        except CronMirrorError:
            return
        if current is not None and current.stopping:
            self.stop_request(request_id, current.cancel_requested_by)

    async def keep_lease(self, request_id: str, worker_id: str) -> None:
        """Heartbeat a request held under `worker_id` until cancelled or the lease is gone."""
        await self._heartbeat(request_id, worker_id)

    async def _heartbeat(self, request_id: str, worker_id: str) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                held = await self.store.heartbeat(request_id, worker_id, self.lease_seconds)
            except CronMirrorError as exc:
                log.warning("heartbeat for %s failed (will retry): %s", request_id, exc)
                continue
            if held and not self.events_live:
                await self._look_for_stop(request_id)
            if not held:
                log.warning(
                    "the lease of %s could not be extended (it expired or the request was rescued); "
                    "its result still counts unless the request was rescued",
                    request_id,
                )
                return


def minimal_result(result: dict[str, object], why: str) -> dict[str, object]:
    """What is left of a result the store refused: exit code, duration, who ran it, and why."""
    keep = {k: result.get(k) for k in ("exitCode", "durationMs", "source", "workerId")}
    reason = str(result.get("reason") or "")
    return {
        **keep,
        "stdoutTail": "",
        "stderrTail": "",
        "reason": f"{reason} (the output could not be stored: {why})".strip(),
        "minimal": True,
    }
