"""What the worker tells the run history (`cron_run_log`), from everything it sees happen.

- **Requests** of jobs the worker runs itself (jobs.toml, crontab, launchd): a `running` row when the job
  starts, its final row (ok / error / cancelled) when it ends — the same key, so one row per run.
- **jobs.toml's schedule**: every scheduled and catch-up run, and every skipped one (worker.scheduler).
- **The gateway's own run log**: incrementally. After each sync the jobs whose `last_run_at` (which the
  gateway keeps) is newer than the newest run recorded for them are asked for their latest runs
  (`cron.runs`), and only entries newer than that are recorded. A sync in which no gateway job ran asks
  nothing and writes nothing. Requests for gateway jobs come in this way too (the gateway logs them).
- crontab's and launchd's own scheduled runs are invisible to the worker and never recorded (the app says
  so).

Writing, retries, the spool that survives a crash, and pruning are `worker.run_recorder`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.run_log import RunStatus, run_entry
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.timeutil import now_utc
from worker.executor import Finished
from worker.jobs import LocalJob
from worker.process import ProcessStarted
from worker.run_recorder import RunRecorder
from worker.scheduler import ScheduledRun
from worker.sources.gateway_map import SOURCE as GATEWAY
from worker.sources.gateway_map import gateway_run_at, run_log_entry
from worker.sources.registry import Inventory, SourceSet

log = logging.getLogger(__name__)

#: Run-log entries asked of the gateway per job and look.
GATEWAY_RUNS_LIMIT = 20
#: How often a run the gateway announced is looked for in its run log before it is given up on.
RUN_LOG_RETRIES = 3
#: Jobs whose run log is read per sync (the CLI path costs a node process per job; the rest comes next).
GATEWAY_JOBS_PER_SYNC = 10

_FINAL: dict[str, RunStatus] = {"done": "ok", "error": "error", "cancelled": "cancelled"}


class HistoryFeed:
    def __init__(self, store: Store, project_id: str, sources: SourceSet, recorder: RunRecorder) -> None:
        self.store = store
        self.project_id = project_id
        self.sources = sources
        self.recorder = recorder
        #: Mirror job id -> start of its newest recorded run (None until read from the store).
        self._latest: dict[str, datetime] | None = None
        #: (job, its last run) whose run-log entry was not there yet -> how often it was asked for.
        self._misses: dict[tuple[str, datetime], int] = {}
        #: Called when the gateway's log should be read again soon (the service syncs again).
        self.retry_soon: Callable[[], None] | None = None

    # -- runs the worker makes -------------------------------------------------------------------------

    def request_started(self, request: CronRunRequest, info: ProcessStarted) -> None:
        job = self._own_job(request.job_id)
        if job is None:
            return
        self.recorder.add(
            run_entry(
                job_id=request.job_id,
                run_key=_request_key(request),
                run_at=info.started_at,
                status="running",
                trigger="request",
                request_id=request.id,
                source=job.source,
                host=job.host,
            )
        )

    def request_finished(self, finished: Finished, result: dict[str, object]) -> None:
        """`result` is the request's reported result (made storable and redacted by the executor)."""
        request, outcome = finished.request, finished.outcome
        if not request.is_run:
            return  # an action request (enable, a new schedule, ...) changed the job; it is not a run
        job = self._own_job(request.job_id)
        if job is None or (not outcome.ran and outcome.verdict != "cancelled"):
            return  # nothing of ours ran (unknown job, refused): the request says why, history has no run
        stdout, stderr = result.get("stdoutTail"), result.get("stderrTail")
        self.recorder.add(
            run_entry(
                job_id=request.job_id,
                run_key=_request_key(request),
                run_at=outcome.started_at or request.picked_up_at or request.requested_at or now_utc(),
                status=_FINAL[outcome.verdict],
                trigger="request",
                finished_at=outcome.finished_at or now_utc(),
                duration_ms=outcome.duration_ms,
                summary=str(result.get("reason") or outcome.reason),
                stdout_tail=stdout if isinstance(stdout, str) else None,
                stderr_tail=stderr if isinstance(stderr, str) else None,
                request_id=request.id,
                source=job.source,
                host=job.host,
            )
        )

    def scheduled(self, run: ScheduledRun) -> None:
        self.recorder.add(run.log_entry())

    # -- the gateway's own run log -----------------------------------------------------------------------

    def forget(self) -> None:
        """Ask the store again what was recorded (after a reconnect: someone may have pruned or restored)."""
        self._latest = None

    async def after_sync(self, inventory: Inventory) -> int:
        """Record the gateway's runs newer than what is recorded; returns how many rows were queued."""
        due = [
            job
            for job in inventory.jobs
            if job.source == GATEWAY and job.last_run_at is not None and self._newer(job, job.last_run_at)
        ]
        if not due:
            return 0
        if self._latest is None:
            try:
                self._latest = await self.store.latest_runs(self.project_id)
            except CronMirrorError as exc:
                log.info("run history not read yet: %s", exc.message)
                return 0
            due = [job for job in due if job.last_run_at is not None and self._newer(job, job.last_run_at)]
        source = self.sources.source(GATEWAY)
        if source is None:
            return 0
        # Newest activity first; over the CLI (a node process per job) a few per sync, the rest next time.
        due.sort(key=lambda job: job.last_run_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        cap = len(due) if source.cheap_run_log else GATEWAY_JOBS_PER_SYNC
        queued = 0
        for job in due[:cap]:
            recorded = (self._latest or {}).get(job.mirror_id)
            newest = recorded
            for raw in await source.run_log(job, GATEWAY_RUNS_LIMIT):
                run_at = gateway_run_at(raw)
                if run_at is None or (recorded is not None and run_at <= recorded):
                    continue
                entry = run_log_entry(job, raw)
                if entry is not None:
                    self.recorder.add(entry)
                    queued += 1
                    newest = run_at if newest is None else max(newest, run_at)
            assert job.last_run_at is not None
            if newest is None or newest < job.last_run_at:
                # The gateway said the job ran, but its run log doesn't show the run yet (it writes the
                # log after the event): ask again at the next syncs, a few times, then let it be.
                tries = self._misses.get((job.mirror_id, job.last_run_at), 0) + 1
                self._misses[(job.mirror_id, job.last_run_at)] = tries
                if tries < RUN_LOG_RETRIES:
                    if newest is not None and self._latest is not None:
                        self._latest[job.mirror_id] = newest
                    self._retry_soon()
                    continue
                newest = job.last_run_at
            self._misses = {k: v for k, v in self._misses.items() if k[0] != job.mirror_id}
            if self._latest is not None:
                self._latest[job.mirror_id] = newest
        return queued

    def _retry_soon(self) -> None:
        if self.retry_soon is not None:
            self.retry_soon()

    def _newer(self, job: LocalJob, last_run: datetime) -> bool:
        if self._latest is None:
            return True
        recorded = self._latest.get(job.mirror_id)
        return recorded is None or last_run > recorded

    def _own_job(self, job_id: str) -> LocalJob | None:
        """The listed job a request ran, when its runs are the worker's to record (not the gateway's)."""
        job = self.sources.find(job_id)
        return job if job is not None and job.source != GATEWAY else None


def _request_key(request: CronRunRequest) -> str:
    return f"request:{request.id}"
