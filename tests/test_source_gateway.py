"""The gateway source's CLI path against the fake ClawdBot / OpenClaw CLI (real subprocesses, real files).

The fake prints what the real CLIs printed (tests/fakes/gateway_captures): multi-line errors with their
trailer lines, OpenClaw's JSON answers on stdout even when it exits 1. The native WebSocket path is tested
against the real gateways (tests/test_gateway_real.py); here the source is told to use the CLI.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.gateway import FakeGateway, install_fake_gateway, sample_jobs
from worker.jobs import LocalJob
from worker.process import ProcessStarted
from worker.sources.gateway import GatewaySource

MORNING = "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23"
INBOX = "9b0d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
REMINDER = "c2e7a1f0-5d4b-4c3a-9e8f-0a1b2c3d4e5f"
VARIANTS = ["clawdbot-2026.1.24", "openclaw-2026.9.6"]


def source_for(gw: FakeGateway, **kwargs: object) -> GatewaySource:
    env = {**gw.env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return GatewaySource(search_dirs=[gw.bin_dir], env=env, poll_interval=0.05, native=False, **kwargs)  # type: ignore[arg-type]


def by_id(jobs: tuple[LocalJob, ...]) -> dict[str, LocalJob]:
    return {j.job_id: j for j in jobs}


def run_calls(gw: FakeGateway) -> list[list[str]]:
    return [c for c in gw.calls() if c[:2] == ["cron", "run"] and "--help" not in c]


def fingerprint(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(directory)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(params=VARIANTS)
def gw(request: pytest.FixtureRequest, tmp_path: Path) -> FakeGateway:
    gateway = install_fake_gateway(tmp_path, request.param)
    gateway.write_jobs(sample_jobs(legacy_at=request.param.startswith("clawdbot")))
    return gateway


# -- listing ----------------------------------------------------------------------------------------


async def test_lists_every_job_mapped_per_the_mirror_contract(gw: FakeGateway) -> None:
    listing = await source_for(gw).list_jobs()
    assert listing.state == "ok", listing.message
    assert listing.warnings == ()
    jobs = by_id(listing.jobs)
    assert set(jobs) == {MORNING, INBOX, REMINDER}  # disabled jobs too (--all)
    raw = {j["id"]: j for j in gw.jobs()}
    morning = jobs[MORNING].mirror_fields()
    assert morning == {
        "job_id": MORNING,
        "name": "Morning status",
        "schedule_kind": "cron",
        "schedule_expr": "0 7 * * *",
        "tz": "America/Los_Angeles",
        "enabled": True,
        "next_run_at": datetime.fromtimestamp(raw[MORNING]["state"]["nextRunAtMs"] / 1000, UTC),
        "last_run_at": datetime.fromtimestamp(raw[MORNING]["state"]["lastRunAtMs"] / 1000, UTC),
        "last_status": "ok",
        "last_duration_ms": 48213,
        "instructions": "Summarize inbox + calendar for today.",
        "source": "gateway",
        "host": None,  # a SourceSet stamps its host; the source alone does not know it
    }
    inbox = jobs[INBOX]
    assert (inbox.schedule_kind, inbox.schedule_expr, inbox.tz) == ("every", "1800000", None)
    assert inbox.instructions == "Check for urgent email and flag it."
    assert inbox.describe_schedule() == "Every 30 minutes"
    reminder = jobs[REMINDER]
    assert reminder.schedule_kind == "at"
    assert reminder.enabled is False
    assert reminder.schedule_expr is not None
    assert reminder.schedule_expr.endswith("Z")
    assert reminder.schedule_expr == jobs[REMINDER].mirror_fields(iso=True)["schedule_expr"]
    list_call = next(c for c in gw.calls() if c[:2] == ["cron", "list"] and "--help" not in c)
    assert list_call == ["cron", "list", "--all", "--json", "--timeout", "60000"]


async def test_prefers_last_run_status_and_accepts_iso_at(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    jobs = sample_jobs(legacy_at=False)
    jobs[0]["state"].update({"lastStatus": "ok", "lastRunStatus": "error"})
    jobs[1]["state"].update({"lastStatus": "skipped"})
    jobs[2]["schedule"] = {"kind": "at", "at": "2026-12-24T18:00:00+01:00"}
    gw.write_jobs(jobs)
    listed = by_id((await source_for(gw).list_jobs()).jobs)
    assert listed[MORNING].last_status == "error"
    assert listed[INBOX].last_status == "skipped"
    assert listed[REMINDER].schedule_expr == "2026-12-24T17:00:00.000Z"


async def test_tolerates_noise_before_the_json(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24")
    gw.write_jobs(sample_jobs())
    gw.configure(noise="[plugins] loaded 3 plugins\n[1] warming up {cache}\n")
    listing = await source_for(gw).list_jobs()
    assert listing.state == "ok"
    assert len(listing.jobs) == 3


async def test_bad_jobs_are_warnings_and_the_rest_still_list(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    good = sample_jobs()
    bad: list[object] = [
        {
            "id": "e1",
            "name": "On exit",
            "schedule": {"kind": "on-exit"},
            "state": {"nextRunAtMs": 1_900_000_000_000},
        },
        {"name": "no id", "schedule": {"kind": "cron", "expr": "0 7 * * *"}},
        {"id": "../../etc/passwd", "name": "slashy"},
        {"id": "--force", "name": "an option"},
        "not an object",
        {
            "id": "tz1",
            "name": "Bad zone",
            "schedule": {"kind": "cron", "expr": "0 7 * * *", "tz": "Mars/Base"},
        },
        {
            "id": "st1",
            "name": "Odd status",
            "schedule": {"kind": "every", "everyMs": 60000},
            "state": {"lastStatus": "meh"},
        },
        {"id": "ev0", "name": "Zero every", "schedule": {"kind": "every", "everyMs": 0}},
    ]
    gw.write_jobs([*good, *bad])  # type: ignore[list-item]
    listing = await source_for(gw).list_jobs()
    jobs = by_id(listing.jobs)
    assert set(jobs) == {MORNING, INBOX, REMINDER, "e1", "tz1", "st1", "ev0"}
    assert (jobs["e1"].schedule_kind, jobs["e1"].next_run_at) == (
        "on-exit",
        datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC),
    )
    assert jobs["st1"].last_status is None
    w = "\n".join(listing.warnings)
    assert "gateway job 'On exit': unknown schedule kind 'on-exit'" in w
    assert "gateway job #5 has no usable id (None); left out" in w
    assert "gateway job #6 has no usable id ('../../etc/passwd')" in w
    assert "gateway job #7 has no usable id ('--force')" in w
    assert "gateway job #8 is not an object" in w
    assert "gateway job 'Odd status': unknown last status 'meh'" in w
    assert "gateway job 'Zero every': every-schedule without a valid everyMs (0)" in w
    # The bad zone is found when the next run is computed (SourceSet.list_jobs), not a crash here.
    assert "schedule: unknown time zone 'Mars/Base'" in jobs["tz1"].with_next_run(datetime.now(UTC)).problems


async def test_garbage_from_the_cli_falls_back_to_the_store_read_only(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24")
    gw.write_jobs(sample_jobs())
    gw.configure(garbage_list=True)
    listing = await source_for(gw).list_jobs()
    assert listing.state == "degraded"
    assert "no usable JSON in the CLI's output" in listing.message
    assert listing.message.endswith(f"showing {gw.jobs_json} read-only")
    assert len(listing.jobs) == 3


async def test_a_listing_with_more_pages_than_the_cli_printed_says_so(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    gw.configure(page_size=2)
    listing = await source_for(gw).list_jobs()
    assert len(listing.jobs) == 2
    assert (
        "the gateway listed 2 of 3 jobs and its CLI cannot page; the rest are not shown" in listing.warnings
    )


async def test_openclaw_command_jobs_show_their_command(tmp_path: Path) -> None:
    """Issue 15, point 5: `payload: {kind: command, argv: [...]}` (OpenClaw 2026.9.6) had no instructions."""
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    jobs = sample_jobs()
    jobs[1]["payload"] = {"kind": "command", "argv": ["sh", "-lc", "echo hello-quiet; df -h / | tail -1"]}
    jobs[2]["payload"] = {"kind": "heartbeat"}
    gw.write_jobs(jobs)
    listed = by_id((await source_for(gw).list_jobs()).jobs)
    assert listed[INBOX].instructions == "sh -lc 'echo hello-quiet; df -h / | tail -1'"
    assert listed[REMINDER].instructions is None


# -- gateway down / no CLI: read-only fallback ----------------------------------------------------------


async def test_gateway_down_lists_jobs_json_read_only_and_never_writes_it(gw: FakeGateway) -> None:
    """The real CLIs print the error first, then 4-5 trailer lines ending in `Bind: loopback`."""
    gw.configure(down=True)
    before = fingerprint(gw.state_dir)
    source = source_for(gw)
    listing = await source.list_jobs()
    assert listing.state == "degraded"
    if gw.variant.startswith("clawdbot"):
        line = "Error: gateway closed (1006 abnormal closure (no close frame)): no close reason"
    else:
        line = "Gateway not reachable at ws://127.0.0.1:18789 (ECONNREFUSED)."
    assert listing.message == f"gateway is down ({line}) — showing {gw.jobs_json} read-only"
    jobs = by_id(listing.jobs)
    assert set(jobs) == {MORNING, INBOX, REMINDER}
    assert jobs[MORNING].last_duration_ms == 48213
    outcome = await source.run(jobs[INBOX], timeout=10)
    assert (outcome.verdict, outcome.ran) == ("error", False)
    assert outcome.reason == f"gateway is down: {line}"
    assert fingerprint(gw.state_dir) == before  # not a byte, not an mtime, no .tmp or .bak files


async def test_a_listing_timeout_says_so(gw: FakeGateway) -> None:
    gw.configure(timeout_ms_floor=120_000)
    listing = await source_for(gw).list_jobs()
    assert listing.state == "degraded"
    prefix = "Error: " if gw.variant.startswith("clawdbot") else ""
    assert listing.message.startswith(
        f"the gateway did not answer in time ({prefix}gateway timeout after 60000ms)"
    )


async def test_a_refused_token_is_not_a_gateway_that_is_down(tmp_path: Path) -> None:
    """ClawdBot's CLI says `gateway connect failed: … unauthorized …` and then `gateway closed (1008)`."""
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24")
    gw.write_jobs(sample_jobs())
    gw.configure(wrong_token=True)
    listing = await source_for(gw).list_jobs()
    assert listing.state == "degraded"
    assert listing.message.startswith(
        "the gateway CLI failed (gateway connect failed: Error: unauthorized: gateway token mismatch"
    )


