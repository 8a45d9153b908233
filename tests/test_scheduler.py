"""jobs.toml jobs on their schedule (worker/scheduler.py): at their time, by cron(8)'s rules, one copy at a
time, with catch-up after downtime. Real job processes throughout; time moves by an injected clock,
except in the end-to-end test, which runs an `every = "2s"` job on the real clock.

Every test here fails on the code before the scheduler: nothing ran jobs.toml jobs on their schedule.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cronmirror_desktop.core.localstore import LocalStore
from tests.fake_clock import FakeClock
from tests.store_harness import Backend
from tests.worker_harness import (
    PROJECT,
    eventually,
    eventually_async,
    python_job,
    service,
    sources_for,
    toml_job,
    write_jobs,
)
from worker.executor import Executor
from worker.history import LastRun, RunHistory
from worker.orphans import RUNNING_DIR_NAME, RunningRecord, RunningRegistry, process_start_marker
from worker.scheduler import STATE_FILE_NAME, Scheduler
from worker.service import WorkerService
from worker.sources.jobs_file import JobsFileSource
from worker.sources.registry import SourceSet

#: Fake-clock dates lie after the real date of this run, so a skip at a fake time is the newest last run.
MONDAY = datetime(2027, 3, 1, 10, 4, 30, tzinfo=UTC)


def appender(log: Path, word: str = "ran") -> list[str]:
    """A job that appends a line to `log` each time it runs."""
    return python_job(f"open({str(log)!r}, 'a').write({word!r} + '\\n')")


def waiter(release: Path, log: Path) -> list[str]:
    """A job that logs its start and then runs until `release` exists (no long sleeps)."""
    code = (
        f"import pathlib, time; open({str(log)!r}, 'a').write('start\\n'); "
        f"p = pathlib.Path({str(release)!r}); "
        "[time.sleep(0.02) for _ in iter(p.exists, True)]"
    )
    return python_job(code)


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@dataclass
class Rig:
    """A scheduler over a jobs file, with its executor, on a fake clock."""

    sources: SourceSet
    executor: Executor
    scheduler: Scheduler
    clock: FakeClock
    jobs_file: Path
    store: LocalStore

    async def look(self, at: datetime | None = None) -> float:
        """Move the clock (if asked), list the jobs, and let the scheduler look once."""
        if at is not None:
            self.clock.set(at)
        await self.sources.list_jobs(now=self.clock.now())
        return self.scheduler.tick()


@asynccontextmanager
async def rig(
    tmp_path: Path,
    jobs: list[str],
    *,
    start: datetime = MONDAY,
    tz: str = "UTC",
    concurrency: int = 1,
    state_dir: Path | None = None,
) -> AsyncIterator[Rig]:
    tmp_path.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test setup
    jobs_file = write_jobs(tmp_path / "jobs.toml", jobs)
    sources = sources_for(jobs_file, default_tz=tz)
    store = LocalStore(tmp_path / "store.sqlite3")
    registry = RunningRegistry(state_dir / RUNNING_DIR_NAME if state_dir is not None else None)
    executor = Executor(store, PROJECT, sources, "test-worker", concurrency=concurrency, registry=registry)
    clock = FakeClock(start)
    scheduler = Scheduler(sources, executor, state_dir=state_dir, clock=clock)
    try:
        yield Rig(sources, executor, scheduler, clock, jobs_file, store)
    finally:
        await scheduler.stop(grace=5.0)
        await store.close()


# -- at its time --------------------------------------------------------------------------------------


async def test_a_cron_job_runs_at_its_minute_and_not_before(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    async with rig(tmp_path, [toml_job("five", appender(log), cron="*/5 * * * *")]) as r:
        nap = await r.look()
        assert nap == 30.0  # 10:05 is 30 s away
        await r.scheduler.wait_idle()
        assert lines(log) == []
        await r.look(datetime(2027, 3, 1, 10, 5, tzinfo=UTC))
        await r.scheduler.wait_idle()
        assert lines(log) == ["ran"]
        run = r.scheduler.runs[-1]
        assert (run.job_id, run.trigger, run.status, run.due_at) == (
            "jobs:five",
            "schedule",
            "ok",
            datetime(2027, 3, 1, 10, 5, tzinfo=UTC),
        )
        assert run.exit_code == 0
        # The run is the job's last run, as the mirror will show it.
        job = r.sources.find("jobs:five")
        assert job is not None
        assert (job.last_status, job.last_duration_ms is not None) == ("ok", True)
        await r.look(datetime(2027, 3, 1, 10, 9, 59, tzinfo=UTC))
        await r.scheduler.wait_idle()
        assert lines(log) == ["ran"]
        await r.look(datetime(2027, 3, 1, 10, 10, 0, 500_000, tzinfo=UTC))
        await r.scheduler.wait_idle()
        assert lines(log) == ["ran", "ran"]


async def test_spring_forward_follows_cron8(tmp_path: Path) -> None:
    """Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST. A fixed-time job at 02:30 runs right after the
    change (cron(8)); `0,30 2 * * *` is due twice then: one copy runs, the other is recorded as skipped.
    A wildcard job's skipped times do not happen."""
    before = datetime(2027, 3, 28, 0, 59, tzinfo=UTC)  # 01:59 CET
    change = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 03:00 CEST
    logs = {key: tmp_path / f"{key}.log" for key in ("fixed", "twice", "wild")}
    jobs = [
        toml_job("fixed", appender(logs["fixed"]), cron="30 2 * * *"),
        toml_job("twice", appender(logs["twice"]), cron="0,30 2 * * *"),
        toml_job("wild", appender(logs["wild"]), cron="*/30 * * * *"),
    ]
    async with rig(tmp_path, jobs, start=before, tz="Europe/Berlin") as r:
        await r.look()
        await r.look(change)
        await r.scheduler.wait_idle()
        assert {key: lines(path) for key, path in logs.items()} == {
            "fixed": ["ran"],
            "twice": ["ran"],
            "wild": ["ran"],
        }
        by_job = {(run.job_id, run.status) for run in r.scheduler.runs}
        assert by_job == {
            ("jobs:fixed", "ok"),
            ("jobs:twice", "ok"),
            ("jobs:twice", "skipped"),
            ("jobs:wild", "ok"),
        }
        assert all(run.due_at == change for run in r.scheduler.runs)
        skipped = next(run for run in r.scheduler.runs if run.status == "skipped")
        assert "due more than once at this instant" in skipped.reason
        # The next runs: 02:30 CEST does not exist again; the fixed job is next due tomorrow at 02:30.
        await r.look(datetime(2027, 3, 28, 1, 30, tzinfo=UTC))
        await r.scheduler.wait_idle()
        assert lines(logs["fixed"]) == ["ran"]
        assert lines(logs["wild"]) == ["ran", "ran"]


