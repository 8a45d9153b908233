"""Live changes from Supabase Realtime for one project, supervised: the subscription behind
`SupabaseStore.subscribe`.

- Each subscription has its own Realtime socket (`AsyncRealtimeClient` from the library supabase-py uses),
  with the library's auto-reconnect off. The supervisor notices a drop, marks the view disconnected,
  reconnects with backoff, and sends a fresh Snapshot, because Realtime never replays missed changes.
- It counts as live only after the server's `system` "Subscribed to PostgreSQL" message: `subscribe()`
  returning (the join reply) does not mean changes flow yet.
- A change Realtime cannot carry (too large, or a record realtime-py's parser refuses) is read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import uuid
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import websockets
from realtime import AsyncRealtimeClient, RealtimePostgresChangesListenEvent, RealtimeSubscribeStates

from cronmirror_desktop.core.aio import cancel_and_wait
from cronmirror_desktop.core.errors import AuthFailed, CronMirrorError, Unreachable
from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest
from cronmirror_desktop.core.run_log import RunLogEntry
from cronmirror_desktop.core.store import (
    DEFAULT_REQUEST_LIMIT,
    ChangeType,
    EventHandler,
    JobChange,
    LiveState,
    MirrorTouched,
    RequestChange,
    RunLogChange,
    StateChange,
    StoreEvent,
    Subscription,
    mirror_touched,
)

if TYPE_CHECKING:
    from cronmirror_desktop.core.supabasestore import SupabaseStore

log = logging.getLogger(__name__)

#: How long to wait for the join reply and then for "Subscribed to PostgreSQL".
SUBSCRIBE_TIMEOUT = 10.0
MAX_BACKOFF = 30.0


class _Dropped(Exception):
    """The socket or channel went away; the supervisor reconnects."""


#: The logger realtime-py reports a message it could not parse to (and then drops the message).
REALTIME_LOGGER = "realtime._async.client"
_UNPARSED = "Unrecognized message format"
#: A dropped message is logged in full by realtime-py (megabytes for a hostile row); we keep this much.
_LOG_EXCERPT = 300


class _DroppedChanges(logging.Filter):
    """Notices realtime-py dropping a message its parser refused (a change nested ~250 levels deep, which
    PostgreSQL and Realtime deliver, but pydantic will not parse), tells the subscription it was for (by
    the unique token in its channel name) so that it re-reads the requests, and cuts the log line short."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._watching: weakref.WeakSet[SupabaseSubscription] = weakref.WeakSet()

    def watch(self, subscription: SupabaseSubscription) -> None:
        with self._lock:
            if not self._watching:
                logging.getLogger(REALTIME_LOGGER).addFilter(self)
            self._watching.add(subscription)

    def unwatch(self, subscription: SupabaseSubscription) -> None:
        with self._lock:
            self._watching.discard(subscription)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # not ours to judge
            return True
        if not message.startswith(_UNPARSED):
            return True
        with self._lock:
            watching = list(self._watching)
        for subscription in watching:
            if subscription.token and subscription.token in message:
                subscription.missed_change()
        if len(message) > _LOG_EXCERPT:
            record.msg = f"{message[:_LOG_EXCERPT]}… ({len(message):,} characters; the change is re-read)"
            record.args = None
        return True


_dropped_changes = _DroppedChanges()


