"""`cronmirror`: the same jobs and run requests as the app, for scripts and people at a terminal.

Human-readable tables by default, stable JSON (the seed's camelCase names) with `--json`. Exit codes:
0 ok · 1 a run or check failed · 2 usage · 3 not configured · 4 unreachable or refused · 5 conflict ·
6 not found · 7 invalid data · 8 timed out waiting.

Rows are untrusted (anyone holding the anon key writes requests): tables and messages show control
characters escaped (`\x1b`, `\n`), so an id cannot retitle or clear the terminal or print a fake row;
`--json` keeps every character exactly (JSON escapes them itself). Options go before or after the
command: `cronmirror --json jobs` is `cronmirror jobs --json`.

Tables fit the terminal (like `ls` and `gh`): the widest column is cut with "…" until the table fits the
terminal's width (or `COLUMNS`); piped into another program without `COLUMNS`, nothing is cut. When the
store is not Supabase, stderr says which store is read and how to set Supabase up; an unknown project is
exit 6 with the known ones listed; an unknown job suggests the close ones ("did you mean jobs:hello?").

Long because it is one thing: the commands, each a short method over the stores and core.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cronmirror_desktop import __version__, cli_actions
from cronmirror_desktop.core import config as cfg
from cronmirror_desktop.core import config_write, job_times
from cronmirror_desktop.core.aio import wait_event
from cronmirror_desktop.core.config_import import import_dotenv
from cronmirror_desktop.core.errors import CronMirrorError, NotFound, Unreachable
from cronmirror_desktop.core.identity import requester
from cronmirror_desktop.core.lateness import Lateness
from cronmirror_desktop.core.paths import set_dev_dir
from cronmirror_desktop.core.presence import HostZones, WorkerPresence
from cronmirror_desktop.core.rows import FINAL_STATUSES, CronMirrorJob, CronRunRequest, ProjectInfo
from cronmirror_desktop.core.schedule_text import try_describe
from cronmirror_desktop.core.store import LiveState, RequestChange, StateChange, Store, sort_jobs
from cronmirror_desktop.core.stores import open_store
from cronmirror_desktop.core.text import escape_controls
from cronmirror_desktop.core.timetext import duration, relative
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 8
#: A column is never cut narrower than this (or its header).
MIN_COLUMN = 8
ELLIPSIS = "…"


def terminal_width(stream: TextIO) -> int | None:
    """How wide a table may be: the terminal's width (or `COLUMNS`); None when the output goes to another
    program and `COLUMNS` is not set (then nothing is cut, as `ls` and `gh` do)."""
    if os.environ.get("COLUMNS", "").strip().isdigit():
        return max(20, int(os.environ["COLUMNS"]))
    try:
        if stream.isatty():
            return shutil.get_terminal_size().columns
    except (AttributeError, ValueError, OSError):
        pass
    return None


def fit_widths(widths: list[int], headers: Sequence[str], limit: int, gap: int = 2) -> list[int]:
    """Column widths whose table is at most `limit` wide: the widest column gives way first (never below
    its header or MIN_COLUMN); when nothing can give way any more the table is as narrow as it gets."""
    widths = list(widths)
    floors = [max(len(h), MIN_COLUMN) for h in headers]
    while sum(widths) + gap * (len(widths) - 1) > limit:
        candidates = [i for i, w in enumerate(widths) if w > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        excess = sum(widths) + gap * (len(widths) - 1) - limit
        second = max((widths[i] for i in candidates if i != widest), default=floors[widest])
        widths[widest] -= max(1, min(excess, widths[widest] - max(second, floors[widest])))
    return widths


def clip(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: max(0, width - 1)] + ELLIPSIS


class Output:
    """Where results go: a table for people or JSON for scripts."""

    def __init__(self, as_json: bool, stream: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stream = stream or sys.stdout

    def line(self, text: str = "") -> None:
        """A message for people: control characters shown escaped, except line ends (see the module doc).
        Text from a row that must stay on its line goes through `escape_controls` first."""
        if not self.as_json:
            print(escape_controls(text, keep_newlines=True), file=self.stream)

    def data(self, value: Any) -> None:
        if self.as_json:
            print(json.dumps(value, indent=2, sort_keys=True, default=str), file=self.stream)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Aligned columns; every cell on one line, its control characters escaped; as wide as the
        terminal at most (see `terminal_width`)."""
        rows = [[escape_controls(cell) for cell in row] for row in rows]
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        limit = terminal_width(self.stream)
        if limit is not None:
            widths = fit_widths(widths, headers, limit)
        for row in (headers, *rows):
            self.line("  ".join(clip(cell, w).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def request_json(request: CronRunRequest) -> dict[str, Any]:
    return {
        **request.to_public(),
        "durationMs": request.duration_ms,
        "reason": request.reason,
        "outputTail": request.output_tail,
    }


# -- commands --------------------------------------------------------------------------------------


class Cli:
    def __init__(self, args: argparse.Namespace, out: Output, err: TextIO | None = None) -> None:
        self.args = args
        self.out = out
        self.err = err or sys.stderr
        self.config = cfg.resolve_config()
        self._told_store = False

    @property
    def project(self) -> str:
        return getattr(self.args, "project", None) or self.config.project_id

    def store(self) -> Store:
        store = open_store(self.config, local=self.args.local)
        if store.kind != "supabase" and not self._told_store:
            self._told_store = True
            print(f"cronmirror: {self._why_local(store)}", file=self.err)
        return store

    def _why_local(self, store: Store) -> str:
        """Which store is read when it is not Supabase, and why (stderr: it is not part of the output)."""
        where = f"reading the local store at {store.location}"
        if self.args.local:
            return f"{where} (--local)."
        choice = self.config.store
        if choice.problem:
            return f"{where}: {choice.problem} {choice.hint or ''}".rstrip()
        if self.config.supabase_url.usable and self.config.anon_key.usable:
            return f"{where} (the settings say store = local)."
        return (
            f"{where}; Supabase is not configured: "
            "`cronmirror config set supabase_url https://<ref>.supabase.co` and "
            "`cronmirror config set anon_key <key>` (or SUPABASE_URL / SUPABASE_ANON_KEY)."
        )

    async def _known_projects(self, store: Store) -> list[str]:
        return [p.project_id for p in await store.list_projects(configured=self.config.project_ids)]

    async def _require_project(self, store: Store) -> None:
        """Exit 6 for a project nobody knows (no rows, not configured), listing the ones there are."""
        known = await self._known_projects(store)
        if self.project in known or self.project == self.config.project_id:
            return
        listed = ", ".join(known) if known else "none yet"
        raise NotFound(
            f"No project {self.project!r}: it has no jobs or requests and is not configured. "
            f"Known projects: {listed}.",
            hint="Pick one with --project ID; `cronmirror projects` lists them.",
        )

    async def projects(self) -> int:
        async with self.store() as store:
            projects = await store.list_projects(configured=self.config.project_ids)
        self.out.data([p.to_public() for p in projects])
        self.out.table(
            ["PROJECT", "JOBS", "LAST SYNC", "LAST REQUEST", ""],
            [_project_row(p, self.config.project_id) for p in projects],
        )
        if not projects:
            self.out.line("No projects yet: the worker creates one when it first mirrors its jobs.")
        self._problems((p.project_id, p.problems) for p in projects)
        return 0

    async def jobs(self) -> int:
        async with self.store() as store:
            rows = await store.mirror_rows(self.project)
            if not any(row.is_job for row in rows):
                await self._require_project(store)
        now = now_utc()
        zones = HostZones.from_presences(p for p in map(WorkerPresence.from_job, rows) if p is not None)
        jobs = sort_jobs([row for row in rows if row.is_job])
        everything = [JobLine(job, now, zones.for_host(job.host)) for job in jobs]
        hosts = sorted({line.job.host for line in everything if line.job.host})
        needle = (self.args.search or "").casefold()
        shown = [
            line
            for line in everything
            if needle in line.job.display_name.casefold()
            and (self.args.enabled is None or line.job.enabled == self.args.enabled)
            and (not self.args.late or line.late.late)
            and (not self.args.failed or line.job.last_status == "error")
            and (self.args.host is None or line.job.host == self.args.host)
        ]
        self.out.data([line.to_public() for line in shown])
        if not shown:
            other_filters = needle or self.args.enabled is not None or self.args.host is not None
            if self.args.failed and not other_filters and everything:
                self.out.line("No job failed its last run.")
                return 0
            if not everything:
                self.out.line("No cron jobs mirrored yet. The Mac mini sync worker will publish jobs here.")
            elif self.args.late and not other_filters:
                self.out.line("No job is late.")
            else:
                self.out.line("No job matches.")
            return 0
        with_host = len(hosts) > 1
        headers = ["JOB ID", "NAME", *(["HOST"] if with_host else []), "SCHEDULE", "NEXT RUN", "STATUS", "ON"]
        self.out.table(headers, [line.row(with_host) for line in shown])
        for line in shown:
            if line.late.late:
                self.out.line(f"late: {escape_controls(line.job.job_id)}: {line.late.reason}")
        self._problems((line.job.job_id, line.job.problems) for line in shown)
        return 0

    async def requests(self) -> int:
        async with self.store() as store:
            requests = await store.list_requests(self.project, limit=self.args.limit)
            if not requests:
                await self._require_project(store)
        self.out.data([request_json(r) for r in requests])
        if not requests:
            self.out.line("No run requests yet.")
            return 0
        self.out.table(
            ["REQUEST", "JOB", "ACTION", "STATUS", "REQUESTED", "DURATION", "RESULT"],
            [
                [
                    r.id,
                    r.job_id,
                    r.action_text,
                    r.status,
                    relative(r.requested_at, now_utc(), past=True),
                    duration(r.duration_ms),
                    r.reason or "",
                ]
                for r in requests
            ],
        )
        self._problems((r.id, r.problems) for r in requests)
        return 0

    def _problems(self, rows: Iterable[tuple[str, Sequence[str]]]) -> None:
        """One `! id: what is wrong` line per row that could not be fully read (it is in the table too)."""
        for key, problems in rows:
            if problems:
                self.out.line(escape_controls(f"! {key}: {'; '.join(problems)}"))

    async def cancel(self) -> int:
        async with self.store() as store:
            request = await store.cancel_request(self.project, self.args.request_id, requester("cli"))
        self.out.data(request_json(request))
        if request.stopping:
            self.out.line(
                escape_controls(
                    f"Asked the worker to stop {request.id} ({request.job_id}); it ends the job and reports "
                    "it as cancelled (a gateway run cannot be stopped from here and goes on)."
                )
            )
        else:
            self.out.line(escape_controls(f"Cancelled {request.id} ({request.job_id})."))
        return 0

    async def history(self) -> int:
        async with self.store() as store:
            entries = await store.run_history(self.project, self.args.job_id, limit=self.args.limit)
        self.out.data([entry.to_public() for entry in entries])
        if not entries:
            self.out.line(
                escape_controls(
                    f"No runs of {self.args.job_id} recorded yet. (crontab's and launchd's own scheduled "
                    "runs are never seen; those through CronMirror, the gateway's and jobs.toml's are.)"
                )
            )
            return 0
        now = now_utc()
        self.out.table(
            ["STARTED", "TRIGGER", "STATUS", "DURATION", "RESULT"],
            [
                [relative(e.run_at, now), e.trigger, e.status, duration(e.duration_ms), e.first_line]
                for e in entries
            ],
        )
        self._problems((e.run_key, e.problems) for e in entries)
        return 0

    async def run(self) -> int:
        mode = self.args.mode
        if mode != "queue" and self.config.control_api_url.usable:
            from cronmirror_desktop.core.controlapi import ControlApiClient

            async with ControlApiClient.from_config(self.config) as api:
                api = api.for_project(self.project)
                if mode == "direct" or (await api.health()).reachable:
                    return await self._run_direct(api)
                self.out.line(f"The Control API at {api.shown_url} is not reachable; queueing instead.")
        elif mode == "direct":
            self.config.control_api_url_or_raise()
        return await self._run_queued()

    async def _run_direct(self, api: Any) -> int:
        requested = await api.run_job(self.args.job_id)
        self.out.line(requested.message)
        if not self.args.wait:
            self.out.data({"mode": "direct", "requested": True, "jobId": self.args.job_id})
            return 0
        confirmation = await api.confirm_run(requested, within_s=self.args.timeout)
        self.out.line(confirmation.message)
        self.out.data({"mode": "direct", "jobId": self.args.job_id, "confirmed": confirmation.confirmed})
        return 0 if confirmation.confirmed else EXIT_FAILED

    async def _run_queued(self) -> int:
        async with self.store() as store:
            jobs = await store.list_jobs(self.project)
            if self.args.job_id not in {j.job_id for j in jobs}:
                if not jobs:
                    await self._require_project(store)
                close = close_matches(self.args.job_id, jobs)
                hint = (
                    f"Did you mean {' or '.join(close)}?" if close else "`cronmirror jobs` lists the job ids."
                )
                raise NotFound(f"No job {self.args.job_id!r} in project {self.project!r}.", hint=hint)
            outcome = await store.queue_run(self.project, self.args.job_id, requester("cli"))
            request = outcome.request
            if outcome.created:
                self.out.line("Queued run request. Will execute when the Mac mini worker picks it up.")
            else:
                self.out.line(f"This job already has a {request.status} request; following that one.")
            self.out.line(f"Request {request.id}")
            if self.args.wait:
                request = await self._follow(store, request)
        return self._queued_outcome(request, outcome.created, show_output=True)

    def _queued_outcome(self, request: CronRunRequest, created: bool, *, show_output: bool) -> int:
        """The end of a queued request's command (run or an action): its JSON, and with `--wait` how it
        ended, as the exit code says it."""
        self.out.data({"mode": "queue", "created": created, "request": request_json(request)})
        if not self.args.wait:
            return 0
        if request.status not in FINAL_STATUSES:
            self.out.line(f"Still {request.status} after {self.args.timeout:g} s.")
            return EXIT_TIMEOUT
        self.out.line(escape_controls(f"{request.status}: {request.reason or duration(request.duration_ms)}"))
        if show_output and request.output_tail and not self.out.as_json:
            self.out.line(request.output_tail)
        return 0 if request.status == "done" else EXIT_FAILED

    async def _follow(self, store: Store, request: CronRunRequest) -> CronRunRequest:
        """Wait for the request to finish: live events when they flow, a poll every second regardless.

        A store that can't be reached for a while (a server blip, a restart) is waited out until the
        `--timeout`, with one line on stderr: only the deadline ends the wait.
        """
        changed = asyncio.Event()
        latest = request
        noted = False

        def on_event(event: Any) -> None:
            nonlocal latest
            if isinstance(event, RequestChange) and event.request and event.request.id == request.id:
                latest = event.request
                changed.set()
            elif isinstance(event, StateChange) and event.state is LiveState.AUTH_FAILED:
                changed.set()

        def note(exc: Unreachable) -> None:
            nonlocal noted
            if not noted:
                noted = True
                print(f"cronmirror: {exc.message} Still waiting (until the --timeout).", file=sys.stderr)

        subscription = await store.subscribe(self.project, on_event)
        deadline = time.monotonic() + self.args.timeout
        announced_running = False
        try:
            while latest.status not in FINAL_STATUSES and time.monotonic() < deadline:
                if not await wait_event(changed, min(1.0, max(0.0, deadline - time.monotonic()))):
                    try:
                        fresh = await store.get_request(request.id)
                    except Unreachable as exc:
                        note(exc)
                        fresh = None
                    if fresh is not None:
                        latest = fresh
                changed.clear()
                if latest.status == "running" and not announced_running:
                    announced_running = True
                    self.out.line(f"Running on {latest.worker_id or 'the worker'}…")
        finally:
            await subscription.close()
        return latest

    async def doctor(self) -> int:
        from cronmirror_desktop.cli_doctor import run_doctor

        return await run_doctor(self.config, self.out, local=self.args.local, project=self.project)

    def config_show(self) -> int:
        self.out.data(self.config.as_json())
        self.out.table(
            ["SETTING", "VALUE", "FROM", "PROBLEM"],
            [[r.key, r.display, r.origin, r.problem or ""] for r in self.config.rows()],
        )
        for warning in self.config.settings_warnings:
            self.out.line(f"! {warning}")
        return 0

    def config_set(self) -> int:
        return self._report_set(config_write.set_value(self.args.key, self.args.value), "Stored")

    def config_unset(self) -> int:
        return self._report_set(config_write.unset_value(self.args.key), "Removed")

    def _report_set(self, result: config_write.SetResult, verb: str) -> int:
        where = "the keychain" if result.stored_in is cfg.Source.KEYCHAIN else "the settings file"
        self.out.data(
            {
                "key": result.key,
                "storedIn": result.stored_in.value,
                "overriddenBy": list(result.overridden_by),
                "warnings": list(result.warnings),
            }
        )
        self.out.line(f"{verb} {result.key} in {where}.")
        if result.overridden_by:
            self.out.line(f"Note: {', '.join(result.overridden_by)} is set and takes precedence.")
        for warning in result.warnings:
            self.out.line(f"Warning: {warning}")
        return 0

    def config_import(self) -> int:
        imported = import_dotenv(Path(self.args.file))
        self.out.data({"summary": imported.summary()})
        for line in imported.summary():
            self.out.line(line)
        return 0


def close_matches(wanted: str, jobs: Sequence[CronMirrorJob], limit: int = 3) -> list[str]:
    """Job ids a mistyped id most likely meant: the same id after a source prefix ("hello" →
    "jobs:hello"), a job whose name it is, then ids and names that look alike."""
    folded = wanted.casefold()
    found: list[str] = []

    def add(job_id: str) -> None:
        if job_id not in found:
            found.append(job_id)

    bare = folded.rsplit(":", 1)[-1]
    for job in jobs:
        if job.job_id.casefold().rsplit(":", 1)[-1] == bare or job.display_name.casefold() == folded:
            add(job.job_id)
    # Compared without the source prefix ("jobs:", "crontab:"), which every id of a source shares.
    ids = {j.job_id.casefold().rsplit(":", 1)[-1]: j.job_id for j in jobs}
    for hit in difflib.get_close_matches(bare, list(ids), n=limit, cutoff=0.7):
        add(ids[hit])
    names = {j.display_name.casefold(): j.job_id for j in jobs}
    for hit in difflib.get_close_matches(folded, list(names), n=limit, cutoff=0.7):
        add(names[hit])
    return [escape_controls(job_id) for job_id in found[:limit]]


def _project_row(project: ProjectInfo, current: str) -> list[str]:
    return [
        project.project_id,
        str(project.job_count),
        relative(project.last_sync_at, now_utc(), past=True),
        relative(project.last_request_at, now_utc(), past=True),
        "current" if project.project_id == current else ("configured" if project.configured else ""),
    ]


@dataclass(frozen=True)
class JobLine:
    """One job as `cronmirror jobs` shows it: its next run and Late judged at `now` (core.job_times), in
    the zone its Mac mini published for jobs without one."""

    job: CronMirrorJob
    now: datetime
    mac_zone: str | None

    @functools.cached_property
    def late(self) -> Lateness:
        return job_times.late(self.job, self.now, self.mac_zone)

    @functools.cached_property
    def next_run(self) -> datetime | None:
        if not self.job.enabled:
            return None
        return job_times.next_run(self.job, after=self.now, mac_zone=self.mac_zone)

    def status(self) -> str:
        return "late" if self.late.late else (self.job.last_status or "never run")

    def row(self, with_host: bool) -> list[str]:
        job = self.job
        schedule = try_describe(job.schedule, default_tz=self.mac_zone) if job.schedule else "—"
        name = job.display_name if job.valid else f"{job.display_name} (!)"
        next_text = "by hand" if job_times.by_hand_only(job) else relative(self.next_run, self.now)
        host = [job.host or "—"] if with_host else []
        return [job.job_id, name, *host, schedule, next_text, self.status(), "yes" if job.enabled else "no"]

    def to_public(self) -> dict[str, Any]:
        """The seed's shape, plus what readers compute: the next run (the source's own first, then the
        schedule's, as its scheduler runs it), whether it is Late, and why."""
        late = self.late
        return {
            **self.job.to_public(),
            "nextRun": format_timestamp(self.next_run),
            "late": late.late,
            "lateReason": late.reason or None,
            "expectedAt": format_timestamp(late.expected_at) if late.late else None,
        }


# -- argument parsing ------------------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every command takes. Given once on the main parser (with the defaults) and again on
    each subcommand with SUPPRESS defaults, so that `cronmirror --json jobs` and `cronmirror jobs --json`
    both work: a subcommand's own default would otherwise overwrite what was given before it."""
    default: Any = argparse.SUPPRESS if after_command else None
    flag_default: Any = argparse.SUPPRESS if after_command else False
    parser.add_argument(
        "--local", action="store_true", default=flag_default, help="use the embedded local store"
    )
    parser.add_argument(
        "--json", action="store_true", default=flag_default, help="stable JSON output for scripts"
    )
    parser.add_argument("--dev-dir", default=default, help="keep settings and the local store in this folder")
    parser.add_argument("--project", "-p", default=default, help="project id (default: the configured one)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, after_command=True)

    parser = argparse.ArgumentParser(
        prog="cronmirror",
        description="See, trigger and change the Mac mini's scheduled jobs.",
        epilog="Options go before or after COMMAND. Exit codes: 0 ok, 1 failed, 2 usage, "
        "3 not configured, 4 unreachable/refused, 5 conflict, 6 not found, 7 invalid data, 8 timed out.",
    )
    _global_options(parser, after_command=False)
    parser.add_argument("--version", action="version", version=f"cronmirror {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("projects", parents=[common], help="projects with mirrored jobs or requests")

    jobs = sub.add_parser("jobs", parents=[common], help="the mirrored jobs")
    jobs.add_argument("--search", "-s", help="only jobs whose name contains TEXT")
    jobs.add_argument(
        "--late", action="store_true", help="only jobs whose expected run has not happened (Late)"
    )
    jobs.add_argument("--host", metavar="NAME", help="only jobs of this Mac mini (see the HOST column)")
    jobs.add_argument("--failed", action="store_true", help="only jobs whose last run failed")
    state = jobs.add_mutually_exclusive_group()
    state.add_argument("--enabled", dest="enabled", action="store_const", const=True, default=None)
    state.add_argument("--disabled", dest="enabled", action="store_const", const=False)

    run = sub.add_parser("run", parents=[common], help="run a job now (directly, or through the queue)")
    run.add_argument("job_id")
    how = run.add_mutually_exclusive_group()
    how.add_argument("--direct", dest="mode", action="store_const", const="direct", default="auto")
    how.add_argument("--queue", dest="mode", action="store_const", const="queue")
    run.add_argument("--wait", action="store_true", help="follow the run until it is done or failed")
    run.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    cli_actions.add_parsers(sub, common)

    requests = sub.add_parser("requests", parents=[common], help="recent run requests")
    requests.add_argument("--limit", "-n", type=int, default=20)

    cancel = sub.add_parser(
        "cancel", parents=[common], help="withdraw a queued run request, or stop a running one"
    )
    cancel.add_argument("request_id")

    history = sub.add_parser("history", parents=[common], help="a job's recent runs, newest first")
    history.add_argument("job_id")
    history.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")

    config = sub.add_parser("config", parents=[common], help="show or change settings")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_sub.add_parser("show", parents=[common], help="effective settings and where they come from")
    setter = config_sub.add_parser("set", parents=[common], help="store a setting (keys go to the keychain)")
    setter.add_argument(
        "key", help=f"one of {', '.join(k.key for k in cfg.CONFIG_KEYS)}, store, or worker.<option>"
    )
    setter.add_argument("value")
    unsetter = config_sub.add_parser("unset", parents=[common], help="remove a setting")
    unsetter.add_argument("key")
    importer = config_sub.add_parser("import-env", parents=[common], help="import a .env file")
    importer.add_argument("file")

    sub.add_parser("doctor", parents=[common], help="check everything and say what to fix")
    return parser


def main(
    argv: Sequence[str] | None = None, *, stream: TextIO | None = None, err: TextIO | None = None
) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dev_dir:
        set_dev_dir(args.dev_dir)
    out = Output(args.json, stream)
    err = err or sys.stderr
    try:
        cli = Cli(args, out, err)
        act = cli_actions.ActionCommands(cli)
        config_commands: dict[str, Callable[[], int]] = {
            "show": cli.config_show,
            "set": cli.config_set,
            "unset": cli.config_unset,
            "import-env": cli.config_import,
        }
        commands: dict[str, Callable[[], int | Coroutine[Any, Any, int]]] = {
            "projects": cli.projects,
            "jobs": cli.jobs,
            "run": cli.run,
            "enable": act.enable,
            "disable": act.disable,
            "schedule": act.schedule,
            "rename": act.rename,
            "add": act.add,
            "remove": act.remove,
            "requests": cli.requests,
            "cancel": cli.cancel,
            "history": cli.history,
            "doctor": cli.doctor,
            "config": config_commands.get(getattr(args, "config_command", ""), cli.config_show),
        }
        result = commands[args.command]()
        return result if isinstance(result, int) else asyncio.run(result)
    except CronMirrorError as exc:
        if args.json:
            print(
                json.dumps({"error": {"kind": type(exc).__name__, "message": exc.message, "hint": exc.hint}}),
                file=out.stream,
            )
        print(escape_controls(f"cronmirror: {exc.message}"), file=err)
        if exc.hint:
            print(escape_controls(f"  {exc.hint}"), file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cronmirror jobs --json | head`: the reader left; that is fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0


if __name__ == "__main__":
    sys.exit(main())
