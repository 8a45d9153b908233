"""A gateway `CronJob` (CLI JSON or jobs.json) → `LocalJob`, per clawdbot-cron.md §8.

| column          | from                                                                  |
| job_id / name   | `id` (verbatim: the desktop's direct mode and the Control API use it) / `name` |
| schedule_kind   | `schedule.kind` (unknown kinds kept as they are, with a warning)      |
| schedule_expr   | cron: `expr`; every: `str(everyMs)`; at: ISO of `at` (2026.2+) or `atMs` |
| tz              | `schedule.tz` (cron only; none = the Mac's zone)                      |
| next/last run   | `state.nextRunAtMs` / `state.lastRunAtMs` (ms → UTC)                  |
| last_status     | `state.lastRunStatus`, else `state.lastStatus` (ok/error/skipped)    |
| last_duration   | `state.lastDurationMs`                                                |
| instructions    | `payload.message` (agentTurn), `payload.text` (systemEvent), OpenClaw's `payload.argv` |
|                 | (kind `command`, shown shell-quoted), else a `command` / `script` text   |
A job that cannot be mapped at all (no usable id) is left out with a warning; odd fields are warnings.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta
from typing import Any

from cronmirror_desktop.core.rows import LAST_STATUSES
from cronmirror_desktop.core.run_log import RunStatus, RunTrigger, run_entry
from cronmirror_desktop.core.schedule import AT, CRON, EVERY
from cronmirror_desktop.core.timeutil import iso_z, parse_iso, utc_from_ms
from worker.jobs import LocalJob
from worker.outcome import Verdict
from worker.sources.base import is_plain_id

SOURCE = "gateway"
MAX_INSTRUCTIONS = 20_000


def map_gateway_job(raw: object, *, position: int) -> tuple[LocalJob | None, list[str]]:
    """(job or None, warnings) for the job at `position` (1-based) of a listing."""
    if not isinstance(raw, dict):
        return None, [f"gateway job #{position} is not an object; left out"]
    job_id = raw.get("id")
    if not is_plain_id(job_id) or str(job_id).startswith("-") or "/" in str(job_id) or "\\" in str(job_id):
        return None, [f"gateway job #{position} has no usable id ({_cut(job_id)}); left out"]
    assert isinstance(job_id, str)
    raw_name = raw.get("name")
    name = raw_name if isinstance(raw_name, str) and raw_name else job_id
    label = f"gateway job {name!r}"
    notes: list[str] = []
    kind, expr, tz, anchor = _schedule(raw.get("schedule"), label, notes)
    raw_state = raw.get("state")
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    status = state.get("lastRunStatus") or state.get("lastStatus")
    if status is None and raw.get("status") in LAST_STATUSES:  # 2026.9 `cron list` per-job status
        status = raw.get("status")
    if status is not None and status not in LAST_STATUSES:
        notes.append(f"{label}: unknown last status {status!r} (shown as none)")
        status = None
    duration = state.get("lastDurationMs")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
        duration = None
    enabled = raw.get("enabled", True)
    job = LocalJob(
        job_id=job_id,
        name=name,
        source=SOURCE,
        schedule_kind=kind,
        schedule_expr=expr,
        tz=tz,
        enabled=enabled if isinstance(enabled, bool) else True,
        next_run_at=utc_from_ms(state.get("nextRunAtMs")),
        last_run_at=utc_from_ms(state.get("lastRunAtMs")),
        last_status=status,
        last_duration_ms=int(duration) if duration is not None else None,
        instructions=_instructions(raw.get("payload")),
        native_id=job_id,
        anchor_at=anchor,
        problems=tuple(notes),
    )
    return job, notes


def _schedule(
    schedule: object, label: str, notes: list[str]
) -> tuple[str | None, str | None, str | None, Any]:
    if not isinstance(schedule, dict) or not isinstance(schedule.get("kind"), str):
        notes.append(f"{label}: no schedule")
        return None, None, None, None
    kind = schedule["kind"]
    tz = schedule.get("tz") if isinstance(schedule.get("tz"), str) and schedule.get("tz") else None
    if kind == CRON:
        expr = schedule.get("expr")
        if not isinstance(expr, str):
            notes.append(f"{label}: cron schedule without an expression")
            expr = None
        return CRON, expr, tz, None
    if kind == EVERY:
        every = schedule.get("everyMs")
        if isinstance(every, bool) or not isinstance(every, int | float) or every <= 0:
            notes.append(f"{label}: every-schedule without a valid everyMs ({every!r})")
            return EVERY, None, None, None
        return EVERY, str(int(every)), None, utc_from_ms(schedule.get("anchorMs"))
    if kind == AT:
        return AT, _at_text(schedule, label, notes), tz, None
    notes.append(f"{label}: unknown schedule kind {kind!r}; listed without a computed next run")
    expr = schedule.get("expr")
    return kind, expr if isinstance(expr, str) else None, tz, None


def _at_text(schedule: dict[str, Any], label: str, notes: list[str]) -> str | None:
    at = schedule.get("at")
    if isinstance(at, str):
        try:
            return iso_z(parse_iso(at))
        except ValueError:
            notes.append(f"{label}: 'at' time {at!r} is not ISO 8601")
            return at
    when = utc_from_ms(schedule.get("atMs"))
    if when is None:
        notes.append(f"{label}: at-schedule without a time")
        return None
    return iso_z(when)


def _instructions(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return None
    command = payload.get("command")
    argv = payload.get("argv", command.get("argv") if isinstance(command, dict) else None)
    if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
        text = shlex.join(argv)  # OpenClaw 2026.9 `{kind: "command", argv: [...]}`: what the gateway runs
        return text if len(text) <= MAX_INSTRUCTIONS else text[: MAX_INSTRUCTIONS - 1] + "…"
    for key in ("message", "text", "command", "script"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= MAX_INSTRUCTIONS else value[: MAX_INSTRUCTIONS - 1] + "…"
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return " ".join(value)[:MAX_INSTRUCTIONS]
    return None


def judge_run_entry(entry: dict[str, Any]) -> tuple[Verdict, str]:
    """A finished run-log entry (or `cron` finished event) → verdict and reason. `completionStatus`
    (OpenClaw) overrides an `ok` status: the job ran, but the run failed as a whole (e.g. not delivered)."""
    status = entry.get("status")
    summary, error = _text(entry.get("summary")), _text(entry.get("error"))
    completion = entry.get("completionStatus")
    if status == "ok" and completion not in (None, "succeeded"):
        delivery = _text(entry.get("deliveryStatus")) or str(completion)
        detail = _text(entry.get("deliveryError")) or error or summary or "no detail given"
        return "error", f"the job ran, but the gateway counts the run as failed ({delivery}): {detail[:300]}"
    if status == "ok":
        return "done", "the gateway ran it: ok" + (f" — {summary[:200]}" if summary else "")
    if status == "skipped":
        return "error", "the gateway skipped it" + (f": {error}" if error else "")
    return "error", f"the gateway ran it and it failed: {error or status}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _cut(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def gateway_run_at(entry: dict[str, Any]) -> datetime | None:
    """When a run-log entry's run started (`runAtMs`, else the entry's own time)."""
    return utc_from_ms(entry.get("runAtMs", entry.get("ts")))


def run_log_entry(job: LocalJob, entry: dict[str, Any]) -> dict[str, Any] | None:
    """A finished entry of the gateway's run log as a run-history row (None for an entry that is not a
    finished run, or has no time). Its key is the gateway's run id, else the job and start time, so
    reading the same entry again never makes a second row."""
    run_at = gateway_run_at(entry)
    if run_at is None or entry.get("action", "finished") != "finished" or entry.get("status") is None:
        return None
    verdict, reason = judge_run_entry(entry)
    status: RunStatus = (
        "skipped" if entry.get("status") == "skipped" else ("ok" if verdict == "done" else "error")
    )
    run_id = entry.get("runId")
    key = (
        run_id if isinstance(run_id, str) and run_id else f"{job.native_id}:{int(run_at.timestamp() * 1000)}"
    )
    trigger: RunTrigger = "unknown"
    if isinstance(run_id, str):
        trigger = "manual" if run_id.startswith("manual:") else "schedule"
    duration = entry.get("durationMs")
    duration_ms = (
        int(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None
    )
    error = _text(entry.get("error")) or _text(entry.get("deliveryError"))
    return run_entry(
        job_id=job.mirror_id,
        run_key=f"gateway:{key}"[:512],
        run_at=run_at,
        status=status,
        trigger=trigger,
        finished_at=run_at + timedelta(milliseconds=duration_ms) if duration_ms is not None else None,
        duration_ms=duration_ms,
        summary=reason,
        stdout_tail=_text(entry.get("summary")) or None,
        stderr_tail=error or None,
        source=SOURCE,
        host=job.host,
    )
