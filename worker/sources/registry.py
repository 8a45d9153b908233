"""`SourceSet`: all sources as one inventory, and the only door through which a request runs or changes
anything.

Security rule: a request names a job id; `run` looks that id up by exact string equality among the jobs the
sources listed, and runs that job with what its source listed (argv, label, gateway id). Nothing from the
request other than the id's identity is used, so an id like `; rm -rf ~`, `../../x`, a 10 kB string, a NUL
byte or a look-alike character can only ever be "unknown job" — never part of a command.
`apply` does the same for action requests (enable, disable, a new schedule, ...; core.actions): the job is
found the same way, the action must be one its source supports, and the arguments are checked again here —
their shape (core.actions.args_problem) and a schedule in the job's own dialect — before the source applies
them with its own means (a file edit, `launchctl`, the gateway's protocol); never through a shell.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from cronmirror_desktop.core.actions import (
    ACTIONS,
    CREATE,
    RUN,
    SET_SCHEDULE,
    args_problem,
    schedule_problem,
    why_not,
)
from cronmirror_desktop.core.presence import default_host
from cronmirror_desktop.core.schedule import EVERY, host_zone
from cronmirror_desktop.core.timeutil import now_utc
from worker.history import LastRun, RunHistory
from worker.jobs import LocalJob
from worker.outcome import RunOutcome
from worker.process import OnStarted
from worker.sources.base import ChangeCallback, JobSource, SourceListing, is_plain_id

log = logging.getLogger(__name__)

DEFAULT_RUN_TIMEOUT = 15 * 60.0


@dataclass(frozen=True)
class Inventory:
    """One listing of every source: the merged jobs (unique ids) and each source's own report."""

    jobs: tuple[LocalJob, ...]
    listings: tuple[SourceListing, ...]
    #: Problems across sources (a job id claimed twice).
    warnings: tuple[str, ...]
    listed_at: datetime

    def mirror_rows(self, *, iso: bool = False) -> list[dict[str, Any]]:
        return [job.mirror_fields(iso=iso) for job in self.jobs]

    def all_warnings(self) -> list[str]:
        out = [f"{lst.source}: {lst.message}" for lst in self.listings if lst.message and lst.state != "ok"]
        out += [f"{lst.source}: {w}" for lst in self.listings for w in lst.warnings]
        return out + list(self.warnings)


