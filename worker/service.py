"""The worker daemon: sync loop, executor, lease rescue and presence, around one store and one project.

Wake-ups: a Realtime INSERT into `cron_run_requests` (or the local store's change feed) wakes the executor
within milliseconds, and so does a slot that frees up; a poll every `poll_every` seconds is the fallback
when live events are down. A sync runs every `sync_interval` seconds, right after each run, and at once
when a source hears its jobs change (`SourceSet.subscribe_changes`: the gateway's events); it compares
with the store itself again (reconciles) after every (re)connect and every `reconcile_every` seconds, so
rows deleted or edited behind the worker's back are repaired. Expired leases are rescued the moment the
lease that expires first runs out (known from live events), and every `rescue_every` seconds regardless.
The service never dies of a store error: it records it in its status, waits, and tries again.

With a `state_dir`, results not yet reported survive a crash (`outbox/`, see worker.outbox) and jobs that
outlive the worker are found again at the next start (`running/`, see worker.orphans).

The presence row (`job_id = '__cronmirror_worker__@<host>'`, `schedule_kind = 'state'`, never listed as a
job; core.presence) is touched every few minutes so the app can say when the worker was last seen even when
nothing changes; it also publishes the host's time zone, which readers use for jobs without one. It also
says how the worker is doing (state, jobs running, requests queued, sync interval, each source's state and
warnings: core/worker_report.py) and is rewritten soon after one of those changes, but never when nothing
did. Beside it, the details row (`__cronmirror_details__@<host>`) says how each command job runs (argument
vector, cwd, timeout, names of its environment variables), written only when that changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cronmirror_desktop import __version__
from cronmirror_desktop.core.aio import wait_event
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.presence import presence_row
from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.store import (
    ChangeType,
    LiveState,
    RequestChange,
    Snapshot,
    StateChange,
    Store,
    StoreEvent,
    Subscription,
)
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc, parse_timestamp
from cronmirror_desktop.core.worker_report import (
    DETAILS_PREFIX,
    SourceReport,
    bookkeeping_row,
    details_instructions,
    presence_fields,
)
from worker.executor import Executor, Finished
from worker.history_feed import HistoryFeed
from worker.jobs import command_details
from worker.orphans import RUNNING_DIR_NAME, RunningRecord, RunningRegistry, watch_survivor
from worker.outbox import OUTBOX_DIR_NAME, Outbox, OutboxEntry
from worker.process import ProcessStarted
from worker.redact import Redactor
from worker.run_recorder import RunRecorder
from worker.scheduler import Clock, ScheduledRun, Scheduler
from worker.sources.registry import SourceSet
from worker.sync import MirrorSync, SyncReport

log = logging.getLogger(__name__)

#: How long after a gateway's event its run log is read again when the run was not in it yet.
RUN_LOG_LAG_S = 1.0
#: How long a stopping worker tries to write the last runs' history (the rest waits in the spool).
STOP_FLUSH_TIMEOUT = 5.0
#: The last presence write waits at most this long when the worker stops (the store may be gone).
FINAL_PRESENCE_TIMEOUT = 2.0
#: Rescue this long after the first known lease ran out (clocks of worker and database differ a little).
RESCUE_MARGIN = 0.5


def new_worker_id() -> str:
    """host:pid:random — unique per process, readable in the app's dock."""
    return f"{socket.gethostname().split('.')[0]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class WorkerOptions:
    project_id: str
    sync_interval: float = 30.0
    concurrency: int = 1
    job_timeout: float = 900.0
    grace: float = 10.0
    lease_seconds: int = 60
    heartbeat_every: float = 10.0
    poll_every: float = 10.0
    #: A safety net: live events normally trigger a rescue right when a lease expires.
    rescue_every: float = 15.0
    presence_every: float = 300.0
    #: After a change the presence row shows (a run starts, a request is queued), wait this long for more
    #: before writing, so a burst is one write.
    presence_debounce: float = 1.0
    #: How often the sync compares with the store again instead of with its own memory.
    reconcile_every: float = 600.0
    #: Run jobs.toml jobs on their schedule (worker.scheduler) while the daemon runs.
    run_schedules: bool = True


