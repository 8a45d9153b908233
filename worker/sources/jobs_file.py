"""Jobs from CronMirror's own `jobs.toml`: plain commands for anyone without a gateway, and for the demo.

    [jobs.backup]                      # id "jobs:backup"
    name = "Nightly backup"            # default: the key
    cron = "0 3 * * *"                 # or: every = "30m" (or milliseconds), or: at = 2026-12-01T09:00:00Z
    tz = "Europe/Berlin"               # default: the host's zone
    command = ["restic", "backup", "/Users/me"]   # an argument list, never a shell string
    enabled = true
    timeout = "20m"                    # or seconds
    cwd = "~/work"                     # optional
    env = { RESTIC_REPOSITORY = "/Volumes/backup" }   # optional, added to the worker's environment
    instructions = "What this job is for"
    catch_up = "1h"                    # a run missed while the Mac slept or the worker was down is made
                                       # up for once if it was due within this (default 1h); "none": never

The worker runs these jobs on their schedule (worker/scheduler.py, cron(8)'s rules). A job without
cron/every/at is run by hand only. A mistake in one job is reported with its line and key
and only that job is left out; a file that is not TOML at all is reported whole.
"""

from __future__ import annotations

import asyncio
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from time import monotonic
from typing import Any

from cronmirror_desktop.core.actions import CAPABILITIES, CREATE
from cronmirror_desktop.core.schedule import (
    AT,
    CRON,
    EVENT,
    EVERY,
    InvalidSchedule,
    expand_cron,
    resolve_zone,
)
from cronmirror_desktop.core.timeutil import iso_z, parse_iso
from worker.job_env import job_environment
from worker.jobs import LocalJob, RunSpec
from worker.outcome import RunOutcome
from worker.process import OnStarted
from worker.sources.base import JobSource, SourceListing

SOURCE = "jobs"
DEFAULT_FILE_NAME = "jobs.toml"
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KNOWN_KEYS = frozenset(
    {
        "name",
        "cron",
        "every",
        "at",
        "tz",
        "command",
        "enabled",
        "timeout",
        "cwd",
        "env",
        "instructions",
        "catch_up",
    }
)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_HEADER_RE = re.compile(r"""^\s*\[\s*jobs\s*\.\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_.-]+))\s*\]""")


