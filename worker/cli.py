"""`cronmirror-worker`: run the Mac mini's worker, or one step of it, from a terminal or launchd.

Exit codes follow `cronmirror`'s: 0 ok · 1 a job or step failed · 2 usage · 3 not configured ·
4 unreachable or refused · others as core.errors says.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cronmirror_desktop import __version__
from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.logsetup import configure_logging
from cronmirror_desktop.core.paths import set_dev_dir
from cronmirror_desktop.core.schedule_text import expression_text
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.text import escape_controls
from worker import launchagent
from worker.configured import STATUS_FILE_NAME, WorkerParts, build_sources, worker_store
from worker.service import WorkerService, read_status
from worker.sources.registry import Inventory, SourceSet

log = logging.getLogger("cronmirror.worker")


class WorkerCli:
    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.config = resolve_config()
        self.status_file = self.config.paths.state_dir / STATUS_FILE_NAME
        self._built: list[SourceSet] = []

    def sources(self) -> SourceSet:
        """The configured sources; `closing` closes them (the gateway's connection) when a command ends."""
        sources = build_sources(self.config)
        self._built.append(sources)
        return sources

    async def closing(self, command: Any) -> int:
        try:
            return int(await command)
        finally:
            for sources in self._built:
                await sources.close()

    def print(self, text: str = "") -> None:
        """Text for people: control characters escaped but line ends (ids from rows and job sources are
        escaped whole by the caller), so nothing printed can steer the terminal."""
        if not self.args.json:
            print(escape_controls(text, keep_newlines=True), file=self.out)

    def dump(self, value: Any) -> None:
        if self.args.json:
            print(json.dumps(value, indent=2, sort_keys=True, default=str), file=self.out)

    def service(self, store: Store, *, status_file: Path | None = None) -> WorkerService:
        parts = WorkerParts.from_config(self.config, store, self.args.project, sources=self.sources())
        return parts.service(status_file=status_file)

    async def run(self) -> int:
        log_file = configure_logging(self.config.paths.log_dir, "worker", console=True)
        log.info("cronmirror-worker %s; log file %s", __version__, log_file)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with worker_store(self.config, self.args.local) as store:
            await self.service(store, status_file=self.status_file).run(stop)
        return 0

    async def sync_once(self) -> int:
        async with worker_store(self.config, self.args.local) as store:
            service = self.service(store)
            report = await service.sync_once()
        self.dump(
            {
                "upserted": report.upserted,
                "deleted": report.deleted,
                "unchanged": report.unchanged,
                "keptFrom": list(report.kept_from),
                "warnings": list(report.warnings),
            }
        )
        self.print(
            f"Mirrored project {service.options.project_id}: {report.upserted} written, "
            f"{report.deleted} deleted, {report.unchanged} unchanged."
        )
        if service.sources.inventory is not None:
            self._print_sources(service.sources.inventory, kept_from=report.kept_from)
        return 0

    def _print_sources(self, inventory: Inventory, kept_from: tuple[str, ...] = ()) -> None:
        """Each source once: its state and message on one line, its warnings under it (a message is
        never repeated as a warning in other words)."""
        for listing in inventory.listings:
            line = f"[{listing.source}] {listing.state}"
            line += f": {listing.message}" if listing.message else ""
            if listing.source in kept_from:
                line += " — its jobs were left as they were"
            self.print(escape_controls(line))
            for warning in listing.warnings:
                self.print(escape_controls(f"    ! {warning}"))
        for warning in inventory.warnings:
            self.print(escape_controls(f"! {warning}"))

    async def drain_once(self) -> int:
        async with worker_store(self.config, self.args.local) as store:
            finished = await self.service(store).drain_once()
        self.dump(
            [
                {
                    "requestId": f.request.id,
                    "jobId": f.request.job_id,
                    "status": f.outcome.verdict,
                    "recorded": f.recorded,
                    "result": f.outcome.result("-"),
                }
                for f in finished
            ]
        )
        if not finished:
            self.print("Nothing was queued.")
        for f in finished:
            self.print(escape_controls(f"{f.outcome.verdict:5}  {f.request.job_id}  {f.outcome.reason}"))
        return 0 if all(f.outcome.ok for f in finished) else 1

    async def list_jobs(self) -> int:
        sources = self.sources()
        inventory = await sources.list_jobs()
        self.dump(
            {
                "jobs": [job.as_dict() for job in inventory.jobs],
                "sources": [
                    {
                        "source": lst.source,
                        "state": lst.state,
                        "message": lst.message,
                        "warnings": list(lst.warnings),
                    }
                    for lst in inventory.listings
                ],
            }
        )
        self._print_sources(inventory)
        for job in inventory.jobs:
            state = "on " if job.enabled else "off"
            schedule = expression_text(job.schedule_kind, job.schedule_expr)
            self.print(escape_controls(f"  {state}  {job.job_id}  {job.name}  ({schedule})"))
        return 0

    async def status(self) -> int:
        data = read_status(self.status_file)
        alive = data is not None and _pid_alive(int(data.get("pid", 0))) and data.get("state") != "stopped"
        queued: int | None = None
        error: str | None = None
        try:
            async with worker_store(self.config, self.args.local) as store:
                project = self.args.project or self.config.project_id
                requests = await store.list_requests(project, limit=200)
                queued = sum(1 for r in requests if r.status == "queued")
        except CronMirrorError as exc:
            error = exc.message
        self.dump({"daemon": data, "alive": alive, "queued": queued, "storeError": error})
        if not data:
            self.print("No worker has run here yet (no status file).")
        else:
            state = data.get("state") if alive else "not running"
            worker, pid, project = data.get("worker_id"), data.get("pid"), data.get("project_id")
            self.print(f"Worker {worker}: {state} (pid {pid}, project {project})")
            self.print(f"Store: {data.get('store')}; live updates: {data.get('live')}")
            self.print(f"Last sync: {data.get('last_sync_at') or 'never'} {data.get('last_sync') or ''}")
            for source in data.get("sources") or []:
                self.print(f"  [{source['source']}] {source['state']} {source.get('message') or ''}".rstrip())
            for job in data.get("running") or []:
                self.print(f"  running {job['job_id']} (request {job['request_id']}, pid {job['pid']})")
            if data.get("last_error"):
                self.print(f"Last error: {data['last_error']}")
        if queued is not None:
            self.print(f"Queued requests: {queued}")
        if error:
            self.print(f"Store: {error}")
        return 0

    async def install_launchd(self) -> int:
        agent = launchagent.plan(log_dir=self.config.paths.log_dir)
        if self.args.print or not launchagent.launchctl_available():
            if not self.args.print:
                print("launchd is macOS only; here is the LaunchAgent it would install:", file=sys.stderr)
            self.out.write(agent.content.decode())
            return 0
        for line in launchagent.install(agent):
            self.print(line)
        return 0

    async def uninstall_launchd(self) -> int:
        agent = launchagent.plan(log_dir=self.config.paths.log_dir)
        if not launchagent.launchctl_available():
            self.print("launchd is macOS only; nothing to uninstall here.")
            return 0
        for line in launchagent.uninstall(agent):
            self.print(line)
        return 0


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """Given on the main parser (with the defaults) and on each command with SUPPRESS defaults, so an
    option works before or after the command (a command's own default would overwrite it otherwise)."""
    default: Any = argparse.SUPPRESS if after_command else None
    flag_default: Any = argparse.SUPPRESS if after_command else False
    parser.add_argument(
        "--local", action="store_true", default=flag_default, help="use the embedded local store"
    )
    parser.add_argument("--project", "-p", default=default, help="project id (default: the configured one)")
    parser.add_argument("--json", action="store_true", default=flag_default, help="JSON output")
    parser.add_argument("--dev-dir", default=default, help="keep settings, state and logs in this folder")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, after_command=True)
    parser = argparse.ArgumentParser(
        prog="cronmirror-worker",
        description="Mirror this Mac's scheduled jobs and run queued requests.",
        epilog="Options go before or after COMMAND.",
    )
    _global_options(parser, after_command=False)
    parser.add_argument("--version", action="version", version=f"cronmirror-worker {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="the daemon: sync and execute until stopped")
    sub.add_parser("sync-once", parents=[common], help="mirror the local jobs once")
    sub.add_parser("drain-once", parents=[common], help="execute everything queued, then exit")
    sub.add_parser("list-jobs", parents=[common], help="what the local sources see")
    sub.add_parser("status", parents=[common], help="what the daemon is doing")
    install = sub.add_parser("install-launchd", parents=[common], help="start the worker at login (macOS)")
    install.add_argument("--print", action="store_true", help="only print the LaunchAgent plist")
    sub.add_parser("uninstall-launchd", parents=[common], help="remove the LaunchAgent (macOS)")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.dev_dir:
        set_dev_dir(args.dev_dir)
    stream = out or sys.stdout
    try:
        cli = WorkerCli(args, stream)
        command = {
            "run": cli.run,
            "sync-once": cli.sync_once,
            "drain-once": cli.drain_once,
            "list-jobs": cli.list_jobs,
            "status": cli.status,
            "install-launchd": cli.install_launchd,
            "uninstall-launchd": cli.uninstall_launchd,
        }[args.command]
        return asyncio.run(cli.closing(command()))
    except CronMirrorError as exc:
        print(f"cronmirror-worker: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
