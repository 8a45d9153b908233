"""The gateway source's native path: one WebSocket to the local gateway, kept open, driven by its events.

Listing: `cron.list` once, then the gateway's `cron` events keep the list current — a job added, edited,
removed, started or finished changes the cached list (OpenClaw's events carry the whole job; ClawdBot's
carry the run result, and a job added or edited there is listed again) and calls `on_change`, which makes
the worker sync at once. `cron.list` is asked again only after such an event needs it, after a reconnect,
and every `RESYNC_S` (5 min) as a safety net; a listing in between costs no gateway work at all.
A ClawdBot gateway holds its cron lock while a job runs, so a `cron.list` then may wait for the job: after
`LIST_TIMEOUT_S` the last list is shown, with a note, and asked for again at the next sync.

Running: `cron.run {id, mode: "force"}`. ClawdBot answers when the job has finished (`ran: true`), its
`cron` finished event just before; OpenClaw answers at once (`enqueued`, `runId`) and the finished event
with that `runId` follows. The finished event decides the verdict (gateway_map.judge_run_entry); if it was
missed (a reconnect), `cron.runs` is asked, every `RUN_POLL_S` while waiting and right after a reconnect.

Connection: made on first use. A gateway that is not running is "down" (the source shows its store
read-only, no CLI is started) and is retried in the background with backoff; when it comes back, the
listing is refreshed and `on_change` fires. A gateway that answers but refuses us (credentials, pairing
pending, protocol version, no cron methods) or cannot be found in its config makes the path "unusable":
the source uses the CLI and says why; asked again after `RETRY_UNUSABLE_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cronmirror_desktop.core.paths import app_paths
from cronmirror_desktop.core.timeutil import ms_from_dt, now_utc
from worker.jobs import LocalJob
from worker.outcome import RunOutcome
from worker.process import OnStarted, ProcessStarted
from worker.sources.gateway_client import ConnectRefused, GatewayClient, GatewayUnreachable, Hello
from worker.sources.gateway_config import GatewayEndpoint, NoEndpoint, find_endpoint
from worker.sources.gateway_device import FILE_NAME, DeviceIdentity, load_or_create
from worker.sources.gateway_map import SOURCE, judge_run_entry
from worker.sources.gateway_protocol import (
    ADMIN_SCOPE,
    CRON_LIST,
    CRON_RUN,
    CRON_RUNS,
    CRON_UPDATE,
    CronListParams,
    CronRunParams,
    CronRunsParams,
    CronUpdateParams,
    GatewayDisconnected,
    GatewayRpcError,
    GatewayRpcTimeout,
)

log = logging.getLogger(__name__)

RESYNC_S = 300.0
LIST_TIMEOUT_S = 15.0
#: cron.update waits for a ClawdBot gateway's cron lock, which a running job holds.
UPDATE_TIMEOUT_S = 60.0
RETRY_UNUSABLE_S = 300.0
RUN_POLL_S = 30.0
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)  # then every 10 s: a refused connect costs next to nothing
PAGE_LIMIT = 200
MAX_PAGES = 100
#: Finished events remembered for runs that have not started waiting yet (a fast job's event can
#: arrive before `cron.run` answers).
RECENT_FINISHED = 64


@dataclass(frozen=True)
class NativeStatus:
    state: Literal["connected", "down", "unusable"]
    reason: str = ""


class _Waiter:
    """Finished events for one job, collected while a run of it waits for its own."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.entries: list[dict[str, Any]] = []
        self.wake = asyncio.Event()