class SourceSet:
    """`host`: the machine these jobs live on, stamped on every job and its mirror row (default: this
    machine's name, `core.presence.default_host`). `default_tz`: the zone of jobs without one (default: the
    host's zone, as cron sees it); the worker publishes it so readers compute the same times."""

    def __init__(
        self,
        sources: Sequence[JobSource],
        *,
        default_tz: tzinfo | str | None = None,
        history: RunHistory | None = None,
        list_timeout: float = 120.0,
        refresh_cooldown: float = 10.0,
        host: str | None = None,
    ) -> None:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"two sources share a name: {names}")
        self._sources = tuple(sources)
        self._by_name = {s.name: s for s in sources}
        self._default_tz = default_tz
        self.host = host or default_host()
        #: Local job ids whose mirror rows are `<id>@<host>` (another host's row holds the plain id).
        self._qualified: frozenset[str] = frozenset()
        #: Where `every` jobs without an anchor of their own count from (the scheduler's, worker.scheduler).
        self._anchors: dict[str, datetime] = {}
        self._history = history if history is not None else RunHistory()
        self._list_timeout = list_timeout
        self._refresh_cooldown = refresh_cooldown
        self._lock = asyncio.Lock()
        #: One change at a time on this machine (two edits of one file or crontab never interleave).
        self._apply_lock = asyncio.Lock()
        self._inventory: Inventory | None = None
        self._index: dict[str, LocalJob] = {}
        self._listed_mono = float("-inf")

    @property
    def sources(self) -> tuple[JobSource, ...]:
        return self._sources

    def subscribe_changes(self, callback: ChangeCallback) -> None:
        """`callback(source_name)` whenever a source learns that its jobs changed (see JobSource)."""
        for source in self._sources:
            source.subscribe_changes(callback)

    async def close(self) -> None:
        """Close every source's open connections (they reopen on the next use)."""
        for source in self._sources:
            try:
                await source.close()
            except Exception:
                log.exception("closing source %s failed", source.name)

    @property
    def inventory(self) -> Inventory | None:
        """The last listing (None before the first `list_jobs`)."""
        return self._inventory

    @property
    def default_tz(self) -> tzinfo | str | None:
        return self._default_tz

    @property
    def zone_name(self) -> str | None:
        """The IANA name of the zone jobs without one run in (None when the host's zone has no name)."""
        zone = self._default_tz if self._default_tz is not None else host_zone()
        if isinstance(zone, str):
            return zone
        return zone.key if isinstance(zone, ZoneInfo) else None

    def qualify(self, job_ids: Collection[str]) -> bool:
        """Mirror these local jobs as `<id>@<host>` from now on (the sync decides, from what other hosts
        hold); re-labels the current inventory at once. True when anything changed."""
        qualified = frozenset(job_ids)
        if qualified == self._qualified:
            return False
        self._qualified = qualified
        if self._inventory is not None:
            jobs = tuple(self._stamp(job) for job in self._inventory.jobs)
            self._inventory = dataclasses.replace(self._inventory, jobs=jobs)
            self._index = {job.mirror_id: job for job in jobs}
        return True

    def set_anchors(self, anchors: dict[str, datetime]) -> bool:
        """Anchor these `every` jobs (local id -> instant) from the next listing on, so their mirrored next
        run is the one the scheduler will start. True when anything changed."""
        if anchors == self._anchors:
            return False
        self._anchors = dict(anchors)
        return True

    def _anchored(self, job: LocalJob) -> LocalJob:
        anchor = self._anchors.get(job.job_id)
        if anchor is None or job.anchor_at is not None or job.schedule_kind != EVERY:
            return job
        return dataclasses.replace(job, anchor_at=anchor)

    def _stamp(self, job: LocalJob) -> LocalJob:
        qualified = f"{job.job_id}@{self.host}" if job.job_id in self._qualified else None
        if job.host == self.host and job.qualified_id == qualified:
            return job
        return dataclasses.replace(job, host=self.host, qualified_id=qualified)

    async def list_jobs(self, *, now: datetime | None = None) -> Inventory:
        """List every source (concurrently; a failing or hanging source becomes an `error` listing)."""
        async with self._lock:
            listings = await asyncio.gather(*(self._list_one(s) for s in self._sources))
            self._history.refresh()
            now = now or now_utc()
            jobs: list[LocalJob] = []
            index: dict[str, LocalJob] = {}
            seen: dict[str, LocalJob] = {}
            warnings: list[str] = []
            for listing in listings:
                source = self._by_name[listing.source]
                for job in listing.jobs:
                    if job.source != source.name:
                        warnings.append(f"{source.name} listed a job of {job.source!r}; ignored")
                        continue
                    if job.job_id in seen:
                        other = seen[job.job_id]
                        warnings.append(
                            f"job id {job.job_id!r} from {job.source} ({job.name!r}) is already used by "
                            f"{other.source} ({other.name!r}); only the first is listed and runnable"
                        )
                        continue
                    if not source.keeps_history:
                        job = self._history.overlay(job)
                    job = self._stamp(self._anchored(job).with_next_run(now, self._default_tz))
                    seen[job.job_id] = job
                    index[job.mirror_id] = job
                    jobs.append(job)
            self._inventory = Inventory(tuple(jobs), tuple(listings), tuple(warnings), now)
            self._index = index
            self._listed_mono = time.monotonic()
            return self._inventory

    def source(self, name: str) -> JobSource | None:
        """The source called `name` ("gateway", "jobs", ...), if it is one of this set's."""
        return self._by_name.get(name)

    def find(self, job_id: object) -> LocalJob | None:
        """The listed job whose mirror row has exactly this id (what a request names; no trimming, case
        folding or Unicode normalisation)."""
        if type(job_id) is not str:
            return None
        return self._index.get(job_id)

    async def run(
        self,
        job_id: object,
        *,
        timeout: float = DEFAULT_RUN_TIMEOUT,  # noqa: ASYNC109 - the run's kill deadline, passed to the source
        on_started: OnStarted | None = None,
    ) -> RunOutcome:
        """Run the job a request names, or refuse ("unknown job") without running anything. Never raises."""
        job = await self._resolve(job_id)
        if job is None:
            return RunOutcome.refused(
                f"unknown job {_shown(job_id)}: no local source lists it, so nothing was run", source="worker"
            )
        return await self.run_listed(job, timeout=timeout, on_started=on_started)

    async def run_listed(
        self,
        job: LocalJob,
        *,
        timeout: float = DEFAULT_RUN_TIMEOUT,  # noqa: ASYNC109 - the run's kill deadline, passed to the source
        on_started: OnStarted | None = None,
    ) -> RunOutcome:
        """Run a job these sources listed (the scheduler's way in; requests go through `run`), with its own
        timeout if it has one, and remember its last run. Never raises for a failed run."""
        source = self._by_name[job.source]
        try:
            outcome = await source.run(job, timeout=job.timeout_s or timeout, on_started=on_started)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a source bug must end the request, not the worker
            log.exception("source %s failed to run %s", source.name, job.job_id)
            return RunOutcome.refused(
                f"the {source.name} source failed: {exc}", source=source.name, job_id=job.job_id
            )
        if outcome.ran and outcome.started_at is not None and not source.keeps_history:
            self.remember(job, LastRun(outcome.started_at, outcome.last_status, outcome.duration_ms))
        return outcome

    async def apply(self, job_id: object, action: object, args: Mapping[str, Any] | None) -> RunOutcome:
        """Carry out an action request on the job it names (see the module docstring). Never raises;
        refuses without changing anything when the job, the action or the arguments are not usable."""
        shown = _shown(job_id)
        if type(action) is not str or action not in ACTIONS or action == RUN:
            return RunOutcome.refused(
                f"unknown action {_shown(action)}; nothing was changed", source="worker", action="?"
            )
        if type(job_id) is not str:
            return RunOutcome.refused(
                f"unusable job id {shown}; nothing was changed", source="worker", action=action
            )
        problem = args_problem(action, job_id, dict(args) if isinstance(args, Mapping) else args)
        if problem is not None:
            return RunOutcome.refused(
                f"the request's arguments are not usable ({problem}); nothing was changed",
                source="worker",
                job_id=job_id,
                action=action,
            )
        plain = dict(args or {})
        async with self._apply_lock:
            if action == CREATE:
                outcome = await self._create(job_id, plain)
            else:
                outcome = await self._apply_to(job_id, action, plain)
        if outcome.ok:
            await self.list_jobs()  # the inventory shows the change at once
        return outcome

    async def _create(self, job_id: str, args: dict[str, Any]) -> RunOutcome:
        source = self._by_name.get("jobs")
        if source is None:
            return RunOutcome.refused(
                "this worker has no jobs file (the jobs source is off); nothing was added",
                source="worker",
                job_id=job_id,
                action=CREATE,
            )
        schedule = args.get("schedule")
        if schedule is not None and (problem := schedule_problem(schedule, source="jobs")) is not None:
            return RunOutcome.refused(
                f"the schedule is not usable ({problem}); nothing was added",
                source="jobs",
                job_id=job_id,
                action=CREATE,
            )
        if await self._resolve(job_id) is not None:
            return RunOutcome.refused(
                f"a job {job_id} exists already; nothing was added",
                source="jobs",
                job_id=job_id,
                action=CREATE,
            )
        return await self._guarded(source, job_id, CREATE, source.create(job_id, args))

    async def _apply_to(self, job_id: str, action: str, args: dict[str, Any]) -> RunOutcome:
        job = await self._resolve(job_id)
        if job is None:
            return RunOutcome.refused(
                f"unknown job {_shown(job_id)}: no local source lists it, so nothing was changed",
                source="worker",
                action=action,
            )
        source = self._by_name[job.source]
        if action not in source.actions:
            reason = why_not(job.source, action) or f"the {job.source} source cannot {action}"
            return RunOutcome.refused(
                f"{reason}; nothing was changed", source=job.source, job_id=job.job_id, action=action
            )
        if action == SET_SCHEDULE:
            problem = schedule_problem(args, source=job.source, job_id=job.native_id or job.job_id)
            if problem is not None:
                return RunOutcome.refused(
                    f"the schedule is not usable ({problem}); nothing was changed",
                    source=job.source,
                    job_id=job.job_id,
                    action=action,
                )
        return await self._guarded(source, job.job_id, action, source.apply(job, action, args))

    async def _guarded(
        self, source: JobSource, job_id: str, action: str, work: Coroutine[Any, Any, RunOutcome]
    ) -> RunOutcome:
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a source bug must end the request, not the worker
            log.exception("source %s failed to %s %s", source.name, action, job_id)
            return RunOutcome.refused(
                f"the {source.name} source failed: {exc}", source=source.name, job_id=job_id, action=action
            )

    async def _resolve(self, job_id: object) -> LocalJob | None:
        if not is_plain_id(job_id):
            return None  # no source ever lists such an id: don't even re-list for it
        job = self.find(job_id)
        if job is None and time.monotonic() - self._listed_mono >= self._refresh_cooldown:
            await self.list_jobs()  # a job added a moment ago; at most once per cooldown, so spam stays cheap
            job = self.find(job_id)
        return job

    def remember(self, job: LocalJob, run: LastRun) -> None:
        """Record a run of `job` as its last run, in the history and the current inventory."""
        self._history.record(job.job_id, run)
        updated = self._history.overlay(job)
        self._index[updated.mirror_id] = updated
        if self._inventory is not None:
            jobs = tuple(updated if j.job_id == job.job_id else j for j in self._inventory.jobs)
            self._inventory = Inventory(
                jobs, self._inventory.listings, self._inventory.warnings, self._inventory.listed_at
            )

    async def _list_one(self, source: JobSource) -> SourceListing:
        try:
            return await asyncio.wait_for(source.list_jobs(), self._list_timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return SourceListing(
                source.name, state="error", message=f"listing took longer than {self._list_timeout:.0f} s"
            )
        except Exception as exc:
            log.exception("source %s failed to list", source.name)
            return SourceListing(source.name, state="error", message=f"listing failed: {exc}")


def _shown(job_id: object) -> str:
    """A request's id as safe one-line text for a reason (escaped, cut to 80 characters)."""
    text = repr(job_id) if type(job_id) is str else f"<{type(job_id).__name__}>"
    return text if len(text) <= 80 else text[:77] + "...'"
