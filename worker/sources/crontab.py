"""Jobs from the user's crontab (`crontab -l`), run the way cron runs them.

Why `/bin/sh -c <line>` is allowed here when the rule is "argument vectors only": the line is the user's own
crontab entry, read from `crontab -l` by this source and looked up by its id — exactly what cron itself
would hand to the shell at the scheduled time. A run request only names the id; no byte of the request
reaches the shell. The environment is cron's (HOME, LOGNAME, USER, PATH=/usr/bin:/bin, SHELL=/bin/sh) plus
the crontab's own assignments above the entry, and the working directory is HOME, as under cron.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from pathlib import Path

from cronmirror_desktop.core.schedule import CRON, EVENT
from worker.jobs import LocalJob, RunSpec
from worker.outcome import RunOutcome, last_line
from worker.process import OnStarted, SpawnError, run_process
from worker.sources.base import JobSource, SourceListing
from worker.sources.crontab_parse import CrontabEntry, entry_ids, parse_crontab

SOURCE = "crontab"
#: What cron(8) puts in a job's environment before the crontab's own assignments.
CRON_PATH = "/usr/bin:/bin"
_MAX_CRONTAB_CHARS = 2_000_000


def cron_environment(entry: CrontabEntry) -> tuple[tuple[str, str], ...]:
    home = os.path.expanduser("~")
    user = getpass.getuser()
    env = {"HOME": home, "LOGNAME": user, "USER": user, "PATH": CRON_PATH, "SHELL": "/bin/sh"}
    env.update(dict(entry.env))
    return tuple(env.items())


def job_from_entry(entry: CrontabEntry, job_id: str) -> LocalJob:
    env = cron_environment(entry)
    env_map = dict(env)
    reboot = entry.schedule == "@reboot"
    return LocalJob(
        job_id=job_id,
        name=entry.comment or _short(entry.command),
        source=SOURCE,
        schedule_kind=EVENT if reboot else CRON,
        schedule_expr=entry.schedule,
        tz=entry.zone,
        instructions=entry.raw_command,
        native_id=f"line {entry.line_no}",
        run_spec=RunSpec(
            argv=(env_map["SHELL"] or "/bin/sh", "-c", entry.command),
            env=env,
            env_complete=True,
            cwd=env_map["HOME"],
            stdin_data=entry.stdin_data,
        ),
    )


def _existing_dir(path: str | None) -> str | None:
    """cron runs in HOME; if HOME is gone, run where we are rather than not at all."""
    return path if path and Path(path).is_dir() else None


def _short(command: str, limit: int = 80) -> str:
    text = " ".join(command.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CrontabSource(JobSource):
    name = SOURCE

    def __init__(self, command: Sequence[str] = ("crontab", "-l"), *, list_timeout: float = 30.0) -> None:
        self.command = tuple(command)
        self.list_timeout = list_timeout

    async def list_jobs(self) -> SourceListing:
        try:
            result = await run_process(self.command, timeout=self.list_timeout, tail_chars=_MAX_CRONTAB_CHARS)
        except SpawnError:
            return SourceListing(SOURCE, state="unavailable", message=f"{self.command[0]} is not installed")
        if result.exit_code != 0:
            error = last_line(result.stderr_tail)
            if "no crontab for" in error.lower():
                return SourceListing(SOURCE, message="this user has no crontab")
            return SourceListing(SOURCE, state="error", message=f"`{' '.join(self.command)}` failed: {error}")
        parsed = parse_crontab(result.stdout_tail)
        warnings = list(parsed.warnings)
        if result.stdout_truncated:
            warnings.append("the crontab is larger than 2 MB; only its end was read")
        ids = entry_ids(parsed.entries)
        jobs = tuple(job_from_entry(entry, job_id) for entry, job_id in zip(parsed.entries, ids, strict=True))
        return SourceListing(SOURCE, jobs, warnings=tuple(warnings))

    async def run(self, job: LocalJob, *, timeout: float, on_started: OnStarted | None = None) -> RunOutcome:  # noqa: ASYNC109 - the run's kill deadline
        # cron gives a job only the entry's own variables (and its defaults), not the worker's environment.
        cwd = _existing_dir(job.run_spec.cwd) if job.run_spec else None
        return await self.run_command(
            job,
            timeout=timeout,
            on_started=on_started,
            base_env={},
            cwd=cwd,
            what="the crontab entry",
            missing="crontab entry has no command",
        )
