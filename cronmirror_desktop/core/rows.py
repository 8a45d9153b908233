"""Typed rows of `cron_mirror` and `cron_run_requests`, parsed tolerantly and honestly.

Everything here comes from the network or from another program's worker, so nothing is trusted: `from_row`
never raises. A field that cannot be understood is replaced by a safe value (None, a truncated text) and the
row carries a human-readable `problems` entry saying what was wrong; the app shows such a row as invalid
instead of dropping it or crashing. That includes what PostgreSQL accepts but no reader can use: infinite
or far-out timestamps, numbers past any sane range, JSON nested too deeply to walk, control characters in
ids (kept exactly, flagged, and escaped wherever a terminal shows them). The public (JSON) shape uses the
seed plan's TypeScript names (`jobId`, `scheduleKind`, ...), the Python attributes are snake_case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from cronmirror_desktop.core import actions
from cronmirror_desktop.core.errors import error_line
from cronmirror_desktop.core.fields import MAX_JSON_DEPTH as MAX_JSON_DEPTH
from cronmirror_desktop.core.fields import MAX_NUMBER as MAX_NUMBER
from cronmirror_desktop.core.fields import MAX_SHORT_TEXT as MAX_SHORT_TEXT
from cronmirror_desktop.core.fields import MAX_TAIL as MAX_TAIL
from cronmirror_desktop.core.fields import MAX_TEXT as MAX_TEXT
from cronmirror_desktop.core.fields import FieldReader, result_number
from cronmirror_desktop.core.fields import short as short
from cronmirror_desktop.core.schedule import (
    GATEWAY_DIALECT,
    InvalidSchedule,
    Schedule,
    dialect_for_source,
    schedule_for,
    validate,
)

LAST_STATUSES = ("ok", "error", "skipped")
REQUEST_STATUSES = ("queued", "running", "done", "error", "cancelled")
ACTIVE_STATUSES = frozenset({"queued", "running"})
FINAL_STATUSES = frozenset({"done", "error", "cancelled"})

#: The ClawdOS Node worker writes this fingerprint row into cron_mirror; it is not a job.
MIRROR_STATE_JOB_ID = "__mirror_state__"
MIRROR_STATE_KIND = "state"

#: Exit codes are 32-bit.
EXIT_CODE_RANGE = range(-(2**31), 2**31)

#: What the mirror's columns are called; the worker writes these, stores read them.
MIRROR_COLUMNS = (
    "job_id",
    "name",
    "schedule_kind",
    "schedule_expr",
    "tz",
    "enabled",
    "next_run_at",
    "last_run_at",
    "last_status",
    "last_duration_ms",
    "instructions",
    "source",
    "host",
)
#: The worker sources a row's `source` may name (migration …_mirror_source_and_host.sql checks the same).
MIRROR_SOURCES = ("gateway", "crontab", "launchd", "jobs")
#: The longest host name a row may carry (the migration's check).
MAX_HOST = 255


@lru_cache(maxsize=512)
def zone_or_none(name: str) -> ZoneInfo | None:
    """The IANA zone called `name`, or None when there is no such zone (cached: rows repeat zones)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@cache
def _every_field(cls: type[Row]) -> set[str]:
    return set(cls.model_fields)


class Row(BaseModel):
    """Common configuration: frozen, camelCase JSON names, snake_case attributes."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    #: Why this row could not be fully understood; empty for a valid row.
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_public(self) -> dict[str, Any]:
        """The seed's TypeScript shape (camelCase keys, ISO timestamps), for `--json` output."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def _parsed(cls, problems: list[str], values: dict[str, Any]) -> Self:
        """A row from values already checked, every field given. Rows of one class share one set of
        "fields set": pydantic's `model_construct` would build a set of all the field names for each row
        (2 KB each, 20 MB at 10,000 jobs). Pydantic never changes that set in place on a frozen model
        (`model_copy(update=...)` changes a copy)."""
        shared = _every_field(cls)
        if len(values) + 1 != len(shared) or not shared.issuperset(values):
            raise TypeError(f"{cls.__name__}: every field but problems must be given")
        return cls.model_construct(_fields_set=shared, problems=tuple(problems), **values)