class NativeGateway:
    def __init__(
        self,
        *,
        env: Mapping[str, str],
        home: Path,
        device_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        run_poll_s: float = RUN_POLL_S,
    ) -> None:
        self._env = env
        self._run_poll_s = run_poll_s
        self._home = home
        self._device_file = device_file
        self._clock = clock
        self.on_change: Callable[[], None] | None = None
        self._identity: DeviceIdentity | None = None
        self._client: GatewayClient | None = None
        self._endpoint: GatewayEndpoint | None = None
        self._status = NativeStatus("down", "not connected yet")
        self._retry_at = float("-inf")
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        # The cached listing: jobs in the gateway's order, by id; `_generation` counts events that need a
        # fresh `cron.list`, `_listed_generation` the one the cache reflects.
        self._jobs: dict[str, dict[str, Any]] | None = None
        self._listed_at = float("-inf")
        self._generation = 0
        self._listed_generation = -1
        self._waiters: list[_Waiter] = []
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_FINISHED)
        self._reconnected = asyncio.Event()

    # -- connection -------------------------------------------------------------------------------

    @property
    def hello(self) -> Hello | None:
        return self._client.hello if self._client is not None else None

    @property
    def can_run(self) -> bool:
        """False when the gateway reported our scopes and `operator.admin` (cron.run) is not among them."""
        hello = self.hello
        return hello is not None and (hello.scopes is None or ADMIN_SCOPE in hello.scopes)

    @property
    def connected(self) -> bool:
        """The gateway's socket is up now (asking it costs a message, not a process)."""
        return self._status.state == "connected" and self._client is not None

    def describe(self) -> str:
        hello, endpoint = self.hello, self._endpoint
        if hello is None or endpoint is None:
            return self._status.reason
        return f"gateway {hello.server_version} at {endpoint.url} (native client, protocol {hello.protocol})"

    async def status(self) -> NativeStatus:
        """Connected, down (retrying in the background) or unusable (use the CLI) — connecting if due."""
        if self._client is not None and self._client.connected:
            return NativeStatus("connected")
        if self._status.state == "unusable" and self._clock() < self._retry_at:
            return self._status
        if self._supervisor is not None and not self._supervisor.done():
            return self._status  # down: the background reconnect owns the next attempt
        self._closing = False
        status = await self._connect_once()
        if status.state == "down":
            self._start_supervisor()
        return status

    async def _connect_once(self) -> NativeStatus:
        found = find_endpoint(self._env, self._home)
        if isinstance(found, NoEndpoint):
            return self._set_status(NativeStatus("unusable", found.reason))
        self._endpoint = found
        try:
            if self._identity is None:
                self._identity = load_or_create(self._device_file or app_paths().state_dir / FILE_NAME)
        except OSError as exc:
            return self._set_status(NativeStatus("unusable", f"cannot keep a device key: {exc}"))
        client = GatewayClient(found, self._identity, on_event=self._on_event, on_closed=self._on_closed)
        try:
            await client.connect()
        except GatewayUnreachable as exc:
            return self._set_status(NativeStatus("down", str(exc)))
        except ConnectRefused as exc:
            if exc.retry_after is not None:
                return self._set_status(NativeStatus("down", exc.reason))
            return self._set_status(NativeStatus("unusable", exc.reason))
        self._client = client
        self._generation += 1  # events may have been missed while we were not connected
        log.info("connected to the gateway at %s: %s", found.url, self.describe())
        self._reconnected.set()
        self._reconnected = asyncio.Event()
        return self._set_status(NativeStatus("connected"))

    def _set_status(self, status: NativeStatus) -> NativeStatus:
        if status.state == "unusable":
            self._retry_at = self._clock() + RETRY_UNUSABLE_S
            if status != self._status:
                log.warning("the gateway's native protocol is not used (%s); using its CLI", status.reason)
        elif status.state == "down" and status != self._status:
            log.warning("the gateway is down: %s", status.reason)
        self._status = status
        return status

    def _on_closed(self, reason: str) -> None:
        self._client = None
        if self._closing:
            return
        self._set_status(NativeStatus("down", f"the connection closed: {reason}"))
        self._start_supervisor()
        self._changed()  # the listing's state changes (the store read-only) until the gateway is back

    def _start_supervisor(self) -> None:
        if self._closing or (self._supervisor is not None and not self._supervisor.done()):
            return
        self._supervisor = asyncio.get_running_loop().create_task(self._reconnect(), name="gateway-reconnect")

    async def _reconnect(self) -> None:
        for attempt in range(1_000_000):
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            status = await self._connect_once()
            if status.state != "down":
                self._changed()
                return

    async def close(self) -> None:
        """Close the connection and stop reconnecting; the next use connects again."""
        self._closing = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        self._status = NativeStatus("down", "closed")
        self._jobs = None

    # -- events -----------------------------------------------------------------------------------------

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _on_event(self, event: str, payload: dict[str, Any]) -> None:
        if event != "cron":
            return
        job_id, action, job = payload.get("jobId"), payload.get("action"), payload.get("job")
        if not isinstance(job_id, str):
            return
        if action == "finished":
            self._recent.append(payload)
            for waiter in self._waiters:
                if waiter.job_id == job_id:
                    waiter.entries.append(payload)
                    waiter.wake.set()
        jobs = self._jobs
        if action == "removed":  # (OpenClaw sends the removed job along: not a reason to keep it)
            if jobs is not None:
                jobs.pop(job_id, None)
        elif isinstance(job, dict) and job.get("id") == job_id:
            if jobs is not None:
                jobs[job_id] = job  # OpenClaw: the job as it is now
        elif action == "finished" and jobs is not None and job_id in jobs:
            _apply_finished(jobs[job_id], payload)  # ClawdBot: what its own finish() sets
        elif action in ("added", "updated", "removed", "finished"):
            self._generation += 1  # ClawdBot sends no job: list again
        if action != "started":  # a run starting changes no mirrored column
            self._changed()

    # -- listing ------------------------------------------------------------------------------------------

    async def list_raw(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The gateway's jobs (cached, see the module docstring) and notes for the listing."""
        client = self._client
        if client is None:
            raise GatewayDisconnected("not connected")
        fresh = self._listed_generation == self._generation and self._clock() - self._listed_at < RESYNC_S
        if self._jobs is not None and fresh:
            return list(self._jobs.values()), []
        generation = self._generation
        try:
            jobs, notes = await self._list_all(client)
        except GatewayRpcTimeout:
            if self._jobs is None:
                raise
            note = f"the gateway did not list its jobs within {LIST_TIMEOUT_S:.0f} s (busy running one?)"
            return list(self._jobs.values()), [f"{note}; showing the last list"]
        self._jobs = {
            job["id"]: job for job in jobs if isinstance(job, dict) and isinstance(job.get("id"), str)
        }
        self._listed_generation = generation
        self._listed_at = self._clock()
        return jobs, notes

    async def _list_all(self, client: GatewayClient) -> tuple[list[Any], list[str]]:
        paged = client.hello is not None and client.hello.protocol >= 4  # ClawdBot's schema has no limit
        params: CronListParams = {"includeDisabled": True}
        if paged:
            params["limit"] = PAGE_LIMIT
        jobs: list[Any] = []
        for _ in range(MAX_PAGES):
            page = await client.call(CRON_LIST, params, timeout=LIST_TIMEOUT_S)
            batch = page.get("jobs") if isinstance(page, dict) else None
            if not isinstance(batch, list):
                raise GatewayRpcError(CRON_LIST.name, {"message": "cron.list answered without a job list"})
            jobs += batch
            next_offset = page.get("nextOffset")
            if not (paged and page.get("hasMore") is True and isinstance(next_offset, int)):
                return jobs, []
            params["offset"] = next_offset
        return jobs, [f"stopped following the gateway's pages after {len(jobs)} jobs"]

    # -- changing a job -----------------------------------------------------------------------------------

    @property
    def protocol(self) -> int | None:
        hello = self.hello
        return hello.protocol if hello is not None else None

    async def update(self, gateway_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        """`cron.update {id, patch}`: the job as the gateway has it now (it goes into the cached list, and
        the worker syncs at once). Raises GatewayRpcError (refused), GatewayRpcTimeout or
        GatewayDisconnected."""
        client = self._client
        if client is None:
            raise GatewayDisconnected(f"not connected: {self._status.reason}")
        params: CronUpdateParams = {"id": gateway_id, "patch": patch}
        answer = await client.call(CRON_UPDATE, params, timeout=UPDATE_TIMEOUT_S)
        job = answer if isinstance(answer, dict) else {}
        if self._jobs is not None and job.get("id") == gateway_id:
            self._jobs[gateway_id] = job
        else:
            self._generation += 1  # list again at the next sync
        self._changed()
        return job

    def scrub(self, text: str) -> str:
        """A gateway's message with the secrets we hold for it cut out."""
        return self._endpoint.scrub(text) if self._endpoint is not None else text

    # -- running ------------------------------------------------------------------------------------------

    async def run(
        self,
        job: LocalJob,
        *,
        timeout: float,  # noqa: ASYNC109 - the run's deadline
        on_started: OnStarted | None = None,
    ) -> RunOutcome:
        client = self._client
        if client is None:
            return RunOutcome.refused(
                f"gateway is down: {self._status.reason}", source=SOURCE, job_id=job.job_id
            )
        gateway_id = job.native_id
        started = now_utc()
        start_ms = ms_from_dt(started)
        deadline = self._clock() + timeout
        waiter = _Waiter(gateway_id)
        self._waiters.append(waiter)
        try:
            if on_started is not None:
                on_started(ProcessStarted(pid=0, argv=(CRON_RUN.name, gateway_id), started_at=started))
            try:
                params: CronRunParams = {"id": gateway_id, "mode": "force"}
                answer = await client.call(CRON_RUN, params, timeout=max(1.0, deadline - self._clock()))
            except GatewayRpcError as exc:
                return self._refused(job, exc, started)
            except (GatewayRpcTimeout, GatewayDisconnected) as exc:
                # ClawdBot answers when the job is done, so the deadline may pass first (the gateway goes on);
                # a dropped connection may still bring the finished event or run record before the deadline.
                until = self._clock() + 0.5 if isinstance(exc, GatewayRpcTimeout) else deadline
                entry = await self._await_finished(waiter, start_ms, None, until)
                if entry is not None:
                    return self._outcome(job, entry, started)
                reason = f"no answer to cron.run ({exc}); the gateway may still be running it"
                return self._make(job, started, "error", reason, timed_out=True)
            if not isinstance(answer, dict):
                return self._make(
                    job, started, "error", f"unexpected answer to cron.run: {str(answer)[:200]}"
                )
            if answer.get("ran") is False:
                reason = answer.get("reason") or "no reason given"
                return self._make(job, started, "error", f"the gateway did not run it ({reason})", ran=False)
            run_id = answer.get("runId") if isinstance(answer.get("runId"), str) else None
            if answer.get("ran") is True:  # finished already: its event came just before the answer
                deadline = min(deadline, self._clock() + 5)
            entry = await self._await_finished(waiter, start_ms, run_id, deadline)
            if entry is not None:
                return self._outcome(job, entry, started)
            if answer.get("ran") is True:
                return self._make(job, started, "done", "the gateway ran it (ran: true); no run record yet")
            reason = f"queued in the gateway as {run_id or 'a run'}, but it did not finish within the timeout"
            return self._make(job, started, "error", reason, timed_out=True)
        finally:
            self._waiters.remove(waiter)

    async def _await_finished(
        self, waiter: _Waiter, start_ms: int, run_id: str | None, deadline: float
    ) -> dict[str, Any] | None:
        """Our run's finished entry: from the events, else from `cron.runs` (polled, and after reconnects)."""
        waiter.entries += [e for e in self._recent if e.get("jobId") == waiter.job_id]
        entry: dict[str, Any]
        polled_at = self._clock()
        while True:
            for entry in reversed(waiter.entries):
                if _is_ours(entry, start_ms, run_id):
                    return entry
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            waiter.wake.clear()
            reconnected = self._reconnected
            wake = asyncio.ensure_future(waiter.wake.wait())
            back = asyncio.ensure_future(reconnected.wait())
            await asyncio.wait(
                {wake, back}, timeout=min(remaining, self._run_poll_s), return_when="FIRST_COMPLETED"
            )
            wake.cancel()
            back.cancel()
            if waiter.wake.is_set():
                continue
            if back.done() or self._clock() - polled_at >= self._run_poll_s:
                polled_at = self._clock()
                waiter.entries += await self._poll_runs(waiter.job_id, run_id)

    async def runs(self, job_id: str, limit: int) -> list[dict[str, Any]]:
        """The job's latest run-log entries (`cron.runs`); empty when the gateway can't be asked."""
        return await self._cron_runs({"id": job_id, "limit": max(1, min(limit, 200))})

    async def _poll_runs(self, job_id: str, run_id: str | None) -> list[dict[str, Any]]:
        return await self._cron_runs({"id": job_id, "limit": 5}, run_id=run_id)

    async def _cron_runs(self, params: CronRunsParams, *, run_id: str | None = None) -> list[dict[str, Any]]:
        """`cron.runs` (narrowed to `run_id` where the protocol has it); empty when it can't be asked."""
        client = self._client
        if client is None:
            return []
        if run_id is not None and client.hello is not None and client.hello.protocol >= 4:
            params["runId"] = run_id
        try:
            answer = await client.call(CRON_RUNS, params, timeout=LIST_TIMEOUT_S)
        except (GatewayRpcError, GatewayRpcTimeout, GatewayDisconnected):
            return []
        entries = answer.get("entries") if isinstance(answer, dict) else None
        return [e for e in entries or [] if isinstance(e, dict)]

    def _refused(self, job: LocalJob, exc: GatewayRpcError, started: datetime) -> RunOutcome:
        message = self._endpoint.scrub(exc.message) if self._endpoint else exc.message
        if exc.unknown_job:
            reason = f"the gateway does not know this job any more: {message}"
        elif exc.missing_scope:
            reason = f"the gateway does not let this worker run jobs: {message}"
        else:
            reason = f"the gateway refused to run it: {message}"
        return self._make(job, started, "error", reason, ran=False)

    def _outcome(self, job: LocalJob, entry: dict[str, Any], started: datetime) -> RunOutcome:
        verdict, reason = judge_run_entry(entry)
        duration = entry.get("durationMs")
        error = entry.get("error") or entry.get("deliveryError")
        return RunOutcome(
            verdict=verdict,
            reason=reason,
            source=SOURCE,
            job_id=job.job_id,
            duration_ms=_ms(duration),
            stdout_tail=str(entry.get("summary") or "")[-4000:],
            stderr_tail=str(error or "")[-4000:],
            started_at=started,
            finished_at=now_utc(),
        )

    def _make(
        self,
        job: LocalJob,
        started: datetime,
        verdict: Literal["done", "error"],
        reason: str,
        *,
        ran: bool = True,
        timed_out: bool = False,
    ) -> RunOutcome:
        finished = now_utc()
        return RunOutcome(
            verdict=verdict,
            reason=reason,
            source=SOURCE,
            job_id=job.job_id,
            duration_ms=int((finished - started).total_seconds() * 1000),
            timed_out=timed_out,
            started_at=started,
            finished_at=finished,
            ran=ran,
        )


def _ms(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _is_ours(entry: dict[str, Any], start_ms: int, run_id: str | None) -> bool:
    if entry.get("status") is None:
        return False
    if run_id is not None and entry.get("runId") is not None:
        return entry.get("runId") == run_id
    run_at = entry.get("runAtMs")
    return isinstance(run_at, int | float) and not isinstance(run_at, bool) and run_at >= start_ms


def _apply_finished(job: dict[str, Any], event: dict[str, Any]) -> None:
    """A ClawdBot finished event applied to a cached job, as the gateway's finish() updates its state."""
    state = job.setdefault("state", {})
    if not isinstance(state, dict):
        return
    state.pop("runningAtMs", None)
    for key, name in (("runAtMs", "lastRunAtMs"), ("status", "lastStatus"), ("durationMs", "lastDurationMs")):
        if key in event:
            state[name] = event[key]
    state["lastError"] = event.get("error")
    schedule = job.get("schedule")
    if isinstance(schedule, dict) and schedule.get("kind") == "at" and event.get("status") == "ok":
        job["enabled"] = False  # a one-shot job that ran is disabled (or removed: a `removed` event follows)
    if event.get("nextRunAtMs") is not None:
        state["nextRunAtMs"] = event["nextRunAtMs"]
    else:
        state.pop("nextRunAtMs", None)
