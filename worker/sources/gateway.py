"""ClawdBot / Moltbot / OpenClaw gateway cron jobs: natively over the gateway's WebSocket, else its CLI.

The native path (gateway_native, gateway_client) is used whenever the local gateway can be reached and
takes us: it lists from the gateway's events, mirrors changes at once and confirms runs the moment they end,
without starting a node process. The CLI path below is the fallback, taken (and named in the listing's
message, and logged once) when the native one cannot be used: no gateway config to find it by, the
credentials refused, pairing pending, a protocol version we do not speak. A gateway that is not running is
"down" on either path: its jobs are shown from its store, read-only.

CLI path. Listing: `<bin> cron list --all --json --timeout 60000` (disabled jobs too: the mirror shows
`enabled`), noise before the JSON tolerated, `{"jobs": [...]}` or a bare list; a page that says more jobs
follow is flagged (the real CLIs page through the gateway themselves).
If the CLI is missing or the gateway is down, jobs are read **read-only** from the gateway's store and the
listing says so (state `degraded`); runs then fail with that reason.

Running: `<bin> cron run <id> [--force] --timeout <ms>`, where `--force` is passed only to CLIs that need it
(see gateway_cli). The exit code alone proves little (OpenClaw exits 1 for "already running", ClawdBot 0
for a failed job), so a run is judged by what the gateway says, stdout's JSON first:
  {"ran": false, "reason"}   → error: the gateway did not run it (not-due, already-running), any exit code
  {"enqueued": true, runId}  → `cron runs` polled until that run finished, within the timeout
  {"ran": true}              → confirmed from `cron runs --id <id>`: the entry that started after our
                               request (runAtMs ≥ request start) decides ok / error / skipped
  exit 1                     → error with the CLI's first meaningful line (gateway down, unknown id, ...)
  CLI timeout                → ClawdBot keeps running the job: the run log is polled the same way
A run-log entry with `completionStatus` other than `succeeded` (OpenClaw: ran, but e.g. not delivered) is
a failed run, as `openclaw cron run --wait` judges it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.actions import CAPABILITIES
from cronmirror_desktop.core.timeutil import ms_from_dt, now_utc
from worker.job_env import job_environment
from worker.jobs import LocalJob
from worker.outcome import RunOutcome, Verdict
from worker.process import OnStarted, ProcessResult, ProcessStarted, SpawnError, run_process
from worker.sources.base import ChangeCallback, JobSource, SourceListing, SourceState, is_plain_id
from worker.sources.gateway_cli import (
    MAX_JSON_CHARS,
    CliInfo,
    GatewayCli,
    GatewayDown,
    GatewayError,
    GatewayTimeout,
    cli_environment,
    cli_error,
    default_search_dirs,
    error_for,
    extract_json,
    find_binary,
    looks_unknown_job,
    rejects_option,
)
from worker.sources.gateway_map import SOURCE, judge_run_entry, map_gateway_job
from worker.sources.gateway_native import NativeGateway
from worker.sources.gateway_protocol import GatewayDisconnected, GatewayRpcError, GatewayRpcTimeout
from worker.sources.gateway_store import locate_store, read_store

log = logging.getLogger(__name__)

LIST_TIMEOUT_MS = 60_000
RUNS_LIMIT = 5


def _is_listing(value: object) -> bool:
    if isinstance(value, dict):
        return isinstance(value.get("jobs"), list)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


class GatewaySource(JobSource):
    name = SOURCE
    keeps_history = True
    actions = CAPABILITIES[SOURCE]

    def __init__(
        self,
        *,
        binary: str | os.PathLike[str] | None = None,
        search_dirs: Sequence[Path] | None = None,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        list_timeout_ms: int = LIST_TIMEOUT_MS,
        poll_interval: float = 2.0,
        cli_margin: float | None = None,
        native: bool = True,
        device_file: Path | None = None,
    ) -> None:
        """`binary`: a configured CLI path (then only that). `search_dirs`: where to look instead of PATH
        plus the usual install locations. `env`: the environment for state-dir resolution and the CLI.
        `cli_margin`: seconds the CLI's own `--timeout` stops before ours, left for confirming (default:
        10% of the run timeout, 0.5-30 s). `native`: False uses the CLI only. `device_file`: the worker's
        device key (default: `gateway-device.json` in the worker's state dir)."""
        self._env = job_environment(os.environ if env is None else env)
        self._home = home or Path(self._env.get("HOME") or Path.home())
        self._configured = binary
        if search_dirs is None:
            path_dirs = [Path(d) for d in self._env.get("PATH", "").split(os.pathsep) if d]
            search_dirs = [*path_dirs, *default_search_dirs(self._home)]
        self._search_dirs = list(search_dirs)
        self._list_timeout_ms = list_timeout_ms
        self.poll_interval = poll_interval
        self._cli_margin = cli_margin
        self._cli: GatewayCli | None = None
        self._native = (
            NativeGateway(env=self._env, home=self._home, device_file=device_file) if native else None
        )
        self._fallback: str | None = None

    def subscribe_changes(self, callback: ChangeCallback) -> None:
        if self._native is not None:
            self._native.on_change = lambda: callback(self.name)

    async def close(self) -> None:
        if self._native is not None:
            await self._native.close()

    # -- the CLI -----------------------------------------------------------------------------------

    def _get_cli(self) -> GatewayCli | None:
        if self._cli is not None and self._cli.binary.exists():
            return self._cli
        binary = find_binary(self._configured, self._search_dirs)
        if binary is None:
            self._cli = None
            return None
        self._cli = GatewayCli(binary, cli_environment(binary, self._env, default_search_dirs(self._home)))
        return self._cli

    def _missing_cli(self) -> str:
        if self._configured:
            return f"the configured gateway CLI {self._configured} does not exist or is not executable"
        return "no openclaw / clawdbot / moltbot CLI found"

    @staticmethod
    def _raise_for(result: ProcessResult, what: str) -> None:
        if result.timed_out:
            raise GatewayTimeout(f"{what} did not answer within {result.duration_ms / 1000:.0f} s")
        if result.exit_code != 0:
            raise error_for(cli_error(result))
        if result.stdout_truncated:
            raise GatewayError(f"{what} printed more than {MAX_JSON_CHARS} characters")

    # -- listing -------------------------------------------------------------------------------------

    async def list_jobs(self) -> SourceListing:
        if self._native is not None:
            status = await self._native.status()
            self._fallback = status.reason if status.state == "unusable" else None
            if status.state == "connected":
                try:
                    raws, notes = await self._native.list_raw()
                except (GatewayRpcError, GatewayRpcTimeout, GatewayDisconnected) as exc:
                    return self._offline(f"the gateway did not list its jobs ({exc})")
                jobs, warnings = self._map(raws)
                return SourceListing(
                    SOURCE, jobs, message=self._native.describe(), warnings=(*notes, *warnings)
                )
            if status.state == "down":
                return self._offline(f"gateway is down ({status.reason})")
        listing = await self._list_cli()
        if self._fallback and listing.state != "unavailable":  # no gateway here at all: nothing to explain
            why = f"native client not used: {self._fallback}"
            listing = replace(listing, message=f"{listing.message} ({why})")
        return listing

    async def _list_cli(self) -> SourceListing:
        cli = self._get_cli()
        if cli is None:
            return self._offline(self._missing_cli(), cli_missing=True)
        try:
            info = await cli.info()
        except GatewayError as exc:
            return self._offline(f"the gateway CLI cannot start ({exc})")
        try:
            raws, notes = await self._list_raw(cli, info)
        except GatewayDown as exc:
            return self._offline(f"gateway is down ({exc})")
        except GatewayTimeout as exc:
            return self._offline(f"the gateway did not answer in time ({exc})")
        except GatewayError as exc:
            return self._offline(f"the gateway CLI failed ({exc})")
        jobs, warnings = self._map(raws)
        return SourceListing(
            SOURCE, jobs, message=f"{info.flavor} at {cli.binary}", warnings=(*notes, *warnings)
        )

    async def _list_raw(self, cli: GatewayCli, info: CliInfo) -> tuple[list[Any], list[str]]:
        """Every job the CLI lists. OpenClaw's CLI pages through the gateway itself (its `cron list` has no
        `--offset`); a page that still says `hasMore` means jobs are missing, and the listing says so."""
        del info
        base = ["cron", "list", "--all", "--json", "--timeout", str(self._list_timeout_ms)]
        page = await self._list_page(cli, base)
        if isinstance(page, list):
            return page, []
        jobs = list(page["jobs"])
        notes: list[str] = []
        if page.get("hasMore") is True:
            total = page.get("total", "more")
            notes.append(
                f"the gateway listed {len(jobs)} of {total} jobs and its CLI cannot page; "
                "the rest are not shown"
            )
        return jobs, notes

    async def _list_page(self, cli: GatewayCli, args: list[str]) -> Any:
        result = await cli.call(args, timeout=self._list_timeout_ms / 1000 + 15)
        self._raise_for(result, "`cron list`")
        return extract_json(result.stdout_tail, _is_listing)

    def _offline(self, reason: str, *, cli_missing: bool = False) -> SourceListing:
        location = locate_store(self._env, self._home)
        read = read_store(location)
        if read.problem and not read.jobs:
            state: SourceState = "unavailable" if cli_missing and location.state_dir is None else "error"
            if location.state_dir is None:  # "no job store" and "no state directory": one fact, said once
                return SourceListing(SOURCE, (), state, "; ".join((reason, *location.notes)))
            return SourceListing(SOURCE, (), state, f"{reason}; {read.problem}", location.notes)
        jobs, warnings = self._map(read.jobs)
        notes = (*location.notes, *warnings, *([read.problem] if read.problem else []))
        return SourceListing(SOURCE, jobs, "degraded", f"{reason} — showing {read.origin} read-only", notes)

    @staticmethod
    def _map(raws: list[Any]) -> tuple[tuple[LocalJob, ...], tuple[str, ...]]:
        jobs: dict[str, LocalJob] = {}
        warnings: list[str] = []
        for position, raw in enumerate(raws, 1):
            job, notes = map_gateway_job(raw, position=position)
            warnings += notes
            if job is None:
                continue
            if job.job_id in jobs:
                warnings.append(f"gateway job id {job.job_id!r} is listed twice; the first one is kept")
                continue
            jobs[job.job_id] = job
        return tuple(jobs.values()), tuple(warnings)

    # -- running -------------------------------------------------------------------------------------

    async def run(self, job: LocalJob, *, timeout: float, on_started: OnStarted | None = None) -> RunOutcome:  # noqa: ASYNC109 - the run's kill deadline
        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        gateway_id = job.native_id
        if not is_plain_id(gateway_id) or gateway_id.startswith("-"):
            return RunOutcome.refused(
                f"unusable gateway job id {gateway_id!r}", source=SOURCE, job_id=job.job_id
            )
        if self._native is not None:
            status = await self._native.status()
            if status.state == "connected" and self._native.can_run:
                return await self._native.run(job, timeout=timeout, on_started=on_started)
            if status.state == "down":
                return RunOutcome.refused(
                    f"gateway is down: {status.reason}", source=SOURCE, job_id=job.job_id
                )
        cli = self._get_cli()
        if cli is None:
            return RunOutcome.refused(f"{self._missing_cli()}; cannot run", source=SOURCE, job_id=job.job_id)
        try:
            info = await cli.info()
        except GatewayError as exc:
            return RunOutcome.refused(
                f"the gateway CLI cannot start: {exc}", source=SOURCE, job_id=job.job_id
            )
        start_ms = ms_from_dt(now_utc())
        deadline = time.monotonic() + timeout
        on_started = _once(on_started)  # a retry below must not report a second start
        try:
            result = await self._run_cli(cli, info, gateway_id, timeout, on_started)
            if info.pass_force and rejects_option(result.stderr_tail + result.stdout_tail, "--force"):
                info = await cli.info(refresh=True)  # the CLI was upgraded under us: detect again, retry once
                if not info.pass_force:
                    result = await self._run_cli(
                        cli, info, gateway_id, deadline - time.monotonic(), on_started
                    )
        except (SpawnError, GatewayError) as exc:
            return RunOutcome.refused(
                f"the gateway CLI cannot start: {exc}", source=SOURCE, job_id=job.job_id
            )
        return await _Judge(self, cli, job, result, start_ms, deadline).verdict()

    # -- changing a job (worker.sources.gateway_actions) ------------------------------------------------

    async def apply(self, job: LocalJob, action: str, args: Mapping[str, Any]) -> RunOutcome:
        from worker.sources import gateway_actions as actions  # it builds on this module's CLI helpers

        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        if not is_plain_id(job.native_id) or job.native_id.startswith("-"):
            return RunOutcome.refused(
                f"unusable gateway job id {job.native_id!r}", source=SOURCE, job_id=job.job_id, action=action
            )
        changes = actions.wanted_changes(job, action, args)
        if not changes:
            return RunOutcome.applied(
                action, f"{job.job_id}: nothing to change", source=SOURCE, job_id=job.job_id, changes={}
            )
        if self._native is not None:
            status = await self._native.status()
            if status.state == "connected" and self._native.can_run:
                return await actions.apply_native(self._native, job, action, args, changes)
            if status.state == "down":
                return RunOutcome.refused(
                    f"gateway is down: {status.reason}; nothing was changed",
                    source=SOURCE,
                    job_id=job.job_id,
                    action=action,
                )
        cli = self._get_cli()
        if cli is None:
            return RunOutcome.refused(
                f"{self._missing_cli()}; nothing was changed", source=SOURCE, job_id=job.job_id, action=action
            )
        return await actions.apply_cli(cli, job, action, args, changes)

    @property
    def cheap_run_log(self) -> bool:
        return self._native is not None and self._native.connected

    async def run_log(self, job: LocalJob, limit: int) -> list[dict[str, Any]]:
        """The gateway's run log of `job` (`cron.runs`; `cron runs --id` on the CLI path), oldest first.
        Empty when the gateway can't be asked now (the run history catches up later)."""
        refused = self.refuse_foreign(job)
        gateway_id = job.native_id
        if refused is not None or not is_plain_id(gateway_id) or gateway_id.startswith("-"):
            return []
        if self._native is not None:
            status = await self._native.status()
            if status.state == "connected":
                entries = await self._native.runs(gateway_id, limit)
                return _oldest_first(entries)
        cli = self._get_cli()
        if cli is None:
            return []
        try:
            result = await cli.call(
                ["cron", "runs", "--id", gateway_id, "--limit", str(limit)], timeout=LIST_TIMEOUT_MS / 1000
            )
            self._raise_for(result, "`cron runs`")
        except (SpawnError, GatewayError) as exc:
            log.info("could not read the run log of %s: %s", gateway_id, exc)
            return []
        payload = extract_json(result.stdout_tail, lambda v: isinstance(v, dict) and "entries" in v)
        listed = payload.get("entries") if isinstance(payload, dict) else None
        return _oldest_first([e for e in listed or [] if isinstance(e, dict)])

    async def _run_cli(
        self,
        cli: GatewayCli,
        info: CliInfo,
        gateway_id: str,
        timeout: float,  # noqa: ASYNC109 - the run's kill deadline
        on_started: OnStarted | None,
    ) -> ProcessResult:
        # The CLI's own --timeout ends first, so there is still time to confirm from the run log.
        margin = self._cli_margin if self._cli_margin is not None else min(30.0, max(0.5, timeout * 0.1))
        cli_ms = max(1000, int((timeout - margin) * 1000))
        args = [
            "cron",
            "run",
            gateway_id,
            *(["--force"] if info.pass_force else []),
            "--timeout",
            str(cli_ms),
        ]
        return await run_process(
            [str(cli.binary), *args],
            timeout=max(timeout, 1.0),
            env=cli.env,
            on_started=on_started,
            tail_chars=16_000,
        )

    async def find_run(
        self, cli: GatewayCli, gateway_id: str, start_ms: int, until: float, run_id: str | None = None
    ) -> dict[str, Any] | None:
        """Our run's finished run-log entry (by `runId`, else `runAtMs` ≥ `start_ms`), polled till `until`."""
        while True:
            remaining = until - time.monotonic()
            try:
                result = await cli.call(
                    ["cron", "runs", "--id", gateway_id, "--limit", str(RUNS_LIMIT)],
                    timeout=max(5.0, remaining + 5),
                )
                self._raise_for(result, "`cron runs`")
                payload = extract_json(result.stdout_tail, lambda v: isinstance(v, dict) and "entries" in v)
                entries = payload.get("entries") if isinstance(payload, dict) else None
            except GatewayError:
                entries = None
            found: list[Any] = entries if isinstance(entries, list) else []
            for entry in reversed(found):
                if isinstance(entry, dict) and _is_our_run(entry, start_ms, run_id):
                    return entry
            if time.monotonic() + self.poll_interval > until:
                return None
            await asyncio.sleep(self.poll_interval)


def _oldest_first(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ClawdBot lists its run log oldest first, OpenClaw newest first: one order for everybody."""

    def started(entry: dict[str, Any]) -> float:
        value = entry.get("runAtMs", entry.get("ts"))
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

    return sorted(entries, key=started)


def _once(hook: OnStarted | None) -> OnStarted | None:
    if hook is None:
        return None
    fired = False

    def fire(started: ProcessStarted) -> object:
        nonlocal fired
        if fired:
            return None
        fired = True
        return hook(started)

    return fire


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _is_our_run(entry: object, start_ms: int, run_id: str | None) -> bool:
    if (
        not isinstance(entry, dict)
        or entry.get("status") is None
        or entry.get("action", "finished") != "finished"
    ):
        return False
    if run_id is not None and entry.get("runId") is not None:
        return entry.get("runId") == run_id
    run_at = entry.get("runAtMs")
    return isinstance(run_at, int | float) and not isinstance(run_at, bool) and run_at >= start_ms


class _Judge:
    """Turns one `cron run` result (plus the run log) into a RunOutcome; see the module docstring."""

    def __init__(
        self,
        source: GatewaySource,
        cli: GatewayCli,
        job: LocalJob,
        result: ProcessResult,
        start_ms: int,
        deadline: float,
    ) -> None:
        self.source, self.cli, self.job, self.result = source, cli, job, result
        self.start_ms, self.deadline = start_ms, deadline

    async def verdict(self) -> RunOutcome:
        result = self.result
        if result.timed_out:
            entry = await self._find(time.monotonic() + 5)
            if entry is not None:
                return self._from_entry(entry)
            return self._make(
                "error",
                "the CLI did not return in time and the gateway has no record of the run yet; "
                "it may still be running there",
                timed_out=True,
            )
        try:  # stdout's answer first: OpenClaw exits 1 with {"ok": true, "ran": false, ...}
            answer = extract_json(result.stdout_tail, lambda v: isinstance(v, dict) and "ok" in v)
        except GatewayError:
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is not False:
            return await self._from_answer(answer)
        if result.exit_code != 0:
            return await self._from_failure(cli_error(result))
        if answer is not None:  # {"ok": false} with exit code 0
            return self._make("error", f"the gateway refused: {cli_error(result)}", ran=False)
        first = next((ln.strip() for ln in result.stdout_tail.splitlines() if ln.strip()), "")
        return self._make("error", f"unexpected answer from the gateway CLI (it began: {first[:120]!r})")

    async def _from_failure(self, line: str) -> RunOutcome:
        failure = error_for(line)
        if isinstance(failure, GatewayDown):
            return self._make("error", f"gateway is down: {line}", ran=False)
        if looks_unknown_job(line):
            return self._make("error", f"the gateway does not know this job any more: {line}", ran=False)
        if isinstance(failure, GatewayTimeout):
            entry = await self._find(self.deadline)
            if entry is not None:
                return self._from_entry(entry)
            return self._make(
                "error",
                f"the CLI gave up waiting ({line}) and no finished run was recorded within "
                "the timeout; the gateway may still be running it",
                timed_out=True,
            )
        return self._make("error", f"the gateway CLI failed (exit code {self.result.exit_code}): {line}")

    async def _from_answer(self, answer: dict[str, Any]) -> RunOutcome:
        if answer.get("ran") is False:
            reason = answer.get("reason") or "no reason given"
            return self._make("error", f"the gateway did not run it ({reason})", ran=False)
        if answer.get("enqueued") is True:
            run_id = answer.get("runId") if isinstance(answer.get("runId"), str) else None
            entry = await self._find(self.deadline, run_id)
            if entry is not None:
                return self._from_entry(entry)
            return self._make(
                "error",
                f"queued in the gateway as {run_id or 'a run'}, but it did not finish within the timeout",
                timed_out=True,
            )
        if answer.get("ran") is True:
            entry = await self._find(min(self.deadline, time.monotonic() + 2 * self.source.poll_interval))
            if entry is not None:
                return self._from_entry(entry)
            return self._make("done", "the gateway ran it (ran: true); its run log has no entry for it yet")
        return self._make("error", f"unexpected answer from the gateway CLI: {str(answer)[:200]}")

    async def _find(self, until: float, run_id: str | None = None) -> dict[str, Any] | None:
        return await self.source.find_run(self.cli, self.job.native_id, self.start_ms, until, run_id)

    def _from_entry(self, entry: dict[str, Any]) -> RunOutcome:
        verdict, reason = judge_run_entry(entry)
        duration = entry.get("durationMs")
        summary = _text(entry.get("summary"))
        error = _text(entry.get("error")) or _text(entry.get("deliveryError"))
        extra_out = f"\n[gateway run log] {summary}" if summary else ""
        extra_err = f"\n[gateway run log] {error}" if error else ""
        return self._make(
            verdict,
            reason,
            duration_ms=int(duration)
            if isinstance(duration, int | float) and not isinstance(duration, bool)
            else None,
            stdout_extra=extra_out,
            stderr_extra=extra_err,
        )

    def _make(
        self,
        verdict: Verdict,
        reason: str,
        *,
        ran: bool = True,
        timed_out: bool = False,
        duration_ms: int | None = None,
        stdout_extra: str = "",
        stderr_extra: str = "",
    ) -> RunOutcome:
        result = self.result
        return RunOutcome(
            verdict=verdict,
            reason=reason,
            source=SOURCE,
            job_id=self.job.job_id,
            exit_code=result.exit_code,
            duration_ms=duration_ms if duration_ms is not None else result.duration_ms,
            stdout_tail=(result.stdout_tail + stdout_extra)[-4000:],
            stderr_tail=(result.stderr_tail + stderr_extra)[-4000:],
            timed_out=timed_out or result.timed_out,
            started_at=result.started_at,
            finished_at=now_utc(),
            ran=ran,
        )
