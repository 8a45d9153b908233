"""What a CronMirror worker tells readers beyond the jobs: how it is doing, what its sources found, and how
its command jobs are run. Written by the worker into bookkeeping rows of `cron_mirror` (kind `state`, never
listed as jobs), read by the app and `cronmirror doctor`; both directions are here so the format lives in one
place.

- The **presence row** (`__cronmirror_worker__…`, written by `worker/service.py`): its `instructions` JSON
  says who the worker is (id, host, version) and, since issue 19, its state, the jobs it runs and the
  requests it sees queued, how often it syncs, and each source's state and warnings ("jobs.toml:28
  [jobs.typo] command: must be a non-empty list …; job left out"). Rewritten when one of those changes
  (and every few minutes regardless, as a sign of life), never on a sync that changed nothing.
- The **details row** (`__cronmirror_details__…`): for each command job (jobs.toml, crontab, launchd), the
  command as its argument vector, the working directory, the timeout and the names (never the values) of
  the environment variables it sets. Rewritten only when one of them changes. A separate row because it can
  be large and changes rarely, while presence changes with every run.

Readers trust nothing here: anyone who can write the mirror can write these rows (`rows.py` explains why),
so `from_row` never raises and keeps only values of the expected types, bounded in size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronmirror_desktop.core.fields import (
    TooDeep,
    int_or_none,
    iso_or_none,
    loads_bounded,
    text_or_none,
)
from cronmirror_desktop.core.rows import MAX_TEXT, CronMirrorJob

PRESENCE_PREFIX = "__cronmirror_worker__"
DETAILS_PREFIX = "__cronmirror_details__"
BOOKKEEPING_KIND = "state"

#: Bounds of what a report carries (and what a reader keeps): the row's text is at most MAX_TEXT.
MAX_SOURCES = 16
MAX_WARNINGS = 20
MAX_LINE = 300
MAX_ARGS = 64
MAX_ARG = 500
#: The details row stays below this many characters of JSON; jobs beyond are left out (and counted).
DETAILS_BUDGET = MAX_TEXT - 4096

SOURCE_STATES = ("ok", "degraded", "unavailable", "error")
#: How a warning of a source that dropped a job ends (worker/sources: jobs.toml, crontab).
LEFT_OUT_SUFFIX = "job left out"
#: What people call each source.
SOURCE_NAMES = {"jobs": "jobs.toml", "gateway": "gateway", "crontab": "crontab", "launchd": "launchd"}


def _line(value: object) -> str | None:
    text = text_or_none(value)
    if text is None:
        return None
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def _count(value: object) -> int | None:
    number = int_or_none(value)
    return number if number is not None and 0 <= number <= 2**31 - 1 else None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if 0 < seconds < 10**9 else None


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = loads_bounded(text)
    except (ValueError, TooDeep):
        return {}
    return data if isinstance(data, dict) else {}


# -- sources ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceReport:
    """One source as the worker last listed it."""

    source: str
    state: str
    message: str = ""
    jobs: int | None = None
    warnings: tuple[str, ...] = ()
    #: How many of the warnings dropped a job (a mistake in jobs.toml leaves only that job out).
    left_out: int = 0

    @property
    def needs_a_look(self) -> bool:
        """Listed from a fallback, unreadable, or with warnings (a source that is simply not on this
        machine, such as launchd on Linux, is not a problem)."""
        return self.state in ("degraded", "error") or bool(self.warnings)

    def summary(self) -> str:
        """One line: "jobs.toml: ok, 3 jobs", "jobs.toml: 1 job left out", "gateway: unavailable — no CLI
        found"."""
        if self.left_out:
            head = f"{self.left_out} job{'s' if self.left_out != 1 else ''} left out"
        elif self.state == "ok" and self.warnings:
            head = f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}"
        elif self.state == "ok":
            head = "ok" + (
                f", {self.jobs} job{'s' if self.jobs != 1 else ''}" if self.jobs is not None else ""
            )
        else:
            head = self.state
        tail = f" — {self.message}" if self.message and self.state != "ok" else ""
        return f"{self.name}: {head}{tail}"

    @property
    def name(self) -> str:
        return SOURCE_NAMES.get(self.source, self.source)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "state": self.state,
            "message": self.message,
            "jobs": self.jobs,
            "leftOut": self.left_out,
            "warnings": list(self.warnings),
        }

    @classmethod
    def build(cls, source: str, state: str, message: str, jobs: int, warnings: Sequence[str]) -> SourceReport:
        """What the worker publishes for one listing, bounded."""
        kept = tuple(_line(w) or "" for w in warnings[:MAX_WARNINGS])
        return cls(
            source=_line(source) or "?",
            state=state if state in SOURCE_STATES else "error",
            message=_line(message) or "",
            jobs=jobs,
            warnings=kept,
            left_out=sum(1 for w in warnings if w.rstrip().endswith(LEFT_OUT_SUFFIX)),
        )

    @classmethod
    def from_json(cls, data: object) -> SourceReport | None:
        if not isinstance(data, dict):
            return None
        source = _line(data.get("source"))
        state = data.get("state")
        if source is None or state not in SOURCE_STATES:
            return None
        raw_warnings = data.get("warnings")
        warnings = tuple(
            w for w in (_line(v) for v in (raw_warnings if isinstance(raw_warnings, list) else [])) if w
        )[:MAX_WARNINGS]
        left_out = _count(data.get("leftOut")) or 0
        return cls(
            source=source,
            state=str(state),
            message=_line(data.get("message")) or "",
            jobs=_count(data.get("jobs")),
            warnings=warnings,
            left_out=min(left_out, len(warnings)) if warnings else 0,
        )