class JobError(ValueError):
    """One job's mistake: `key` names the setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")


def parse_duration_ms(value: object, key: str) -> int:
    """ "30m", "1.5h", "500ms" (ClawdBot's `--every` syntax) or a bare number of milliseconds."""
    if isinstance(value, bool):
        raise JobError(key, 'must be a duration like "30m" or milliseconds')
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        ms = round(float(match.group(1)) * _UNIT_MS[match.group(2)])
    else:
        raise JobError(key, f'must be a duration like "30m" or milliseconds, got {value!r}')
    if ms <= 0:
        raise JobError(key, "must be positive")
    return ms


@dataclass(frozen=True)
class ParsedFile:
    jobs: tuple[LocalJob, ...]
    warnings: tuple[str, ...]
    error: str | None = None


def parse_jobs_file(text: str, *, label: str = DEFAULT_FILE_NAME) -> ParsedFile:
    """Parse the file's text: each job validated on its own."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ParsedFile((), (), f"{label}: not valid TOML: {exc}")
    lines = _header_lines(text)
    warnings = [f"{label}: unknown top-level key {k!r} (ignored)" for k in data if k != "jobs"]
    table = data.get("jobs", {})
    if not isinstance(table, dict):
        return ParsedFile((), tuple(warnings), f"{label}: 'jobs' must be a table of [jobs.<key>] sections")
    jobs: list[LocalJob] = []
    for key, spec in table.items():
        where = f"{label}:{lines[key]}" if key in lines else label
        try:
            job, notes = _job(key, spec)
        except (JobError, InvalidSchedule) as exc:
            warnings.append(f"{where} [jobs.{key}] {exc}; job left out")
            continue
        warnings += [f"{where} [jobs.{key}] {note}" for note in notes]
        jobs.append(job)
    return ParsedFile(tuple(jobs), tuple(warnings))


def _header_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _HEADER_RE.match(line)
        if match:
            lines.setdefault(next(g for g in match.groups() if g is not None), number)
    return lines


def _job(key: str, spec: Any) -> tuple[LocalJob, list[str]]:
    if not KEY_RE.match(key):
        raise JobError(
            "key", "use letters, digits, '_', '.', '-' (at most 64), starting with a letter or digit"
        )
    if not isinstance(spec, dict):
        raise JobError("key", "must be a [jobs.<key>] table")
    notes = [f"unknown key {k!r} (ignored)" for k in spec if k not in KNOWN_KEYS]
    command = spec.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(a, str) and a for a in command):
        raise JobError("command", 'must be a non-empty list of strings, e.g. ["/usr/bin/env", "true"]')
    if any("\x00" in a for a in command):
        raise JobError("command", "contains a NUL character")
    tz = _text(spec, "tz")
    if tz is not None:
        resolve_zone(tz)
    kinds = [k for k in ("cron", "every", "at") if k in spec]
    if len(kinds) > 1:
        raise JobError(kinds[1], f"choose one of cron, every, at (found {', '.join(kinds)})")
    kind, expr = EVENT, "on demand"
    if kinds == ["cron"]:
        kind, expr = CRON, _text(spec, "cron") or ""
        expand_cron(expr)
    elif kinds == ["every"]:
        kind, expr = EVERY, str(parse_duration_ms(spec["every"], "every"))
    elif kinds == ["at"]:
        kind, expr = AT, iso_z(_instant(spec["at"], tz))
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise JobError("enabled", "must be true or false")
    timeout_s = _timeout_seconds(spec.get("timeout"))
    catch_up_s = _catch_up_seconds(spec.get("catch_up"))
    env = spec.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise JobError("env", "must be a table of text values")
    cwd = _text(spec, "cwd")
    job = LocalJob(
        job_id=f"jobs:{key}",
        name=_text(spec, "name") or key,
        source=SOURCE,
        schedule_kind=kind,
        schedule_expr=expr,
        tz=tz,
        enabled=enabled,
        instructions=_text(spec, "instructions"),
        native_id=key,
        run_spec=RunSpec(
            argv=tuple(command),
            env=tuple(sorted(env.items())),
            cwd=os.path.expanduser(cwd) if cwd else None,
        ),
        timeout_s=timeout_s,
        catch_up_s=catch_up_s,
    )
    return job, notes


def _timeout_seconds(value: object) -> float | None:
    """A bare number is seconds here (a timeout is thought of in seconds); text is a duration."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise JobError("timeout", "must be positive")
        return float(value)
    return parse_duration_ms(value, "timeout") / 1000


def _catch_up_seconds(value: object) -> float | None:
    """`catch_up`: a duration ("1h", "30m", or seconds), or "none"; absent = the scheduler's default."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in {"none", "off", "never"}:
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise JobError("catch_up", 'must be a duration like "1h", or "none"')
        return float(value)
    try:
        return parse_duration_ms(value, "catch_up") / 1000
    except JobError:
        raise JobError("catch_up", f'must be a duration like "1h", or "none", got {value!r}') from None


def _text(spec: dict[str, Any], key: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise JobError(key, "must be text")
    return value


def _instant(value: object, tz: str | None) -> datetime:
    zone = resolve_zone(tz)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, str):
        try:
            return parse_iso(value, zone)
        except ValueError:
            pass
    if isinstance(value, date | time):
        raise JobError("at", "needs a date and a time, e.g. 2026-12-01T09:00:00Z")
    raise JobError("at", f"must be a date and time, got {value!r}")


class JobsFileSource(JobSource):
    """Looks at `path` on every call, so edits show up at the next sync without a restart; the parsed
    listing is reused while the file's size and modification time are unchanged. Action requests edit the
    file (worker.sources.jobs_file_edit: only the job's own table changes, atomically, never over someone
    else's edit)."""

    name = SOURCE
    actions = CAPABILITIES[SOURCE] | {CREATE}

    def __init__(self, path: Path, *, new_job_programs: Collection[str] = ()) -> None:
        """`new_job_programs`: what a job added from a request may run (settings: worker.new_job_programs);
        none by default, so an Add job is refused (see `create`)."""
        self.path = Path(path)
        self.new_job_programs = frozenset(new_job_programs)
        self._cached: tuple[tuple[int, int, int], SourceListing] | None = None

    async def list_jobs(self) -> SourceListing:
        try:
            stat = self.path.stat()
            signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            signature = None
        if signature is not None and self._cached is not None and self._cached[0] == signature:
            return self._cached[1]
        listing = self._read()
        self._cached = (signature, listing) if signature is not None else None
        return listing

    def _read(self) -> SourceListing:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return SourceListing(SOURCE, state="unavailable", message=f"no jobs file at {self.path}")
        except (OSError, UnicodeDecodeError) as exc:
            return SourceListing(SOURCE, state="error", message=f"cannot read {self.path}: {exc}")
        parsed = parse_jobs_file(text, label=self.path.name)
        if parsed.error:
            return SourceListing(SOURCE, state="error", message=parsed.error, warnings=parsed.warnings)
        return SourceListing(SOURCE, parsed.jobs, warnings=parsed.warnings)

    async def run(self, job: LocalJob, *, timeout: float, on_started: OnStarted | None = None) -> RunOutcome:  # noqa: ASYNC109 - the run's kill deadline
        cwd = job.run_spec.cwd if job.run_spec else None
        return await self.run_command(
            job, timeout=timeout, on_started=on_started, base_env=job_environment(), cwd=cwd
        )

    async def apply(self, job: LocalJob, action: str, args: Mapping[str, Any]) -> RunOutcome:
        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        return await self._edit(job.job_id, job.native_id, action, args)

    async def create(self, job_id: str, args: Mapping[str, Any]) -> RunOutcome:
        """Add a job, if its program is one the owner named. The public key ships in every copy of the app,
        so whoever holds it can queue an Add job: without this rule, that is running any command on the
        Mac mini (add, then run). With it, a request can only schedule programs the owner chose."""
        refused = self._program_refused(args.get("command"))
        if refused is not None:
            return RunOutcome.refused(
                f"{refused}; {self.path.name} was not changed", source=SOURCE, job_id=job_id, action=CREATE
            )
        return await self._edit(job_id, str(args["key"]), CREATE, args)

    def _program_refused(self, command: object) -> str | None:
        program = command[0] if isinstance(command, list | tuple) and command else None
        if not self.new_job_programs:
            return (
                "this worker adds no jobs from requests: anyone holding the project's public key can queue "
                "one, so the Mac mini's owner names the programs such jobs may run "
                "(`cronmirror config set worker.new_job_programs PROGRAM,...`), or adds the job to "
                f"{self.path.name} by hand"
            )
        if program not in self.new_job_programs:
            allowed = ", ".join(sorted(self.new_job_programs))
            return (
                f"{str(program)[:200]!r} is not a program this worker lets an added job run ({allowed}; "
                "worker.new_job_programs)"
            )
        return None

    async def _edit(self, job_id: str, key: str, action: str, args: Mapping[str, Any]) -> RunOutcome:
        from worker.sources.jobs_file_edit import EditRefused, edit_file  # it reads with this module

        started = monotonic()
        try:
            edit = await asyncio.to_thread(edit_file, self.path, key, action, args)
        except EditRefused as exc:
            return RunOutcome.refused(
                f"{exc}; {self.path.name} was not changed", source=SOURCE, job_id=job_id, action=action
            )
        self._cached = None
        return RunOutcome.applied(
            action,
            f"{job_id}: {edit.summary}" + (f" ({self.path.name})" if edit.changes else ""),
            source=SOURCE,
            job_id=job_id,
            changes=edit.changes,
            duration_ms=int((monotonic() - started) * 1000),
        )
