"""Action requests end to end, on both stores: queued by the app's store, applied by the worker through the
job's own source, the mirror showing the new state when the request is `done`.

Sources: jobs.toml (a real file, edited byte-for-byte outside the job's table), crontab (a real crontab file
through the crontab tool's stand-in, tests/fakes/crontab.py), launchd (a stub `launchctl` on PATH), the
gateway CLI (the fake built from both real CLIs' captured outputs; the real gateways:
test_gateway_real_actions.py).
"""

from __future__ import annotations

import os
import plistlib
from pathlib import Path
from typing import Any

import pytest

from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest
from cronmirror_desktop.core.timeutil import parse_iso
from tests.fakes.crontab import FakeCrontab, install_fake_crontab
from tests.fakes.gateway import install_fake_gateway
from tests.fakes.launchctl import calls, install_fake_launchctl
from tests.store_harness import Backend
from tests.worker_harness import PROJECT, python_job, service, toml_job, write_jobs
from worker.sources.crontab import CrontabSource
from worker.sources.gateway import GatewaySource
from worker.sources.jobs_file import JobsFileSource
from worker.sources.launchd import LaunchdSource
from worker.sources.registry import SourceSet

HEADER = "# my jobs — hand written\n#\tkeep   me\n\n"
TRAILER = "\n# a comment after the last table\n"


def jobs_text(marker: Path) -> str:
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"
    return HEADER + toml_job("backup", python_job(code), name="Backup", tz="UTC") + TRAILER


async def act(
    backend: Backend, sources: SourceSet, job_id: str, action: str, args: Any = None
) -> CronRunRequest:
    """Queue an action as the app does, let a worker drain the queue; the request as the app then sees it."""
    queued = await backend.app.queue_run(PROJECT, job_id, "ui:test", action=action, args=args)
    assert queued.created
    await service(backend.worker, sources).drain_once()
    request = await backend.app.get_request(queued.request.id)
    assert request is not None
    return request


async def mirror(backend: Backend) -> dict[str, CronMirrorJob]:
    return {job.job_id: job for job in await backend.app.list_jobs(PROJECT)}


def reason(request: CronRunRequest) -> str:
    return str((request.result or {}).get("reason"))


# -- jobs.toml -----------------------------------------------------------------------------------------