# -- the presence row ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerReport:
    """What one presence row says, and when it was written (`seen_at`, the row's `updated_at`)."""

    row_id: str | None
    worker_id: str | None = None
    host: str | None = None
    version: str | None = None
    started_at: datetime | None = None
    #: "running", "stopping", "stopped"; None from a worker before issue 19.
    state: str | None = None
    running: int | None = None
    queued: int | None = None
    sync_every_s: float | None = None
    sources: tuple[SourceReport, ...] = ()
    seen_at: datetime | None = None

    @property
    def key(self) -> str:
        """What tells two workers apart: the worker id, else the host, else the row."""
        return self.worker_id or self.host or self.row_id or "?"

    @property
    def name(self) -> str:
        return self.host or self.worker_id or "a worker"

    @property
    def stopped(self) -> bool:
        return self.state == "stopped"

    @property
    def source_problems(self) -> tuple[SourceReport, ...]:
        """The sources a person should look at (`SourceReport.needs_a_look`)."""
        return tuple(s for s in self.sources if s.needs_a_look)

    @classmethod
    def from_row(cls, row: CronMirrorJob) -> WorkerReport | None:
        """The report a mirror row holds, or None for any other row. Never raises."""
        if row.schedule_kind != BOOKKEEPING_KIND or not row.job_id.startswith(PRESENCE_PREFIX):
            return None
        data = _json_object(row.instructions)
        raw_sources = data.get("sources")
        sources = tuple(
            s
            for s in (
                SourceReport.from_json(v) for v in (raw_sources if isinstance(raw_sources, list) else [])
            )
            if s is not None
        )[:MAX_SOURCES]
        state = data.get("state")
        return cls(
            row_id=row.id,
            worker_id=_line(data.get("workerId")) or _line(row.schedule_expr),
            host=_line(data.get("host")),
            version=_line(data.get("version")),
            started_at=iso_or_none(data.get("startedAt")),
            state=state if state in ("running", "stopping", "stopped") else None,
            running=_count(data.get("running")),
            queued=_count(data.get("queued")),
            sync_every_s=_seconds(data.get("syncEverySeconds")),
            sources=sources,
            seen_at=row.updated_at,
        )


def presence_fields(
    *,
    state: str,
    running: int,
    queued: int,
    sync_every_s: float,
    sources: Iterable[SourceReport],
) -> dict[str, Any]:
    """What a worker adds to its presence JSON (beside id, host, version and start time)."""
    return {
        "state": state,
        "running": running,
        "queued": queued,
        "syncEverySeconds": sync_every_s,
        "sources": [s.to_json() for s in list(sources)[:MAX_SOURCES]],
    }


