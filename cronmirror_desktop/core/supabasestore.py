"""The Store on Supabase: PostgREST through supabase-py's AsyncClient, live changes through Realtime.

Choices that matter:
- The client's own GET retries (1 + 2 + 4 s on network errors) are off: a server that is gone should say
  so at once; the subscription supervisor (`supabase_realtime.py`) owns reconnecting, with its own backoff.
- A refused key fails fast: REST answers 401 at once, and the socket handshake is tried once, not five
  times with 1-8 s backoff.
- Rows are hostile input (see rows.py). One case needs the wire itself: a `result` nested ~1,000 levels
  deep makes postgrest-py's `json.loads` of the whole answer raise RecursionError, so one row would take
  the whole list down. Requests are therefore read with `result::text` (PostgREST casts it; the answer
  stays flat) and rows.py parses that text with a depth limit. Realtime's parser (pydantic) drops a change
  nested ~250 levels deep without telling anyone but its log: `_DroppedChanges` notices that log line and
  the subscription re-reads the requests, so the row is still shown, marked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from postgrest import APIError, APIResponse, ReturnMethod
from pydantic import ValidationError
from realtime import AsyncRealtimeClient
from supabase import AsyncClient, AsyncClientOptions, AsyncSupabaseException, acreate_client

from cronmirror_desktop.core.actions import RUN
from cronmirror_desktop.core.errors import (
    AuthFailed,
    Conflict,
    CronMirrorError,
    InvalidRow,
    NotConfigured,
    NotFound,
    Unreachable,
)
from cronmirror_desktop.core.mirror_rows import normalize_mirror_row
from cronmirror_desktop.core.rows import (
    CronMirrorJob,
    CronRunRequest,
    ProjectInfo,
)
from cronmirror_desktop.core.run_log import DEFAULT_KEEP_PER_JOB, RunLogEntry
from cronmirror_desktop.core.store import (
    DEFAULT_HISTORY_LIMIT,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_REQUEST_LIMIT,
    EventHandler,
    QueueOutcome,
    Snapshot,
    Store,
    Subscription,
    check_lease,
    make_snapshot,
    sort_jobs,
)
from cronmirror_desktop.core.supabase_realtime import SUBSCRIBE_TIMEOUT, SupabaseSubscription
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 1000  # Supabase's default `max_rows`
#: Every column the app reads from `cron_run_requests`; `result` as text, parsed by rows.py (see above).
REQUEST_COLUMNS = (
    "id",
    "project_id",
    "job_id",
    "requested_by",
    "requested_at",
    "status",
    "picked_up_at",
    "completed_at",
    "result::text",
    "worker_id",
    "lease_until",
    "heartbeat_at",
    "attempts",
    "cancel_requested_at",
    "cancel_requested_by",
    "action",
    "args::text",
)
WRITE_CHUNK = 500
#: The bytes of ids one `in.(…)` filter may put into a URL. The servers in front of PostgREST refuse a
#: request line over 8 KB (nginx's and Kong's default buffer; aiohttp's in the stand-in): 500 gateway
#: job ids (UUIDs, quoted and escaped) made 23 KB, and a sync that removed them failed on every pass.
URL_ID_BUDGET = 6000
REST_TIMEOUT = 10.0

_MIGRATIONS_HINT = "Apply the SQL files in CronMirror's migrations/ folder to this Supabase project."
_SERVICE_ROLE_HINT = (
    "Writing the mirror and reporting results needs the service-role key (the worker's key); "
    "the anon key may only read and queue."
)


def translate_error(exc: BaseException, what: str) -> CronMirrorError:
    """Turn anything the Supabase client raises into an error a person can act on."""
    if isinstance(exc, CronMirrorError):
        return exc
    if isinstance(exc, APIError):
        code = exc.code or ""
        message = exc.message or ""
        if code.startswith("PGRST30") or "API key" in message or "JWT" in message:
            return AuthFailed(f"Supabase refused the key while trying to {what}: {message or code}.")
        if code == "42501":
            return AuthFailed(f"This key may not {what}: {message}.", hint=_SERVICE_ROLE_HINT)
        if code == "23505":
            return Conflict(f"Could not {what}: {message}.")
        if code == "23514":  # a check the database makes (…_client_request_rules.sql): say which
            return InvalidRow(f"Supabase refused the data while trying to {what}: {message}.")
        if code in {"PGRST116", "22P02"}:
            return NotFound(f"Could not {what}: not found.")
        if code.startswith("22"):  # data exceptions: NUL in text, out-of-range numbers...
            return InvalidRow(f"Supabase refused the data while trying to {what}: {message}.")
        if code in {"PGRST202", "PGRST204", "PGRST205", "42P01", "42703", "42883"}:
            return NotConfigured(
                f"The Supabase project lacks CronMirror's tables, columns or functions ({message}).",
                hint=_MIGRATIONS_HINT,
            )
        if code.isdigit() and len(code) == 3:  # a non-JSON answer: not PostgREST at all
            return Unreachable(
                f"The server answered HTTP {code} while trying to {what}; is this a Supabase URL?"
            )
        return Unreachable(f"Supabase could not {what}: {message or code or 'unknown error'}.")
    if isinstance(exc, httpx.TimeoutException):
        return Unreachable(f"Supabase did not answer in time while trying to {what}.")
    if isinstance(exc, httpx.HTTPError | OSError):
        return Unreachable(f"Supabase cannot be reached to {what}: {exc or type(exc).__name__}.")
    if isinstance(exc, ValueError | ValidationError):  # JSON that is not PostgREST's
        return Unreachable(f"The server's answer to {what} is not Supabase's; check the URL.")
    return Unreachable(f"Could not {what}: {exc!r}.")


def rows_of(data: object) -> list[dict[str, Any]]:
    """PostgREST's JSON as the rows it must be: a list of objects. Anything else in it (a server that
    is not PostgREST, a proxy's error page parsed as JSON) is dropped, never handed to a row parser."""
    if not isinstance(data, list):
        return []
    return [row for row in data if isinstance(row, dict)]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def url_chunks(ids: Sequence[str], budget: int = URL_ID_BUDGET) -> list[list[str]]:
    """`ids` in runs whose escaped `in.(…)` list fits `budget` bytes (an id longer than that goes alone:
    the server then says what is wrong with it)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for job_id in ids:
        cost = len(quote(f'"{job_id}"', safe="")) + len(quote(",", safe=""))
        if current and (size + cost > budget or len(current) >= WRITE_CHUNK):
            chunks.append(current)
            current, size = [], 0
        current.append(job_id)
        size += cost
    if current:
        chunks.append(current)
    return chunks


class SupabaseStore(Store):
    """A Store on a Supabase project. Use one per asyncio loop (httpx clients are loop-bound)."""

    kind = "supabase"

    def __init__(self, url: str, key: str, *, client: AsyncClient | None = None) -> None:
        if not url:
            raise NotConfigured("No Supabase URL is set.")
        if not key:
            raise NotConfigured("No Supabase key is set.")
        self.url = url.rstrip("/")
        self._key = key
        self._client = client
        self._http: httpx.AsyncClient | None = None
        self._client_lock = asyncio.Lock()
        self._subscriptions: set[SupabaseSubscription] = set()
        self._closed = False

    def __repr__(self) -> str:  # never show the key
        return f"SupabaseStore({self.url!r})"

    @property
    def location(self) -> str:
        return self.url

    async def client(self) -> AsyncClient:
        if self._closed:
            raise CronMirrorError("The Supabase connection is closed.")
        async with self._client_lock:
            if self._client is None:
                # One httpx client for REST (and auth/storage, never used): its timeout is ours.
                self._http = httpx.AsyncClient(timeout=REST_TIMEOUT, http2=True)
                options = AsyncClientOptions(
                    httpx_client=self._http,
                    postgrest_client_retry=False,
                    auto_refresh_token=False,
                    persist_session=False,
                )
                try:
                    self._client = await acreate_client(self.url, self._key, options=options)
                except AsyncSupabaseException as exc:
                    raise NotConfigured(
                        f"The Supabase URL {self.url!r} is not valid: {exc.message}.",
                        hint="It looks like https://<project-ref>.supabase.co",
                    ) from exc
            return self._client

    async def _call(self, what: str, request: Callable[[AsyncClient], Awaitable[T]]) -> T:
        client = await self.client()
        try:
            response = await request(client)
        except Exception as exc:
            raise translate_error(exc, what) from exc
        # postgrest-py hands back a body that is not JSON as text: no answer of ours is ever text.
        if isinstance(getattr(response, "data", None), str):
            raise Unreachable(f"The server's answer to {what} is not Supabase's; check the URL.")
        return response

    async def _rows(
        self, what: str, request: Callable[[AsyncClient], Awaitable[APIResponse]]
    ) -> list[dict[str, Any]]:
        """The rows PostgREST answered, typed as what they must be (see `rows_of`)."""
        return rows_of((await self._call(what, request)).data)

    async def _scalar(self, what: str, request: Callable[[AsyncClient], Awaitable[APIResponse]]) -> object:
        """What a scalar function answered (True/False for the lease functions)."""
        return (await self._call(what, request)).data

    async def close(self) -> None:
        if self._closed:
            return
        for sub in list(self._subscriptions):
            await sub.close()
        self._closed = True
        self._client = None
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
            self._http = None

    # -- reading and queueing ---------------------------------------------------------------------

    async def list_projects(self, configured: Sequence[str] = ()) -> list[ProjectInfo]:
        listed = await self._rows(
            "list projects",
            lambda c: c.table("cron_projects").select("*").order("project_id").execute(),
        )
        wanted = set(configured)
        parsed = [ProjectInfo.from_row(row) for row in listed]
        projects = {p.project_id: p for p in parsed if p.project_id}
        for project_id in wanted:
            found = projects.get(project_id)
            projects[project_id] = (
                found.model_copy(update={"configured": True})
                if found is not None
                else ProjectInfo(project_id=project_id, configured=True)
            )
        return [projects[pid] for pid in sorted(projects)]

    async def _all_mirror_rows(self, project_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []

        def page_from(start: int, c: AsyncClient) -> Awaitable[APIResponse]:
            query = c.table("cron_mirror").select("*").eq("project_id", project_id).order("job_id")
            return query.range(start, start + PAGE_SIZE - 1).execute()

        while True:
            page = await self._rows("list jobs", partial(page_from, len(rows)))
            rows.extend(page)
            if len(page) < PAGE_SIZE:
                return rows

    async def list_jobs(self, project_id: str) -> list[CronMirrorJob]:
        jobs = [CronMirrorJob.from_row(r) for r in await self._all_mirror_rows(project_id)]
        return sort_jobs([j for j in jobs if j.is_job])

    async def queue_run(
        self,
        project_id: str,
        job_id: str,
        requested_by: str,
        *,
        action: str = RUN,
        args: Mapping[str, Any] | None = None,
    ) -> QueueOutcome:
        row: dict[str, Any] = {"project_id": project_id, "job_id": job_id, "requested_by": requested_by}
        if action != RUN or args is not None:  # a Run's insert is the seed's own
            row.update(action=action, args=dict(args) if isinstance(args, Mapping) else args)
        for _ in range(3):
            try:
                inserted = await self._rows(
                    "queue a run",
                    lambda c: c.table("cron_run_requests").insert(row).select(*REQUEST_COLUMNS).execute(),
                )
                if inserted:
                    return QueueOutcome(CronRunRequest.from_row(inserted[0]), created=True)
            except Conflict:
                active = await self._rows(
                    "find the active request",
                    lambda c: (
                        c.table("cron_run_requests")
                        .select(*REQUEST_COLUMNS)
                        .eq("project_id", project_id)
                        .eq("job_id", job_id)
                        .eq("action", action)
                        .in_("status", ["queued", "running"])
                        .execute()
                    ),
                )
                if active:
                    return QueueOutcome(CronRunRequest.from_row(active[0]), created=False)
        raise Conflict(f"Could not queue {job_id}: its requests keep changing; try again.")

    async def list_requests(
        self, project_id: str, limit: int = DEFAULT_REQUEST_LIMIT, job_id: str | None = None
    ) -> list[CronRunRequest]:
        def query(c: AsyncClient) -> Awaitable[APIResponse]:
            q = c.table("cron_run_requests").select(*REQUEST_COLUMNS).eq("project_id", project_id)
            if job_id is not None:
                q = q.eq("job_id", job_id)
            return q.order("requested_at", desc=True).order("id", desc=True).limit(max(0, limit)).execute()

        return [CronRunRequest.from_row(r) for r in await self._rows("list run requests", query)]

    async def get_request(self, request_id: str) -> CronRunRequest | None:
        if not _is_uuid(request_id):
            return None
        found = await self._rows(
            "read a run request",
            lambda c: c.table("cron_run_requests").select(*REQUEST_COLUMNS).eq("id", request_id).execute(),
        )
        return CronRunRequest.from_row(found[0]) if found else None

    async def cancel_request(self, project_id: str, request_id: str, by: str | None = None) -> CronRunRequest:
        missing = NotFound(f"There is no run request {request_id} in project {project_id}.")
        if not _is_uuid(request_id):
            raise missing
        params = {"p_project_id": project_id, "p_request_id": request_id, "p_by": by}
        cancelled = await self._rows(
            "cancel a request",
            lambda c: c.rpc("cancel_run_request", params).select(*REQUEST_COLUMNS).execute(),
        )
        if cancelled:
            return CronRunRequest.from_row(cancelled[0])
        current = await self.get_request(request_id)
        if current is None or current.project_id != project_id:
            raise missing
        raise Conflict(f"The request has already ended ({current.status}); there is nothing to stop.")

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        await self.client()  # a bad URL fails here, not inside the background task
        subscription = SupabaseSubscription(project_id=project_id, store=self, handler=on_event)
        self._subscriptions.add(subscription)
        subscription.start()
        return subscription

    # -- mirroring and executing ------------------------------------------------------------------

    async def mirror_rows(self, project_id: str) -> list[CronMirrorJob]:
        return [CronMirrorJob.from_row(r) for r in await self._all_mirror_rows(project_id)]

    async def upsert_mirror(self, project_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
        normal = [normalize_mirror_row(row) for row in rows]
        now = format_timestamp(now_utc())
        payload = [{"project_id": project_id, **row, "updated_at": now} for row in normal]

        def write(chunk: list[dict[str, Any]], c: AsyncClient) -> Awaitable[APIResponse]:
            upsert = c.table("cron_mirror").upsert(
                chunk, on_conflict="project_id,job_id", returning=ReturnMethod.minimal
            )
            return upsert.execute()

        for start in range(0, len(payload), WRITE_CHUNK):
            await self._call("write the mirror", partial(write, payload[start : start + WRITE_CHUNK]))
        return len(payload)

    async def delete_mirror(self, project_id: str, job_ids: Sequence[str], *, host: str | None = None) -> int:
        ids = list(dict.fromkeys(job_ids))
        deleted = 0

        def delete(chunk: list[str], c: AsyncClient) -> Awaitable[APIResponse]:
            query = c.table("cron_mirror").delete().eq("project_id", project_id).in_("job_id", chunk)
            if host is not None:
                query = query.eq("host", host)
            return query.execute()

        for chunk in url_chunks(ids):
            deleted += len(await self._rows("delete from the mirror", partial(delete, chunk)))
        return deleted

    async def claim_next(
        self,
        project_id: str,
        worker_id: str,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        *,
        host: str | None = None,
        actions: Sequence[str] = (RUN,),
    ) -> CronRunRequest | None:
        check_lease(worker_id, lease_seconds)
        params = {
            "p_project_id": project_id,
            "p_worker_id": worker_id,
            "p_lease_seconds": lease_seconds,
            "p_host": host,
            "p_actions": list(dict.fromkeys(actions)) or [RUN],
        }
        claimed = await self._rows(
            "claim a run request",
            lambda c: c.rpc("claim_run_request", params).select(*REQUEST_COLUMNS).execute(),
        )
        return CronRunRequest.from_row(claimed[0]) if claimed else None

    async def heartbeat(
        self, request_id: str, worker_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> bool:
        check_lease(worker_id, lease_seconds)
        params = {"p_request_id": request_id, "p_worker_id": worker_id, "p_lease_seconds": lease_seconds}
        held = await self._scalar(
            "extend a lease", lambda c: c.rpc("heartbeat_run_request", params).execute()
        )
        return held is True

    async def complete(
        self,
        request_id: str,
        worker_id: str,
        status: Literal["done", "error", "cancelled"],
        result: Mapping[str, Any],
    ) -> bool:
        if status not in ("done", "error", "cancelled"):
            raise ValueError(f"a request completes as done, error or cancelled, not {status!r}")
        params = {
            "p_request_id": request_id,
            "p_worker_id": worker_id,
            "p_status": status,
            "p_result": dict(result),
        }
        recorded = await self._scalar(
            "report a result", lambda c: c.rpc("complete_run_request", params).execute()
        )
        return recorded is True

    async def rescue_expired(self, project_id: str | None = None) -> list[CronRunRequest]:
        rescued = await self._rows(
            "rescue expired requests",
            lambda c: (
                c.rpc("rescue_expired_run_requests", {"p_project_id": project_id})
                .select(*REQUEST_COLUMNS)
                .execute()
            ),
        )
        return [CronRunRequest.from_row(r) for r in rescued]

    async def report_progress(self, request_id: str, worker_id: str, result: Mapping[str, Any]) -> bool:
        params = {"p_request_id": request_id, "p_worker_id": worker_id, "p_result": dict(result)}
        held = await self._scalar(
            "report live output", lambda c: c.rpc("progress_run_request", params).execute()
        )
        return held is True

    # -- run history ------------------------------------------------------------------------------

    async def record_runs(self, project_id: str, entries: Sequence[Mapping[str, Any]]) -> int:
        now = format_timestamp(now_utc())
        payload = [{**entry, "project_id": project_id, "updated_at": now} for entry in entries]

        def write(chunk: list[dict[str, Any]], c: AsyncClient) -> Awaitable[APIResponse]:
            upsert = c.table("cron_run_log").upsert(
                chunk, on_conflict="project_id,run_key", returning=ReturnMethod.minimal
            )
            return upsert.execute()

        for start in range(0, len(payload), WRITE_CHUNK):
            await self._call("record runs", partial(write, payload[start : start + WRITE_CHUNK]))
        return len(payload)

    async def run_history(
        self, project_id: str, job_id: str | None = None, limit: int = DEFAULT_HISTORY_LIMIT
    ) -> list[RunLogEntry]:
        def query(c: AsyncClient) -> Awaitable[APIResponse]:
            q = c.table("cron_run_log").select("*").eq("project_id", project_id)
            if job_id is not None:
                q = q.eq("job_id", job_id)
            return q.order("run_at", desc=True).order("id", desc=True).limit(max(0, limit)).execute()

        return [RunLogEntry.from_row(r) for r in await self._rows("read the run history", query)]

    async def latest_runs(self, project_id: str) -> dict[str, datetime]:
        rows = await self._rows(
            "read the newest runs", lambda c: c.rpc("latest_runs", {"p_project_id": project_id}).execute()
        )
        latest: dict[str, datetime] = {}
        for row in rows:
            entry = RunLogEntry.from_row({**row, "project_id": project_id, "run_key": "-", "status": "ok"})
            if entry.job_id and entry.run_at is not None:
                latest[entry.job_id] = entry.run_at
        return latest

    async def prune_run_log(self, project_id: str, keep: int = DEFAULT_KEEP_PER_JOB) -> int:
        params = {"p_project_id": project_id, "p_keep": keep}
        deleted = await self._scalar(
            "prune the run history", lambda c: c.rpc("prune_run_log", params).execute()
        )
        return deleted if isinstance(deleted, int) and not isinstance(deleted, bool) else 0

    # -- for subscriptions ------------------------------------------------------------------------

    async def snapshot(self, project_id: str) -> Snapshot:
        rows, requests = await asyncio.gather(
            self.mirror_rows(project_id), self.list_requests(project_id, DEFAULT_REQUEST_LIMIT)
        )
        return make_snapshot(project_id, rows, requests)

    async def read_row(self, table: str, row_id: str) -> dict[str, Any] | None:
        """One row of either table by id (for a change whose record Realtime could not carry)."""
        columns = REQUEST_COLUMNS if table == "cron_run_requests" else ("*",)
        found = await self._rows(
            "read a changed row", lambda c: c.table(table).select(*columns).eq("id", row_id).execute()
        )
        return found[0] if found else None

    def forget(self, subscription: Subscription) -> None:
        """A subscription closed: stop closing it with the store."""
        self._subscriptions.discard(subscription)

    def realtime_client(self) -> AsyncRealtimeClient:
        """A socket of its own for one subscription: fail fast, reconnect under our control."""
        assert self._client is not None
        return AsyncRealtimeClient(
            str(self._client.realtime_url),
            token=self._key,
            auto_reconnect=False,
            max_retries=1,
            timeout=int(SUBSCRIBE_TIMEOUT),
        )
