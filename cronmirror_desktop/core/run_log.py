"""One run of a job, as `cron_run_log` keeps it: scheduled, catch-up, requested or the gateway's own.

Rows come from the network like every other row (core/rows.py): `from_row` never raises, and what cannot be
understood becomes a problem on the row. `run_entry()` builds the normal form the worker writes, bounded
the way the table's checks are, so both stores take exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from cronmirror_desktop.core.fields import FieldReader, short
from cronmirror_desktop.core.rows import Row
from cronmirror_desktop.core.text import storable_text
from cronmirror_desktop.core.timeutil import format_timestamp

RunStatus = Literal["running", "ok", "error", "skipped", "cancelled"]
RunTrigger = Literal["schedule", "request", "catch-up", "manual", "unknown"]
RUN_STATUSES: tuple[str, ...] = ("running", "ok", "error", "skipped", "cancelled")
RUN_TRIGGERS: tuple[str, ...] = ("schedule", "request", "catch-up", "manual", "unknown")
RUN_SOURCES: tuple[str, ...] = ("gateway", "crontab", "launchd", "jobs")

#: The table's bounds (…_run_log.sql): what one row may hold.
MAX_RUN_TAIL = 16_000
MAX_RUN_SUMMARY = 2_000
#: Runs kept per job (the worker prunes older ones).
DEFAULT_KEEP_PER_JOB = 200

#: The columns a run-log row has, as the worker writes them (besides id and updated_at).
RUN_LOG_COLUMNS = (
    "job_id",
    "run_key",
    "run_at",
    "finished_at",
    "duration_ms",
    "status",
    "summary",
    "stdout_tail",
    "stderr_tail",
    "trigger",
    "request_id",
    "source",
    "host",
)


class RunLogEntry(Row):
    """One row of `cron_run_log`."""

    id: str = ""
    project_id: str = ""
    job_id: str = ""
    run_key: str = ""
    run_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    status: str = "ok"
    summary: str | None = None
    stdout_tail: str | None = None
    stderr_tail: str | None = None
    trigger: str = "unknown"
    request_id: str | None = None
    source: str | None = None
    host: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, raw: Mapping[str, Any]) -> RunLogEntry:
        """Parse a row from any store; never raises."""
        if not isinstance(raw, Mapping):
            return cls(problems=(f"row is not an object: {short(raw)}",))
        f = FieldReader(raw)
        status = f.text("status", required=True) or "ok"
        if status not in RUN_STATUSES:
            f.problems.append(f"unknown run status {short(status)}")
        trigger = f.text("trigger") or "unknown"
        if trigger not in RUN_TRIGGERS:
            f.problems.append(f"unknown trigger {short(trigger)}")
        entry: dict[str, Any] = {
            "id": f.text("id") or "",
            "project_id": f.text("project_id", required=True, plain=True) or "",
            "job_id": f.text("job_id", required=True, plain=True) or "",
            "run_key": f.text("run_key", required=True) or "",
            "run_at": f.timestamp("run_at", required=True),
            "finished_at": f.timestamp("finished_at"),
            "duration_ms": f.integer("duration_ms", minimum=0, maximum=2**31 - 1),
            "status": status,
            "summary": f.text("summary", limit=MAX_RUN_SUMMARY),
            "stdout_tail": f.text("stdout_tail", limit=MAX_RUN_TAIL),
            "stderr_tail": f.text("stderr_tail", limit=MAX_RUN_TAIL),
            "trigger": trigger,
            "request_id": f.text("request_id"),
            "source": f.text("source"),
            "host": f.text("host", plain=True),
            "updated_at": f.timestamp("updated_at"),
        }
        return cls._parsed(f.problems, entry)

    @property
    def output(self) -> str:
        """What the run printed: stdout, then stderr."""
        return "\n".join(t.rstrip() for t in (self.stdout_tail, self.stderr_tail) if t and t.strip())

    @property
    def first_line(self) -> str:
        """One line for a list. A run that worked: the last line it printed ("Added 1.2 GiB"), not "exit
        code 0". One that failed: why, with the last line of its error output ("exit code 128: fatal: not
        a git repository"). Else the summary's first line, or the output's last."""
        summary = _first(self.summary)
        if self.status in ("ok", "running"):
            return (_last(self.output) or summary)[:300]
        error = _last(self.stderr_tail) if self.status == "error" else ""
        if summary and error and error not in summary:
            return f"{summary}: {error}"[:300]
        return (summary or error or _last(self.output))[:300]

    @property
    def failed(self) -> bool:
        return self.status == "error"


def run_entry(
    *,
    job_id: str,
    run_key: str,
    run_at: datetime,
    status: RunStatus,
    trigger: RunTrigger = "unknown",
    finished_at: datetime | None = None,
    duration_ms: int | None = None,
    summary: str | None = None,
    stdout_tail: str | None = None,
    stderr_tail: str | None = None,
    request_id: str | None = None,
    source: str | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """A run-log row in the one normal form both stores write: every column, timestamps as ISO text,
    text storable (core/text.py) and cut to the table's bounds (tails keep their end)."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    if trigger not in RUN_TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")

    def tail(text: str | None) -> str | None:
        return storable_text(text)[-MAX_RUN_TAIL:] if text else None

    return {
        "job_id": job_id,
        "run_key": run_key,
        "run_at": format_timestamp(run_at),
        "finished_at": format_timestamp(finished_at),
        "duration_ms": None if duration_ms is None else min(max(0, int(duration_ms)), 2**31 - 1),
        "status": status,
        "summary": storable_text(summary)[:MAX_RUN_SUMMARY] if summary else None,
        "stdout_tail": tail(stdout_tail),
        "stderr_tail": tail(stderr_tail),
        "trigger": trigger,
        "request_id": request_id,
        "source": source if source in RUN_SOURCES else None,
        "host": host,
    }


def _first(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def _last(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1].strip() if lines else ""
