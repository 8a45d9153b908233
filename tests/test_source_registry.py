"""SourceSet: one inventory over every source, exact-id lookup, and hostile ids that never run anything."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.fakes.gateway import FakeGateway, install_fake_gateway, sample_jobs
from worker.history import RunHistory
from worker.jobs import MIRROR_COLUMNS, LocalJob
from worker.outcome import RunOutcome
from worker.process import OnStarted, ProcessStarted
from worker.sources.base import JobSource, SourceListing
from worker.sources.crontab import CrontabSource
from worker.sources.defaults import default_source_set, default_sources
from worker.sources.gateway import GatewaySource
from worker.sources.jobs_file import JobsFileSource
from worker.sources.launchd import LaunchdSource
from worker.sources.registry import SourceSet

PY = sys.executable
INBOX = "9b0d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4"


class StaticSource(JobSource):
    """A source of our own interface for merging tests (not a stand-in for anything external)."""

    name = "static"

    def __init__(self, jobs: tuple[LocalJob, ...] = (), *, fail: bool = False, hang: bool = False) -> None:
        self.jobs, self.fail, self.hang = jobs, fail, hang

    async def list_jobs(self) -> SourceListing:
        if self.fail:
            raise RuntimeError("boom")
        if self.hang:
            await asyncio.sleep(3600)
        return SourceListing(self.name, self.jobs)

    async def run(self, job: LocalJob, *, timeout: float, on_started: OnStarted | None = None) -> RunOutcome:  # noqa: ASYNC109
        raise RuntimeError("static source cannot run")


def write_sources(tmp: Path) -> tuple[Path, Path, Path, FakeGateway]:
    marker_dir = tmp / "markers"
    marker_dir.mkdir()
    jobs_toml = tmp / "jobs.toml"
    jobs_toml.write_text(
        f"""
[jobs.backup]
cron = "0 3 * * *"
tz = "Europe/Berlin"
command = ["{PY}", "-c", "open({str(marker_dir / "backup")!r}, 'w').write('ran')"]

[jobs.slow]
command = ["{PY}", "-c", "import time; time.sleep(5)"]
timeout = 0.3
"""
    )
    crontab = tmp / "crontab.txt"
    crontab.write_text(f"# Touch marker\n*/5 * * * * touch {marker_dir / 'cron'}\n")
    gw = install_fake_gateway(tmp / "gw", "openclaw-2026.9.6")
    gw.write_jobs(sample_jobs())
    return jobs_toml, crontab, marker_dir, gw


def make_set(tmp: Path, **kwargs: object) -> tuple[SourceSet, Path, FakeGateway]:
    jobs_toml, crontab, markers, gw = write_sources(tmp)
    sources: list[JobSource] = [
        GatewaySource(
            search_dirs=[gw.bin_dir], env={**gw.env(), "PATH": os.environ["PATH"]}, poll_interval=0.05
        ),
        CrontabSource(["cat", str(crontab)]),
        LaunchdSource(tmp / "agents", launchctl="no-launchctl-here"),
        JobsFileSource(jobs_toml),
    ]
    return SourceSet(sources, **kwargs), markers, gw  # type: ignore[arg-type]


async def test_merges_every_source_into_one_inventory(tmp_path: Path) -> None:
    sources, _, _ = make_set(tmp_path, default_tz="UTC")
    inventory = await sources.list_jobs()
    by_source = {lst.source: lst.state for lst in inventory.listings}
    assert by_source == {"gateway": "ok", "crontab": "ok", "launchd": "unavailable", "jobs": "ok"}
    ids = [j.job_id for j in inventory.jobs]
    assert len(ids) == len(set(ids)) == 3 + 1 + 2
    rows = inventory.mirror_rows(iso=True)
    assert all(list(row) == list(MIRROR_COLUMNS) for row in rows)
    cron_job = next(j for j in inventory.jobs if j.source == "crontab")
    assert cron_job.next_run_at is not None  # computed (in the default zone) since crontab gives none
    assert sources.find("jobs:backup") is not None
    assert "launchd: launchctl not found (launchd is macOS only)" in inventory.all_warnings()


async def test_duplicate_ids_keep_the_first_and_failing_sources_do_not_spoil_the_rest(tmp_path: Path) -> None:
    jobs_toml, _, _, _ = write_sources(tmp_path)
    clash = LocalJob("jobs:backup", "Impostor", "static", None, None)
    other = LocalJob("static:1", "Fine", "static", None, None)
    sources = SourceSet([JobsFileSource(jobs_toml), StaticSource((clash, other))])
    inventory = await sources.list_jobs()
    backup = sources.find("jobs:backup")
    assert backup is not None
    assert backup.source == "jobs"
    assert sources.find("static:1") is not None
    assert "job id 'jobs:backup' from static ('Impostor') is already used by jobs" in inventory.warnings[0]

    class Failing(StaticSource):
        name = "failing"

    class Hanging(StaticSource):
        name = "hanging"

    sources = SourceSet([Failing(fail=True), Hanging(hang=True), JobsFileSource(jobs_toml)], list_timeout=0.3)
    inventory = await sources.list_jobs()
    states = {lst.source: (lst.state, lst.message) for lst in inventory.listings}
    assert states["failing"] == ("error", "listing failed: boom")
    assert states["hanging"] == ("error", "listing took longer than 0 s")
    assert [j.job_id for j in inventory.jobs] == ["jobs:backup", "jobs:slow"]


def test_two_sources_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="share a name"):
        SourceSet([StaticSource(), StaticSource()])


class Sneaky(str):
    """A str subclass that claims to equal everything: exact lookup must not be fooled."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("jobs:backup")