class CronMirrorJob(Row):
    """One row of `cron_mirror`: a job as the Mac mini's worker last reported it."""

    id: str | None = None
    project_id: str = ""
    job_id: str = ""
    name: str = ""
    schedule_kind: str | None = None
    schedule_expr: str | None = None
    tz: str | None = None
    enabled: bool = True
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_duration_ms: int | None = None
    instructions: str | None = None
    #: Which worker source the job comes from (gateway, crontab, launchd, jobs); None = a gateway job
    #: (ClawdOS's worker, rows written before the column existed).
    source: str | None = None
    #: The machine the job lives on; None = not said (ClawdOS's worker, older rows).
    host: str | None = None
    updated_at: datetime | None = None
    # Columns the ClawdOS web project added later (migration 20261129001000); NULL for our worker's rows.
    target_agent_key: str | None = None
    job_intent: str | None = None
    context_policy: str | None = None
    ui_label: str | None = None

    @classmethod
    def from_row(cls, raw: Mapping[str, Any]) -> CronMirrorJob:
        """Parse a row from any store; never raises (see the module docstring)."""
        if not isinstance(raw, Mapping):
            return cls(problems=(f"row is not an object: {short(raw)}",))
        f = FieldReader(raw)
        job_id = f.text("job_id", required=True, plain=True) or ""
        name = f.text("name", required=True)
        kind = f.text("schedule_kind", shared=True)
        expr = f.text("schedule_expr", shared=True)
        tz = f.text("tz", shared=True)
        source = f.text("source", shared=True)
        if source is not None and source not in MIRROR_SOURCES:
            f.problems.append(f"unknown source {short(source)}; read as a gateway job")
            source = None
        job: dict[str, Any] = {
            "id": f.text("id"),
            "project_id": f.text("project_id", required=True, plain=True, shared=True) or "",
            "job_id": job_id,
            "name": name if name else job_id,
            "schedule_kind": kind,
            "schedule_expr": expr,
            "tz": tz,
            "enabled": f.boolean("enabled", default=True),
            "next_run_at": f.timestamp("next_run_at"),
            "last_run_at": f.timestamp("last_run_at"),
            "last_status": f.text("last_status", shared=True),
            "last_duration_ms": f.integer("last_duration_ms", minimum=0),
            "instructions": f.text("instructions", limit=MAX_TEXT),
            "source": source,
            "host": f.text("host", limit=MAX_HOST, plain=True, shared=True) or None,
            "updated_at": f.timestamp("updated_at"),
            "target_agent_key": f.text("target_agent_key", shared=True),
            "job_intent": f.text("job_intent", shared=True),
            "context_policy": f.text("context_policy", shared=True),
            "ui_label": f.text("ui_label"),
        }
        is_fingerprint = job_id == MIRROR_STATE_JOB_ID or kind == MIRROR_STATE_KIND
        if not is_fingerprint:
            f.problems.extend(schedule_problems(kind, expr, tz, dialect_for_source(source)))
            status = job["last_status"]
            if status is not None and status not in LAST_STATUSES:
                f.problems.append(f"unknown last status {short(status)}")
        return cls._parsed(f.problems, job)

    @property
    def is_job(self) -> bool:
        """False for rows that are bookkeeping, not jobs (the ClawdOS worker's fingerprint row)."""
        return self.job_id != MIRROR_STATE_JOB_ID and self.schedule_kind != MIRROR_STATE_KIND

    @property
    def display_name(self) -> str:
        return self.ui_label or self.name or self.job_id

    @property
    def zone(self) -> ZoneInfo | None:
        return zone_or_none(self.tz) if self.tz else None

    @property
    def schedule(self) -> Schedule | None:
        """The schedule for core.schedule / core.schedule_text (None when the row has no kind), read in the
        dialect of the scheduler that runs it (from `source`) and, for a gateway cron job, with the stagger
        the gateway derives from its id."""
        if self.schedule_kind is None:
            return None
        return schedule_for(
            self.schedule_kind, self.schedule_expr, self.tz, source=self.source, job_id=self.source_job_id
        )

    @property
    def source_job_id(self) -> str:
        """The id in its host's own terms: `job_id` without the `@<host>` a second host's row carries
        (docs/worker.md, "Several Mac minis on one project")."""
        suffix = f"@{self.host}" if self.host else ""
        if suffix and self.job_id.endswith(suffix) and len(self.job_id) > len(suffix):
            return self.job_id[: -len(suffix)]
        return self.job_id