async def test_jobs_toml_every_action_through_the_queue(backend: Backend, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_jobs(tmp_path / "jobs.toml", [jobs_text(marker)])
    original = path.read_text()
    sources = SourceSet(
        [JobsFileSource(path, new_job_programs={"/bin/echo"})],
        default_tz="UTC",
        refresh_cooldown=0.0,
        host="mac-mini",
    )
    await service(backend.worker, sources).sync_once()

    disabled = await act(backend, sources, "jobs:backup", "disable")
    assert disabled.status == "done", disabled.result
    assert disabled.result is not None
    assert disabled.result["action"] == "disable"
    assert disabled.result["changed"] == {"enabled": {"from": True, "to": False}}
    assert "jobs:backup: disabled" in reason(disabled)
    assert (await mirror(backend))["jobs:backup"].enabled is False  # mirrored before the request was done
    text = path.read_text()
    assert text.startswith(HEADER)
    assert text.endswith(TRAILER)
    assert "enabled = false" in text

    rescheduled = await act(
        backend,
        sources,
        "jobs:backup",
        "set_schedule",
        {"kind": "cron", "expr": "30 4 * * 1-5", "tz": "Asia/Tokyo"},
    )
    assert rescheduled.status == "done", rescheduled.result
    row = (await mirror(backend))["jobs:backup"]
    assert (row.schedule_kind, row.schedule_expr, row.tz) == ("cron", "30 4 * * 1-5", "Asia/Tokyo")

    renamed = await act(backend, sources, "jobs:backup", "rename", {"name": "Nightly “backup”"})
    assert renamed.status == "done"
    assert (await mirror(backend))["jobs:backup"].name == "Nightly “backup”"

    enabled = await act(backend, sources, "jobs:backup", "enable")
    assert enabled.status == "done"
    assert (await mirror(backend))["jobs:backup"].enabled is True
    text = path.read_text()
    assert text.startswith(HEADER)
    assert text.endswith(TRAILER)

    created = await act(
        backend,
        sources,
        "jobs:hourly",
        "create",
        {
            "key": "hourly",
            "name": "Hourly",
            "command": ["/bin/echo", "a b; $(c)"],
            "schedule": {"kind": "every", "expr": "3600000"},
            "timeout": 60,
        },
    )
    assert created.status == "done", created.result
    assert created.result is not None
    assert created.result["changed"] == {"created": "jobs:hourly"}
    new = (await mirror(backend))["jobs:hourly"]
    assert (new.name, new.schedule_kind, new.schedule_expr) == ("Hourly", "every", "3600000")
    assert path.read_text().startswith(text.rstrip("\n"))

    deleted = await act(backend, sources, "jobs:backup", "delete")
    assert deleted.status == "done"
    assert set(await mirror(backend)) == {"jobs:hourly"}
    assert path.read_text().startswith(HEADER)
    assert TRAILER in path.read_text()
    assert not marker.exists()  # no action ever ran the job
    assert original != path.read_text()


async def test_jobs_toml_refusals_change_nothing(backend: Backend, tmp_path: Path) -> None:
    path = write_jobs(tmp_path / "jobs.toml", [jobs_text(tmp_path / "ran")])
    before = path.read_bytes()
    sources = SourceSet(
        [JobsFileSource(path, new_job_programs={"/bin/true", "/bin/false"})],
        default_tz="UTC",
        refresh_cooldown=0.0,
        host="mac-mini",
    )
    await service(backend.worker, sources).sync_once()
    # The schedule's dialect is the job's own (cron(8) for jobs.toml): six fields are croner's, not cron's.
    six = await act(backend, sources, "jobs:backup", "set_schedule", {"kind": "cron", "expr": "0 0 3 * * *"})
    assert six.status == "error"
    assert "has 6 fields" in reason(six)
    assert "nothing was changed" in reason(six)
    unknown = await act(backend, sources, "jobs:nope", "disable")
    assert unknown.status == "error"
    assert "unknown job 'jobs:nope'" in reason(unknown)
    twice = await act(backend, sources, "jobs:other", "create", {"key": "other", "command": ["/bin/true"]})
    assert twice.status == "done"
    again = await act(backend, sources, "jobs:other", "create", {"key": "other", "command": ["/bin/false"]})
    assert again.status == "error"
    assert "exists already" in reason(again)
    assert path.read_bytes().startswith(before)


async def test_an_added_job_may_run_only_a_program_the_owner_named(backend: Backend, tmp_path: Path) -> None:
    """The public key ships in every copy of the app: an Add job followed by a Run was any command on the
    Mac mini for whoever held it. Now a worker adds no job unless its owner named the job's program."""
    marker = tmp_path / "pwned"
    path = write_jobs(tmp_path / "jobs.toml", [jobs_text(tmp_path / "ran")])
    before = path.read_bytes()
    hostile = {
        "key": "x",
        "command": ["/bin/sh", "-c", f"touch {marker}"],
        "schedule": {"kind": "every", "expr": "60000"},
    }

    closed = SourceSet([JobsFileSource(path)], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini")
    await service(backend.worker, closed).sync_once()
    refused = await act(backend, closed, "jobs:x", "create", hostile)
    assert refused.status == "error"
    assert "adds no jobs from requests" in reason(refused)
    assert "worker.new_job_programs" in reason(refused)
    ran = await act(backend, closed, "jobs:x", "run")
    assert ran.status == "error"
    assert path.read_bytes() == before

    named = SourceSet(
        [JobsFileSource(path, new_job_programs={"/usr/local/bin/restic"})],
        default_tz="UTC",
        refresh_cooldown=0.0,
        host="mac-mini",
    )
    await service(backend.worker, named).sync_once()
    other = await act(backend, named, "jobs:x", "create", hostile)
    assert other.status == "error"
    assert "'/bin/sh' is not a program this worker lets an added job run (/usr/local/bin/restic" in reason(
        other
    )
    assert path.read_bytes() == before
    ok = await act(
        backend,
        named,
        "jobs:restic",
        "create",
        {"key": "restic", "command": ["/usr/local/bin/restic", "check"]},
    )
    assert ok.status == "done", ok.result
    assert "jobs:restic" in await mirror(backend)
    assert not marker.exists()


# -- crontab -------------------------------------------------------------------------------------------

CRONTAB = (
    "MAILTO=''\n"
    "# Nightly backup\n"
    "0 3 * * * /usr/local/bin/backup --all  # trailing words stay\n"
    "\n"
    "# Rotate logs\n"
    "*/15  *  * * *\techo rotate >> /tmp/rotate.log\n"
)


def crontab_sources(tool: FakeCrontab) -> SourceSet:
    return SourceSet(
        [CrontabSource([str(tool.path), "-l"])], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini"
    )


async def crontab_job(backend: Backend, name: str) -> CronMirrorJob:
    return next(job for job in (await mirror(backend)).values() if job.name == name)


async def test_crontab_disable_enable_and_reschedule(backend: Backend, tmp_path: Path) -> None:
    tool = install_fake_crontab(tmp_path / "cron", CRONTAB)
    sources = crontab_sources(tool)
    await service(backend.worker, sources).sync_once()
    backup = await crontab_job(backend, "Nightly backup")

    disabled = await act(backend, sources, backup.job_id, "disable")
    assert disabled.status == "done", disabled.result
    assert tool.text() == CRONTAB.replace(
        "0 3 * * * /usr/local/bin/backup", "#cronmirror-disabled# 0 3 * * * /usr/local/bin/backup"
    )
    row = (await mirror(backend))[backup.job_id]  # same id, shown disabled
    assert (row.enabled, row.name) == (False, "Nightly backup")

    enabled = await act(backend, sources, backup.job_id, "enable")
    assert enabled.status == "done"
    assert tool.text() == CRONTAB  # byte for byte
    assert (await mirror(backend))[backup.job_id].enabled is True

    rotate = await crontab_job(backend, "Rotate logs")
    moved = await act(backend, sources, rotate.job_id, "set_schedule", {"kind": "cron", "expr": "5 * * * *"})
    assert moved.status == "done", moved.result
    assert tool.text() == CRONTAB.replace("*/15  *  * * *\techo", "5 * * * *\techo")
    assert moved.result is not None
    new_id = moved.result["changed"]["jobId"]["to"]
    rows = await mirror(backend)
    assert rotate.job_id not in rows  # the entry is another job now (its id follows schedule and command)
    assert (rows[new_id].schedule_expr, rows[new_id].name) == ("5 * * * *", "Rotate logs")
    assert "-" in tool.calls()  # installed with `crontab -`


async def test_crontab_refusals_change_nothing(backend: Backend, tmp_path: Path) -> None:
    tool = install_fake_crontab(tmp_path / "cron", CRONTAB)
    sources = crontab_sources(tool)
    await service(backend.worker, sources).sync_once()
    backup = await crontab_job(backend, "Nightly backup")

    renamed = await act(backend, sources, backup.job_id, "rename", {"name": "x"})
    assert renamed.status == "error"
    assert "comment above it" in reason(renamed)
    zoned = await act(
        backend,
        sources,
        backup.job_id,
        "set_schedule",
        {"kind": "cron", "expr": "0 4 * * *", "tz": "Asia/Tokyo"},
    )
    assert zoned.status == "error"
    assert "no time zone per entry" in reason(zoned)
    every = await act(backend, sources, backup.job_id, "set_schedule", {"kind": "every", "expr": "60000"})
    assert every.status == "error"
    assert "cron schedule, not every" in reason(every)

    assert tool.text() == CRONTAB
    assert "-" not in tool.calls()  # never installed


async def test_a_crontab_edited_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    tool = install_fake_crontab(tmp_path / "cron", CRONTAB)
    sources = crontab_sources(tool)
    inventory = await sources.list_jobs()
    backup = next(job for job in inventory.jobs if job.name == "Nightly backup")
    tool.change_at_next_read("# saved by hand meanwhile\n")  # right after the worker read it
    raced = await sources.apply(backup.job_id, "disable", {})
    assert raced.verdict == "error"
    assert "changed while CronMirror was editing it" in raced.reason
    assert tool.text() == CRONTAB + "# saved by hand meanwhile\n"
    assert "-" not in tool.calls()


# -- launchd -------------------------------------------------------------------------------------------


async def test_launchd_enable_disable_through_launchctl_on_path(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = tmp_path / "LaunchAgents"
    agents.mkdir()
    plist = {"Label": "com.example.sync", "Program": "/usr/bin/true", "StartInterval": 600}
    (agents / "com.example.sync.plist").write_bytes(plistlib.dumps(plist))
    stub, log = install_fake_launchctl(tmp_path / "stub", {"com.example.sync": False})
    monkeypatch.setenv("PATH", f"{stub.parent}{os.pathsep}{os.environ['PATH']}")
    sources = SourceSet(
        [LaunchdSource(agents, uid=501)], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini"
    )
    await service(backend.worker, sources).sync_once()

    disabled = await act(backend, sources, "launchd:com.example.sync", "disable")
    assert disabled.status == "done", disabled.result
    assert "disable gui/501/com.example.sync" in calls(log)
    assert (await mirror(backend))["launchd:com.example.sync"].enabled is False

    enabled = await act(backend, sources, "launchd:com.example.sync", "enable")
    assert enabled.status == "done"
    assert (await mirror(backend))["launchd:com.example.sync"].enabled is True

    refused = await act(
        backend, sources, "launchd:com.example.sync", "set_schedule", {"kind": "every", "expr": "60000"}
    )
    assert refused.status == "error"
    assert "property list" in reason(refused)
    assert not any(line.startswith("kickstart") for line in calls(log))  # nothing ran


# -- the gateway, through its CLI (the fake made of captured outputs) ----------------------------------


@pytest.mark.parametrize("variant", ["clawdbot-2026.1.24", "openclaw-2026.9.6"])
async def test_gateway_cli_enable_disable_rename_reschedule(
    backend: Backend, tmp_path: Path, variant: str
) -> None:
    gw = install_fake_gateway(tmp_path / "gw", variant)
    gw.write_jobs(
        [
            {
                "id": "9b0d0000-1111-2222-3333-444455556666",
                "name": "Inbox check",
                "enabled": True,
                "schedule": {"kind": "cron", "expr": "0 9 * * *"},
                "payload": {"kind": "systemEvent", "text": "Check the inbox"},
                "state": {},
            }
        ]
    )
    source = GatewaySource(
        search_dirs=[gw.bin_dir], env={**gw.env(), "PATH": os.environ["PATH"]}, native=False
    )
    sources = SourceSet([source], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini")
    await service(backend.worker, sources).sync_once()
    job_id = "9b0d0000-1111-2222-3333-444455556666"

    disabled = await act(backend, sources, job_id, "disable")
    assert disabled.status == "done", disabled.result
    assert (await mirror(backend))[job_id].enabled is False
    assert ["cron", "disable", job_id, "--timeout", "30000"] in gw.calls()

    renamed = await act(backend, sources, job_id, "rename", {"name": "--force; $(reboot)"})
    assert renamed.status == "done", renamed.result
    assert (await mirror(backend))[job_id].name == "--force; $(reboot)"

    zoned = await act(
        backend,
        sources,
        job_id,
        "set_schedule",
        {"kind": "cron", "expr": "30 8 * * 1-5", "tz": "Europe/Berlin"},
    )
    assert zoned.status == "done", zoned.result
    row = (await mirror(backend))[job_id]
    assert (row.schedule_expr, row.tz) == ("30 8 * * 1-5", "Europe/Berlin")

    every = await act(backend, sources, job_id, "set_schedule", {"kind": "every", "expr": "1800000"})
    assert every.status == "done"
    assert (await mirror(backend))[job_id].schedule_expr == "1800000"

    at = await act(backend, sources, job_id, "set_schedule", {"kind": "at", "expr": "2031-05-06T07:08:09Z"})
    assert at.status == "done", at.result
    at_expr = (await mirror(backend))[job_id].schedule_expr
    assert at_expr is not None
    assert parse_iso(at_expr) == parse_iso("2031-05-06T07:08:09Z")
    if variant.startswith("openclaw"):  # the gateway's own rule for a job turned into a one-shot
        assert "will delete the job after it runs" in reason(at)

    enabled = await act(backend, sources, job_id, "enable")
    assert enabled.status == "done"
    assert (await mirror(backend))[job_id].enabled is True
    assert not any(call[:2] == ["cron", "run"] and "--help" not in call for call in gw.calls())


@pytest.mark.parametrize("variant", ["clawdbot-2026.1.24", "openclaw-2026.9.6"])
async def test_gateway_cli_failures_are_reported(backend: Backend, tmp_path: Path, variant: str) -> None:
    gw = install_fake_gateway(tmp_path / "gw", variant)
    job_id = "9b0d0000-1111-2222-3333-444455556666"
    gw.write_jobs(
        [{"id": job_id, "name": "A", "enabled": True, "schedule": {"kind": "cron", "expr": "0 9 * * *"}}]
    )
    source = GatewaySource(
        search_dirs=[gw.bin_dir], env={**gw.env(), "PATH": os.environ["PATH"]}, native=False
    )
    sources = SourceSet([source], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini")
    await service(backend.worker, sources).sync_once()
    gw.write_jobs([])  # removed in the gateway, still in our inventory
    gone = await act(backend, sources, job_id, "disable")
    assert gone.status == "error"
    assert "does not know this job any more" in reason(gone) or "unknown job" in reason(gone)
    gw.write_jobs(
        [{"id": job_id, "name": "A", "enabled": True, "schedule": {"kind": "cron", "expr": "0 9 * * *"}}]
    )
    await service(backend.worker, sources).sync_once()
    gw.configure(down=True)
    down = await act(backend, sources, job_id, "disable")
    assert down.status == "error"
    assert "gateway is down" in reason(down)


# -- hostile requests ------------------------------------------------------------------------------------


HOSTILE_ROWS: list[tuple[str, dict[str, Any] | list[Any]]] = [
    ("set_schedule", {"kind": "cron", "expr": "0 3 * * *; touch {pwned}"}),
    ("set_schedule", {"kind": "cron", "expr": "$(touch {pwned}) * * * *"}),
    ("set_schedule", {"kind": "cron", "expr": ["0 3 * * *"]}),
    ("set_schedule", {"kind": "every", "expr": "1e9"}),
    ("rename", {"name": "x" * 10_000}),
    ("rename", {"name": 42}),
    ("disable", {"also": "touch {pwned}"}),
]


@pytest.mark.parametrize(("action", "args"), HOSTILE_ROWS)
async def test_hostile_args_that_got_past_the_database_change_and_run_nothing(
    backend: Backend, tmp_path: Path, action: str, args: Any
) -> None:
    """A row the client rules never saw (written with the service role): the worker refuses it."""
    pwned = tmp_path / "pwned"
    args = _fill(args, str(pwned))
    tool = install_fake_crontab(tmp_path / "cron", CRONTAB)
    sources = crontab_sources(tool)
    await service(backend.worker, sources).sync_once()
    backup = await crontab_job(backend, "Nightly backup")
    backend.raw_insert(
        "cron_run_requests",
        {"project_id": PROJECT, "job_id": backup.job_id, "status": "queued", "action": action, "args": args},
    )
    await service(backend.worker, sources).drain_once()
    (request,) = await backend.app.list_requests(PROJECT)
    assert request.status == "error"
    assert "nothing was" in reason(request)
    assert tool.text() == CRONTAB
    assert "-" not in tool.calls()
    assert not pwned.exists()


def _fill(value: Any, path: str) -> Any:
    if isinstance(value, str):
        return value.replace("{pwned}", path)
    if isinstance(value, dict):
        return {k: _fill(v, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, path) for v in value]
    return value


async def test_actions_are_claimed_with_runs_and_never_run_the_job(backend: Backend, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_jobs(tmp_path / "jobs.toml", [jobs_text(marker)])
    sources = SourceSet([JobsFileSource(path)], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini")
    await service(backend.worker, sources).sync_once()
    run = (await backend.app.queue_run(PROJECT, "jobs:backup", "ui")).request
    disable = (await backend.app.queue_run(PROJECT, "jobs:backup", "ui", action="disable")).request
    await service(backend.worker, sources).drain_once()
    ran = await backend.app.get_request(run.id)
    changed = await backend.app.get_request(disable.id)
    assert ran is not None
    assert changed is not None
    assert (ran.status, changed.status) == ("done", "done")
    assert marker.read_text() == "ran"  # once, by the run
    assert (await mirror(backend))["jobs:backup"].enabled is False


async def test_an_action_stopped_before_it_was_applied_changes_nothing_and_is_no_run(
    backend: Backend, tmp_path: Path
) -> None:
    """Someone asked to stop it before a worker picked it up (the row says so when it is claimed)."""
    path = write_jobs(tmp_path / "jobs.toml", [jobs_text(tmp_path / "ran")])
    before = path.read_bytes()
    sources = SourceSet([JobsFileSource(path)], default_tz="UTC", refresh_cooldown=0.0, host="mac-mini")
    await service(backend.worker, sources).sync_once()
    backend.raw_insert(
        "cron_run_requests",
        {
            "project_id": PROJECT,
            "job_id": "jobs:backup",
            "status": "queued",
            "action": "disable",
            "cancel_requested_at": "2026-11-29T00:00:00+00:00",
            "cancel_requested_by": "ui:alice",
        },
    )
    worker = service(backend.worker, sources)
    await worker.drain_once()
    await worker.history.recorder.flush()
    (request,) = await backend.app.list_requests(PROJECT)
    assert request.status == "cancelled"
    assert reason(request) == "stopped by ui:alice before it was applied; nothing was changed"
    assert path.read_bytes() == before
    assert await backend.app.run_history(PROJECT, "jobs:backup") == []