# -- the details row -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobDetails:
    """How a command job runs, as its worker's source listed it."""

    source: str | None = None
    command: tuple[str, ...] = ()
    cwd: str | None = None
    #: The job's own timeout (jobs.toml `timeout`), else None: the worker's default applies.
    timeout_s: float | None = None
    #: Names of the environment variables the job sets (their values are never published).
    env: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "command": list(self.command)}
        if self.cwd:
            out["cwd"] = self.cwd
        if self.timeout_s is not None:
            out["timeoutS"] = self.timeout_s
        if self.env:
            out["env"] = list(self.env)
        return out

    @classmethod
    def build(
        cls,
        *,
        source: str,
        argv: Sequence[str],
        cwd: str | None,
        timeout_s: float | None,
        env: Iterable[tuple[str, str]],
    ) -> JobDetails:
        """From a job's run spec: only the names of its environment (a value may be a secret)."""
        args = [a if len(a) <= MAX_ARG else a[: MAX_ARG - 1] + "…" for a in argv[:MAX_ARGS]]
        if len(argv) > MAX_ARGS:
            args.append(f"… ({len(argv) - MAX_ARGS} more)")
        return cls(
            source=source,
            command=tuple(args),
            cwd=(cwd[:MAX_ARG] if cwd else None),
            timeout_s=timeout_s,
            env=tuple(sorted({name[:MAX_LINE] for name, _value in env}))[:MAX_ARGS],
        )

    @classmethod
    def from_json(cls, data: object) -> JobDetails | None:
        if not isinstance(data, dict):
            return None
        command = data.get("command")
        args = tuple(
            a[:MAX_ARG] for a in (command if isinstance(command, list) else []) if isinstance(a, str)
        )
        env = data.get("env")
        names = tuple(n[:MAX_LINE] for n in (env if isinstance(env, list) else []) if isinstance(n, str))
        cwd = text_or_none(data.get("cwd"))
        return cls(
            source=_line(data.get("source")),
            command=args[: MAX_ARGS + 1],
            cwd=cwd[:MAX_ARG] if cwd else None,
            timeout_s=_seconds(data.get("timeoutS")),
            env=names[:MAX_ARGS],
        )


@dataclass(frozen=True)
class DetailsReport:
    """What one details row says: job id → details, and the worker's default timeout."""

    row_id: str | None
    jobs: Mapping[str, JobDetails] = field(default_factory=dict)
    default_timeout_s: float | None = None
    #: Jobs the worker left out of the row to keep it within bounds.
    left_out: int = 0

    @classmethod
    def from_row(cls, row: CronMirrorJob) -> DetailsReport | None:
        if row.schedule_kind != BOOKKEEPING_KIND or not row.job_id.startswith(DETAILS_PREFIX):
            return None
        data = _json_object(row.instructions)
        raw = data.get("jobs")
        jobs: dict[str, JobDetails] = {}
        if isinstance(raw, dict):
            for job_id, value in raw.items():
                details = JobDetails.from_json(value)
                if isinstance(job_id, str) and details is not None:
                    jobs[job_id] = details
        return cls(
            row_id=row.id,
            jobs=jobs,
            default_timeout_s=_seconds(data.get("defaultTimeoutS")),
            left_out=_count(data.get("leftOut")) or 0,
        )


def details_instructions(jobs: Mapping[str, JobDetails], *, host: str, default_timeout_s: float) -> str:
    """The details row's JSON, within DETAILS_BUDGET (jobs that would not fit are counted, not written).
    Nothing in it changes when the worker restarts (no worker id), so a restart rewrites nothing."""
    kept: dict[str, Any] = {}
    size = 200
    left_out = 0
    for job_id in sorted(jobs):
        entry = jobs[job_id].to_json()
        cost = len(json.dumps({job_id: entry})) + 2
        if size + cost > DETAILS_BUDGET:
            left_out += 1
            continue
        kept[job_id] = entry
        size += cost
    return json.dumps(
        {
            "host": host,
            "defaultTimeoutS": default_timeout_s,
            "leftOut": left_out,
            "jobs": kept,
        },
        sort_keys=True,
    )


def bookkeeping_row(job_id: str, name: str, expr: str, instructions: str) -> dict[str, Any]:
    """A bookkeeping row as the worker writes it (the mirror's columns; never a job: kind `state`)."""
    return {
        "job_id": job_id,
        "name": name,
        "schedule_kind": BOOKKEEPING_KIND,
        "schedule_expr": expr,
        "enabled": False,
        "instructions": instructions,
    }