def schedule_problems(
    kind: str | None, expr: str | None, tz: str | None, dialect: str = GATEWAY_DIALECT
) -> list[str]:
    """What is wrong with a schedule as the mirror gives it (empty when it is usable), judged by the rules of
    the scheduler that runs it (`core.schedule.dialect_for_source`; rows that do not say are gateway jobs)."""
    problems: list[str] = []
    if tz and zone_or_none(tz) is None:
        problems.append(f"unknown time zone {short(tz)}")
    if kind == "at" and not expr:
        return problems  # ClawdOS's worker writes at-jobs without an expression; next_run_at says when
    if kind is not None:
        try:
            validate(Schedule(kind, expr, None if problems else tz, dialect=dialect), default_tz=UTC)
        except InvalidSchedule as exc:
            problems.append(exc.message)
        except Exception as exc:  # a library's own failure on text it was never meant to see
            failure = type(exc).__name__
            problems.append(f"schedule {short(kind)} {short(expr)} cannot be evaluated ({failure})")
    return problems


class CronRunRequest(Row):
    """One row of `cron_run_requests`: a "run now" request and what became of it."""

    #: Result keys that hold the job's output, newest first in priority for display.
    OUTPUT_KEYS: ClassVar[tuple[str, ...]] = ("stdoutTail", "stderrTail")

    id: str = ""
    project_id: str = ""
    job_id: str = ""
    requested_by: str | None = None
    requested_at: datetime | None = None
    status: str = "queued"
    picked_up_at: datetime | None = None
    completed_at: datetime | None = None
    result: dict[str, Any] | None = None
    #: The raw `result` when it was not a JSON object (shown as text).
    result_text: str | None = None
    worker_id: str | None = None
    lease_until: datetime | None = None
    heartbeat_at: datetime | None = None
    attempts: int = 0
    #: Someone asked to stop it (a running request keeps running until its worker has ended the job).
    cancel_requested_at: datetime | None = None
    cancel_requested_by: str | None = None
    #: What the request asks of its job (core.actions): "run" unless the row says otherwise.
    action: str = actions.RUN
    #: The action's arguments (set_schedule, rename, create); None when it has none or they are unusable.
    args: dict[str, Any] | None = None
    #: Why the row's action or args cannot be used (they are then not): the worker refuses such a request.
    action_problem: str | None = None

    @classmethod
    def from_row(cls, raw: Mapping[str, Any]) -> CronRunRequest:
        """Parse a row from any store; never raises (see the module docstring)."""
        if not isinstance(raw, Mapping):
            return cls(problems=(f"row is not an object: {short(raw)}",))
        f = FieldReader(raw)
        status = f.text("status", required=True) or "queued"
        if status not in REQUEST_STATUSES:
            f.problems.append(f"unknown status {short(status)}")
        result, result_text = f.json_object("result")
        if result is not None:
            f.result_number(result, "durationMs")
            f.result_number(result, "exitCode", EXIT_CODE_RANGE)
        action, args, action_problem = _action_and_args(f)
        request: dict[str, Any] = {
            "id": f.text("id", required=True) or "",
            "project_id": f.text("project_id", required=True, plain=True) or "",
            "job_id": f.text("job_id", required=True, plain=True) or "",
            "requested_by": f.text("requested_by", plain=True),
            "requested_at": f.timestamp("requested_at", required=True),
            "status": status,
            "picked_up_at": f.timestamp("picked_up_at"),
            "completed_at": f.timestamp("completed_at"),
            "result": _bounded_result(result) if result is not None else None,
            "result_text": result_text,
            "worker_id": f.text("worker_id"),
            "lease_until": f.timestamp("lease_until"),
            "heartbeat_at": f.timestamp("heartbeat_at"),
            "attempts": f.integer("attempts", minimum=0, maximum=2**31 - 1) or 0,
            "cancel_requested_at": f.timestamp("cancel_requested_at"),
            "cancel_requested_by": f.text("cancel_requested_by", plain=True),
            "action": action,
            "args": args,
            "action_problem": action_problem,
        }
        return cls._parsed(f.problems, request)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_run(self) -> bool:
        """A request to run the job (every request before action requests existed)."""
        return self.action == actions.RUN

    @property
    def action_text(self) -> str:
        """The action with what it asks, for people: "Run", "Disable", "Schedule → 0 3 * * *"."""
        return actions.describe(self.action, self.args)

    @property
    def stopping(self) -> bool:
        """Running, and someone asked to stop it: its worker is ending the job."""
        return self.status == "running" and self.cancel_requested_at is not None

    @property
    def duration_ms(self) -> int | None:
        """How long the run took: the worker's own figure, else completed minus picked up.

        ClawdOS's worker reports `durationMs` but never sets `picked_up_at`/`completed_at`.
        """
        reported = result_number(self.result, "durationMs")
        if reported is not None:
            return reported
        if self.picked_up_at and self.completed_at and self.completed_at >= self.picked_up_at:
            return int((self.completed_at - self.picked_up_at) / timedelta(milliseconds=1))
        return None

    @property
    def exit_code(self) -> int | None:
        return result_number(self.result, "exitCode", EXIT_CODE_RANGE)

    @property
    def output_tail(self) -> str:
        """The job's output as the worker kept it: stdout, then stderr, or the raw result text."""
        if self.result_text is not None:
            return self.result_text
        parts = [
            str(self.result[key]).rstrip()
            for key in self.OUTPUT_KEYS
            if self.result and isinstance(self.result.get(key), str) and self.result[key].strip()
        ]
        return "\n".join(parts)

    @property
    def reason(self) -> str | None:
        """One line saying why a request ended as it did (for errors: what went wrong)."""
        result = self.result or {}
        for key in ("reason", "error", "message"):
            value = result.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().splitlines()[0][:MAX_SHORT_TEXT]
        if self.status == "error":
            stderr = result.get("stderrTail")
            if isinstance(stderr, str) and (line := error_line(stderr)):
                return line[:MAX_SHORT_TEXT]
            if self.exit_code is not None:
                return f"exited with code {self.exit_code}"
            if self.result_text:
                return self.result_text.strip().splitlines()[0][:MAX_SHORT_TEXT]
        return None


