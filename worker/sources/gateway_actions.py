"""Enable, disable, reschedule and rename gateway jobs: natively with `cron.update`, else with the CLI.

Native (gateway_native): `cron.update {id, patch}` with `{enabled}`, `{name}` or `{schedule}` — the whole
schedule: `{kind: "cron", expr, tz?}`, `{kind: "every", everyMs}`, and for `at` ClawdBot's
`{kind: "at", atMs}` (protocol 3) or OpenClaw's `{kind: "at", at}` (protocol 4). The answer is the job as it
is now.

CLI (both variants' own commands, checked against the real ClawdBot 2026.1.24-3 and OpenClaw 2026.9.6 and
their captured help): `cron enable <id>`, `cron disable <id>`, `cron edit <id> --name=<name>`,
`cron edit <id> --cron=<expr> [--tz=<zone>]`, `--every=<ms>ms`, `--at=<ISO>`. Every value is one argument in
`--option=value` form (a name starting with `-` stays a value), never a shell word. Both print the changed
job as JSON and exit 0; failures are read as for runs (gateway_cli.cli_error). OpenClaw's `cron edit
--cron` without `--tz` keeps the job's zone, so removing a zone through its CLI is refused with that reason.

Both gateways' own rule for one-shot jobs: OpenClaw makes a job it turns into an `at` job delete itself after
it succeeds (as its `cron edit --at` does); the result says so when the gateway's answer shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cronmirror_desktop.core.actions import DISABLE, ENABLE, RENAME, SET_SCHEDULE, schedule_words
from cronmirror_desktop.core.schedule import AT, CRON, EVERY
from cronmirror_desktop.core.timeutil import ms_from_dt, parse_iso
from worker.jobs import LocalJob
from worker.outcome import RunOutcome
from worker.sources.gateway_cli import (
    GatewayCli,
    GatewayDown,
    GatewayError,
    cli_error,
    error_for,
    extract_json,
    looks_unknown_job,
)
from worker.sources.gateway_map import SOURCE
from worker.sources.gateway_native import NativeGateway
from worker.sources.gateway_protocol import GatewayDisconnected, GatewayRpcError, GatewayRpcTimeout

CLI_TIMEOUT_MS = 30_000
OPENCLAW_PROTOCOL = 4


def current_schedule(job: LocalJob) -> dict[str, Any]:
    schedule: dict[str, Any] = {"kind": job.schedule_kind, "expr": job.schedule_expr}
    if job.tz:
        schedule["tz"] = job.tz
    return schedule


def wanted_changes(job: LocalJob, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """What the action would change on this job as the gateway listed it (empty: nothing to do)."""
    if action in (ENABLE, DISABLE):
        wanted = action == ENABLE
        return {} if job.enabled == wanted else {"enabled": {"from": job.enabled, "to": wanted}}
    if action == RENAME:
        return {} if job.name == args["name"] else {"name": {"from": job.name, "to": args["name"]}}
    if action == SET_SCHEDULE:
        before = current_schedule(job)
        after: dict[str, Any] = {"kind": args["kind"], "expr": args["expr"]}
        if args.get("tz"):
            after["tz"] = args["tz"]
        return {} if before == after else {"schedule": {"from": before, "to": after}}
    return {}


def native_patch(action: str, args: Mapping[str, Any], protocol: int | None) -> dict[str, Any]:
    if action in (ENABLE, DISABLE):
        return {"enabled": action == ENABLE}
    if action == RENAME:
        return {"name": args["name"]}
    kind, expr = args["kind"], str(args["expr"])
    schedule: dict[str, Any]
    if kind == CRON:
        schedule = {"kind": CRON, "expr": expr}
        if args.get("tz"):
            schedule["tz"] = args["tz"]
    elif kind == EVERY:
        schedule = {"kind": EVERY, "everyMs": int(expr)}
    elif (protocol or 0) >= OPENCLAW_PROTOCOL:
        schedule = {"kind": AT, "at": expr}
    else:
        schedule = {"kind": AT, "atMs": ms_from_dt(parse_iso(expr))}
    return {"schedule": schedule}


def cli_args(action: str, gateway_id: str, args: Mapping[str, Any]) -> list[str]:
    if action in (ENABLE, DISABLE):
        return ["cron", action, gateway_id, "--timeout", str(CLI_TIMEOUT_MS)]
    edit = ["cron", "edit", gateway_id]
    if action == RENAME:
        edit.append(f"--name={args['name']}")
    else:
        kind, expr = args["kind"], str(args["expr"])
        if kind == CRON:
            edit.append(f"--cron={expr}")
            if args.get("tz"):
                edit.append(f"--tz={args['tz']}")
        elif kind == EVERY:
            edit.append(f"--every={int(expr)}ms")
        else:
            edit.append(f"--at={expr}")
    return [*edit, "--timeout", str(CLI_TIMEOUT_MS)]


def _summary(action: str, args: Mapping[str, Any], answer: Mapping[str, Any]) -> str:
    if action in (ENABLE, DISABLE):
        text = f"{action}d in the gateway"
    elif action == RENAME:
        text = f"renamed to {args['name']!r} in the gateway"
    else:
        text = f"schedule set to {schedule_words(args)} in the gateway"
        if args["kind"] == AT and answer.get("deleteAfterRun") is True:
            text += "; the gateway will delete the job after it runs (its rule for one-shot jobs)"
    return text


async def apply_native(
    native: NativeGateway, job: LocalJob, action: str, args: Mapping[str, Any], changes: dict[str, Any]
) -> RunOutcome:
    patch = native_patch(action, args, native.protocol)
    try:
        answer = await native.update(job.native_id, patch)
    except GatewayRpcError as exc:
        message = native.scrub(exc.message)
        if exc.unknown_job:
            reason = f"the gateway does not know this job any more: {message}"
        elif exc.missing_scope:
            reason = f"the gateway does not let this worker change jobs: {message}"
        else:
            reason = f"the gateway refused the change: {message}"
        return RunOutcome.refused(reason, source=SOURCE, job_id=job.job_id, action=action)
    except (GatewayRpcTimeout, GatewayDisconnected) as exc:
        return RunOutcome.refused(
            f"no answer to cron.update ({exc}); the next listing shows whether it was changed",
            source=SOURCE,
            job_id=job.job_id,
            action=action,
        )
    return RunOutcome.applied(
        action,
        f"{job.job_id}: {_summary(action, args, answer)}",
        source=SOURCE,
        job_id=job.job_id,
        changes=changes,
    )


async def apply_cli(
    cli: GatewayCli, job: LocalJob, action: str, args: Mapping[str, Any], changes: dict[str, Any]
) -> RunOutcome:
    if (
        action == SET_SCHEDULE
        and args["kind"] == CRON
        and not args.get("tz")
        and job.tz
        and cli.binary.name == "openclaw"
    ):
        return RunOutcome.refused(
            f"the OpenClaw CLI keeps a job's time zone ({job.tz}) when none is given, so it cannot remove it "
            "(the gateway's own protocol can, when the worker reaches it); nothing was changed",
            source=SOURCE,
            job_id=job.job_id,
            action=action,
        )
    try:
        result = await cli.call(cli_args(action, job.native_id, args), timeout=CLI_TIMEOUT_MS / 1000 + 15)
    except GatewayError as exc:  # the CLI cannot even start
        return RunOutcome.refused(
            f"the gateway CLI cannot start: {exc}; nothing was changed",
            source=SOURCE,
            job_id=job.job_id,
            action=action,
        )
    if result.timed_out or result.exit_code != 0:
        line = cli_error(result) if not result.timed_out else "the CLI did not answer in time"
        if isinstance(error_for(line), GatewayDown):
            reason = f"gateway is down: {line}; nothing was changed"
        elif looks_unknown_job(line):
            reason = f"the gateway does not know this job any more: {line}"
        else:
            reason = f"the gateway refused the change: {line}"
        return RunOutcome.refused(reason, source=SOURCE, job_id=job.job_id, action=action)
    try:
        answer = extract_json(
            result.stdout_tail, lambda v: isinstance(v, dict) and v.get("id") == job.native_id
        )
    except GatewayError:
        answer = {}
    assert isinstance(answer, dict)
    return RunOutcome.applied(
        action,
        f"{job.job_id}: {_summary(action, args, answer)}",
        source=SOURCE,
        job_id=job.job_id,
        changes=changes,
        duration_ms=result.duration_ms,
    )