@dataclass(frozen=True)
class RunningJob:
    request_id: str
    job_id: str
    started_at: datetime | None = None
    pid: int | None = None


@dataclass(frozen=True)
class WorkerStatus:
    """What the worker is doing, for `cronmirror-worker status`, the app's menu bar and the status file."""

    worker_id: str
    project_id: str
    store: str
    state: Literal["starting", "running", "stopping", "stopped"] = "starting"
    live: str = LiveState.CONNECTING.value
    pid: int = field(default_factory=os.getpid)
    version: str = __version__
    started_at: datetime = field(default_factory=now_utc)
    last_sync_at: datetime | None = None
    last_sync: dict[str, Any] | None = None
    last_error: str | None = None
    #: What to do about `last_error` (e.g. "needs the service-role key"), for the app to show.
    last_error_hint: str | None = None
    sources: tuple[dict[str, str], ...] = ()
    running: tuple[RunningJob, ...] = ()
    finished_count: int = 0
    #: Results kept in the outbox because the store could not take them yet.
    unreported: int = 0
    #: Jobs still running from before this worker started (their worker died).
    survivors: tuple[RunningJob, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def encode(value: Any) -> Any:
            if isinstance(value, datetime):
                return format_timestamp(value)
            if isinstance(value, tuple | list):
                return [encode(v) for v in value]
            if isinstance(value, dict):
                return {k: encode(v) for k, v in value.items()}
            if hasattr(value, "__dataclass_fields__"):
                return {k: encode(getattr(value, k)) for k in value.__dataclass_fields__}
            return value

        return encode(self)  # type: ignore[no-any-return]


class WorkerService:
    def __init__(
        self,
        store: Store,
        sources: SourceSet,
        options: WorkerOptions,
        *,
        worker_id: str | None = None,
        status_file: Path | None = None,
        state_dir: Path | None = None,
        secrets: Sequence[str] = (),
        on_status: Callable[[WorkerStatus], None] | None = None,
        on_started: Callable[[CronRunRequest, ProcessStarted], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`state_dir`: where the outbox, the record of running jobs and the scheduler's state live (None:
        memory only). `secrets`: values redacted from every job's output before it is reported.
        `clock`: the scheduler's time (tests pass a fake one)."""
        self.store = store
        self.sources = sources
        self.options = options
        self.worker_id = worker_id or new_worker_id()
        self.status_file = status_file
        self._on_status = on_status
        self._on_started_hook = on_started
        self.sync = MirrorSync(store, options.project_id, sources)
        redactor = Redactor(secrets)
        self.executor = Executor(
            store,
            options.project_id,
            sources,
            self.worker_id,
            concurrency=options.concurrency,
            job_timeout=options.job_timeout,
            lease_seconds=options.lease_seconds,
            heartbeat_every=options.heartbeat_every,
            outbox=Outbox(state_dir / OUTBOX_DIR_NAME if state_dir is not None else None),
            registry=RunningRegistry(state_dir / RUNNING_DIR_NAME if state_dir is not None else None),
            redact=redactor if redactor else None,
            on_started=self._job_started,
            on_finished=self._job_finished,
            on_applied=self._sync_after_action,
        )
        self.scheduler = Scheduler(
            sources,
            self.executor,
            state_dir=state_dir,
            clock=clock,
            redact=redactor if redactor else None,
            on_changed=self._scheduled_changed,
            on_run=self._scheduled_run,
        )
        self.history = HistoryFeed(
            store, options.project_id, sources, RunRecorder(store, options.project_id, state_dir=state_dir)
        )
        self.history.retry_soon = self._sync_soon
        self.status = WorkerStatus(self.worker_id, options.project_id, f"{store.kind}: {store.location}")
        self._wake = asyncio.Event()
        self._sync_now = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscription: Subscription | None = None
        #: Running requests of the project with a lease, and when it ends (from live events).
        self._leases: dict[str, datetime] = {}
        self._leases_changed = asyncio.Event()
        self._reconciled_mono = time.monotonic()
        #: Queued requests of the project as live events tell (for the presence row).
        self._queued: set[str] = set()
        self._presence_changed = asyncio.Event()
        #: What the presence row and the details row hold as far as this worker knows (None: unknown).
        self._presence_written: dict[str, Any] | None = None
        self._details_written: str | None = None
        self.sources.subscribe_changes(self._inventory_changed)

    # -- one-shot operations (the CLI's sync-once / drain-once) -----------------------------------

    async def sync_once(self) -> SyncReport:
        """One sync pass as the daemon makes it: the mirror, then the gateway's runs newer than what is
        recorded, written before returning (a one-shot `cronmirror-worker sync` leaves nothing behind)."""
        report = await self.sync.sync_once()
        self._record_sync(report)
        await self._after_sync()
        inventory = self.sources.inventory
        if inventory is not None and await self.history.after_sync(inventory):
            await self.history.recorder.flush()
        return report

    async def drain_once(self) -> list[Finished]:
        await self._rescue()  # reports what the outbox holds first
        await self.sync.sync_once()  # so the inventory is fresh before requests are matched against it
        finished = await self.executor.drain()
        if finished:
            self._record_sync(await self.sync.sync_once())
        return finished

    def _inventory_changed(self, source: str) -> None:
        """A source heard its jobs change (the gateway's `cron` events): mirror now, not at the next
        interval. Several changes during one sync cost one more sync, not one each."""
        log.debug("%s changed: syncing now", source)
        self._sync_now.set()

    def _sync_soon(self) -> None:
        """Sync again in a moment (the gateway's run log lags its events by a little)."""
        asyncio.get_running_loop().call_later(RUN_LOG_LAG_S, self._sync_now.set)

    def request_sync(self) -> None:
        """Sync now instead of at the next interval (the app's "Sync now"). Call on the service's loop;
        from another thread go through `loop.call_soon_threadsafe` (HostedWorker.sync_now does)."""
        self._sync_now.set()

    # -- the daemon ---------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then stop claiming, let running jobs finish within the grace period."""
        log.info(
            "worker %s starting for project %s on %s",
            self.worker_id,
            self.options.project_id,
            self.store.location,
        )
        self._update(state="starting")
        self._adopt_survivors()
        await self._guard("rescue expired leases", self._rescue)
        await self._guard("sync", self._sync_and_record)
        await self._guard("announce presence", self._presence)
        try:
            self._subscription = await self.store.subscribe(self.options.project_id, self._on_event)
        except CronMirrorError as exc:
            self._update(last_error=f"live updates: {exc.message}", last_error_hint=exc.hint or None)
        self._update(state="running")
        for name, loop in (
            ("sync", self._sync_loop),
            ("executor", self._executor_loop),
            ("rescue", self._rescue_loop),
            ("presence", self._presence_loop),
            ("history", self.history.recorder.run),
            *((("scheduler", self.scheduler.run),) if self.options.run_schedules else ()),
        ):
            task = asyncio.get_running_loop().create_task(loop(), name=f"worker-{name}")
            self._tasks.add(task)
        self._wake.set()
        try:
            await stop.wait()
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        self._update(state="stopping")
        log.info("worker stopping: no new claims; %d job(s) running", len(self.executor.running))
        await asyncio.gather(
            self.executor.stop(self.options.grace, reason="the worker was stopped"),
            self.scheduler.stop(self.options.grace),
        )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        # The last runs' history, if the store takes it now; otherwise it waits in the spool.
        with contextlib.suppress(CronMirrorError, TimeoutError):
            async with asyncio.timeout(STOP_FLUSH_TIMEOUT):
                await self.history.recorder.flush()
        if self._subscription is not None:
            await self._subscription.close()
        await self.sources.close()  # the gateway's WebSocket
        self._update(state="stopped", running=())
        if self._presence_written is not None:  # readers learn it stopped, not only that it went quiet
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._guard("announce presence", lambda: self._presence(heartbeat=False)),
                    FINAL_PRESENCE_TIMEOUT,
                )
        log.info("worker stopped")

    def _on_event(self, event: StoreEvent) -> None:
        if isinstance(event, RequestChange):
            if event.type is ChangeType.INSERT and event.request and event.request.status == "queued":
                self._wake.set()
            self._track_lease(event.row_id, event.request)
            self._maybe_stop(event.request)
            self._track_queued(event.row_id, event.request)
        elif isinstance(event, Snapshot):
            self._wake.set()  # after a reconnect: catch up with requests queued meanwhile
            self._leases.clear()
            for request in event.requests:
                self._track_lease(request.id, request)
                self._maybe_stop(request)
            self.history.forget()
            self._queued = {r.id for r in event.requests if r.status == "queued"}
            self._presence_may_have_changed()
            # Someone may have written the mirror while we were away: compare with the store again.
            self.sync.forget()
            self._reconciled_mono = time.monotonic()
            self._sync_now.set()
        elif isinstance(event, StateChange):
            self.executor.events_live = event.state is LiveState.LIVE
            self._update(live=event.state.value)

    def _maybe_stop(self, request: CronRunRequest | None) -> None:
        """Someone asked to stop a request this worker runs: end it."""
        if request is not None and request.stopping and request.worker_id == self.worker_id:
            self.executor.stop_request(request.id, request.cancel_requested_by)

    def _track_lease(self, request_id: str, request: CronRunRequest | None) -> None:
        if request is not None and request.status == "running" and request.lease_until is not None:
            if self._leases.get(request_id) != request.lease_until:
                self._leases[request_id] = request.lease_until
                self._leases_changed.set()
        elif self._leases.pop(request_id, None) is not None:
            self._leases_changed.set()

    def _track_queued(self, request_id: str, request: CronRunRequest | None) -> None:
        queued = request is not None and request.status == "queued"
        if queued != (request_id in self._queued):
            if queued:
                self._queued.add(request_id)
            else:
                self._queued.discard(request_id)
            self._presence_may_have_changed()

    async def _executor_loop(self) -> None:
        while True:
            await wait_event(self._wake, self.options.poll_every)
            self._wake.clear()
            await self._guard("claim requests", self.executor.claim_available)

    async def _sync_loop(self) -> None:
        while True:
            await wait_event(self._sync_now, self.options.sync_interval)
            self._sync_now.clear()
            if time.monotonic() - self._reconciled_mono >= self.options.reconcile_every:
                self.sync.forget()
                self._reconciled_mono = time.monotonic()
            await self._guard("sync", self._sync_and_record)

    async def _rescue_loop(self) -> None:
        while True:
            changed = await wait_event(self._leases_changed, self._next_rescue_in())
            self._leases_changed.clear()
            if changed:
                continue  # a lease moved: plan again
            await self._guard("rescue expired leases", self._rescue)

    def _next_rescue_in(self) -> float:
        """Seconds until the first known lease runs out (plus a moment), at most `rescue_every`."""
        if not self._leases:
            return self.options.rescue_every
        first = min(self._leases.values())
        seconds = (first - now_utc()).total_seconds() + RESCUE_MARGIN
        return min(self.options.rescue_every, max(0.0, seconds))

    async def _presence_loop(self) -> None:
        """A sign of life every `presence_every` seconds; sooner (debounced) when what it says changed."""
        while True:
            changed = await wait_event(self._presence_changed, self.options.presence_every)
            if changed:
                await asyncio.sleep(self.options.presence_debounce)  # one write for a burst of changes
            self._presence_changed.clear()
            await self._guard("announce presence", functools.partial(self._presence, heartbeat=not changed))

    def _presence_may_have_changed(self) -> None:
        if self._presence_written is not None and self._presence_details() != self._presence_written:
            self._presence_changed.set()

    async def _guard(self, what: str, action: Callable[[], Any]) -> None:
        """Run a step; a store error is recorded and logged, never fatal (the loops retry)."""
        try:
            await action()
        except CronMirrorError as exc:
            log.warning("%s failed: %s", what, exc)
            self._update(last_error=f"{what}: {exc.message}", last_error_hint=exc.hint or None)

    async def _sync_after_action(self) -> None:
        """An action request changed a job: mirror it now, before the request is reported done."""
        await self._guard("sync", self._sync_and_record)

    async def _sync_and_record(self) -> None:
        self._record_sync(await self.sync.sync_once())
        self.scheduler.jobs_changed()
        await self._after_sync()
        inventory = self.sources.inventory
        if inventory is not None:
            await self.history.after_sync(inventory)

    def _scheduled_run(self, run: ScheduledRun) -> None:
        self.history.scheduled(run)

    async def _after_sync(self) -> None:
        stored = self.sync.stored_bookkeeping
        if stored is not None:  # this pass compared with the store: so do the bookkeeping rows
            row = stored.get(self.details_job_id)
            self._details_written = _details_text(row.instructions if row is not None else None)
        await self._publish_details()

    def _scheduled_changed(self) -> None:
        """A scheduled run ended (or a job's next run moved): mirror it, and claim with the freed slot."""
        self._sync_now.set()
        self._wake.set()

    async def _rescue(self) -> None:
        """Report what the outbox holds, then end requests whose lease ran out. Skipped while one of our
        own results is waiting for the store: a rescue then could end the very request it belongs to."""
        left = await self.executor.flush_outbox()
        self._update(unreported=left)
        if left or self.executor.reporting:
            return
        now = now_utc()
        for request_id in [rid for rid, until in self._leases.items() if until <= now]:
            del self._leases[request_id]  # rescued now, or live events will tell us otherwise
        for request in await self.store.rescue_expired(self.options.project_id):
            log.warning("rescued %s (%s): %s", request.id, request.job_id, request.reason)

    # -- jobs that outlived their worker --------------------------------------------------------------

    def _adopt_survivors(self) -> None:
        survivors = self.executor.registry.survivors()
        for record in survivors:
            log.warning(
                "job %s (process group %d) still runs from worker %s: it won't be started again until "
                "it ends (at its timeout at the latest)",
                record.job_id,
                record.pgid,
                record.worker_id,
            )
            self.executor.adopt(record)
            watch = self.scheduler.see_survivor_out if record.scheduled else self._see_survivor_out
            task = asyncio.get_running_loop().create_task(watch(record), name=f"survivor:{record.job_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._update_survivors()

    async def _see_survivor_out(self, record: RunningRecord) -> None:
        """Keep the survivor's request leased (under its own worker's id), wait for the job to end (or
        stop it at its deadline), then end the request saying what is known."""
        lease = asyncio.get_running_loop().create_task(
            self.executor.keep_lease(record.request_id, record.worker_id), name=f"lease:{record.request_id}"
        )
        try:
            ended_itself = await watch_survivor(record)
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease
        how = f"ended at {format_timestamp(now_utc())}" if ended_itself else "was stopped at its timeout"
        entry = OutboxEntry(
            request_id=record.request_id,
            job_id=record.job_id,
            worker_id=record.worker_id,
            status="error",
            result={
                "exitCode": None,
                "durationMs": None,
                "stdoutTail": "",
                "stderrTail": "",
                "source": "worker",
                "workerId": record.worker_id,
                "reason": (
                    f"the worker was restarted while this job ran; the job went on (process group "
                    f"{record.pgid}) and {how}; its exit code and output could not be collected"
                ),
            },
            finished_at=format_timestamp(now_utc()) or "",
        )
        self.executor.outbox.put(entry)
        self.executor.release(record)
        self._update_survivors()
        self._wake.set()
        await self.executor.deliver(entry)

    def _update_survivors(self) -> None:
        self._update(
            survivors=tuple(
                RunningJob(r.request_id, r.job_id, parse_timestamp(r.started_at), r.pgid)
                for r in self.executor.survivors
            )
        )

    def _presence_report(self) -> dict[str, Any]:
        """What the presence row says about the worker's work (core.worker_report)."""
        inventory = self.sources.inventory
        state = self.status.state if self.status.state in ("stopping", "stopped") else "running"
        return presence_fields(
            state=state,
            running=len(self.status.running),
            queued=len(self._queued),
            sync_every_s=self.options.sync_interval,
            sources=[
                SourceReport.build(lst.source, lst.state, lst.message, len(lst.jobs), lst.warnings)
                for lst in (inventory.listings if inventory else ())
            ],
        )

    def _presence_details(self) -> dict[str, Any]:
        return presence_row(
            host=self.sources.host,
            worker_id=self.worker_id,
            version=__version__,
            started_at=format_timestamp(self.status.started_at),
            time_zone=self.sources.zone_name,
            report=self._presence_report(),
        )

    async def _presence(self, *, heartbeat: bool = True) -> None:
        """Write the presence row: always for a heartbeat, else only when what it says changed."""
        row = self._presence_details()
        if not heartbeat and row == self._presence_written:
            return
        await self.store.upsert_mirror(self.options.project_id, [row])
        self._presence_written = row

    @property
    def details_job_id(self) -> str:
        return f"{DETAILS_PREFIX}@{self.sources.host}"

    async def _publish_details(self) -> None:
        """Write how each command job runs, when that changed since this worker last wrote it."""
        inventory = self.sources.inventory
        if inventory is None:
            return
        jobs = command_details(inventory.jobs)
        host = self.sources.host
        text = details_instructions(jobs, host=host, default_timeout_s=self.options.job_timeout)
        if text == self._details_written:
            return
        row = bookkeeping_row(self.details_job_id, "CronMirror job details (do not delete)", host, text)
        await self.store.upsert_mirror(self.options.project_id, [{**row, "host": host}])
        self._details_written = text

    # -- status -------------------------------------------------------------------------------------

    def _record_sync(self, report: SyncReport) -> None:
        inventory = self.sources.inventory
        sources = tuple(
            {"source": lst.source, "state": lst.state, "message": lst.message}
            for lst in (inventory.listings if inventory else ())
        )
        self._update(
            last_sync_at=now_utc(),
            last_sync={
                "upserted": report.upserted,
                "deleted": report.deleted,
                "unchanged": report.unchanged,
                "keptFrom": list(report.kept_from),
                "warnings": list(report.warnings),
            },
            sources=sources,
            last_error=None,
            last_error_hint=None,
        )

    def _job_started(self, request: CronRunRequest, info: ProcessStarted) -> None:
        self.history.request_started(request, info)
        running = tuple(r for r in self.status.running if r.request_id != request.id)
        self._update(running=(*running, RunningJob(request.id, request.job_id, info.started_at, info.pid)))
        if self._on_started_hook is not None:
            self._on_started_hook(request, info)

    def _job_finished(self, finished: Finished) -> None:
        self.history.request_finished(finished, finished.result)
        running = tuple(r for r in self.status.running if r.request_id != finished.request.id)
        self._update(
            running=running,
            finished_count=self.status.finished_count + 1,
            unreported=len(self.executor.outbox),
        )
        self._sync_now.set()  # last_run_at / last_status of the job changed
        self._wake.set()  # a slot is free (the executor let go of it before telling us)

    def _update(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        if changes.keys() & {"running", "sources", "state"}:
            self._presence_may_have_changed()
        if self.status_file is not None:
            write_status(self.status_file, self.status)
        if self._on_status is not None:
            try:
                self._on_status(self.status)
            except Exception:
                log.exception("status callback failed")


def _details_text(text: str | None) -> str | None:
    """A stored details row's JSON as this worker would have written it (so equal means unchanged)."""
    if not text:
        return None
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return None


def write_status(path: Path, status: WorkerStatus) -> None:
    """Atomically replace the status file (read by `cronmirror-worker status` from another process; 0600:
    it names the jobs that run and their process ids)."""
    try:
        atomic_write_text(path, json.dumps(status.to_json(), indent=2))
    except OSError as exc:
        log.warning("cannot write the status file %s: %s", path, exc)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