def _action_and_args(f: FieldReader) -> tuple[str, dict[str, Any] | None, str | None]:
    """A request's action (a row without one is a run), its args, and what is wrong with them: they must
    have the shape the database checks for clients (core.actions), else they are a problem of the row and
    are not used."""
    before = len(f.problems)
    action = f.text("action", plain=True) or actions.RUN
    if action not in actions.ACTIONS:
        f.problems.append(f"unknown action {short(action)}")
        return action, None, f.problems[-1]
    args, args_text = f.json_object("args")
    if args_text is not None or len(f.problems) > before:
        return action, None, f.problems[-1]
    problem = actions.args_problem(action, str(f.raw.get("job_id") or ""), args)
    if problem is not None:
        f.problems.append(problem)
        return action, None, problem
    return action, args, None


def _bounded_result(result: dict[str, Any]) -> dict[str, Any]:
    """Cut oversized string values of a result so one huge payload cannot bloat the app."""
    bounded: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            value = value[-MAX_TEXT:]
        bounded[str(key)] = value
    return bounded


class ProjectInfo(Row):
    """A project for the switcher: from the `cron_projects` view and/or the configured ids."""

    project_id: str
    job_count: int = 0
    last_sync_at: datetime | None = None
    last_request_at: datetime | None = None
    #: True when the user configured this id (it may have no data yet).
    configured: bool = False

    @classmethod
    def from_row(cls, raw: Mapping[str, Any], *, configured: bool = False) -> ProjectInfo:
        """Parse a `cron_projects` row; never raises. Its times are the newest of any row of the project,
        so one hostile row (an anon insert with requested_at 'infinity', before the server set it) shows
        up here: as a problem of the project, never as a crash of `projects`, `doctor` or the app."""
        if not isinstance(raw, Mapping):
            problem = f"row is not an object: {short(raw)}"
            return cls(project_id="", configured=configured, problems=(problem,))
        f = FieldReader(raw)
        project: dict[str, Any] = {
            "project_id": f.text("project_id", required=True, plain=True) or "",
            "job_count": f.integer("job_count", minimum=0, maximum=2**31 - 1) or 0,
            "last_sync_at": f.timestamp("last_sync_at"),
            "last_request_at": f.timestamp("last_request_at"),
            "configured": configured,
        }
        return cls._parsed(f.problems, project)
