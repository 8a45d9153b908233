"""jobs.toml jobs run on their schedule: by cron(8)'s rules, one copy at a time, with a catch-up rule.

Why here: the gateway, cron and launchd run their own jobs; nothing ran ours, so the app promised a next run
that never came. The worker is the scheduler of its jobs file.

- **When**: the job's times in the `cron` dialect (core.schedule: cron(8) as cronie runs it, DST included).
  An `every` job counts from a fixed anchor: its last run when the worker first sees it, else that moment
  (kept in the state file), so restarts and later runs by hand do not shift it. `at` runs once. A job
  without a schedule is run by hand only; a disabled job not at all.
- **One copy at a time**: a run that falls due while the job still runs (from a request, its previous
  scheduled run, or a worker that died: `Executor.running_copy`) is not started; it is recorded as
  `skipped` with the reason (the job's last status in the mirror, and the run log).
- **Missed runs**: a due time that passed more than `ON_TIME` ago unseen (the worker was down, the Mac
  asleep) is missed. If the newest missed time lies within the job's `catch_up` window (default 1 hour;
  `catch_up = "none"` turns it off), the job runs once, now, however many times were missed; otherwise it
  waits for its next time. What was handled is kept per job in `<state dir>/scheduler.json`, so a restart
  knows which times it missed; a job seen for the first time (or whose schedule or enabled flag changed)
  starts from now and catches up nothing.
- **Slots**: scheduled runs share the executor's `concurrency` slots with run requests (waiting for one if
  needed), and never go through `cron_run_requests`: they are not requests. Each run (and each skip) is a
  `ScheduledRun`, kept in memory and in `<state dir>/scheduled-runs.jsonl` (the newest `LOG_KEEP`), with
  its trigger (`schedule` or `catch-up`), for the run history (issue 17).
- **One scheduler per Mac**: the worker daemon and the app's hosted worker share the state dir; only the
  one holding `scheduler.lock` runs the schedule (the other takes over when it stops).
- **Time**: everything reads an injectable `Clock` (tests move a fake one). The loop never sleeps longer
  than `MAX_NAP` at a time, so a wall clock that jumps (the Mac woke up) is noticed within seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import functools
import json
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from cronmirror_desktop.core.aio import wait_event
from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.run_log import run_entry
from cronmirror_desktop.core.schedule import AT, CRON, EVERY, InvalidSchedule, next_runs
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc, parse_timestamp
from worker.executor import Executor
from worker.history import LastRun
from worker.jobs import LocalJob
from worker.orphans import RunningRecord, watch_survivor
from worker.outcome import RunOutcome
from worker.process import ProcessStarted
from worker.sources.jobs_file import SOURCE as JOBS_SOURCE
from worker.sources.registry import SourceSet

log = logging.getLogger(__name__)

STATE_FILE_NAME = "scheduler.json"
LOCK_FILE_NAME = "scheduler.lock"
LOG_FILE_NAME = "scheduled-runs.jsonl"
#: How many scheduled runs the log keeps (memory and file).
LOG_KEEP = 1000
#: A due time passed by at most this much is run as scheduled; an older one was missed.
ON_TIME = timedelta(seconds=60)
DEFAULT_CATCH_UP = timedelta(hours=1)
#: The longest the loop sleeps at once: a wall clock that jumped is noticed this soon.
MAX_NAP = 30.0
_SCHEDULED_KINDS = frozenset({CRON, EVERY, AT})
#: How many missed due times are counted at most (a 1-second job after a week away).
MISSED_CAP = 10_000
_TICK = timedelta(microseconds=1)

Trigger = Literal["schedule", "catch-up"]


class Clock(Protocol):
    """Where the scheduler gets the time, and how it waits (a fake one in tests)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Until `event` is set (True) or `seconds` have passed on this clock (False)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return now_utc()

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return await wait_event(event, seconds)