HOSTILE: list[object] = [
    "; rm -rf ~",
    "../../x",
    "jobs:../../x",
    "jobs:backup; rm -rf ~",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "a" * 10_240,
    "jobs:backup\x00",
    "jobs:backup\x00; rm -rf ~",
    "\x00",
    "jobs:bаckup",  # Cyrillic а
    "ｊｏｂｓ:backup",  # fullwidth: NFKC would turn it into the real id
    "jobs:backup\u200b",  # zero-width space
    "jobs:backup\u202e",  # right-to-left override
    "jobs:backup ",
    " jobs:backup",
    "jobs:backup\n",
    "JOBS:backup",
    "jobs:BACKUP",
    "jobs:*",
    "crontab:*",
    "launchd:../../com.apple.x",
    INBOX.upper(),
    INBOX + "; rm -rf ~",
    "--force",
    "",
    None,
    42,
    b"jobs:backup",
    ["jobs:backup"],
    {"job_id": "jobs:backup"},
    Sneaky("x"),
]


@pytest.fixture(scope="module")
def listed_set(
    tmp_path_factory: pytest.TempPathFactory, event_loop: asyncio.AbstractEventLoop
) -> tuple[SourceSet, Path, FakeGateway]:
    """One listed SourceSet for all the hostile ids (listing is the slow part; nothing may change it)."""
    sources, markers, gw = make_set(tmp_path_factory.mktemp("hostile"))
    event_loop.run_until_complete(sources.list_jobs())
    return sources, markers, gw


@pytest.mark.parametrize("job_id", HOSTILE, ids=lambda v: repr(v)[:40])
async def test_hostile_ids_are_unknown_jobs_and_nothing_runs(
    listed_set: tuple[SourceSet, Path, FakeGateway], job_id: object
) -> None:
    sources, markers, gw = listed_set
    started: list[ProcessStarted] = []
    outcome = await sources.run(job_id, timeout=10, on_started=started.append)
    assert (outcome.verdict, outcome.ran, outcome.source) == ("error", False, "worker")
    assert outcome.reason.startswith("unknown job ")
    assert outcome.reason.endswith("no local source lists it, so nothing was run")
    assert len(outcome.reason) < 200
    assert "\x00" not in outcome.reason
    assert started == []
    assert_nothing_ran(markers, gw)