async def test_a_cli_that_cannot_start_shows_the_cause_not_a_stack_frame(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24")
    gw.write_jobs(sample_jobs())
    gw.configure(start_failure=True)
    source = source_for(gw)
    cause = "[clawdbot] Failed to start CLI: Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'strip-ansi'"
    listing = await source.list_jobs()
    assert listing.state == "degraded"
    assert listing.message.startswith(f"the gateway CLI cannot start ({cause}")
    outcome = await source.run(listing.jobs[0], timeout=10)
    assert (outcome.verdict, outcome.ran) == ("error", False)
    assert outcome.reason.startswith(f"the gateway CLI cannot start: {cause}")
    assert " at " not in outcome.reason


async def test_no_cli_at_all(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    source = GatewaySource(search_dirs=[empty], env=gw.env(), native=False)
    listing = await source.list_jobs()
    assert listing.state == "degraded"
    assert listing.message.startswith("no openclaw / clawdbot / moltbot CLI found — showing")
    outcome = await source.run(listing.jobs[0], timeout=5)
    assert (outcome.verdict, outcome.ran) == ("error", False)
    assert "CLI found; cannot run" in outcome.reason
    nothing = await GatewaySource(
        search_dirs=[empty], env={"HOME": str(tmp_path / "nohome")}, native=False
    ).list_jobs()
    assert nothing.state == "unavailable"
    configured = await GatewaySource(
        binary=tmp_path / "nope" / "openclaw", env=gw.env(), native=False
    ).list_jobs()
    assert "the configured gateway CLI" in configured.message


# -- running ----------------------------------------------------------------------------------------------


async def test_run_now_runs_and_confirms_from_the_run_log(gw: FakeGateway) -> None:
    source = source_for(gw)
    job = by_id((await source.list_jobs()).jobs)[INBOX]  # not due: only a forced run runs it
    started: list[ProcessStarted] = []
    outcome = await source.run(job, timeout=20, on_started=started.append)
    assert outcome.verdict == "done", outcome.reason
    assert outcome.reason == "the gateway ran it: ok — Check for urgent email and flag it."
    assert outcome.exit_code == 0
    assert outcome.source == "gateway"
    assert len(started) == 1
    assert len(gw.runs(INBOX)) == 1
    (call,) = run_calls(gw)
    if gw.variant.startswith("clawdbot"):
        assert call[:5] == ["cron", "run", INBOX, "--force", "--timeout"]
    else:
        assert call[:4] == ["cron", "run", INBOX, "--timeout"]  # --force would be rejected
    assert int(call[-1]) > 10_000  # a timeout that fits long jobs, not the CLI's 10 s default
    relisted = by_id((await source.list_jobs()).jobs)[INBOX]
    assert relisted.last_status == "ok"
    assert relisted.last_run_at is not None
    assert outcome.started_at is not None
    assert relisted.last_run_at >= outcome.started_at.replace(microsecond=0)


async def test_a_failed_job_is_an_error_even_though_the_cli_said_ok(gw: FakeGateway) -> None:
    gw.configure(job_fail={MORNING: "command exited with code 3"})
    source = source_for(gw)
    outcome = await source.run(by_id((await source.list_jobs()).jobs)[MORNING], timeout=20)
    assert outcome.verdict == "error"
    assert outcome.reason == "the gateway ran it and it failed: command exited with code 3"
    assert "command exited with code 3" in outcome.stderr_tail


async def test_a_run_whose_delivery_failed_is_a_failed_run(tmp_path: Path) -> None:
    """Issue 15, point 4: OpenClaw logs `status: ok` with `completionStatus: failed` when the job ran but its
    result could not be delivered; `openclaw cron run --wait` calls that a failure, so do we."""
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    gw.configure(delivery_fail=[MORNING])
    source = source_for(gw)
    outcome = await source.run(by_id((await source.list_jobs()).jobs)[MORNING], timeout=20)
    (entry,) = gw.runs(MORNING)
    assert (entry["status"], entry["completionStatus"]) == ("ok", "failed")
    assert outcome.verdict == "error"
    assert outcome.reason.startswith(
        "the job ran, but the gateway counts the run as failed (not-delivered): Channel is required"
    )


async def test_unknown_jobs_are_recognised_in_both_wordings(gw: FakeGateway) -> None:
    """ClawdBot: `Error: Error: unknown cron job id: <id>`; OpenClaw: `Automation not found: <id>. …`."""
    source = source_for(gw)
    jobs = by_id((await source.list_jobs()).jobs)
    gw.write_jobs([j for j in gw.jobs() if j["id"] != INBOX])  # deleted in the gateway since the last sync
    gone = await source.run(jobs[INBOX], timeout=20)
    assert (gone.verdict, gone.ran, gone.exit_code) == ("error", False, 1)
    if gw.variant.startswith("clawdbot"):
        said = f"Error: unknown cron job id: {INBOX}"
    else:
        said = f"Automation not found: {INBOX}. Run `openclaw cron list` to see recent automation ids."
    assert gone.reason == f"the gateway does not know this job any more: {said}"


async def test_already_running_is_not_a_success_even_with_exit_1(tmp_path: Path) -> None:
    """Issue 15, point 2: OpenClaw prints `{"ok":true,"ran":false,"reason":"already-running"}` and exits 1."""
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    jobs = sample_jobs()
    jobs[0]["state"]["runningAtMs"] = jobs[0]["state"]["lastRunAtMs"]
    gw.write_jobs(jobs)
    source = source_for(gw)
    busy = await source.run(by_id((await source.list_jobs()).jobs)[MORNING], timeout=20)
    assert (busy.verdict, busy.ran, busy.exit_code) == ("error", False, 1)
    assert busy.reason == "the gateway did not run it (already-running)"
    assert gw.runs(MORNING) == []


async def test_a_cli_that_names_neither_flag_runs_only_due_jobs(tmp_path: Path) -> None:
    # ClawdBot's CLI, installed as `openclaw`, whose help names neither flag: no --force, so not due.
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24", names=("openclaw",))
    gw.write_jobs(sample_jobs())
    gw.configure(help_without_flags=True)
    source = source_for(gw)
    job = by_id((await source.list_jobs()).jobs)[INBOX]
    not_due = await source.run(job, timeout=20)
    assert (not_due.verdict, not_due.ran) == ("error", False)
    assert not_due.reason == "the gateway did not run it (not-due)"
    assert not_due.exit_code == 0
    assert gw.runs(INBOX) == []


async def test_cli_timeout_is_confirmed_from_the_run_log(tmp_path: Path) -> None:
    """Issue 15, point 1: `Error: gateway timeout after Nms` is the *first* stderr line, then the trailer."""
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24")
    gw.write_jobs(sample_jobs())
    gw.configure(slow_ms={MORNING: 1500})
    source = source_for(gw, cli_margin=3.0)  # the CLI's --timeout is 1 s: it gives up, the job goes on
    job = by_id((await source.list_jobs()).jobs)[MORNING]
    outcome = await source.run(job, timeout=4.0)
    assert outcome.exit_code == 1
    assert "Error: gateway timeout after 1000ms\nGateway target: ws://127.0.0.1:18789" in outcome.stderr_tail
    assert outcome.stderr_tail.splitlines()[4] == "Bind: loopback"
    assert outcome.verdict == "done", outcome.reason
    assert outcome.reason.startswith("the gateway ran it: ok")
    assert outcome.duration_ms >= 1500  # the job's own duration, from the run log


async def test_a_second_clawdbot_run_waits_for_the_first_and_runs_again(tmp_path: Path) -> None:
    """ClawdBot runs one job at a time under its cron lock: no `already-running`, the second run queues."""
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24")
    gw.write_jobs(sample_jobs())
    gw.configure(slow_ms={MORNING: 600})
    source = source_for(gw)
    job = by_id((await source.list_jobs()).jobs)[MORNING]
    first, second = await asyncio.gather(source.run(job, timeout=20), source.run(job, timeout=20))
    assert (first.verdict, second.verdict) == ("done", "done"), (first.reason, second.reason)
    assert len(gw.runs(MORNING)) == 2


async def test_enqueued_runs_are_followed_up(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    gw.configure(slow_ms={MORNING: 300, INBOX: 3000})
    source = source_for(gw)
    jobs = by_id((await source.list_jobs()).jobs)
    outcome = await source.run(jobs[MORNING], timeout=10)
    assert outcome.verdict == "done", outcome.reason
    assert outcome.duration_ms >= 300
    late = await source.run(jobs[INBOX], timeout=0.8)
    assert late.verdict == "error"
    assert late.timed_out
    assert late.reason.startswith(f"queued in the gateway as manual:{INBOX}:")


async def test_an_upgrade_that_drops_force_is_detected_and_retried(tmp_path: Path) -> None:
    """Issue 15, point 3: OpenClaw says `OpenClaw does not recognize option "--force".`, not commander's
    `unknown option '--force'`, so re-detection never triggered and the cached variant kept failing."""
    gw = install_fake_gateway(tmp_path, "clawdbot-2026.1.24", names=("openclaw",))
    gw.write_jobs(sample_jobs())
    source = source_for(gw)
    job = by_id((await source.list_jobs()).jobs)[INBOX]  # detected: needs --force
    gw.configure(variant="openclaw-2026.9.6")  # `npm i -g openclaw@latest` in the meantime
    started: list[ProcessStarted] = []
    outcome = await source.run(job, timeout=20, on_started=started.append)
    assert len(started) == 1
    assert outcome.verdict == "done", outcome.reason
    calls = run_calls(gw)
    assert "--force" in calls[0]
    assert "--force" not in calls[1]


async def test_refuses_foreign_and_option_like_ids(tmp_path: Path) -> None:
    gw = install_fake_gateway(tmp_path, "openclaw-2026.9.6")
    source = source_for(gw)
    foreign = LocalJob("jobs:x", "x", "jobs", None, None, native_id="x")
    assert (await source.run(foreign, timeout=5)).ran is False
    sneaky = LocalJob("--help", "x", "gateway", None, None, native_id="--help")
    outcome = await source.run(sneaky, timeout=5)
    assert (outcome.verdict, outcome.ran) == ("error", False)
    assert run_calls(gw) == []
