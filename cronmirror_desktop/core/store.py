"""The one Store interface the UI and the worker use, whichever backend holds the data.

Two implementations keep identical semantics (checked by one contract test suite): `SupabaseStore`
(PostgREST + Realtime through supabase-py) and `LocalStore` (an SQLite file, the embedded default).
Live changes reach a subscriber as `StoreEvent`s, on the asyncio loop that subscribed.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from cronmirror_desktop.core.presence import WorkerPresence
from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest, ProjectInfo
from cronmirror_desktop.core.run_log import DEFAULT_KEEP_PER_JOB, RunLogEntry

log = logging.getLogger(__name__)

DEFAULT_REQUEST_LIMIT = 20
DEFAULT_LEASE_SECONDS = 60
DEFAULT_HISTORY_LIMIT = 50


def sort_jobs(jobs: list[CronMirrorJob]) -> list[CronMirrorJob]:
    """The order every store lists jobs in: by the name people see, case-insensitive, then by id."""
    return sorted(jobs, key=lambda j: (j.display_name.casefold(), j.job_id))


def make_snapshot(project_id: str, mirror: list[CronMirrorJob], requests: list[CronRunRequest]) -> Snapshot:
    """A Snapshot from every mirror row of the project: the jobs, and when a worker was last heard of."""
    seen = max((row.updated_at for row in mirror if row.updated_at is not None), default=None)
    presences = tuple(p for p in map(WorkerPresence.from_job, mirror) if p is not None)
    jobs = sort_jobs([row for row in mirror if row.is_job])
    bookkeeping = tuple(row for row in mirror if not row.is_job)
    return Snapshot(project_id, jobs, requests, seen, presences, bookkeeping)


def mirror_touched(project_id: str, row: CronMirrorJob) -> MirrorTouched | None:
    """The event for a changed bookkeeping row (None when it carries no time)."""
    if row.updated_at is None:
        return None
    return MirrorTouched(project_id, row.updated_at, WorkerPresence.from_job(row), row)


def check_lease(worker_id: str, lease_seconds: int) -> None:
    """The same argument checks as the SQL functions, before a round trip."""
    if not worker_id:
        raise ValueError("a worker id is required")
    if not 5 <= lease_seconds <= 86400:
        raise ValueError(f"lease must be between 5 and 86400 seconds, got {lease_seconds}")


class ChangeType(StrEnum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


class LiveState(StrEnum):
    """Where a subscription stands. Only LIVE means events are flowing."""

    CONNECTING = "connecting"
    LIVE = "live"
    DISCONNECTED = "disconnected"
    AUTH_FAILED = "auth_failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class JobChange:
    """A `cron_mirror` row was inserted, updated or deleted. `job` is None for a delete."""

    type: ChangeType
    project_id: str
    row_id: str
    job: CronMirrorJob | None


@dataclass(frozen=True)
class RequestChange:
    """A `cron_run_requests` row was inserted, updated or deleted. `request` is None for a delete."""

    type: ChangeType
    project_id: str
    row_id: str
    request: CronRunRequest | None


@dataclass(frozen=True)
class RunLogChange:
    """A `cron_run_log` row was inserted, updated (a run went from running to finished) or deleted
    (pruned). `entry` is None for a delete."""

    type: ChangeType
    project_id: str
    row_id: str
    entry: RunLogEntry | None


@dataclass(frozen=True)
class Snapshot:
    """Both lists as they are now: sent when a subscription becomes live, and again after every
    reconnect, because missed changes are never replayed."""

    project_id: str
    jobs: list[CronMirrorJob]
    requests: list[CronRunRequest]
    #: The newest `updated_at` of any mirror row, bookkeeping rows included: when a worker was last heard of.
    worker_seen_at: datetime | None = None
    #: What the workers' presence rows say (their hosts and time zones; core.presence).
    presences: tuple[WorkerPresence, ...] = ()
    #: The mirror's rows that are not jobs: the workers' presence and details rows (what they say about
    #: their work and sources: core.worker_report), ClawdOS's fingerprint.
    bookkeeping: tuple[CronMirrorJob, ...] = ()


@dataclass(frozen=True)
class MirrorTouched:
    """A bookkeeping row of the mirror changed (a worker's presence or fingerprint row): not a job,
    but proof that a worker was alive `at` that moment."""

    project_id: str
    at: datetime
    #: When the row is a worker's presence row: what it says now.
    presence: WorkerPresence | None = None
    #: The row as it is now (what a presence or details row says about the worker's work:
    #: core.worker_report).
    row: CronMirrorJob | None = None


@dataclass(frozen=True)
class StateChange:
    state: LiveState
    detail: str = ""


StoreEvent = JobChange | RequestChange | RunLogChange | Snapshot | StateChange | MirrorTouched
EventHandler = Callable[[StoreEvent], None]


@dataclass(frozen=True)
class QueueOutcome:
    """What `queue_run` did: `created` is False when the job already had an active request,
    which is then returned instead of a duplicate."""

    request: CronRunRequest
    created: bool


@dataclass(eq=False)
class Subscription(abc.ABC):
    """A live view of one project. Close it to stop events; closing twice is harmless."""

    project_id: str
    state: LiveState = field(default=LiveState.CONNECTING)
    #: Where events go; the store that makes the subscription sets it.
    _handler: EventHandler = field(init=False, repr=False)

    @abc.abstractmethod
    async def close(self) -> None: ...

    def _emit(self, event: StoreEvent) -> None:
        """Hand one event to the subscriber; its failure is logged, never the subscription's end."""
        try:
            self._handler(event)
        except Exception:
            log.exception("a store event handler failed")


class Store(abc.ABC):
    """Everything the desktop app and the worker read and write."""

    #: "supabase" or "local": shown in the UI and the CLI.
    kind: ClassVar[Literal["supabase", "local"]]

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the data lives, for people: a URL or a file path (never a key)."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and stop every subscription. Idempotent."""

    # -- reading and queueing (the app) ----------------------------------------------------------

    @abc.abstractmethod
    async def list_projects(self, configured: Sequence[str] = ()) -> list[ProjectInfo]:
        """Projects with data, plus the `configured` ids (which may have none yet), sorted by id."""

    @abc.abstractmethod
    async def list_jobs(self, project_id: str) -> list[CronMirrorJob]:
        """The project's mirrored jobs (bookkeeping rows left out), sorted by name."""

    @abc.abstractmethod
    async def queue_run(
        self,
        project_id: str,
        job_id: str,
        requested_by: str,
        *,
        action: str = "run",
        args: Mapping[str, Any] | None = None,
    ) -> QueueOutcome:
        """Queue a run, or another action (core.actions) with its `args`; if the job already has a queued
        or running request for the same action, return that one. Raises InvalidRow for ids over 512
        characters, `requested_by` over 200, control characters in any, or an action or args a client may
        not send (core.actions.args_problem: the database's rules, in its words)."""

    @abc.abstractmethod
    async def list_requests(
        self, project_id: str, limit: int = DEFAULT_REQUEST_LIMIT, job_id: str | None = None
    ) -> list[CronRunRequest]:
        """The newest requests first (optionally of one job)."""

    @abc.abstractmethod
    async def get_request(self, request_id: str) -> CronRunRequest | None: ...

    @abc.abstractmethod
    async def cancel_request(self, project_id: str, request_id: str, by: str | None = None) -> CronRunRequest:
        """Withdraw a queued request (it becomes `cancelled`), or ask the worker to stop a running one
        (`cancel_requested_at` is set; the worker ends the job and reports `cancelled`). `by` says who
        asked. Raises NotFound (no such request in this project) or Conflict (it has already ended)."""

    @abc.abstractmethod
    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        """Deliver the project's changes to `on_event` on the calling loop, starting with a Snapshot."""

    # -- mirroring and executing (the worker) ----------------------------------------------------

    @abc.abstractmethod
    async def mirror_rows(self, project_id: str) -> list[CronMirrorJob]:
        """Every mirror row of the project including bookkeeping rows (what a sync diffs against)."""

    @abc.abstractmethod
    async def upsert_mirror(self, project_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert or update rows by `(project_id, job_id)`; each row holds MIRROR_COLUMNS.
        Sets `updated_at`. A stored row whose `host` is another (non-empty) host than the new row's is
        left as it is: a host never takes over another host's row. Returns the number of rows written
        (Supabase: the number sent)."""

    @abc.abstractmethod
    async def delete_mirror(self, project_id: str, job_ids: Sequence[str], *, host: str | None = None) -> int:
        """Delete the project's rows with these job ids (with `host`: only that host's rows). Returns
        the number deleted."""

    @abc.abstractmethod
    async def claim_next(
        self,
        project_id: str,
        worker_id: str,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        *,
        host: str | None = None,
        actions: Sequence[str] = ("run",),
    ) -> CronRunRequest | None:
        """Atomically take the oldest queued request (queued -> running) with a lease, or None. Only
        requests for jobs of `host`, or of no host (a mirror row without one, or none at all), are taken:
        a job of another host is run by that host's worker. Only requests for `actions` (the ones this
        worker applies) are taken; a create that names another host (`args.host`) is that host's."""

    @abc.abstractmethod
    async def heartbeat(
        self, request_id: str, worker_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> bool:
        """Extend the lease; False when this worker no longer holds it."""

    @abc.abstractmethod
    async def complete(
        self,
        request_id: str,
        worker_id: str,
        status: Literal["done", "error", "cancelled"],
        result: Mapping[str, Any],
    ) -> bool:
        """Finish a request held by `worker_id`, also after its lease ran out (a result kept through an
        outage); False (and nothing changes) once the request was rescued or ended otherwise. `cancelled`
        only for a request someone asked to stop."""

    @abc.abstractmethod
    async def rescue_expired(self, project_id: str | None = None) -> list[CronRunRequest]:
        """End requests whose lease expired as `error`; returns them."""

    @abc.abstractmethod
    async def report_progress(self, request_id: str, worker_id: str, result: Mapping[str, Any]) -> bool:
        """Replace a running request's `result` with its live output so far (only its holder may)."""

    # -- run history -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def record_runs(self, project_id: str, entries: Sequence[Mapping[str, Any]]) -> int:
        """Insert or update runs (`core.run_log.run_entry` rows) by `(project_id, run_key)`."""

    @abc.abstractmethod
    async def run_history(
        self, project_id: str, job_id: str | None = None, limit: int = DEFAULT_HISTORY_LIMIT
    ) -> list[RunLogEntry]:
        """The newest runs first (of one job, or of the whole project)."""

    @abc.abstractmethod
    async def latest_runs(self, project_id: str) -> dict[str, datetime]:
        """When each job's newest recorded run started (what a worker has already recorded)."""

    @abc.abstractmethod
    async def prune_run_log(self, project_id: str, keep: int = DEFAULT_KEEP_PER_JOB) -> int:
        """Keep the newest `keep` runs of each job; returns how many were deleted."""