def assert_nothing_ran(markers: Path, gw: FakeGateway) -> None:
    assert list(markers.iterdir()) == []
    assert not any(c[:2] == ["cron", "run"] and "--help" not in c for c in gw.calls())
    assert not Path("/tmp/pwned").exists()


async def test_the_real_ids_do_run_so_the_checks_above_can_see_a_run(tmp_path: Path) -> None:
    sources, markers, gw = make_set(tmp_path)
    inventory = await sources.list_jobs()
    for job_id in ("jobs:backup", next(j.job_id for j in inventory.jobs if j.source == "crontab"), INBOX):
        started: list[ProcessStarted] = []
        outcome = await sources.run(job_id, timeout=20, on_started=started.append)
        assert outcome.verdict == "done", outcome.reason
        assert len(started) == 1
    assert sorted(p.name for p in markers.iterdir()) == ["backup", "cron"]
    assert any(c[:3] == ["cron", "run", INBOX] for c in gw.calls())


async def test_unknown_ids_relist_at_most_once_per_cooldown(tmp_path: Path) -> None:
    sources, _, gw = make_set(tmp_path, refresh_cooldown=60)
    await sources.list_jobs()
    for i in range(20):
        await sources.run(f"jobs:nope{i}", timeout=5)
    lists = [c for c in gw.calls() if c[:2] == ["cron", "list"] and "--help" not in c]
    assert len(lists) == 1  # the hostile flood above caused no re-listing at all


async def test_a_job_added_a_moment_ago_is_found_by_relisting(tmp_path: Path) -> None:
    sources, markers, _ = make_set(tmp_path, refresh_cooldown=0)
    await sources.list_jobs()
    jobs_toml = tmp_path / "jobs.toml"
    new = f'\n[jobs.fresh]\ncommand = ["{PY}", "-c", "open({str(markers / "fresh")!r}, "w")"]\n'
    jobs_toml.write_text(jobs_toml.read_text() + new.replace('"w"', "'w'"))
    outcome = await sources.run("jobs:fresh", timeout=10)
    assert outcome.verdict == "done", outcome.reason
    assert (markers / "fresh").exists()


async def test_runs_use_the_jobs_own_timeout_and_are_remembered(tmp_path: Path) -> None:
    history_file = tmp_path / "history.json"
    sources, _, _ = make_set(tmp_path, history=RunHistory(history_file))
    await sources.list_jobs()
    slow = await sources.run("jobs:slow", timeout=60)  # the job says 0.3 s
    assert slow.timed_out
    assert slow.verdict == "error"
    remembered = sources.find("jobs:slow")
    assert remembered is not None
    assert (remembered.last_status, remembered.last_run_at) == ("error", slow.started_at)
    inventory = await sources.list_jobs()  # jobs.toml knows nothing of runs; the history does
    relisted = next(j for j in inventory.jobs if j.job_id == "jobs:slow")
    assert relisted.last_status == "error"
    assert relisted.last_duration_ms == slow.duration_ms
    assert RunHistory(history_file).get("jobs:slow") is not None


async def test_a_source_that_crashes_while_running_ends_the_request_not_the_worker(tmp_path: Path) -> None:
    sources = SourceSet([StaticSource((LocalJob("static:1", "x", "static", None, None),))])
    await sources.list_jobs()
    outcome = await sources.run("static:1", timeout=5)
    assert (outcome.verdict, outcome.ran) == ("error", False)
    assert outcome.reason == "the static source failed: static source cannot run"


def test_default_sources_in_priority_order(tmp_path: Path) -> None:
    sources = default_source_set(jobs_file=tmp_path / "jobs.toml", history_file=tmp_path / "h.json")
    assert [s.name for s in sources.sources] == ["gateway", "crontab", "launchd", "jobs"]
    only = default_sources(jobs_file=tmp_path / "jobs.toml", enabled=("jobs", "crontab"))
    assert [s.name for s in only] == ["crontab", "jobs"]
    with pytest.raises(ValueError, match="unknown source"):
        default_sources(jobs_file=tmp_path / "jobs.toml", enabled=("cronie",))
