"""The Control API's answers as typed values, parsed tolerantly (a field it does not send is None)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.fields import bool_or_none as _bool
from cronmirror_desktop.core.fields import int_or_none as _int
from cronmirror_desktop.core.fields import iso_or_none as _iso
from cronmirror_desktop.core.fields import text_or_none as _str
from cronmirror_desktop.core.timeutil import utc_from_ms as _from_ms


@dataclass(frozen=True)
class ControlApiStatus:
    """`GET /api/status`. Session counts are null when the server's `sessions` call failed."""

    online: bool | None
    active_sessions: int | None
    main_sessions: int | None
    last_updated: datetime | None
    port: int | None
    environment: str | None
    project_id: str | None
    workspace: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ControlApiStatus:
        known = {
            "online",
            "activeSessions",
            "mainSessions",
            "lastUpdated",
            "port",
            "environment",
            "projectId",
            "workspace",
        }
        return cls(
            online=_bool(data.get("online")),
            active_sessions=_int(data.get("activeSessions")),
            main_sessions=_int(data.get("mainSessions")),
            last_updated=_iso(data.get("lastUpdated")),
            port=_int(data.get("port")),
            environment=_str(data.get("environment")),
            project_id=_str(data.get("projectId")),
            workspace=_str(data.get("workspace")),
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass(frozen=True)
class Health:
    """The answer to "can we use direct mode now?": reachable with the status, or not, with the reason."""

    reachable: bool
    url: str
    elapsed_s: float
    status: ControlApiStatus | None = None
    error: CronMirrorError | None = None

    @property
    def reason(self) -> str | None:
        return self.error.message if self.error else None


@dataclass(frozen=True)
class ControlApiJob:
    """One entry of `GET /api/cron`. Fields of the wrong type are None (and named in `problems`)."""

    id: str
    name: str | None
    enabled: bool
    schedule_kind: str | None
    schedule_expr: str | None
    tz: str | None
    next_run: datetime | None
    next_run_at_ms: int | None
    #: The gateway's `ok` / `error` / `skipped` (the ClawdOS UI's `success`/`failed` never appear).
    last_run_status: str | None
    instructions: str | None
    target_agent_key: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    _KNOWN = frozenset(
        {
            "id",
            "name",
            "enabled",
            "scheduleKind",
            "scheduleExpr",
            "tz",
            "nextRun",
            "nextRunAtMs",
            "lastRunStatus",
            "instructions",
            "targetAgentKey",
        }
    )

    @property
    def next_run_at(self) -> datetime | None:
        """When it runs next: from `nextRunAtMs`, else from `nextRun` (which may be "")."""
        return _from_ms(self.next_run_at_ms) or self.next_run

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ControlApiJob | None:
        """None for an entry that has no usable id (nothing can be done with it)."""
        job_id = data.get("id")
        if isinstance(job_id, int) and not isinstance(job_id, bool):
            job_id = str(job_id)
        if not isinstance(job_id, str) or not job_id.strip():
            return None
        problems = []
        for key, expected in (
            ("name", str),
            ("scheduleKind", str),
            ("tz", str),
            ("lastRunStatus", str),
            ("instructions", str),
            ("targetAgentKey", str),
            ("nextRun", str),
            ("enabled", bool),
        ):
            value = data.get(key)
            if value is not None and not isinstance(value, expected):
                problems.append(f"{key} is {type(value).__name__}, expected {expected.__name__}")
        expr = data.get("scheduleExpr")
        if isinstance(expr, int | float) and not isinstance(expr, bool):
            expr = str(_int(expr) if _int(expr) is not None else expr)
        next_run_raw = data.get("nextRun")
        next_run = _iso(next_run_raw)
        if isinstance(next_run_raw, str) and next_run_raw.strip() and next_run is None:
            problems.append("nextRun is not an ISO date")
        enabled = _bool(data.get("enabled"))
        return cls(
            id=job_id,
            name=_str(data.get("name")),
            enabled=True if enabled is None else enabled,
            schedule_kind=_str(data.get("scheduleKind")),
            schedule_expr=_str(expr),
            tz=_str(data.get("tz")),
            next_run=next_run,
            next_run_at_ms=_int(data.get("nextRunAtMs")),
            last_run_status=_str(data.get("lastRunStatus")),
            instructions=_str(data.get("instructions")),
            target_agent_key=_str(data.get("targetAgentKey")),
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
            problems=tuple(problems),
        )


@dataclass(frozen=True)
class RunEntry:
    """One line of the gateway's run log (`cron runs`), clawdbot-cron.md §3; 2026.2.x fields optional."""

    ts: int | None
    job_id: str | None
    action: str | None
    status: str | None
    error: str | None
    summary: str | None
    run_at_ms: int | None
    duration_ms: int | None
    next_run_at_ms: int | None
    delivered: bool | None = None
    delivery_status: str | None = None
    delivery_error: str | None = None
    session_id: str | None = None
    session_key: str | None = None
    model: str | None = None
    provider: str | None = None
    usage: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KNOWN = frozenset(
        {
            "ts",
            "jobId",
            "action",
            "status",
            "error",
            "summary",
            "runAtMs",
            "durationMs",
            "nextRunAtMs",
            "delivered",
            "deliveryStatus",
            "deliveryError",
            "sessionId",
            "sessionKey",
            "model",
            "provider",
            "usage",
        }
    )

    @property
    def started_ms(self) -> int | None:
        """When the run started (`runAtMs`), else when it was logged (`ts`, its end)."""
        return self.run_at_ms if self.run_at_ms is not None else self.ts

    @property
    def started_at(self) -> datetime | None:
        return _from_ms(self.started_ms)

    @property
    def finished_at(self) -> datetime | None:
        return _from_ms(self.ts)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunEntry:
        usage = data.get("usage")
        return cls(
            ts=_int(data.get("ts")),
            job_id=_str(data.get("jobId")),
            action=_str(data.get("action")),
            status=_str(data.get("status")),
            error=_str(data.get("error")),
            summary=_str(data.get("summary")),
            run_at_ms=_int(data.get("runAtMs")),
            duration_ms=_int(data.get("durationMs")),
            next_run_at_ms=_int(data.get("nextRunAtMs")),
            delivered=_bool(data.get("delivered")),
            delivery_status=_str(data.get("deliveryStatus")),
            delivery_error=_str(data.get("deliveryError")),
            session_id=_str(data.get("sessionId")),
            session_key=_str(data.get("sessionKey")),
            model=_str(data.get("model")),
            provider=_str(data.get("provider")),
            usage=usage if isinstance(usage, dict) else None,
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
        )


@dataclass(frozen=True)
class RunRequested:
    """`POST /api/cron/{id}/run` answered ok: the gateway CLI **exited 0**. Not proof that the job ran
    (ClawdBot 2026.1.x skips a job that is not due and still exits 0): confirm with `confirm_run()`."""

    job_id: str
    #: Our clock, when the request was sent.
    requested_at: datetime
    #: The earliest start time (Mac mini clock, epoch ms) a run caused by this request can have: the
    #: server's Date header minus the request's round trip, or our clock minus `CLOCK_SLACK_MS`.
    not_before_ms: int
    #: Only set when the server says so (a newer server passing the CLI's `{"ran":false,...}` through).
    ran: bool | None = None
    reason: str | None = None

    @property
    def message(self) -> str:
        return "Run requested on the Mac mini."


@dataclass(frozen=True)
class RunConfirmation:
    """Whether a requested run showed up, and the person-readable sentence saying so."""

    job_id: str
    confirmed: bool
    message: str
    waited_s: float
    entry: RunEntry | None = None
    ran_at: datetime | None = None
    #: "runs" (the gateway's run log), "check" (the caller's evidence) or "server" (it said ran:false).
    via: str | None = None
    #: The last error met while polling (polling goes on through `Unreachable` and `CommandFailed`).
    last_error: CronMirrorError | None = None