async def test_a_job_without_a_schedule_runs_by_hand_only(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    spec = toml_job("manual", appender(log)).replace('cron = "0 7 * * 1-5"\n', "")
    async with rig(tmp_path, [spec, toml_job("off", appender(log), cron="* * * * *", enabled=False)]) as r:
        assert await r.look() == 30.0  # nothing is ever due
        await r.look(MONDAY + timedelta(days=3))
        await r.scheduler.wait_idle()
        assert lines(log) == []
        manual = r.sources.find("jobs:manual")
        assert manual is not None
        assert (manual.schedule_kind, manual.next_run_at) == ("event", None)
        assert manual.describe_schedule() == "Only when started by hand"


async def test_an_every_job_counts_from_when_the_worker_first_saw_it(tmp_path: Path) -> None:
    """Its next run is known before it ever ran, so the mirror can show it."""
    log = tmp_path / "runs.log"
    spec = toml_job("ten", appender(log)).replace('cron = "0 7 * * 1-5"', 'every = "10m"')
    async with rig(tmp_path, [spec]) as r:
        await r.look()
        await r.sources.list_jobs(now=r.clock.now())
        job = r.sources.find("jobs:ten")
        assert job is not None
        assert (job.anchor_at, job.next_run_at) == (MONDAY, MONDAY + timedelta(minutes=10))
        await r.look(MONDAY + timedelta(minutes=10))
        await r.scheduler.wait_idle()
        assert lines(log) == ["ran"]
        assert r.scheduler.runs[-1].due_at == MONDAY + timedelta(minutes=10)


async def test_an_every_job_that_ran_before_counts_from_its_last_run(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    spec = toml_job("ten", appender(log)).replace('cron = "0 7 * * 1-5"', 'every = "10m"')
    jobs_file = write_jobs(tmp_path / "jobs.toml", [spec])
    history = RunHistory()
    history.record("jobs:ten", LastRun(MONDAY - timedelta(minutes=4), "ok", 100))
    sources = SourceSet([JobsFileSource(jobs_file)], default_tz="UTC", history=history, host="mac-mini")
    store = LocalStore(tmp_path / "store.sqlite3")
    clock = FakeClock(MONDAY)
    scheduler = Scheduler(sources, Executor(store, PROJECT, sources, "w"), clock=clock)
    try:
        await sources.list_jobs(now=MONDAY)
        scheduler.tick()
        await sources.list_jobs(now=MONDAY)
        job = sources.find("jobs:ten")
        assert job is not None
        assert job.next_run_at == MONDAY + timedelta(minutes=6)  # 10 min after the last run, not from now
    finally:
        await scheduler.stop(grace=1.0)
        await store.close()


# -- one copy at a time ------------------------------------------------------------------------------


async def test_a_run_due_while_the_previous_one_still_runs_is_skipped(tmp_path: Path) -> None:
    log, release = tmp_path / "runs.log", tmp_path / "release"
    async with rig(tmp_path, [toml_job("slow", waiter(release, log), cron="* * * * *")]) as r:
        await r.look()  # first seen at 10:04:30
        await r.look(datetime(2027, 3, 1, 10, 5, tzinfo=UTC))
        await eventually(lambda: lines(log) == ["start"])
        await r.look(datetime(2027, 3, 1, 10, 6, tzinfo=UTC))
        skipped = r.scheduler.runs[-1]
        assert (skipped.status, skipped.due_at) == ("skipped", datetime(2027, 3, 1, 10, 6, tzinfo=UTC))
        assert skipped.reason.startswith("the previous run is still going: its previous scheduled run")
        job = r.sources.find("jobs:slow")
        assert job is not None
        assert (job.last_status, job.last_run_at) == ("skipped", skipped.due_at)
        release.touch()
        await r.scheduler.wait_idle()
        assert lines(log) == ["start"]
        assert [run.status for run in r.scheduler.runs] == ["skipped", "ok"]
        await r.look(datetime(2027, 3, 1, 10, 7, tzinfo=UTC))
        await r.scheduler.wait_idle()
        assert lines(log) == ["start", "start"]


async def test_a_scheduled_run_still_going_when_the_worker_stops_is_killed_and_says_so(
    tmp_path: Path,
) -> None:
    log, release = tmp_path / "runs.log", tmp_path / "release"
    async with rig(tmp_path, [toml_job("slow", waiter(release, log), cron="5 10 * * *")]) as r:
        await r.look()
        await r.look(datetime(2027, 3, 1, 10, 5, tzinfo=UTC))
        await eventually(lambda: lines(log) == ["start"])
        await asyncio.sleep(0.1)  # the process group is recorded
        await r.scheduler.stop(grace=0.2)
        (killed,) = r.scheduler.runs
        assert (killed.status, killed.started_at is not None) == ("error", True)
        assert "the worker was stopped before the job finished" in killed.reason
        job = r.sources.find("jobs:slow")
        assert job is not None
        assert job.last_status == "error"


async def test_scheduled_runs_and_requests_share_the_slots_and_never_run_one_job_twice(
    tmp_path: Path,
) -> None:
    log, release = tmp_path / "runs.log", tmp_path / "release"
    jobs = [
        toml_job("a", waiter(release, log), cron="5 10 * * *"),
        toml_job("b", appender(log, "b"), cron="6 10 * * *"),
        toml_job("c", appender(log, "c")),
    ]
    async with rig(tmp_path, jobs, concurrency=1) as r:
        await r.look()
        await r.look(datetime(2027, 3, 1, 10, 5, tzinfo=UTC))
        await eventually(lambda: lines(log) == ["start"])
        # A request for the job that runs on its schedule is refused, not run as a second copy.
        same = (await r.store.queue_run(PROJECT, "jobs:a", "test")).request
        other = (await r.store.queue_run(PROJECT, "jobs:c", "test")).request
        # b falls due while a holds the only slot: it waits, and the claim waits behind it.
        await r.look(datetime(2027, 3, 1, 10, 6, tzinfo=UTC))
        await asyncio.sleep(0.2)
        assert r.scheduler.running == ["jobs:a", "jobs:b"]
        assert await r.executor.claim_available() == []
        release.touch()
        await r.scheduler.wait_idle()
        assert lines(log) == ["start", "b"]
        finished = await r.executor.drain()
        outcomes = {f.request.id: f.outcome for f in finished}
        assert outcomes[other.id].ok
        assert outcomes[same.id].ok  # a's scheduled run is over by now: the request runs it
        assert lines(log) == ["start", "b", "c", "start"] or lines(log) == ["start", "b", "start", "c"]


async def test_a_request_for_a_job_running_on_its_schedule_is_refused(tmp_path: Path) -> None:
    log, release = tmp_path / "runs.log", tmp_path / "release"
    async with rig(tmp_path, [toml_job("a", waiter(release, log), cron="5 10 * * *")], concurrency=2) as r:
        await r.look()
        await r.look(datetime(2027, 3, 1, 10, 5, tzinfo=UTC))
        await eventually(lambda: lines(log) == ["start"])
        request = (await r.store.queue_run(PROJECT, "jobs:a", "test")).request
        finished = await r.executor.drain()
        assert [f.request.id for f in finished] == [request.id]
        assert not finished[0].outcome.ran
        assert "is running on its schedule" in finished[0].outcome.reason
        assert lines(log) == ["start"]
        release.touch()
        await r.scheduler.wait_idle()


# -- missed runs ------------------------------------------------------------------------------------


async def test_one_catch_up_run_for_runs_missed_while_the_worker_was_down(tmp_path: Path) -> None:
    """The worker stops at 08:00 and starts again at 10:30: hourly runs at 09:00 and 10:00 were missed.
    The default window (1 h) makes up for them once; a 15-minute window and `catch_up = "none"` do not."""
    state = tmp_path / "state"
    state.mkdir()
    logs = {key: tmp_path / f"{key}.log" for key in ("default", "short", "none")}
    jobs = [
        toml_job("default", appender(logs["default"]), cron="0 * * * *"),
        toml_job("short", appender(logs["short"]), cron="0 * * * *", catch_up="15m"),
        toml_job("none", appender(logs["none"]), cron="0 * * * *", catch_up="none"),
    ]
    eight = datetime(2027, 3, 1, 8, 0, 10, tzinfo=UTC)
    async with rig(tmp_path / "first", jobs, start=eight, state_dir=state) as r:
        await r.look()
    saved = json.loads((state / STATE_FILE_NAME).read_text())["jobs"]
    assert set(saved) == {"jobs:default", "jobs:short", "jobs:none"}
    later = datetime(2027, 3, 1, 10, 30, tzinfo=UTC)
    async with rig(tmp_path / "second", jobs, start=later, state_dir=state) as r:
        await r.look()
        await r.scheduler.wait_idle()
        assert {key: lines(path) for key, path in logs.items()} == {
            "default": ["ran"],
            "short": [],
            "none": [],
        }
        (catch_up,) = r.scheduler.runs
        assert (catch_up.trigger, catch_up.due_at, catch_up.missed) == (
            "catch-up",
            datetime(2027, 3, 1, 10, 0, tzinfo=UTC),
            2,
        )
        # Once made up, the job is back on its schedule: nothing more until 11:00.
        await r.look(datetime(2027, 3, 1, 10, 59, tzinfo=UTC))
        await r.look(datetime(2027, 3, 1, 11, 0, tzinfo=UTC))
        await r.scheduler.wait_idle()
        assert {key: len(lines(path)) for key, path in logs.items()} == {"default": 2, "short": 1, "none": 1}
        assert [run.trigger for run in r.scheduler.runs].count("catch-up") == 1


async def test_a_new_job_or_a_changed_schedule_catches_up_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    log = tmp_path / "runs.log"
    async with rig(tmp_path, [toml_job("j", appender(log), cron="0 * * * *")], state_dir=state) as r:
        await r.look(datetime(2027, 3, 1, 10, 30, tzinfo=UTC))  # first seen at 10:30: 10:00 is not missed
        write_jobs(r.jobs_file, [toml_job("j", appender(log), cron="15 * * * *")])
        await r.look(datetime(2027, 3, 1, 11, 30, tzinfo=UTC))  # 11:15 passed while the old one ruled
        await r.scheduler.wait_idle()
        assert lines(log) == []


async def test_a_mac_that_slept_makes_up_once_when_it_wakes(tmp_path: Path) -> None:
    """The worker kept running, but the machine slept from 10:00 to 10:41: one run, not eight."""
    log = tmp_path / "runs.log"
    start = datetime(2027, 3, 1, 10, 0, 30, tzinfo=UTC)
    async with rig(tmp_path, [toml_job("five", appender(log), cron="*/5 * * * *")], start=start) as r:
        await r.look()
        await r.look(datetime(2027, 3, 1, 10, 41, 31, tzinfo=UTC))  # 10:40 is 91 s ago: missed too
        await r.scheduler.wait_idle()
        assert lines(log) == ["ran"]
        assert (r.scheduler.runs[-1].trigger, r.scheduler.runs[-1].missed) == ("catch-up", 8)


@pytest.mark.parametrize("fresh", [False, True], ids=["state-dir-exists", "fresh-state-dir"])
async def test_two_workers_on_one_mac_run_the_schedule_once(tmp_path: Path, fresh: bool) -> None:
    """The daemon and the app's hosted worker share the state dir and the jobs file: one of them runs the
    schedule, and the other takes over when it stops. With a state dir not made yet (a first start, a new
    dev dir) the lock could not be opened and both "scheduled anyway": every job ran twice."""
    state = tmp_path / "state"
    if not fresh:
        state.mkdir()
    log = tmp_path / "runs.log"
    jobs = [toml_job("five", appender(log), cron="*/5 * * * *")]
    async with (
        rig(tmp_path / "a", jobs, state_dir=state) as first,
        rig(tmp_path / "b", jobs, state_dir=state) as second,
    ):
        await first.look()
        await second.look()
        assert (first.scheduler.leading, second.scheduler.leading) == (True, False)
        five = datetime(2027, 3, 1, 10, 5, tzinfo=UTC)
        await first.look(five)
        await second.look(five)
        await first.scheduler.wait_idle()
        await second.scheduler.wait_idle()
        assert lines(log) == ["ran"]
        await first.scheduler.stop(grace=1.0)
        ten = datetime(2027, 3, 1, 10, 10, tzinfo=UTC)
        await second.look(ten)
        await second.scheduler.wait_idle()
        assert second.scheduler.leading
        assert lines(log) == ["ran", "ran"]
        assert [run.due_at for run in second.scheduler.runs] == [ten]  # 10:05 was handled by the first


# -- the daemon --------------------------------------------------------------------------------------


async def test_an_every_2s_job_runs_on_the_real_clock_and_reaches_the_mirror(
    backend: Backend, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    spec = toml_job("tick", appender(log)).replace('cron = "0 7 * * 1-5"', 'every = "2s"')
    jobs_file = write_jobs(tmp_path / "jobs.toml", [spec])
    worker = service(backend.worker, sources_for(jobs_file), run_schedules=True)
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:

        async def mirrored_next_run() -> bool:
            jobs = await backend.app.list_jobs(PROJECT)
            return bool(jobs) and jobs[0].next_run_at is not None

        # Never run yet, but the mirror already says when it will (the scheduler's anchor + 2 s).
        await eventually_async(mirrored_next_run, within=10)
        await eventually(lambda: len(lines(log)) >= 2, within=15)

        async def mirrored_last_run() -> bool:
            (job,) = await backend.app.list_jobs(PROJECT)
            return (
                job.last_status == "ok" and job.last_run_at is not None and job.last_duration_ms is not None
            )

        await eventually_async(mirrored_last_run, within=10)
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 15)
    runs = list(worker.scheduler.runs)
    assert len(runs) >= 2
    assert all(run.trigger == "schedule" and run.status == "ok" for run in runs)
    gaps = [(b.due_at - a.due_at).total_seconds() for a, b in itertools.pairwise(runs)]
    assert all(gap == 2.0 for gap in gaps), gaps
    assert await backend.app.list_requests(PROJECT) == []  # scheduled runs are not requests


async def test_a_scheduled_run_that_outlived_its_worker_is_not_run_again(tmp_path: Path) -> None:
    """A worker died while a scheduled run went on; the next worker sees the job still running, skips its
    due time, and logs the old run when it ends."""
    state = tmp_path / "state"
    (state / RUNNING_DIR_NAME).mkdir(parents=True)
    log = tmp_path / "runs.log"
    jobs_file = write_jobs(tmp_path / "jobs.toml", [toml_job("slow", appender(log), cron="* * * * *")])
    survivor = subprocess.Popen(  # noqa: ASYNC220 - the job the dead worker started, in its own session
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: ASYNC220 - the dead worker's pid
    dead.wait()
    record = RunningRecord(
        request_id=str(uuid.uuid4()),
        job_id="jobs:slow",
        worker_id="dead-worker",
        pgid=survivor.pid,
        started_at="2027-03-01T10:04:00.000Z",
        deadline=(datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        marker=process_start_marker(survivor.pid),
        worker_pid=dead.pid,
        trigger="schedule",
    )
    RunningRegistry(state / RUNNING_DIR_NAME).add(record)
    clock = FakeClock(datetime(2027, 3, 1, 10, 4, 30, tzinfo=UTC))
    store = LocalStore(tmp_path / "store.sqlite3")
    worker: WorkerService = service(
        store, sources_for(jobs_file), state_dir=state, clock=clock, run_schedules=True
    )
    stop = asyncio.Event()
    daemon = asyncio.get_running_loop().create_task(worker.run(stop))
    try:
        await eventually(lambda: worker.status.state == "running")
        await eventually(lambda: clock.sleeping > 0)
        clock.set(datetime(2027, 3, 1, 10, 5, tzinfo=UTC))
        await eventually(lambda: len(worker.scheduler.runs) == 1)
        skipped = worker.scheduler.runs[0]
        assert skipped.status == "skipped"
        assert "from before the worker restarted" in skipped.reason
        assert lines(log) == []
        os.killpg(survivor.pid, signal.SIGTERM)
        survivor.wait()
        await eventually(lambda: len(worker.scheduler.runs) == 2, within=10)
        ended = worker.scheduler.runs[1]
        assert ended.status == "error"
        assert "the worker was restarted while this job ran" in ended.reason
        assert not list((state / RUNNING_DIR_NAME).glob("*.json"))
        await eventually(lambda: clock.sleeping > 0)
        clock.set(datetime(2027, 3, 1, 10, 6, tzinfo=UTC))
        await eventually(lambda: lines(log) == ["ran"], within=10)
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 15)
        if survivor.poll() is None:
            os.killpg(survivor.pid, signal.SIGKILL)
        await store.close()