@dataclass(frozen=True)
class ScheduledRun:
    """One run the schedule asked for: started, or skipped (then `reason` says why)."""

    run_id: str
    job_id: str
    #: The job's id in the mirror (what requests name; `<id>@<host>` on a second host).
    mirror_id: str
    trigger: Trigger
    #: The schedule's time (for a catch-up: the newest missed time).
    due_at: datetime
    status: Literal["ok", "error", "skipped"]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int = 0
    exit_code: int | None = None
    reason: str = ""
    #: How many due times a catch-up run stands for.
    missed: int = 0
    #: What the run printed (storable, secrets redacted), for the run history; not kept in the log file.
    stdout_tail: str = ""
    stderr_tail: str = ""
    host: str | None = None

    def log_entry(self) -> dict[str, object]:
        """This run as a run-history row (`cron_run_log`)."""
        summary = self.reason
        if self.missed > 1:
            summary += f" (stands for {self.missed} missed runs)"
        return run_entry(
            job_id=self.mirror_id,
            run_key=f"jobs:{self.run_id}",
            run_at=self.started_at or self.due_at,
            status=self.status,
            trigger=self.trigger,
            finished_at=self.finished_at,
            duration_ms=self.duration_ms if self.status != "skipped" else None,
            summary=summary,
            stdout_tail=self.stdout_tail,
            stderr_tail=self.stderr_tail,
            source=JOBS_SOURCE,
            host=self.host,
        )

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("stdout_tail")
        data.pop("stderr_tail")
        for key in ("due_at", "started_at", "finished_at"):
            data[key] = format_timestamp(data[key])
        return data


@dataclass
class _JobState:
    """What the scheduler knows about one job: its schedule, whether it was enabled, the time up to which
    every due time was handled, and (for `every` jobs) the anchor its grid counts from."""

    schedule: str
    enabled: bool
    checked_until: datetime
    anchor: datetime | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "schedule": self.schedule,
            "enabled": self.enabled,
            "checked_until": format_timestamp(self.checked_until),
            "anchor": format_timestamp(self.anchor),
        }

    @classmethod
    def from_json(cls, data: object) -> _JobState | None:
        if not isinstance(data, dict):
            return None
        try:
            checked = parse_timestamp(data.get("checked_until"))
            anchor = parse_timestamp(data.get("anchor"))
        except (ValueError, OverflowError, OSError):
            return None
        schedule, enabled = data.get("schedule"), data.get("enabled")
        if checked is None or not isinstance(schedule, str) or not isinstance(enabled, bool):
            return None
        return cls(schedule, enabled, checked, anchor)


def _schedule_key(job: LocalJob) -> str:
    return json.dumps([job.schedule_kind, job.schedule_expr, job.tz])


@dataclass(frozen=True)
class _Due:
    """A run one look at a job asks for."""

    at: datetime
    trigger: Trigger
    #: How many earlier due times this run stands for (missed, or passed within one late look).
    missed: int = 0
    #: More runs at the very same instant (cron(8) at a spring-forward change runs a fixed-time job once
    #: per skipped wall time, all right after the change): one copy runs, these are recorded as skipped.
    duplicates: int = 0


