"""`cronmirror enable|disable|schedule|rename|add|remove`: action requests from a terminal.

Each is checked here first (the job exists, its source supports the action, a schedule reads in the job's
own dialect; the same rules the database and the worker apply again), then queued for the job's worker as
the app queues it, or — enable and disable of a gateway job, when the Control API answers — asked of the
Control API directly, as `run` does. `--wait` follows the request (or the mirror, after a direct change)
until it is done. A second request for the same job and action while one waits is not queued again: the
waiting one is followed.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import TYPE_CHECKING, Any

from cronmirror_desktop.core import actions
from cronmirror_desktop.core.errors import Conflict, InvalidRow, NotFound
from cronmirror_desktop.core.identity import requester
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.schedule import InvalidSchedule
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.text import escape_controls

if TYPE_CHECKING:
    from cronmirror_desktop.cli import Cli

EXIT_FAILED = 1
EXIT_TIMEOUT = 8
GATEWAY_SOURCES = (None, "gateway")


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """The action commands, beside `run` (called by cli.build_parser)."""

    def waiting(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--wait", action="store_true", help="follow the request until it is done or failed"
        )
        parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (default 120)")

    for action, words in (("enable", "turn a job on"), ("disable", "turn a job off (it stays listed)")):
        parser = sub.add_parser(action, parents=[common], help=words)
        parser.add_argument("job_id")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--direct", dest="mode", action="store_const", const="direct", default="auto")
        how.add_argument("--queue", dest="mode", action="store_const", const="queue")
        waiting(parser)

    schedule = sub.add_parser(
        "schedule",
        parents=[common],
        help="give a job a new schedule",
        description="EXPR is a cron expression ('0 3 * * 1-5', '@daily'), an interval ('30m', '2h') or a "
        "date and time ('2026-12-01T09:00Z'), read by the rules of the job's own scheduler.",
    )
    schedule.add_argument("job_id")
    schedule.add_argument("expr")
    schedule.add_argument("--tz", help="IANA time zone of a cron expression (default: none, the Mac's)")
    waiting(schedule)

    rename = sub.add_parser("rename", parents=[common], help="give a job another name")
    rename.add_argument("job_id")
    rename.add_argument("name")
    waiting(rename)

    add = sub.add_parser(
        "add",
        parents=[common],
        help="add a job to the Mac mini's jobs.toml",
        description="cronmirror add --name 'Backup' --cron '0 3 * * *' -- /usr/local/bin/restic backup ~",
    )
    add.add_argument("--name", required=True)
    add.add_argument("--key", help="its key in jobs.toml (default: from the name); the job is jobs:<key>")
    when = add.add_mutually_exclusive_group()
    when.add_argument("--cron", metavar="EXPR")
    when.add_argument("--every", metavar="DURATION", help="e.g. 30m, 2h")
    when.add_argument("--at", metavar="WHEN", help="once, e.g. 2026-12-01T09:00Z")
    add.add_argument("--tz", help="IANA time zone of the cron expression")
    add.add_argument("--job-timeout", type=int, metavar="SECONDS", help="kill the job after this long")
    add.add_argument("--disabled", action="store_true", help="add it turned off")
    add.add_argument("--host", help="the Mac mini to add it on (with several on one project)")
    add.add_argument(
        "argv", nargs=argparse.REMAINDER, metavar="COMMAND", help="-- then the program and its arguments"
    )
    waiting(add)

    remove = sub.add_parser("remove", parents=[common], help="remove a jobs.toml job from the Mac mini")
    remove.add_argument("job_id")
    waiting(remove)


class ActionCommands:
    """The commands, on the Cli's store, project, output and request follower."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.args = cli.args
        self.out = cli.out

    async def enable(self) -> int:
        return await self._on_job(actions.ENABLE, None)

    async def disable(self) -> int:
        return await self._on_job(actions.DISABLE, None)

    async def schedule(self) -> int:
        try:
            args = actions.schedule_from_text(self.args.expr, tz=self.args.tz)
        except InvalidSchedule as exc:
            raise InvalidRow(exc.message, exc.hint) from None
        return await self._on_job(actions.SET_SCHEDULE, args)

    async def rename(self) -> int:
        return await self._on_job(actions.RENAME, {"name": self.args.name})

    async def remove(self) -> int:
        return await self._on_job(actions.DELETE, None)

    async def add(self) -> int:
        command = list(self.args.argv)
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            raise InvalidRow(
                "No command given.", "Put it after --: cronmirror add --name N --cron '…' -- /path/prog ARG…"
            )
        key = self.args.key or actions.key_from_name(self.args.name)
        job_args: dict[str, Any] = {"key": key, "name": self.args.name, "command": command}
        schedule = self._add_schedule()
        if schedule is not None:
            job_args["schedule"] = schedule
            problem = actions.schedule_problem(schedule, source="jobs")
            if problem is not None:
                raise InvalidRow(f"The schedule cannot be used: {problem}.")
        if self.args.job_timeout is not None:
            job_args["timeout"] = self.args.job_timeout
        if self.args.disabled:
            job_args["enabled"] = False
        if self.args.host:
            job_args["host"] = self.args.host
        job_id = f"jobs:{key}"
        actions.check_args(actions.CREATE, job_id, job_args)
        async with self.cli.store() as store:
            if any(job.job_id == job_id for job in await store.list_jobs(self.cli.project)):
                raise Conflict(f"A job {job_id} exists already.", "Choose another --key or --name.")
            return await self._queue(store, job_id, self.args.name, actions.CREATE, job_args)

    def _add_schedule(self) -> dict[str, Any] | None:
        try:
            if self.args.cron:
                return actions.schedule_from_text(self.args.cron, kind="cron", tz=self.args.tz)
            if self.args.every:
                return actions.schedule_from_text(self.args.every, kind="every")
            if self.args.at:
                return actions.schedule_from_text(self.args.at, kind="at", tz=self.args.tz)
        except InvalidSchedule as exc:
            raise InvalidRow(exc.message, exc.hint) from None
        return None

    # -- one job ------------------------------------------------------------------------------------------

    async def _on_job(self, action: str, args: dict[str, Any] | None) -> int:
        async with self.cli.store() as store:
            job = await self._job(store)
            why = actions.why_not(job.source, action)
            if why is not None:
                raise InvalidRow(f"{job.display_name} ({job.job_id}): {why}.")
            if action == actions.SET_SCHEDULE and args is not None:
                problem = actions.schedule_problem(args, source=job.source, job_id=job.source_job_id)
                if problem is not None:
                    raise InvalidRow(f"The schedule cannot be used for {job.job_id}: {problem}.")
            if await self._wants_direct(action, job):
                return await self._direct(store, job, action == actions.ENABLE)
            return await self._queue(store, job.job_id, job.display_name, action, args)

    async def _job(self, store: Store) -> CronMirrorJob:
        for job in await store.list_jobs(self.cli.project):
            if job.job_id == self.args.job_id:
                return job
        raise NotFound(
            f"No job {self.args.job_id!r} in project {self.cli.project!r}.",
            hint="`cronmirror jobs` lists the job ids.",
        )

    async def _wants_direct(self, action: str, job: CronMirrorJob) -> bool:
        from cronmirror_desktop.core.controlapi import ControlApiClient

        mode = getattr(self.args, "mode", "queue")
        if mode == "queue" or action not in ControlApiClient.DIRECT_ACTIONS:
            return False
        if job.source not in GATEWAY_SOURCES:
            if mode == "direct":
                raise InvalidRow(
                    f"{job.job_id} is a {job.source} job; the Control API changes gateway jobs only."
                )
            return False
        config = self.cli.config
        if not config.control_api_url.usable:
            if mode == "direct":
                config.control_api_url_or_raise()
            return False
        if mode == "direct":
            return True
        async with ControlApiClient.from_config(config) as api:
            if (await api.for_project(self.cli.project).health()).reachable:
                return True
            self.out.line(f"The Control API at {api.shown_url} is not reachable; queueing instead.")
        return False

    async def _direct(self, store: Store, job: CronMirrorJob, enabled: bool) -> int:
        from cronmirror_desktop.core.controlapi import ControlApiClient

        async with ControlApiClient.from_config(self.cli.config) as api:
            now = await api.for_project(self.cli.project).set_enabled(job.job_id, enabled)
        words = "enabled" if now else "disabled"
        asked = "Enable" if enabled else "Disable"
        said = f"{asked} done on the Mac mini: the gateway says {job.display_name} is {words}."
        self.out.line(escape_controls(said))
        seen = True
        if self.args.wait:
            seen = await self._mirror_shows(store, job.job_id, enabled)
            self.out.line(
                "The mirror shows it."
                if seen
                else f"The mirror does not show it yet after {self.args.timeout:g} s."
            )
        self.out.data(
            {
                "mode": "direct",
                "jobId": job.job_id,
                "enabled": now,
                "mirrored": seen if self.args.wait else None,
            }
        )
        return 0 if now == enabled and seen else EXIT_FAILED

    async def _mirror_shows(self, store: Store, job_id: str, enabled: bool) -> bool:
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            job = next((j for j in await store.list_jobs(self.cli.project) if j.job_id == job_id), None)
            if job is not None and job.enabled == enabled:
                return True
            await asyncio.sleep(1.0)
        return False

    # -- through the queue ------------------------------------------------------------------------------

    async def _queue(
        self, store: Store, job_id: str, name: str, action: str, args: dict[str, Any] | None
    ) -> int:

        outcome = await store.queue_run(self.cli.project, job_id, requester("cli"), action=action, args=args)
        request = outcome.request
        what = escape_controls(f"{actions.describe(action, args)} of {name}")
        if outcome.created:
            self.out.line(f"Queued: {what}. The Mac mini's worker applies it when it picks it up.")
        else:
            shown = escape_controls(request.action_text)
            self.out.line(f"{name} already has a {request.status} {shown} request; following that one.")
        self.out.line(f"Request {request.id}")
        if self.args.wait:
            request = await self.cli._follow(store, request)
        return self.cli._queued_outcome(request, outcome.created, show_output=False)
