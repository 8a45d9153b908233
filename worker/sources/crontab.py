"""Jobs from the user's crontab (`crontab -l`), run the way cron runs them.

Why `/bin/sh -c <line>` is allowed here when the rule is "argument vectors only": the line is the user's own
crontab entry, read from `crontab -l` by this source and looked up by its id — exactly what cron itself
would hand to the shell at the scheduled time. A run request only names the id; no byte of the request
reaches the shell. The environment is cron's (HOME, LOGNAME, USER, PATH=/usr/bin:/bin, SHELL=/bin/sh) plus
the crontab's own assignments above the entry, and the working directory is HOME, as under cron.

Actions (core.actions): disable comments the entry out with a marker CronMirror recognises
(`#cronmirror-disabled# ` + the line; cron skips it, the listing shows it disabled under the same id), enable
removes the marker, set_schedule replaces the entry's five time fields (or its macro) and nothing else of the
line. The crontab is read with the listing command, changed in that one line, checked (every other entry as
it was), read again, and installed with `crontab -` only if it did not change meanwhile. A crontab has no
per-entry time zone (`CRON_TZ` applies to every line below it), so a schedule may not bring its own.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.actions import CAPABILITIES, DISABLE, ENABLE, SET_SCHEDULE
from cronmirror_desktop.core.schedule import CRON, EVENT
from worker.jobs import LocalJob, RunSpec
from worker.outcome import RunOutcome, last_line
from worker.process import OnStarted, SpawnError, run_process
from worker.sources.base import JobSource, SourceListing
from worker.sources.crontab_parse import DISABLED_MARKER, CrontabEntry, entry_ids, parse_crontab

SOURCE = "crontab"
#: What cron(8) puts in a job's environment before the crontab's own assignments.
CRON_PATH = "/usr/bin:/bin"
_MAX_CRONTAB_CHARS = 2_000_000
INSTALL_TIMEOUT = 30.0
#: The time fields (or the macro) at the start of an entry, and the rest of the line.
_ENTRY_PARTS = re.compile(r"^(\s*)(@\w+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)(\s.*)$", re.DOTALL)


class CrontabRefused(Exception):
    """The crontab cannot be changed safely; `str()` says why (nothing was installed)."""


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
        enabled=entry.enabled,
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
    """`command` lists the crontab (`crontab -l`); `install_command` installs a new one from its stdin
    (default: the same program with `-`, when `command` ends in `-l`; None: changes are refused)."""

    name = SOURCE
    actions = CAPABILITIES[SOURCE]

    def __init__(
        self,
        command: Sequence[str] = ("crontab", "-l"),
        *,
        list_timeout: float = 30.0,
        install_command: Sequence[str] | None = None,
    ) -> None:
        self.command = tuple(command)
        self.list_timeout = list_timeout
        if install_command is None and len(self.command) >= 2 and self.command[-1] == "-l":
            install_command = (*self.command[:-1], "-")
        self.install_command = tuple(install_command) if install_command else None

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

    # -- actions ------------------------------------------------------------------------------------

    async def apply(self, job: LocalJob, action: str, args: Mapping[str, Any]) -> RunOutcome:
        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        started = time.monotonic()
        try:
            changes, summary = await self._change(job, action, args)
        except CrontabRefused as exc:
            return RunOutcome.refused(
                f"{exc}; the crontab was not changed", source=SOURCE, job_id=job.job_id, action=action
            )
        return RunOutcome.applied(
            action,
            f"{job.job_id}: {summary}",
            source=SOURCE,
            job_id=job.job_id,
            changes=changes,
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    async def _read(self) -> str:
        try:
            result = await run_process(self.command, timeout=self.list_timeout, tail_chars=_MAX_CRONTAB_CHARS)
        except SpawnError as exc:
            raise CrontabRefused(f"{self.command[0]} cannot be started: {exc.message}") from None
        if result.exit_code != 0:
            raise CrontabRefused(f"`{' '.join(self.command)}` failed: {last_line(result.stderr_tail)}")
        if result.stdout_truncated:
            raise CrontabRefused("the crontab is larger than 2 MB")
        if "\ufffd" in result.stdout_tail:
            raise CrontabRefused("the crontab is not UTF-8 text, so CronMirror does not rewrite it")
        return result.stdout_tail

    async def _change(
        self, job: LocalJob, action: str, args: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str]:
        if self.install_command is None:
            raise CrontabRefused(
                f"the crontab is read with `{' '.join(self.command)}`, so CronMirror does not know how to "
                "install a changed one"
            )
        before = await self._read()
        lines = before.splitlines(keepends=True)
        parsed = parse_crontab(before)
        entries = dict(zip(entry_ids(parsed.entries), parsed.entries, strict=True))
        entry = entries.get(job.job_id)
        if entry is None:
            raise CrontabRefused(f"the crontab has no entry {job.job_id} any more")
        index = entry.line_no - 1
        line = lines[index]
        body, ending = line.rstrip("\r\n"), line[len(line.rstrip("\r\n")) :]
        changes: dict[str, Any]
        if action in (ENABLE, DISABLE):
            wanted = action == ENABLE
            if entry.enabled == wanted:
                return {}, f"it was already {'enabled' if wanted else 'disabled'}"
            if wanted:
                start = body.index(DISABLED_MARKER.strip())
                body = body[start + len(DISABLED_MARKER.strip()) :].lstrip(" ")
            else:
                body = DISABLED_MARKER + body
            changes = {"enabled": {"from": entry.enabled, "to": wanted}}
            summary = "enabled (the crontab line is active again)" if wanted else "disabled (commented out)"
        elif action == SET_SCHEDULE:
            body, changes, summary = self._new_schedule(entry, body, args)
        else:
            raise CrontabRefused(f"a crontab entry cannot be asked to {action}")
        if not changes:
            return {}, summary
        lines[index] = body + ending
        after = "".join(lines)
        self._check(parsed.entries, after, entry, action, args)
        if await self._read() != before:
            raise CrontabRefused("the crontab changed while CronMirror was editing it; ask again")
        await self._install(after)
        if action == SET_SCHEDULE:
            new = parse_crontab(after).entries
            new_id = entry_ids(new)[[e.line_no for e in new].index(entry.line_no)]
            if new_id != job.job_id:
                changes["jobId"] = {"from": job.job_id, "to": new_id}
                summary += f"; its id is now {new_id}"
        return changes, summary

    def _new_schedule(
        self, entry: CrontabEntry, body: str, args: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], str]:
        if args["kind"] != CRON:
            raise CrontabRefused("a crontab entry's schedule is a cron expression")
        tz = args.get("tz")
        if tz and tz != entry.zone:
            raise CrontabRefused(
                "a crontab has no time zone per entry (CRON_TZ applies to every line below it), so this "
                "schedule's zone cannot be set here"
            )
        expr = " ".join(str(args["expr"]).split())
        if expr == entry.schedule:
            return body, {}, "it already had that schedule"
        marker = ""
        if not entry.enabled:
            start = body.index(DISABLED_MARKER.strip()) + len(DISABLED_MARKER.strip())
            marker, body = body[:start], body[start:]
        match = _ENTRY_PARTS.match(body)
        if match is None:
            raise CrontabRefused("the entry's line could not be read again")
        new_body = marker + match.group(1) + expr + match.group(3)
        changes = {"schedule": {"from": entry.schedule, "to": expr}}
        return new_body, changes, f"schedule set to {expr}"

    @staticmethod
    def _check(
        old_entries: tuple[CrontabEntry, ...],
        text: str,
        entry: CrontabEntry,
        action: str,
        args: Mapping[str, Any],
    ) -> None:
        """The changed crontab holds every other entry as it was, and this one changed as asked."""
        new_entries = parse_crontab(text).entries

        def shape(e: CrontabEntry) -> tuple[object, ...]:
            return (e.line_no, e.schedule, e.raw_command, e.enabled, e.env, e.comment)

        others_old = [shape(e) for e in old_entries if e.line_no != entry.line_no]
        others_new = [shape(e) for e in new_entries if e.line_no != entry.line_no]
        changed = next((e for e in new_entries if e.line_no == entry.line_no), None)
        expected_enabled = {ENABLE: True, DISABLE: False}.get(action, entry.enabled)
        expected_schedule = " ".join(str(args["expr"]).split()) if action == SET_SCHEDULE else entry.schedule
        if (
            others_old != others_new
            or changed is None
            or (changed.raw_command, changed.enabled, changed.schedule)
            != (entry.raw_command, expected_enabled, expected_schedule)
        ):
            raise CrontabRefused("changing that line would have changed more than this entry")

    async def _install(self, text: str) -> None:
        assert self.install_command is not None
        try:
            result = await run_process(
                self.install_command, timeout=INSTALL_TIMEOUT, stdin_data=text.encode()
            )
        except SpawnError as exc:
            raise CrontabRefused(f"{self.install_command[0]} cannot be started: {exc.message}") from None
        if not result.ok:
            detail = (
                last_line(result.stderr_tail)
                or last_line(result.stdout_tail)
                or f"exit code {result.exit_code}"
            )
            raise CrontabRefused(f"`{' '.join(self.install_command)}` refused the new crontab: {detail}")