class _StateLock:
    """One scheduler per state dir. The worker daemon and the app's hosted worker on one Mac share the state
    dir (and the jobs file): only the one holding this lock (`flock`, released when its process ends) runs
    jobs on their schedule; the other would start every job a second time. No state dir: always held."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._path is None or self._fd is not None:
            return True
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a first start: not made yet
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("cannot open the scheduler lock %s (%s): scheduling anyway", self._path, exc)
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None


class Scheduler:
    """Runs the jobs file's jobs on their schedule. `run()` until cancelled (or `stop()`); `jobs_changed()`
    after each sync. `on_changed` is called when a run ended or a job's next run moved (sync the mirror)."""

    def __init__(
        self,
        sources: SourceSet,
        executor: Executor,
        *,
        state_dir: Path | None = None,
        clock: Clock | None = None,
        redact: Callable[[str], str] | None = None,
        on_changed: Callable[[], None] | None = None,
        on_run: Callable[[ScheduledRun], None] | None = None,
    ) -> None:
        """`on_changed`: a run ended or a job's next run moved (sync the mirror). `on_run`: every run and
        skip as it is recorded (the run history)."""
        self.sources = sources
        self._on_run = on_run
        self.executor = executor
        self.clock: Clock = clock or SystemClock()
        self._redact = redact
        self._on_changed = on_changed
        self._state_file = state_dir / STATE_FILE_NAME if state_dir is not None else None
        self._log_file = state_dir / LOG_FILE_NAME if state_dir is not None else None
        self._states: dict[str, _JobState] = self._load_state()
        self._lock = _StateLock(state_dir / LOCK_FILE_NAME if state_dir is not None else None)
        #: None until the first look; then whether this scheduler runs the schedule (see _StateLock).
        self._leading: bool | None = None
        self._dirty = False
        self._changed = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: The newest scheduled runs and skips, oldest first (what the run log file holds too).
        self.runs: deque[ScheduledRun] = deque(maxlen=LOG_KEEP)
        self._stopping = False

    # -- the loop -------------------------------------------------------------------------------------

    def jobs_changed(self) -> None:
        """The inventory changed (a sync listed the sources): look at the jobs again now."""
        self._changed.set()

    async def run(self) -> None:
        """Look at every job whenever one falls due, the inventory changes, or MAX_NAP passed."""
        while not self._stopping:
            self._changed.clear()
            nap = self.tick()
            await self.clock.wait(self._changed, nap)

    def tick(self) -> float:
        """One look at every job: start what is due, remember what was handled. Returns how long to wait
        before the next look (seconds, at most MAX_NAP)."""
        if not self._lead():
            return MAX_NAP
        now = self.clock.now()
        jobs = self._jobs()
        soonest: datetime | None = None
        for job in jobs:
            due = self._look(job, now)
            if due is not None:
                self._start(job, due)
            upcoming = self._upcoming(job)
            if upcoming is not None and (soonest is None or upcoming < soonest):
                soonest = upcoming
        self._forget_gone({job.job_id for job in jobs})
        if self.sources.set_anchors(
            {job_id: state.anchor for job_id, state in self._states.items() if state.anchor is not None}
        ):
            self._notify()  # a never-run every-job has a next run now: the mirror should say so
        self._save()
        if soonest is None:
            return MAX_NAP
        return max(0.0, min(MAX_NAP, (soonest - now).total_seconds()))

    def _lead(self) -> bool:
        """Whether this scheduler runs the schedule now. One that does not still reads the leader's state
        file, so the every-jobs' anchors (and with them the mirrored next runs) are the same in both."""
        leading = self._lock.acquire()
        if leading and self._leading is False:
            log.info("this worker now runs the jobs.toml schedule (the other worker on this Mac stopped)")
            self._states = self._load_state()
        elif not leading:
            if self._leading is not False:
                log.info("another worker on this Mac runs the jobs.toml schedule; this one leaves it to it")
            self._states = self._load_state()
            self.sources.set_anchors(
                {job_id: state.anchor for job_id, state in self._states.items() if state.anchor is not None}
            )
        self._leading = leading
        return leading

    @property
    def leading(self) -> bool:
        """This scheduler runs the schedule (the other worker on this Mac, if any, does not)."""
        return bool(self._leading)

    async def stop(self, grace: float) -> None:
        """Start nothing new; give running scheduled jobs `grace` seconds, then kill their process groups."""
        self._stopping = True
        self._changed.set()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._leading:
            self._save()
        self._lock.release()

    async def wait_idle(self) -> None:
        """Until every scheduled run started so far has ended."""
        while tasks := [task for task in self._tasks.values() if not task.done()]:
            await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def running(self) -> list[str]:
        """The local ids of jobs running (or waiting for a slot) because of their schedule."""
        return [job_id for job_id, task in self._tasks.items() if not task.done()]

    # -- deciding -------------------------------------------------------------------------------------

    def _jobs(self) -> list[LocalJob]:
        inventory = self.sources.inventory
        if inventory is None:
            return []
        return [job for job in inventory.jobs if job.source == JOBS_SOURCE]

    def _state_of(self, job: LocalJob, now: datetime) -> _JobState:
        """The job's state. A job seen for the first time, or whose schedule changed, starts from now (a
        new grid for an `every` job); one that was disabled or enabled since starts from now too (what
        was due while it was disabled was not missed)."""
        key = _schedule_key(job)
        state = self._states.get(job.job_id)
        if state is None or state.schedule != key:
            anchor = (job.last_run_at or now) if job.schedule_kind == EVERY else None
            state = _JobState(key, job.enabled, now, anchor)
            self._states[job.job_id] = state
            self._dirty = True
        elif state.enabled != job.enabled:
            state.enabled = job.enabled
            state.checked_until = max(state.checked_until, now)
            self._dirty = True
        return state

    def _with_anchor(self, job: LocalJob, state: _JobState) -> LocalJob:
        if job.schedule_kind == EVERY and state.anchor is not None and job.anchor_at != state.anchor:
            return dataclasses.replace(job, anchor_at=state.anchor)
        return job

    def _dues(self, job: LocalJob, after: datetime, until: datetime, cap: int) -> list[datetime]:
        """The job's due times in (after, until], at most `cap` of them (the earliest)."""
        schedule = job.schedule
        found: list[datetime] = []
        cursor = after
        while schedule is not None and len(found) < cap:
            try:
                batch = next_runs(schedule, after=cursor, count=64, default_tz=self.sources.default_tz)
            except InvalidSchedule:
                return []
            within = [t for t in batch if t <= until]
            found.extend(within)
            if len(within) < len(batch) or not batch:
                break
            cursor = batch[-1]
        return found[:cap]

    def _look(self, job: LocalJob, now: datetime) -> _Due | None:
        """Whether `job` should run now, and why; marks every due time up to now as handled."""
        state = self._state_of(job, now)
        if not job.enabled or job.schedule_kind not in _SCHEDULED_KINDS or state.checked_until >= now:
            return None
        job = self._with_anchor(job, state)
        checked = state.checked_until
        if not self._dues(job, checked, now, 1):
            return None
        state.checked_until = now
        self._dirty = True
        missed = self._dues(job, checked, now - ON_TIME - _TICK, MISSED_CAP)
        on_time = self._dues(job, max(checked, now - ON_TIME - _TICK), now, MISSED_CAP)
        if on_time:
            newest = on_time[-1]
            copies = sum(1 for t in on_time if t == newest)
            if missed:
                log.info("%s: %d run(s) were missed; running the one due now", job.job_id, len(missed))
            return _Due(newest, "schedule", missed=len(missed) + len(on_time) - copies, duplicates=copies - 1)
        window = _catch_up_window(job)
        recent = [t for t in missed if now - t <= window] if window > timedelta(0) else []
        if not recent:
            why = "catch-up is off" if window <= timedelta(0) else f"none of them was due within {window}"
            log.info("%s: %d run(s) were missed; not made up (%s)", job.job_id, len(missed), why)
            return None
        return _Due(recent[-1], "catch-up", missed=len(missed))

    def _upcoming(self, job: LocalJob) -> datetime | None:
        state = self._states.get(job.job_id)
        if state is None or not job.enabled or job.schedule_kind not in _SCHEDULED_KINDS:
            return None
        schedule = self._with_anchor(job, state).schedule
        if schedule is None:
            return None
        try:
            runs = next_runs(schedule, after=state.checked_until, count=1, default_tz=self.sources.default_tz)
        except InvalidSchedule:
            return None
        return runs[0] if runs else None

    def _forget_gone(self, listed: set[str]) -> None:
        """A job removed from the file is forgotten, but only while the file could be read (an unreadable
        file keeps every job's state)."""
        inventory = self.sources.inventory
        readable = inventory is not None and any(
            lst.source == JOBS_SOURCE and lst.state in ("ok", "unavailable") for lst in inventory.listings
        )
        if not readable:
            return
        for job_id in [j for j in self._states if j not in listed]:
            del self._states[job_id]
            self._dirty = True

    # -- running --------------------------------------------------------------------------------------

    def _start(self, job: LocalJob, due: _Due) -> None:
        for _ in range(due.duplicates):
            self._skip(
                job,
                due,
                "due more than once at this instant (cron(8) runs a job once per wall time a clock change "
                "skipped); CronMirror runs one copy at a time",
            )
        why = self.executor.running_copy(job)
        if why is None and job.job_id in self._tasks and not self._tasks[job.job_id].done():
            why = "its previous scheduled run is still running"
        if why is not None:
            self._skip(job, due, f"the previous run is still going: {why}")
            return
        if self._stopping:
            return
        run_id = str(uuid.uuid4())
        task = asyncio.get_running_loop().create_task(
            self._run(job, due, run_id), name=f"scheduled:{job.job_id}"
        )
        self._tasks[job.job_id] = task
        task.add_done_callback(functools.partial(self._done, job.job_id))

    def _done(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduled run of %s failed", job_id, exc_info=task.exception())

    async def _run(self, job: LocalJob, due: _Due, run_id: str) -> None:
        what = "catch-up run" if due.trigger == "catch-up" else "scheduled run"
        log.info("%s of %s (due %s)", what, job.job_id, format_timestamp(due.at))
        started: list[ProcessStarted] = []
        try:
            outcome = await self.executor.run_scheduled(
                job, run_id=run_id, trigger=due.trigger, on_started=started.append
            )
        except asyncio.CancelledError:
            # The worker stopped past its grace period: the job's process group was killed. Say so, in the
            # log and as the job's last run, as a request's run would.
            self._killed(job, due, run_id, started[0].started_at if started else None)
            raise
        if not outcome.ran:
            self._skip(job, due, outcome.reason, run_id=run_id)
            return
        self._record(_finished(job, due, run_id, outcome, self._text))

    def _killed(self, job: LocalJob, due: _Due, run_id: str, started_at: datetime | None) -> None:
        ended = now_utc()
        duration_ms = int((ended - started_at).total_seconds() * 1000) if started_at is not None else 0
        if started_at is not None:
            listed = self.sources.find(job.mirror_id) or job
            self.sources.remember(listed, LastRun(started_at, "error", duration_ms))
        self._record(
            ScheduledRun(
                run_id=run_id,
                job_id=job.job_id,
                mirror_id=job.mirror_id,
                trigger=due.trigger,
                due_at=due.at,
                status="error",
                started_at=started_at,
                finished_at=ended,
                duration_ms=duration_ms,
                reason="the worker was stopped before the job finished; its process group was killed",
                missed=due.missed,
                host=job.host,
            )
        )

    def _skip(self, job: LocalJob, due: _Due, reason: str, *, run_id: str | None = None) -> None:
        """A due run that was not started: the job's last run becomes `skipped` at the due time."""
        when = format_timestamp(due.at)
        log.info("skipped the %s run of %s due %s: %s", due.trigger, job.job_id, when, reason)
        run = ScheduledRun(
            run_id=run_id or str(uuid.uuid4()),
            job_id=job.job_id,
            mirror_id=job.mirror_id,
            trigger=due.trigger,
            due_at=due.at,
            status="skipped",
            reason=self._text(reason),
            missed=due.missed,
            host=job.host,
        )
        listed = self.sources.find(job.mirror_id) or job
        self.sources.remember(listed, LastRun(due.at, "skipped", 0))
        self._record(run)

    def _record(self, run: ScheduledRun) -> None:
        self.runs.append(run)
        if self._log_file is not None:
            self._append_log(self._log_file, run)
        if self._on_run is not None:
            try:
                self._on_run(run)
            except Exception:
                log.exception("on_run failed")
        self._notify()

    def _notify(self) -> None:
        if self._on_changed is not None:
            try:
                self._on_changed()
            except Exception:
                log.exception("on_changed failed")

    def _text(self, value: str) -> str:
        return self._redact(value) if self._redact is not None else value

    # -- survivors of a previous life -------------------------------------------------------------------

    async def see_survivor_out(self, record: RunningRecord) -> None:
        """A scheduled run that outlived its worker: the job counts as running (the executor adopted the
        record) until it ends or its deadline kills it; then it is logged (its result is unknown)."""
        try:
            ended_itself = await watch_survivor(record)
        finally:
            self.executor.release(record)
        job_id = record.job_id
        listed = self.sources.find(job_id)
        how = "ended" if ended_itself else "was stopped at its timeout"
        trigger: Trigger = "catch-up" if record.trigger == "catch-up" else "schedule"
        started = parse_timestamp(record.started_at)
        self._record(
            ScheduledRun(
                run_id=record.request_id,
                job_id=listed.job_id if listed is not None else job_id,
                mirror_id=job_id,
                trigger=trigger,
                due_at=started or self.clock.now(),
                status="error",
                started_at=started,
                finished_at=self.clock.now(),
                reason=(
                    f"the worker was restarted while this job ran; the job went on (process group "
                    f"{record.pgid}) and {how}; its exit code and output could not be collected"
                ),
            )
        )
        self.jobs_changed()

    # -- files ----------------------------------------------------------------------------------------

    def _load_state(self) -> dict[str, _JobState]:
        if self._state_file is None:
            return {}
        try:
            data = json.loads(self._state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable scheduler state %s: %s", self._state_file, exc)
            return {}
        jobs = data.get("jobs") if isinstance(data, dict) else None
        states: dict[str, _JobState] = {}
        for job_id, item in (jobs or {}).items() if isinstance(jobs, dict) else ():
            state = _JobState.from_json(item)
            if state is not None and isinstance(job_id, str):
                states[job_id] = state
        return states

    def _save(self) -> None:
        if self._state_file is None or not self._dirty:
            return
        data = {"jobs": {job_id: state.to_json() for job_id, state in sorted(self._states.items())}}
        try:
            atomic_write_text(self._state_file, json.dumps(data, indent=1))
        except OSError as exc:
            log.warning("could not save the scheduler state to %s: %s", self._state_file, exc)
            return
        self._dirty = False

    def _append_log(self, path: Path, run: ScheduledRun) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            lines = [*lines[-(LOG_KEEP - 1) :], json.dumps(run.to_json(), sort_keys=True)]
            atomic_write_text(path, "\n".join(lines) + "\n")
        except OSError as exc:
            log.warning("could not write the scheduled-run log %s: %s", path, exc)


def _catch_up_window(job: LocalJob) -> timedelta:
    if job.catch_up_s is None:
        return DEFAULT_CATCH_UP
    return timedelta(seconds=max(0.0, job.catch_up_s))


def _finished(
    job: LocalJob, due: _Due, run_id: str, outcome: RunOutcome, text: Callable[[str], str]
) -> ScheduledRun:
    return ScheduledRun(
        run_id=run_id,
        job_id=job.job_id,
        mirror_id=job.mirror_id,
        trigger=due.trigger,
        due_at=due.at,
        status=outcome.last_status,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        duration_ms=outcome.duration_ms,
        exit_code=outcome.exit_code,
        reason=text(outcome.reason),
        missed=due.missed,
        stdout_tail=text(outcome.stdout_tail),
        stderr_tail=text(outcome.stderr_tail),
        host=job.host,
    )
