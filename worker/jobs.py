"""`LocalJob`: one scheduled job as a source sees it, and exactly the `cron_mirror` row it becomes.

Everything needed to run a job (`native_id`, `run_spec`) comes from the source's own listing — the gateway,
the user's crontab, a plist, the jobs file — and never from a run request, which only names a `job_id`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

from cronmirror_desktop.core.rows import LAST_STATUSES, MIRROR_COLUMNS
from cronmirror_desktop.core.schedule import Schedule, schedule_for, try_next_runs
from cronmirror_desktop.core.schedule_text import try_describe
from cronmirror_desktop.core.timeutil import as_utc, iso_z
from cronmirror_desktop.core.worker_report import JobDetails

_INT4_MAX = 2**31 - 1

LastStatus = Literal["ok", "error", "skipped"]


@dataclass(frozen=True)
class RunSpec:
    """How a command-running source starts the job: an argument vector plus its environment.

    `env` is the complete environment when `env_complete`, else additions to the worker's own.
    """

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    env_complete: bool = False
    cwd: str | None = None
    stdin_data: bytes | None = None

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        return dict(self.env) if self.env_complete else {**base, **dict(self.env)}


@dataclass(frozen=True)
class LocalJob:
    """A job with a stable `job_id` (unique across sources) and the `cron_mirror` fields, all UTC."""

    job_id: str
    name: str
    source: str
    schedule_kind: str | None
    schedule_expr: str | None
    tz: str | None = None
    enabled: bool = True
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_duration_ms: int | None = None
    instructions: str | None = None
    #: The id in the source's own terms: gateway job id, launchd label, jobs-file key, crontab line.
    native_id: str = ""
    run_spec: RunSpec | None = field(default=None, repr=False)
    #: A timeout the job itself asks for (jobs file), in seconds; None = the executor's default.
    timeout_s: float | None = None
    #: Where an `every` schedule counts from (None: from the last run, if known).
    anchor_at: datetime | None = None
    #: For jobs our own scheduler runs (jobs.toml): how far back a run missed while the worker was down
    #: or the Mac asleep is still made up for at start, in seconds; 0 = never; None = the default (1 h).
    catch_up_s: float | None = None
    #: Things a person should know about this job ("unknown schedule kind", "invalid time zone").
    problems: tuple[str, ...] = ()
    #: The machine the job lives on (the worker's host name); None before a SourceSet stamped it.
    host: str | None = None
    #: The id its mirror row has when it differs from `job_id`: `<job_id>@<host>` while another host's row
    #: holds `job_id` (docs/worker.md, "Several Mac minis on one project"). Requests name this id.
    qualified_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.job_id, str) or not self.job_id:
            raise ValueError("job_id must be non-empty text")
        if self.last_status is not None and self.last_status not in LAST_STATUSES:
            raise ValueError(f"last_status must be one of {sorted(LAST_STATUSES)}, got {self.last_status!r}")
        for name in ("next_run_at", "last_run_at", "anchor_at"):
            object.__setattr__(self, name, as_utc(getattr(self, name)))
        if self.last_duration_ms is not None:  # the column is a 32-bit integer
            object.__setattr__(self, "last_duration_ms", min(max(0, int(self.last_duration_ms)), _INT4_MAX))

    @property
    def mirror_id(self) -> str:
        """The id of its mirror row, which run requests name."""
        return self.qualified_id or self.job_id

    @property
    def schedule(self) -> Schedule | None:
        """Read in the dialect of the scheduler that runs it (gateway; cron(8) for crontab/launchd/jobs)."""
        if self.schedule_kind is None:
            return None
        return schedule_for(
            self.schedule_kind,
            self.schedule_expr,
            self.tz,
            source=self.source,
            job_id=self.native_id or self.job_id,
            anchor=self.anchor_at,
        )

    def mirror_fields(self, *, iso: bool = False) -> dict[str, Any]:
        """Exactly the `cron_mirror` columns. Timestamps are aware UTC datetimes, or `…Z` text with `iso`."""
        row = {name: getattr(self, name) for name in MIRROR_COLUMNS}
        row["job_id"] = self.mirror_id
        if iso:
            for name in ("next_run_at", "last_run_at"):
                row[name] = iso_z(row[name]) if row[name] is not None else None
        return row

    def describe_schedule(self, default_tz: tzinfo | str | None = None) -> str:
        schedule = self.schedule
        return try_describe(schedule, default_tz=default_tz) if schedule else "No schedule"

    def as_dict(self) -> dict[str, Any]:
        """What `list-jobs --json` prints: the mirror row plus where it came from and what is odd about it."""
        return {
            **self.mirror_fields(iso=True),
            "source": self.source,
            "schedule_text": self.describe_schedule(),
            "timeout_s": self.timeout_s,
            "problems": list(self.problems),
        }

    def with_next_run(self, now: datetime, default_tz: tzinfo | str | None = None) -> LocalJob:
        """Fill `next_run_at` from the schedule when the source did not give one (enabled jobs only)."""
        if self.next_run_at is not None or not self.enabled or self.schedule is None:
            return self
        result = try_next_runs(self.schedule, after=now, last_run=self.last_run_at, default_tz=default_tz)
        if result.error:
            return dataclasses.replace(self, problems=(*self.problems, f"schedule: {result.error}"))
        return dataclasses.replace(self, next_run_at=result.next)

    def with_last_run(self, started_at: datetime, status: LastStatus, duration_ms: int) -> LocalJob:
        return dataclasses.replace(
            self, last_run_at=started_at, last_status=status, last_duration_ms=max(0, int(duration_ms))
        )


def command_details(jobs: Iterable[LocalJob]) -> dict[str, JobDetails]:
    """How each command job runs (argument vector, folder, timeout, the names of its variables), by mirror
    id, for the details row readers show (core/worker_report.py). Gateway jobs run inside the gateway."""
    return {
        job.mirror_id: JobDetails.build(
            source=job.source,
            argv=job.run_spec.argv,
            cwd=job.run_spec.cwd,
            timeout_s=job.timeout_s,
            env=job.run_spec.env,
        )
        for job in jobs
        if job.run_spec is not None and job.source != "gateway"
    }
