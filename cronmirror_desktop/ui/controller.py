"""The app controller: owns the store, the live subscription, the current project and the Run logic.

Windows, the future menu-bar tray and a hosted worker all attach to this one object: it holds the item
models and says what happened through Qt signals, and knows nothing about widgets.

Threading rule (the only one): every store event goes through `_deliver`, which runs on the GUI thread.
A store's callbacks normally already arrive there (the subscription lives on the qasync loop, which is
the GUI thread); anything arriving on another thread is hopped over with `loop.call_soon_threadsafe`
before it touches a model.

Late events: each subscription gets a generation number baked into its handler. Switching projects (or
refreshing) bumps the generation before the old subscription is closed, so an event the old one still
delivers afterwards is dropped and can never show up in the new project's lists.

Nothing a project holds may stop the app: any exception while listing projects, opening a project or
showing one of its changes, expected (`CronMirrorError`) or not (a bug, a row nobody foresaw), is shown as
an error of that project (a notice, and the connection state with the reason, until a Snapshot can be
shown again) and the app keeps running.

What the project's workers say about themselves (their presence rows: state, host, runs, queue, sources)
and how command jobs run (the details row) arrive as bookkeeping rows (core/worker_report.py) and are kept
here (`workers`, `job_details`) for the connection panel, the empty state, the details pane and the toasts.

Long because it is one thing: the app's state and the one door for store events; views only read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from cronmirror_desktop.core import actions, timetext
from cronmirror_desktop.core.aio import TaskSet
from cronmirror_desktop.core.errors import CronMirrorError, Unreachable
from cronmirror_desktop.core.identity import requester
from cronmirror_desktop.core.presence import HostZones
from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest, ProjectInfo
from cronmirror_desktop.core.snapshot_cache import SnapshotCache
from cronmirror_desktop.core.store import (
    JobChange,
    LiveState,
    MirrorTouched,
    RequestChange,
    RunLogChange,
    Snapshot,
    StateChange,
    Store,
    StoreEvent,
    Subscription,
)
from cronmirror_desktop.core.timeutil import now_utc
from cronmirror_desktop.core.worker_report import DetailsReport, JobDetails, WorkerReport
from cronmirror_desktop.ui.clock import ViewClock
from cronmirror_desktop.ui.history_model import RunHistoryModel
from cronmirror_desktop.ui.job_model import JobTableModel
from cronmirror_desktop.ui.notifications import NotificationPrefs, Notifier
from cronmirror_desktop.ui.request_model import RequestTableModel

if TYPE_CHECKING:  # its module (HTTP) is imported by whoever makes a client: only when one is configured
    from cronmirror_desktop.core.controlapi import ControlApiClient, RunRequested

log = logging.getLogger(__name__)

#: The seed plan's words, exactly: said when a worker elsewhere (the Mac mini's) was seen lately.
QUEUED_TOAST = "Queued run request. Will execute when the Mac mini worker picks it up."
#: ... when the worker inside this app serves the project: it takes the request at once.
QUEUED_IN_APP_TOAST = "Queued run request. The in-app worker is picking it up now."
#: ... when no worker has been seen lately: nothing will run it until one starts.
QUEUED_NO_WORKER_TOAST = (
    "Queued run request. No worker has been seen for this project lately: it runs when one starts "
    "(on the Mac mini, or Worker ▸ Start worker here)."
)
#: A worker's sync interval when its presence row does not say (WorkerOptions' default).
DEFAULT_SYNC_S = 30.0
#: A worker writes its presence at least this often (WorkerOptions.presence_every), plus a margin.
PRESENCE_EVERY_S = 300.0 + 60.0
DIRECT_TOAST = "Run requested on the Mac mini."
#: How long a direct run may take to show up (run log or last_run_at) before the user is told nothing ran.
DIRECT_CONFIRM_SECONDS = 60.0
#: How often the Control API's health is checked while it is configured.
HEALTH_INTERVAL_SECONDS = 30.0
#: The project ClawdOS uses when none is configured.
FALLBACK_PROJECT = "front-office"
JOB_HISTORY_LIMIT = 50
JOB_REQUEST_LIMIT = 10


def _describe(exc: BaseException) -> str:
    """An unexpected exception in one line for a person (its type says most; the log has the rest)."""
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ControlApiState(StrEnum):
    NOT_CONFIGURED = "not_configured"
    CHECKING = "checking"
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"


class Level(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class RunAttempt:
    """What a Run click did: `mode` is "direct", "queued" or "failed" (the user was told why);
    `request` is the queue row, if any."""

    mode: str
    created: bool
    request: CronRunRequest | None = None


class AppController(QObject):
    """See the module docstring. Create, then `await start()`; `await stop()` before the loop ends."""

    projectsChanged = Signal(list)  # list[ProjectInfo]
    projectChanged = Signal(str)
    loadingChanged = Signal(bool)
    liveStateChanged = Signal(object, str)  # LiveState, detail
    controlApiChanged = Signal(object, str)  # ControlApiState, detail
    notice = Signal(str, str)  # Level, text: for toasts
    highlightRequest = Signal(str)  # a request id to show in the dock
    busyChanged = Signal(bool)
    #: The store (or the Control API) was replaced after the settings changed.
    storeChanged = Signal()
    #: What the project's workers say about themselves changed (`workers`), or how its jobs run.
    workersChanged = Signal()

    def __init__(
        self,
        store: Store,
        *,
        supabase_configured: bool = False,
        configured_projects: Sequence[str] = (),
        project_id: str | None = None,
        control_api: ControlApiClient | None = None,
        requested_by: str = "ui",
        supabase_problem: str | None = None,
        demo: bool = False,
        clock: Callable[[], datetime] = now_utc,
        notification_prefs: NotificationPrefs | None = None,
        save_notification_prefs: Callable[[NotificationPrefs], None] | None = None,
        snapshot_cache: SnapshotCache | None = None,
        parent: QObject | None = None,
    ) -> None:
        """`clock`: where the time comes from (tests pass one they move by hand); every view reads it
        through `self.clock`. `snapshot_cache`: where the last jobs seen of a Supabase project are kept,
        to show them at the next start before the network answers (core/snapshot_cache.py)."""
        super().__init__(parent)
        #: The one clock of every view (see clock.py); it ticks before any store event is shown.
        self.clock = ViewClock(clock, self)
        self.store = store
        self.supabase_configured = supabase_configured
        #: Why Supabase is configured but not in use (the app runs on the local store meanwhile).
        self.supabase_problem = supabase_problem
        self.configured_projects = tuple(configured_projects)
        self.requested_by = requested_by
        self.demo = demo
        self.confirm_seconds = DIRECT_CONFIRM_SECONDS
        #: How often a direct run's outcome is looked for (None: the client's own CONFIRM_INTERVAL_S).
        self.confirm_interval: float | None = None
        #: The Control API for direct runs (None: not configured); rebound per project on switching.
        self.control_api = control_api
        self.job_model = JobTableModel(self, clock=self.clock)
        self.request_model = RequestTableModel(self, limit=20, clock=self.clock)
        self.job_requests = RequestTableModel(self, limit=JOB_REQUEST_LIMIT, clock=self.clock)
        #: The selected job's recent runs (cron_run_log), kept live.
        self.job_history = RunHistoryModel(self, clock=self.clock, limit=JOB_HISTORY_LIMIT)
        #: Failure, Late and recovery notifications (app.py connects them to the menu-bar icon).
        self.notifier = Notifier(
            self.clock, notification_prefs, save_prefs=save_notification_prefs, parent=self
        )
        self.job_model.lateJudged.connect(lambda: self.notifier.judge_late(self.job_model.late_jobs()))
        names = self._job_name
        self.request_model.set_name_lookup(names)
        self.job_requests.set_name_lookup(names)

        self.project_id = project_id or ""
        self.projects: list[ProjectInfo] = []
        self.live_state = LiveState.CONNECTING
        self.live_detail = ""
        self.stale_since: datetime | None = None
        configured = control_api is not None
        self.control_state = ControlApiState.CHECKING if configured else ControlApiState.NOT_CONFIGURED
        self.control_detail = control_api.shown_url if control_api is not None else ""
        self.loading = False
        #: Events dropped because they belonged to an earlier subscription (tests read this).
        self.dropped_events = 0
        #: Why the current project could not be shown (an unforeseen failure), until a Snapshot works.
        self.project_error: str | None = None
        #: Whether the store has been live since it was opened ("can't reach" versus "lost since").
        self.ever_live = False
        #: The project's workers by `WorkerReport.key`, as their presence rows said last.
        self.workers: dict[str, WorkerReport] = {}
        #: How each command job runs (job id → details), from the workers' details rows.
        self.job_details: dict[str, JobDetails] = {}
        self.default_timeout_s: float | None = None
        #: Mirror row id → what that bookkeeping row held (to forget it when the row is deleted).
        self._bookkeeping: dict[str, str] = {}
        #: Whether the worker inside this app serves the current project now (set by WorkerMenu).
        self.in_app_worker_serves: Callable[[], bool] = lambda: False
        self.snapshot_cache = snapshot_cache
        #: When the jobs shown were saved, while they are the cached ones (None: what the store sent).
        self.cached_at: datetime | None = None
        #: The bookkeeping rows of the last snapshot (kept with the jobs when the app ends).
        self._last_bookkeeping: tuple[CronMirrorJob, ...] = ()
        #: The generation whose store has delivered a snapshot (a cached one is then not shown).
        self._store_shown = -1

        self._requested_project = project_id
        self._generation = 0
        self._subscription: Subscription | None = None
        self._tasks = TaskSet(on_error=self._task_failed)
        self._mine: set[str] = set()
        self._gui_thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._names_cache: dict[str, str] | None = None
        self.job_model.countChanged.connect(self._forget_names)
        self.job_model.dataChanged.connect(self._forget_names)

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self, *, checks_after: asyncio.Event | None = None) -> None:
        """Load the project list, open the current project and start the health checks; those wait for
        `checks_after` when given (the app sets it once its window has painted the first snapshot:
        first_paint.py)."""
        self._loop = asyncio.get_running_loop()
        self._gui_thread = threading.get_ident()
        await self.reload_projects()
        self.switch_project(self._initial_project())
        if self.control_api is not None:
            self.spawn("control-api-health", self._health_loop(checks_after))

    async def stop(self) -> None:
        """Close the subscription and the store, cancel every task. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.clock.stop()
        self._generation += 1
        await self._tasks.cancel_and_wait()
        await self._keep_snapshot()
        await self._close_subscription()
        if self.control_api is not None:
            with contextlib.suppress(Exception):
                await self.control_api.aclose()
        with contextlib.suppress(Exception):
            await self.store.close()

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` as the task called `name`, cancelling an earlier one of that name; failures
        become an error notice instead of a lost traceback."""
        return self._tasks.spawn(coro, name)

    def task(self, name: str) -> asyncio.Task[Any] | None:
        """The running task called `name` (e.g. "job-requests"), to wait for it."""
        return self._tasks.get(name)

    def _task_failed(self, name: str, exc: BaseException) -> None:
        if isinstance(exc, CronMirrorError):
            log.warning("%s failed: %s", name, exc)
            self._notify(Level.ERROR, f"{exc.message} {exc.hint}".strip())
        else:
            log.error("%s failed", name, exc_info=exc)
            self._notify(
                Level.ERROR, f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the log."
            )

    def _notify(self, level: Level, text: str) -> None:
        log.info("notice (%s): %s", level, text)
        self.notice.emit(str(level), text)

    async def replace_store(
        self,
        store: Store,
        *,
        supabase_configured: bool,
        supabase_problem: str | None = None,
        control_api: ControlApiClient | None = None,
        configured_projects: Sequence[str] = (),
        project_id: str | None = None,
    ) -> None:
        """Switch to another store and Control API (the settings changed): the old ones are closed,
        both lists reload from the new store, and nothing the old subscription still sends is shown."""
        self._generation += 1
        self._tasks.cancel(keep=asyncio.current_task())
        await self._close_subscription()
        old_store, old_api = self.store, self.control_api
        self.store = store
        self.ever_live = False
        self.supabase_configured = supabase_configured
        self.supabase_problem = supabase_problem
        self.configured_projects = tuple(configured_projects)
        self.control_api = control_api
        self._set_control(
            ControlApiState.CHECKING if control_api is not None else ControlApiState.NOT_CONFIGURED,
            control_api.shown_url if control_api is not None else "",
        )
        for closing in (old_store.close(), old_api.aclose() if old_api is not None else None):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing
        self.storeChanged.emit()
        self._requested_project = project_id or self.project_id
        await self.reload_projects()
        self.project_id = ""  # so the switch below counts as a change and clears the lists
        self.switch_project(self._initial_project())
        if control_api is not None:
            self.spawn("control-api-health", self._health_loop())

    # -- projects -----------------------------------------------------------------------------

    def _initial_project(self) -> str:
        if self._requested_project:
            return self._requested_project
        if self.configured_projects:
            return self.configured_projects[0]
        with_jobs = [p for p in self.projects if p.job_count]
        if with_jobs:
            return max(
                with_jobs, key=lambda p: (p.last_sync_at is not None, p.last_sync_at, p.job_count)
            ).project_id
        if self.projects:
            return self.projects[0].project_id
        return FALLBACK_PROJECT

    async def reload_projects(self) -> list[ProjectInfo]:
        try:
            projects = await self.store.list_projects(self.configured_projects)
        except CronMirrorError as exc:
            log.warning("listing projects failed: %s", exc)
            projects = [ProjectInfo(project_id=p, configured=True) for p in self.configured_projects]
        except Exception as exc:  # see the module docstring: shown, never fatal
            log.exception("listing projects failed unexpectedly")
            self._notify(Level.ERROR, f"Could not list the projects: {_describe(exc)}")
            projects = [ProjectInfo(project_id=p, configured=True) for p in self.configured_projects]
        if self.project_id and all(p.project_id != self.project_id for p in projects):
            projects = sorted(
                [*projects, ProjectInfo(project_id=self.project_id)], key=lambda p: p.project_id
            )
        self.projects = projects
        self.projectsChanged.emit(projects)
        return projects

    def switch_project(self, project_id: str) -> asyncio.Task[Any]:
        """Show another project: both lists are cleared now and reloaded by a fresh subscription."""
        changed = project_id != self.project_id
        self.project_id = project_id
        if self.control_api is not None:
            self.control_api = self.control_api.for_project(project_id)
        self._generation += 1
        self.project_error = None
        if changed:
            self.job_model.clear()
            self.job_model.set_host_zones(HostZones())  # another project: other Mac minis
            self.request_model.clear()
            self.job_requests.job_id = None
            self.job_requests.clear()
            self._mine.clear()
            self._forget_workers()
            if all(p.project_id != project_id for p in self.projects):
                self.projects = sorted(
                    [*self.projects, ProjectInfo(project_id=project_id)], key=lambda p: p.project_id
                )
                self.projectsChanged.emit(self.projects)
            self.projectChanged.emit(project_id)
        self._set_loading(True)
        if self._caching() and self.job_model.rowCount() == 0:
            self.spawn("cached-snapshot", self._show_cached(project_id, self._generation))
        return self.spawn("subscribe", self._subscribe(project_id, self._generation))

    def refresh(self) -> asyncio.Task[Any]:
        """Fetch everything again (a new subscription starts with a fresh Snapshot)."""
        self.spawn("projects", self.reload_projects())
        if self.control_api is not None:
            self.spawn("control-api-check", self.check_control_api())
        return self.switch_project(self.project_id)

    async def _subscribe(self, project_id: str, generation: int) -> None:
        await self._close_subscription()
        self._set_live(LiveState.CONNECTING, "")
        handler = self._handler(generation, project_id)
        try:
            subscription = await self.store.subscribe(project_id, handler)
        except CronMirrorError as exc:
            if generation == self._generation:
                self._set_loading(False)
                self._set_live(LiveState.DISCONNECTED, exc.message)
                self._notify(Level.ERROR, f"{exc.message} {exc.hint}".strip())
            return
        except Exception as exc:  # see the module docstring: an error of this project, not of the app
            log.exception("opening project %r failed unexpectedly", project_id)
            if generation == self._generation:
                self._project_failed(project_id, exc)
            return
        if generation != self._generation:  # switched again while subscribing
            await subscription.close()
            return
        self._subscription = subscription

    async def _close_subscription(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                await subscription.close()
            except Exception:
                log.exception("closing a subscription failed")

    # -- events -------------------------------------------------------------------------------

    def _handler(self, generation: int, project_id: str) -> Any:
        def handle(event: StoreEvent) -> None:
            self._deliver(generation, project_id, event)

        return handle

    def _deliver(self, generation: int, project_id: str, event: StoreEvent) -> None:
        """The one entry point of store events (see the module docstring for the threading rule)."""
        if threading.get_ident() != self._gui_thread:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            loop.call_soon_threadsafe(self._deliver, generation, project_id, event)
            return
        if generation != self._generation or self._stopped:
            self.dropped_events += 1
            log.debug("dropped a late %s of an earlier subscription", type(event).__name__)
            return
        event_project = getattr(event, "project_id", project_id)
        if event_project != project_id:
            self.dropped_events += 1
            return
        try:
            self.clock.tick()  # what is shown next is measured from the same "now" as everything else
            self._apply(event)
        except Exception as exc:  # see the module docstring: an error of this project, not of the app
            log.exception("showing a %s of project %r failed", type(event).__name__, project_id)
            self._project_failed(project_id, exc)

    def _project_failed(self, project_id: str, exc: BaseException) -> None:
        """Something unforeseen went wrong with this project: say so, stop "loading", keep running."""
        detail = self.project_error = f"Could not load project {project_id}: {_describe(exc)}"
        self._set_loading(False)
        self._set_live(LiveState.DISCONNECTED, detail)
        self._notify(Level.ERROR, f"{detail}. Details are in the log.")

    def _apply(self, event: StoreEvent) -> None:
        if isinstance(event, Snapshot):
            self._apply_snapshot(event)
            if self.project_error is not None:  # shown after all: the failure is over
                self.project_error = None
                subscription = self._subscription
                if subscription is not None and subscription.state is LiveState.LIVE:
                    self._set_live(LiveState.LIVE, "")
        elif isinstance(event, JobChange):
            if event.job is None and event.row_id in self._bookkeeping:
                self._bookkeeping_deleted(event.row_id)
            if event.job is not None:
                self.notifier.job_changed(self.job_model.find_job(event.job.job_id), event.job)
            self.job_model.apply(event)
        elif isinstance(event, RunLogChange):
            self.job_history.apply(event)
        elif isinstance(event, RequestChange):
            self.request_model.apply(event)
            self.job_requests.apply(event)
            if event.request is not None:
                self._check_finished(event.request)
        elif isinstance(event, StateChange):
            if event.state is LiveState.LIVE and self.project_error is not None:
                # Connected, but what it delivered could not be shown: that stays the project's state.
                self._set_live(LiveState.DISCONNECTED, self.project_error)
            else:
                self._set_live(event.state, event.detail)
        elif isinstance(event, MirrorTouched):
            self.job_model.note_seen([event.at])
            if event.presence is not None:
                self.job_model.set_host_zones(self.job_model.host_zones.with_presence(event.presence))
            if event.row is not None and self._read_bookkeeping(event.row):
                self.workersChanged.emit()

    # -- the last known jobs (core/snapshot_cache.py) -------------------------------------------

    def _caching(self) -> bool:
        return self.snapshot_cache is not None and self.store.kind == "supabase"

    async def _show_cached(self, project_id: str, generation: int) -> None:
        """Show the project's jobs as they were last seen, unless the store has answered meanwhile."""
        cache = self.snapshot_cache
        assert cache is not None
        cached = await asyncio.to_thread(cache.load, self.store.location, project_id)
        if cached is None or generation != self._generation or self._store_shown == generation:
            return
        self._apply_snapshot(cached.snapshot, cached_at=cached.saved_at)

    async def _keep_snapshot(self) -> None:
        """Save what is shown now (live changes since the last snapshot included) for the next start."""
        if not self._caching() or self.cached_at is not None or self.loading or not self.ever_live:
            return
        rows = [*self.job_model.jobs(), *self._last_bookkeeping]
        await self._save_cached(self.project_id, rows)

    async def _save_cached(self, project_id: str, rows: Sequence[CronMirrorJob]) -> None:
        cache = self.snapshot_cache
        assert cache is not None
        try:
            await asyncio.to_thread(cache.save, self.store.location, project_id, rows)
        except OSError as exc:  # a cache: the app works without it
            log.warning("could not keep the last jobs seen of %s: %s", project_id, exc)

    def _apply_snapshot(self, snapshot: Snapshot, *, cached_at: datetime | None = None) -> None:
        """Show a snapshot: the store's (`cached_at` None), or the last one kept on this computer."""
        was_cached, self.cached_at = self.cached_at is not None, cached_at
        if cached_at is None:
            self._store_shown = self._generation
            self._last_bookkeeping = snapshot.bookkeeping
            if self._caching():
                rows = [*snapshot.jobs, *snapshot.bookkeeping]
                self.spawn("keep-snapshot", self._save_cached(snapshot.project_id, rows))
        self.job_model.set_host_zones(HostZones.from_presences(snapshot.presences))
        self._forget_workers(emit=False)
        for row in snapshot.bookkeeping:
            self._read_bookkeeping(row)
        self.workersChanged.emit()
        self.job_model.set_jobs(snapshot.jobs)
        self.notifier.reset(self.job_model.late_jobs())  # what is true now is not news
        self.job_model.note_seen([snapshot.worker_seen_at])
        if cached_at is not None:  # no requests were kept: the dock waits for the store's
            self._set_loading(False)
            self.liveStateChanged.emit(self.live_state, self.live_detail)
            return
        self.request_model.set_requests(snapshot.requests)
        if self.job_requests.job_id is not None:
            self.spawn("job-requests", self._load_job_requests(self.job_requests.job_id, self._generation))
        if self.job_history.job_id is not None:
            self.spawn("job-history", self._load_job_history(self.job_history.job_id, self._generation))
        self._set_loading(False)
        if was_cached:  # what the window says about the jobs shown changes with them
            self.liveStateChanged.emit(self.live_state, self.live_detail)

    def _set_live(self, state: LiveState, detail: str) -> None:
        if state is LiveState.LIVE:
            self.stale_since = None
            self.ever_live = True
        elif self.stale_since is None and state is not LiveState.CONNECTING:
            self.stale_since = self.clock.now
        self.live_state = state
        self.live_detail = detail
        if state in (LiveState.DISCONNECTED, LiveState.AUTH_FAILED, LiveState.CLOSED):
            self._set_loading(False)  # nothing more is coming: show what we have, marked stale
        stale = state is not LiveState.LIVE and not self.loading
        self.request_model.set_stale(stale)
        self.job_requests.set_stale(stale)
        self.liveStateChanged.emit(state, detail)

    def _set_loading(self, loading: bool) -> None:
        if loading != self.loading:
            self.loading = loading
            self.loadingChanged.emit(loading)

    # -- workers ------------------------------------------------------------------------------

    def _read_bookkeeping(self, row: CronMirrorJob) -> bool:
        """Keep what a presence or details row says; True when it was one."""
        report = WorkerReport.from_row(row)
        if report is not None:
            if row.id:
                earlier = self._bookkeeping.get(row.id)
                if earlier is not None and earlier != f"worker:{report.key}":
                    self.workers.pop(earlier.removeprefix("worker:"), None)  # that host's worker restarted
                self._bookkeeping[row.id] = f"worker:{report.key}"
            self.workers[report.key] = report
            return True
        details = DetailsReport.from_row(row)
        if details is not None:
            self.job_details = dict(details.jobs)
            self.default_timeout_s = details.default_timeout_s
            if row.id:
                self._bookkeeping[row.id] = "details"
            return True
        return False

    def _bookkeeping_deleted(self, row_id: str) -> None:
        what = self._bookkeeping.pop(row_id)
        if what == "details":
            self.job_details = {}
        else:
            self.workers.pop(what.removeprefix("worker:"), None)
        self.workersChanged.emit()

    def _forget_workers(self, *, emit: bool = True) -> None:
        self.workers = {}
        self.job_details = {}
        self.default_timeout_s = None
        self._bookkeeping = {}
        if emit:
            self.workersChanged.emit()

    def live_workers(self) -> list[WorkerReport]:
        """The workers seen lately (within their presence interval) and not stopped, newest first."""
        now = self.clock.now
        alive = [
            w
            for w in self.workers.values()
            if not w.stopped
            and w.seen_at is not None
            and (now - w.seen_at).total_seconds() <= max(PRESENCE_EVERY_S, 2 * self.sync_interval_s())
        ]
        return sorted(alive, key=lambda w: w.seen_at or now, reverse=True)

    def sync_interval_s(self) -> float:
        """How often the project's workers sync (the slowest one that says), for "not seen for long"."""
        known = [w.sync_every_s for w in self.workers.values() if w.sync_every_s is not None]
        return max(known) if known else DEFAULT_SYNC_S

    def last_worker_activity(self) -> datetime | None:
        """The newest sign of life of any worker: a mirror write (jobs, presence) or a request it took,
        heartbeat or finished."""
        stamps = [self.job_model.last_seen]
        for request in self.request_model.requests():
            stamps += [request.picked_up_at, request.heartbeat_at, request.completed_at]
        return max((s for s in stamps if s is not None), default=None)

    def waiting_for_a_worker(self) -> tuple[bool, datetime | None]:
        """(True when requests are queued and no worker has been seen for over two sync intervals since
        the oldest was queued; else when that would become true, None: never without another change)."""
        queued = [r.requested_at for r in self.request_model.requests() if r.status == "queued"]
        if not queued or self.in_app_worker_serves():
            return False, None
        limit = timedelta(seconds=2 * self.sync_interval_s())
        oldest = min((q for q in queued if q is not None), default=None)
        seen = self.last_worker_activity()
        since = max((t for t in (oldest, seen) if t is not None), default=None)
        if since is None:
            return True, None
        due = since + limit
        return (self.clock.now >= due), (None if self.clock.now >= due else due)

    # -- names --------------------------------------------------------------------------------

    def _forget_names(self, *_args: object) -> None:
        self._names_cache = None

    def _job_name(self, job_id: str) -> str | None:
        if self._names_cache is None:
            self._names_cache = self.job_model.job_names()
        return self._names_cache.get(job_id)

    def job_name(self, job_id: str) -> str:
        return self._job_name(job_id) or job_id

    # -- selection ----------------------------------------------------------------------------

    def select_job(self, job: CronMirrorJob | None) -> None:
        """Show this job's recent requests in `job_requests` (loaded now, then kept live)."""
        job_id = job.job_id if job is not None else None
        if job_id == self.job_requests.job_id:
            return
        self.job_requests.job_id = job_id
        self.job_requests.clear()
        self.job_history.job_id = job_id
        self.job_history.clear()
        if job_id is not None:
            self.spawn("job-requests", self._load_job_requests(job_id, self._generation))
            self.spawn("job-history", self._load_job_history(job_id, self._generation))

    async def _load_job_requests(self, job_id: str, generation: int) -> None:
        requests = await self.store.list_requests(self.project_id, limit=JOB_REQUEST_LIMIT, job_id=job_id)
        if generation == self._generation and self.job_requests.job_id == job_id:
            self.job_requests.set_requests(requests)

    # -- actions (core.actions; the menu and dialogs: ui/job_actions.py) ------------------------

    async def request_action(
        self, job_id: str, action: str, args: dict[str, Any] | None = None
    ) -> RunAttempt:
        """Enable, disable, a new schedule, … as Run does it: directly through the Control API for what it
        can do itself (enable/disable of a gateway job) when it is reachable, else through the queue."""
        if action == actions.RUN:
            return await self.run_job(job_id)
        job = self.job_model.find_job(job_id)
        if (
            self.control_api is not None
            and self.control_state is ControlApiState.REACHABLE
            and action in self.control_api.DIRECT_ACTIONS
            and job is not None
            and job.source in (None, "gateway")
        ):
            try:
                return await self._set_enabled_direct(job, action == actions.ENABLE)
            except Unreachable as exc:
                self._set_control(ControlApiState.UNREACHABLE, exc.message)
                log.info("direct %s failed, queueing instead: %s", action, exc)
        return await self._queue(job_id, action, args)

    async def _set_enabled_direct(self, job: CronMirrorJob, enabled: bool) -> RunAttempt:
        client = self.control_api
        assert client is not None
        words = actions.words(actions.ENABLE if enabled else actions.DISABLE)
        self.busyChanged.emit(True)
        try:
            now = await client.set_enabled(job.job_id, enabled)
        except Unreachable:
            raise
        except CronMirrorError as exc:
            self._notify(
                Level.ERROR, f"The Mac mini could not {words.lower()} “{job.display_name}”: {exc.message}"
            )
            return RunAttempt("failed", created=False)
        finally:
            self.busyChanged.emit(False)
        state = "enabled" if now else "disabled"
        level = Level.SUCCESS if now == enabled else Level.WARNING
        self._notify(level, f"“{job.display_name}”: {words} done on the Mac mini (the gateway says {state}).")
        return RunAttempt("direct", created=True)

    def active_requests_for(self, job_id: str) -> list[CronRunRequest]:
        """The job's queued and running requests, oldest first (what its row shows as pending)."""
        active = [r for r in self.request_model.requests() if r.job_id == job_id and r.is_active]
        return active[::-1]

    async def _load_job_history(self, job_id: str, generation: int) -> None:
        entries = await self.store.run_history(self.project_id, job_id, limit=JOB_HISTORY_LIMIT)
        if generation == self._generation and self.job_history.job_id == job_id:
            self.job_history.set_entries(entries)

    # -- running ------------------------------------------------------------------------------

    async def run_job(self, job_id: str) -> RunAttempt:
        """Run now: directly through the Control API when it is reachable, else through the queue."""
        if self.control_api is not None and self.control_state is ControlApiState.REACHABLE:
            try:
                return await self._run_direct(job_id)
            except Unreachable as exc:
                self._set_control(ControlApiState.UNREACHABLE, exc.message)
                log.info("direct run failed, queueing instead: %s", exc)
        return await self._queue(job_id)

    async def _run_direct(self, job_id: str) -> RunAttempt:
        """POST the run; `{"ok":true}` only means the gateway CLI exited 0, so the outcome is confirmed
        separately (the gateway's run log, or a newer `last_run_at` in the mirror) and reported."""
        client = self.control_api
        assert client is not None
        self.busyChanged.emit(True)
        try:
            requested = await client.run_job(job_id)
        except Unreachable:
            raise
        except CronMirrorError as exc:
            self._notify(Level.ERROR, f"The Mac mini could not run “{self.job_name(job_id)}”: {exc.message}")
            return RunAttempt("failed", created=False)
        finally:
            self.busyChanged.emit(False)
        self._notify(Level.INFO, requested.message or DIRECT_TOAST)
        self.spawn(f"confirm:{job_id}", self._confirm_direct(client, requested))
        return RunAttempt("direct", created=True)

    async def _confirm_direct(self, client: ControlApiClient, requested: RunRequested) -> None:
        job_id = requested.job_id

        async def mirror_last_run() -> datetime | None:
            job = self.job_model.find_job(job_id)
            return job.last_run_at if job is not None else None

        from cronmirror_desktop.core.controlapi import CONFIRM_INTERVAL_S  # loaded: `client` is one

        interval = CONFIRM_INTERVAL_S if self.confirm_interval is None else self.confirm_interval
        confirmation = await client.confirm_run(
            requested, within_s=self.confirm_seconds, interval_s=interval, check=mirror_last_run
        )
        name = self.job_name(job_id)
        if confirmation.confirmed:
            self._notify(Level.SUCCESS, f"“{name}”: {confirmation.message}")
        else:
            self._notify(Level.WARNING, f"“{name}”: {confirmation.message}")

    async def _queue(
        self, job_id: str, action: str = actions.RUN, args: dict[str, Any] | None = None
    ) -> RunAttempt:
        project = self.project_id
        generation = self._generation
        self.busyChanged.emit(True)
        what = "the run" if action == actions.RUN else f"the {actions.words(action).lower()}"
        try:
            outcome = await self.store.queue_run(project, job_id, self.requested_by, action=action, args=args)
        except CronMirrorError as exc:
            self._notify(Level.ERROR, f"Could not queue {what}: {exc.message} {exc.hint}".strip())
            return RunAttempt("failed", created=False)
        finally:
            self.busyChanged.emit(False)
        request = outcome.request
        if generation == self._generation:
            # Show it now; the realtime echo of the same row is an idempotent update.
            self.request_model.upsert(request)
            self.job_requests.upsert(request)
        if outcome.created:
            self._mine.add(request.id)
            if action == actions.RUN:
                self._notify(Level.INFO, self.queued_notice())
            else:
                self._notify(
                    Level.INFO,
                    f"Queued: {request.action_text} of “{self.job_name(job_id)}”. "
                    "The Mac mini's worker applies it when it picks it up.",
                )
        else:
            when = timetext.relative(request.requested_at, self.clock.tick(), past=True)
            kind = "run" if action == actions.RUN else actions.words(action)
            name = self.job_name(job_id)
            self._notify(
                Level.WARNING,
                f"“{name}” already has a {request.status} {kind} request (requested {when}). "
                "It is highlighted in Run requests.",
            )
            self.highlightRequest.emit(request.id)
        return RunAttempt("queued", outcome.created, request)

    def queued_notice(self) -> str:
        """What a new queued request will meet: the in-app worker, a worker seen lately, or none."""
        if self.in_app_worker_serves():
            return QUEUED_IN_APP_TOAST
        if self.live_workers() or (not self.workers and self._recently_active()):
            return QUEUED_TOAST
        return QUEUED_NO_WORKER_TOAST

    def _recently_active(self) -> bool:
        """A worker that publishes no presence (ClawdOS's) wrote lately."""
        seen = self.last_worker_activity()
        return seen is not None and (self.clock.now - seen).total_seconds() <= 2 * max(
            self.sync_interval_s(), 60.0
        )

    def _check_finished(self, request: CronRunRequest) -> None:
        if request.id not in self._mine or request.is_active:
            return
        self._mine.discard(request.id)
        name = self.job_name(request.job_id)
        if not request.is_run:
            if request.status == "done":
                self._notify(Level.SUCCESS, f"“{name}”: {request.action_text} done on the Mac mini.")
            elif request.status == "error":
                reason = request.reason or "no reason given"
                self._notify(Level.ERROR, f"“{name}”: {actions.words(request.action)} failed: {reason}")
            return
        took = f" ({timetext.duration(request.duration_ms)})" if request.duration_ms is not None else ""
        if request.status == "done":
            self._notify(Level.SUCCESS, f"“{name}” finished on the Mac mini{took}.")
        elif request.status == "error":
            reason = request.reason or "no reason given"
            self._notify(Level.ERROR, f"“{name}” failed on the Mac mini: {reason}")

    async def cancel_request(self, request_id: str) -> CronRunRequest | None:
        """Withdraw a queued request, or ask the worker to stop a running one; a request that ended
        meanwhile is explained, not an error."""
        try:
            request = await self.store.cancel_request(self.project_id, request_id, requester("ui"))
        except CronMirrorError as exc:
            self._notify(Level.WARNING, exc.message)
            current = await self.store.get_request(request_id)
            if current is not None:
                self.request_model.upsert(current)
                self.job_requests.upsert(current)
            return None
        self.request_model.upsert(request)
        self.job_requests.upsert(request)
        name = self.job_name(request.job_id)
        if request.stopping:
            self._notify(Level.INFO, f"Asked the worker to stop “{name}”.")
        else:
            self._mine.discard(request_id)
            self._notify(Level.INFO, f"Cancelled the run request for “{name}”.")
        return request

    def can_stop(self, request: CronRunRequest) -> bool:
        """Whether Stop can end this request's run: running, not stopping yet, and not a gateway run (the
        gateway runs those itself; the worker cannot end them)."""
        if request.status != "running" or request.stopping:
            return False
        job = self.job_model.find_job(request.job_id)
        return job is None or job.source not in (None, "gateway")

    def active_request_for(self, job_id: str) -> CronRunRequest | None:
        for request in self.request_model.requests():
            if request.job_id == job_id and request.is_active:
                return request
        return None

    # -- Control API --------------------------------------------------------------------------

    async def _health_loop(self, after: asyncio.Event | None = None) -> None:
        if after is not None:
            await after.wait()
        while True:
            await self.check_control_api()
            await asyncio.sleep(HEALTH_INTERVAL_SECONDS)

    async def check_control_api(self) -> ControlApiState:
        client = self.control_api
        if client is None:
            self._set_control(ControlApiState.NOT_CONFIGURED, "")
            return self.control_state
        health = await client.health()
        if health.reachable:
            self._set_control(ControlApiState.REACHABLE, health.url)
        else:
            self._set_control(ControlApiState.UNREACHABLE, health.reason or "no answer")
        return self.control_state

    def _set_control(self, state: ControlApiState, detail: str) -> None:
        changed = (state, detail) != (self.control_state, self.control_detail)
        self.control_state = state
        self.control_detail = detail
        if changed:
            self.controlApiChanged.emit(state, detail)
