"""`RunOutcome`: how one request ended, judged by the source that ran (or changed) the job, ready for
`cron_run_requests`.

`verdict` is the request's final status (`done` / `error`); `reason` is one sentence for a person.
`ran` says whether anything was executed at all — False for an unknown job or a refused run.
An action request (enable, disable, set_schedule, ... — core.actions) ends the same way, with `action` set
and `changes` saying what changed (`{"enabled": {"from": true, "to": false}}`); its result carries both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cronmirror_desktop.core.text import storable_text
from worker.process import TAIL_CHARS, ProcessResult

Verdict = Literal["done", "error"]
#: How a request ends: its source's verdict, or `cancelled` when someone stopped it.
FinalStatus = Literal["done", "error", "cancelled"]


@dataclass(frozen=True)
class RunOutcome:
    verdict: FinalStatus
    reason: str
    source: str
    job_id: str | None = None
    exit_code: int | None = None
    duration_ms: int = 0
    stdout_tail: str = ""
    stderr_tail: str = ""
    timed_out: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    ran: bool = True
    #: What the request asked (core.actions); "run" for a run.
    action: str = "run"
    #: For an action: what changed, field -> {"from", "to"} (empty: nothing needed changing).
    changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict == "done"

    @property
    def last_status(self) -> Literal["ok", "error"]:
        """The job's `last_status` after this run."""
        return "ok" if self.ok else "error"

    def result(self, worker_id: str, redact: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The request's `result` column: tails capped at 4000 characters, every text storable
        (`core.text`) and, with `redact`, free of the secrets the worker holds."""

        def text(value: str) -> str:
            return storable_text(redact(value) if redact is not None else value)

        result: dict[str, Any] = {
            "exitCode": self.exit_code,
            "durationMs": self.duration_ms,
            "stdoutTail": text(self.stdout_tail)[-TAIL_CHARS:],
            "stderrTail": text(self.stderr_tail)[-TAIL_CHARS:],
            "source": self.source,
            "workerId": worker_id,
            "reason": text(self.reason),
        }
        if self.action != "run":
            result["action"] = self.action
            result["changed"] = _storable(self.changes, text)
        return result

    @classmethod
    def from_process(
        cls, result: ProcessResult, *, verdict: Verdict, reason: str, source: str, job_id: str
    ) -> RunOutcome:
        """A run that executed a process: its exit code, timing and output tails, judged as given."""
        return cls(
            verdict=verdict,
            reason=reason,
            source=source,
            job_id=job_id,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            stdout_tail=result.stdout_tail,
            stderr_tail=result.stderr_tail,
            timed_out=result.timed_out,
            started_at=result.started_at,
            finished_at=result.finished_at,
        )

    @classmethod
    def refused(
        cls, reason: str, *, source: str, job_id: str | None = None, action: str = "run"
    ) -> RunOutcome:
        """Nothing was run (or changed): unknown job, unusable id or arguments, missing tool."""
        return cls("error", reason, source, job_id, ran=False, action=action)

    @classmethod
    def applied(
        cls,
        action: str,
        reason: str,
        *,
        source: str,
        job_id: str,
        changes: Mapping[str, Any],
        duration_ms: int = 0,
        stdout_tail: str = "",
        stderr_tail: str = "",
    ) -> RunOutcome:
        """An action that went through (`changes` empty: the job already was that way)."""
        return cls(
            "done",
            reason,
            source,
            job_id,
            duration_ms=duration_ms,
            stdout_tail=stdout_tail,
            stderr_tail=stderr_tail,
            ran=False,
            action=action,
            changes=dict(changes),
        )


def _storable(value: Any, text: Callable[[str], str]) -> Any:
    """`changes` with every text made storable (they may repeat what a gateway or a file said)."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, Mapping):
        return {str(k): _storable(v, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v, text) for v in value]
    return value


def last_line(text: str) -> str:
    """The last non-empty line of some output, trimmed for a one-line reason."""
    for line in reversed(text.strip().splitlines()):
        if line.strip():
            return line.strip()[:300]
    return ""


def seconds_text(seconds: float) -> str:
    """A timeout as people write it: "3 s", "1.5 s", "15 min", "2 h 30 min"."""
    if seconds < 120:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


def judge_process(result: ProcessResult, *, source: str, job_id: str, what: str = "the job") -> RunOutcome:
    """A command's own run: exit code 0 is `done`; anything else, a signal or the timeout is `error`."""
    if result.timed_out:
        limit = result.timeout_s if result.timeout_s is not None else result.duration_ms / 1000
        verdict: Verdict = "error"
        reason = f"{what} timed out after {seconds_text(limit)}; its whole process group was killed"
    elif result.exit_code == 0:
        verdict, reason = "done", f"{what} finished (exit code 0)"
    elif result.signal_name:
        verdict, reason = "error", f"{what} was killed by {result.signal_name}"
    else:
        detail = last_line(result.stderr_tail)
        verdict = "error"
        reason = f"{what} failed with exit code {result.exit_code}" + (f": {detail}" if detail else "")
    return RunOutcome.from_process(result, verdict=verdict, reason=reason, source=source, job_id=job_id)