class SupabaseSubscription(Subscription):
    def __init__(self, project_id: str, store: SupabaseStore, handler: EventHandler) -> None:
        super().__init__(project_id=project_id)
        self._store = store
        self._handler = handler
        self._task: asyncio.Task[None] | None = None
        self._socket: AsyncRealtimeClient | None = None
        self._dropped: asyncio.Future[str] | None = None
        #: Changes that arrive while the Snapshot is being fetched; delivered right after it.
        self._backlog: list[StoreEvent] | None = None
        self._refetches: set[asyncio.Task[None]] = set()
        self._closing = False
        #: Unique per connection; in the channel name, so a log line about a dropped message names us.
        self.token = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resync: asyncio.Task[None] | None = None
        self._resync_again = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _dropped_changes.watch(self)
        self._task = self._loop.create_task(
            self._supervise(), name=f"supabase-subscription:{self.project_id}"
        )

    def missed_change(self) -> None:
        """Realtime dropped a change of ours (see `_DroppedChanges`): re-read the requests. Thread-safe."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._start_resync)

    def _start_resync(self) -> None:
        if self._closing:
            return
        if self._resync is not None and not self._resync.done():
            self._resync_again = True
            return
        self._resync = asyncio.get_running_loop().create_task(
            self._resync_requests(), name=f"resync:{self.project_id}"
        )

    async def _resync_requests(self) -> None:
        """Only requests can be refused that way (`result` is the one JSON column): each current one is
        delivered as an update, in place, never as a reset of the list."""
        while True:
            self._resync_again = False
            try:
                requests = await self._store.list_requests(self.project_id, DEFAULT_REQUEST_LIMIT)
            except CronMirrorError as exc:
                log.warning("re-reading requests after a dropped change failed: %s", exc)
                return
            for request in requests:
                event = RequestChange(ChangeType.UPDATE, self.project_id, request.id, request)
                if self._backlog is not None:
                    self._backlog.append(event)
                else:
                    self._emit(event)
            if not self._resync_again:
                return

    def _set_state(self, state: LiveState, detail: str = "") -> None:
        if state is self.state and state is not LiveState.DISCONNECTED:
            return
        self.state = state
        self._emit(StateChange(state, detail))

    async def _supervise(self) -> None:
        failures = 0
        self._set_state(LiveState.CONNECTING)
        while not self._closing:
            try:
                await self._connect()
                snapshot = await self._store.snapshot(self.project_id)
                self._emit(snapshot)
                backlog, self._backlog = self._backlog or [], None
                for event in backlog:
                    self._emit(event)
                self._set_state(LiveState.LIVE)
                failures = 0
                assert self._dropped is not None
                reason = await self._dropped
                self._set_state(LiveState.DISCONNECTED, reason)
            except AuthFailed as exc:
                self._set_state(LiveState.AUTH_FAILED, exc.message)
                failures = max(failures, 5)  # wait long: retrying a refused key is pointless
            except (CronMirrorError, _Dropped) as exc:
                self._set_state(LiveState.DISCONNECTED, getattr(exc, "message", None) or str(exc))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the realtime library's own failures
                log.warning("realtime subscription failed: %r", exc)
                self._set_state(LiveState.DISCONNECTED, f"Realtime failed: {exc}")
            await self._teardown()
            failures += 1
            delay = min(MAX_BACKOFF, 0.25 * 2 ** min(failures, 8)) * random.uniform(0.8, 1.2)
            await asyncio.sleep(delay)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        self._dropped = loop.create_future()
        live = loop.create_future()
        self._backlog = []
        socket = self._socket = self._store.realtime_client()
        self.token = uuid.uuid4().hex[:16]
        channel = socket.channel(f"cronmirror:{self.project_id}:{self.token}")
        project_filter = f"project_id=eq.{self.project_id}"
        for table in ("cron_mirror", "cron_run_requests", "cron_run_log"):
            channel.on_postgres_changes(
                RealtimePostgresChangesListenEvent.All, self._on_change, table=table, filter=project_filter
            )

        def on_system(payload: Any) -> None:
            if getattr(payload, "extension", "") == "postgres_changes" and not live.done():
                live.set_result(None)

        def on_state(state: RealtimeSubscribeStates, error: Exception | None) -> None:
            if state is RealtimeSubscribeStates.SUBSCRIBED:
                return
            reason = {
                RealtimeSubscribeStates.CHANNEL_ERROR: "Realtime connection lost",
                RealtimeSubscribeStates.TIMED_OUT: "Realtime did not answer",
                RealtimeSubscribeStates.CLOSED: "Realtime closed the channel",
            }.get(state, str(state))
            detail = f"{reason}: {error}" if error else reason
            if not live.done():
                live.set_exception(_Dropped(detail))
            if self._dropped is not None and not self._dropped.done():
                self._dropped.set_result(detail)

        channel.on_system(on_system)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await channel.subscribe(on_state)
                await live
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthFailed("Supabase Realtime refused the key.") from exc
            raise Unreachable(f"Supabase Realtime answered HTTP {status}.") from exc
        except TimeoutError as exc:
            raise Unreachable("Supabase Realtime did not confirm the subscription in time.") from exc
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            raise Unreachable(f"Supabase Realtime cannot be reached: {exc}.") from exc

    def _on_change(self, payload: Any) -> None:
        try:
            event = self._translate(payload)
        except Exception:
            log.exception("could not understand a realtime change")
            return
        if event is None:
            return
        if self._backlog is not None:
            self._backlog.append(event)
        else:
            self._emit(event)

    def _translate(
        self, payload: Mapping[str, Any]
    ) -> JobChange | RequestChange | RunLogChange | MirrorTouched | None:
        data = payload["data"]
        change = ChangeType(str(getattr(data["type"], "value", data["type"])))
        record = data.get("record") or {}
        old = data.get("old_record") or {}
        row_id = str(record.get("id") or old.get("id") or "")
        if data.get("errors") and change is not ChangeType.DELETE:
            # e.g. "Error 413: Payload Too Large": the record is missing, so fetch it.
            self._refetch(data["table"], row_id, change)
            return None
        if data["table"] == "cron_mirror":
            job = CronMirrorJob.from_row(record) if change is not ChangeType.DELETE else None
            return self._mirror_event(change, row_id, job)
        if data["table"] == "cron_run_requests":
            request = CronRunRequest.from_row(record) if change is not ChangeType.DELETE else None
            return RequestChange(change, self.project_id, row_id, request)
        if data["table"] == "cron_run_log":
            entry = RunLogEntry.from_row(record) if change is not ChangeType.DELETE else None
            return RunLogChange(change, self.project_id, row_id, entry)
        return None

    def _mirror_event(
        self, change: ChangeType, row_id: str, job: CronMirrorJob | None
    ) -> JobChange | MirrorTouched | None:
        """A job's change, or for a bookkeeping row (a worker's presence or details, too large for one
        Realtime message at times: then it is fetched) the sign of life it is."""
        if job is not None and not job.is_job:
            return mirror_touched(self.project_id, job)
        return JobChange(change, self.project_id, row_id, job)

    def _refetch(self, table: str, row_id: str, change: ChangeType) -> None:
        async def fetch() -> None:
            row = await self._store.read_row(table, row_id)
            if row is None:
                return
            if table == "cron_mirror":
                event = self._mirror_event(change, row_id, CronMirrorJob.from_row(row))
                if event is not None:
                    self._emit(event)
            elif table == "cron_run_log":
                self._emit(RunLogChange(change, self.project_id, row_id, RunLogEntry.from_row(row)))
            else:
                self._emit(RequestChange(change, self.project_id, row_id, CronRunRequest.from_row(row)))

        task = asyncio.get_running_loop().create_task(fetch(), name=f"refetch:{table}:{row_id}")
        self._refetches.add(task)
        task.add_done_callback(self._refetches.discard)

    async def _teardown(self) -> None:
        socket, self._socket = self._socket, None
        if socket is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await socket.close()

    async def close(self) -> None:
        if self.state is LiveState.CLOSED:
            return
        self._closing = True
        _dropped_changes.unwatch(self)
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._resync is not None:
            await cancel_and_wait(self._resync)
        await self._teardown()
        self._store.forget(self)
        self.state = LiveState.CLOSED
