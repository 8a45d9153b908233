"""What only the embedded store has: a file, other processes on it, and a change log."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cronmirror_desktop.core import localstore
from cronmirror_desktop.core.errors import InvalidRow, Unreachable
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.run_log import run_entry
from cronmirror_desktop.core.store import ChangeType, JobChange, RequestChange, Snapshot
from tests.store_harness import Events

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
PROJECT = "front-office"


async def test_changes_made_by_another_process_reach_a_subscriber(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    store = LocalStore(path, poll_interval=0.05)
    events = Events()
    await store.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, Snapshot))
        script = textwrap.dedent(
            f"""
            import asyncio
            from cronmirror_desktop.core.localstore import LocalStore

            async def main():
                store = LocalStore({str(path)!r})
                await store.upsert_mirror({PROJECT!r}, [{{"job_id": "from-child", "name": "Child"}}])
                await store.queue_run({PROJECT!r}, "from-child", "child-process")
                await store.close()

            asyncio.run(main())
            """
        )
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
        assert await proc.wait() == 0
        job = await events.wait_for(lambda e: isinstance(e, JobChange) and e.type is ChangeType.INSERT)
        assert isinstance(job, JobChange)
        assert job.job is not None
        assert job.job.name == "Child"
        request = await events.wait_for(lambda e: isinstance(e, RequestChange))
        assert isinstance(request, RequestChange)
        assert request.request is not None
        assert request.request.requested_by == "child-process"
    finally:
        await store.close()


async def test_a_subscriber_left_behind_by_pruning_gets_a_fresh_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localstore, "CHANGE_LOG_KEEP", 5)
    path = tmp_path / "pruned.sqlite3"
    reader = LocalStore(path, poll_interval=3600)  # woken only explicitly below
    writer = LocalStore(path)
    await reader.open()
    events = Events()
    subscription = await reader.subscribe(PROJECT, events)
    try:
        await events.wait_for(lambda e: isinstance(e, Snapshot))
        # Write from "elsewhere" without waking the reader, past the point pruning keeps.
        with sqlite3.connect(path) as conn:
            for i in range(20):
                conn.execute(
                    "INSERT INTO cron_mirror (id, project_id, job_id, name, updated_at) "
                    "VALUES (?, ?, ?, ?, '2026-11-29T00:00:00.000000+00:00')",
                    (f"id-{i}", PROJECT, f"job-{i}", f"Job {i}"),
                )
            conn.execute("DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - 5")
        await writer.upsert_mirror(PROJECT, [{"job_id": "wake", "name": "Wake"}])  # wakes the reader
        fresh = await events.wait_for(lambda e: isinstance(e, Snapshot) and len(e.jobs) == 21)
        assert isinstance(fresh, Snapshot)
        assert subscription.state.value == "live"
    finally:
        await writer.close()
        await reader.close()


async def test_an_unusable_path_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    store = LocalStore(blocker / "cronmirror.sqlite3")
    with pytest.raises(Unreachable) as info:
        await store.open()
    assert "cannot be used" in info.value.message
    assert "writable" in info.value.hint
    await store.close()


async def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    store = LocalStore(path)
    with pytest.raises(Unreachable, match="newer CronMirror"):
        await store.open()
    await store.close()


#: The file exactly as CronMirror 0.1 wrote it (schema 1, before `source`/`host`, the run log and stop
#: requests): frozen here, not derived from today's schema, so the upgrade path is tested for real.
SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS cron_mirror (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  name TEXT NOT NULL,
  schedule_kind TEXT,
  schedule_expr TEXT,
  tz TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  next_run_at TEXT,
  last_run_at TEXT,
  last_status TEXT,
  last_duration_ms INTEGER,
  instructions TEXT,
  updated_at TEXT NOT NULL,
  target_agent_key TEXT,
  job_intent TEXT,
  context_policy TEXT DEFAULT 'default',
  ui_label TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS cron_mirror_project_job_idx ON cron_mirror (project_id, job_id);

CREATE TABLE IF NOT EXISTS cron_run_requests (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  requested_by TEXT,
  requested_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'done', 'error', 'cancelled')),
  picked_up_at TEXT,
  completed_at TEXT,
  result TEXT,
  worker_id TEXT,
  lease_until TEXT,
  heartbeat_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS cron_run_requests_project_time_idx
  ON cron_run_requests (project_id, requested_at DESC);
CREATE UNIQUE INDEX IF NOT EXISTS cron_run_requests_one_active_idx
  ON cron_run_requests (project_id, job_id) WHERE status IN ('queued', 'running');

CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl TEXT NOT NULL,
  op TEXT NOT NULL,
  row_id TEXT NOT NULL,
  project_id TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS cron_mirror_insert_log AFTER INSERT ON cron_mirror BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id) VALUES ('cron_mirror', 'INSERT', NEW.id, NEW.project_id);
END;
CREATE TRIGGER IF NOT EXISTS cron_mirror_update_log AFTER UPDATE ON cron_mirror BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id) VALUES ('cron_mirror', 'UPDATE', NEW.id, NEW.project_id);
END;
CREATE TRIGGER IF NOT EXISTS cron_mirror_delete_log AFTER DELETE ON cron_mirror BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id) VALUES ('cron_mirror', 'DELETE', OLD.id, OLD.project_id);
END;
CREATE TRIGGER IF NOT EXISTS cron_run_requests_insert_log AFTER INSERT ON cron_run_requests BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id)
    VALUES ('cron_run_requests', 'INSERT', NEW.id, NEW.project_id);
END;
CREATE TRIGGER IF NOT EXISTS cron_run_requests_update_log AFTER UPDATE ON cron_run_requests BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id)
    VALUES ('cron_run_requests', 'UPDATE', NEW.id, NEW.project_id);
END;
CREATE TRIGGER IF NOT EXISTS cron_run_requests_delete_log AFTER DELETE ON cron_run_requests BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id)
    VALUES ('cron_run_requests', 'DELETE', OLD.id, OLD.project_id);
END;
"""


def schema_1() -> str:
    """A schema-1 file with one job and one finished request in it."""
    return SCHEMA_1 + (
        "INSERT INTO cron_mirror (id, project_id, job_id, name, updated_at) "
        "VALUES ('r1', 'p', 'jobs:a', 'A', '2026-11-29T00:00:00.000000+00:00');"
        "INSERT INTO cron_run_requests (id, project_id, job_id, requested_at, status) "
        "VALUES ('q1', 'p', 'jobs:a', '2026-11-29T00:00:00.000000+00:00', 'done');"
        "INSERT INTO cron_run_requests (id, project_id, job_id, requested_at, status) "
        "VALUES ('q2', 'p', 'jobs:a', '2026-11-29T00:00:01.000000+00:00', 'queued');"
        "PRAGMA user_version = 1;"
    )


async def test_a_file_of_schema_1_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(schema_1())
        assert "host" not in {row[1] for row in conn.execute("PRAGMA table_info(cron_mirror)")}
    async with LocalStore(path) as store:
        (old,) = await store.list_jobs("p")
        assert (old.job_id, old.source, old.host) == ("jobs:a", None, None)
        await store.upsert_mirror("p", [{"job_id": "jobs:a", "name": "A", "source": "jobs", "host": "m"}])
        (new,) = await store.list_jobs("p")
        assert (new.source, new.host) == ("jobs", "m")
        assert (await store.get_request("q1")) is not None
        await store.record_runs("p", [run_entry(job_id="jobs:a", run_key="k", run_at=NOW, status="ok")])
        assert [e.run_key for e in await store.run_history("p", "jobs:a")] == ["k"]
        # Schema 4: the old requests are runs; one active request per job *and action*.
        assert (await store.get_request("q1")).action == "run"  # type: ignore[union-attr]
        assert (await store.get_request("q2")).action == "run"  # type: ignore[union-attr]
        again = await store.queue_run("p", "jobs:a", "ui")
        assert (again.created, again.request.id) == (False, "q2")
        disable = await store.queue_run("p", "jobs:a", "ui", action="disable")
        assert (disable.created, disable.request.action) == (True, "disable")
        assert not (await store.queue_run("p", "jobs:a", "ui", action="disable")).created
        with pytest.raises(InvalidRow, match=r"args\.name must be text"):
            await store.queue_run("p", "jobs:a", "ui", action="rename", args={"name": 1})
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == localstore.SCHEMA_VERSION == 4
        columns = {row[1] for row in conn.execute("PRAGMA table_info(cron_run_requests)")}
        assert {"cancel_requested_at", "cancel_requested_by", "action", "args"} <= columns
        with pytest.raises(sqlite3.IntegrityError):  # every writer: a known action
            conn.execute("UPDATE cron_run_requests SET action = 'Disable' WHERE id = 'q1'")


async def test_the_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "wal.sqlite3"
    store = LocalStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_change_committed_while_the_log_is_read_is_not_skipped(tmp_path: Path) -> None:
    """Another process commits between the subscriber's queries; the next read must still see it."""
    path = tmp_path / "race.sqlite3"
    store = LocalStore(path)
    await store.open()
    await store.upsert_mirror(PROJECT, [{"job_id": "first", "name": "First"}])

    class CommitsInBetween:
        """A connection that lets another writer commit right after each query it runs."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn
            self.count = 0

        def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
            cursor = self.conn.execute(sql, params)
            rows = cursor.fetchall()
            if sql.startswith("SELECT seq, tbl") and self.count == 0:
                self.count += 1
                with sqlite3.connect(path) as other:
                    other.execute(
                        "INSERT INTO cron_mirror (id, project_id, job_id, name, updated_at) "
                        "VALUES ('late', ?, 'late', 'Late', '2026-11-29T00:00:00.000000+00:00')",
                        (PROJECT,),
                    )
            return _Rows(rows)

    class _Rows:
        def __init__(self, rows: list) -> None:
            self.rows = rows

        def fetchall(self) -> list:
            return self.rows

        def fetchone(self) -> object:
            return self.rows[0] if self.rows else None

    seen: list[str] = []
    with sqlite3.connect(path) as raw:
        raw.row_factory = sqlite3.Row
        head, conn = 0, CommitsInBetween(raw)
        for _ in range(3):
            head, events = store._changes_since(conn, PROJECT, head)  # type: ignore[arg-type]
            assert events is not None
            seen += [e.job.job_id for e in events if isinstance(e, JobChange) and e.job]
    await store.close()
    assert seen == ["first", "late"]


def test_two_stores_opening_a_new_file_at_the_same_moment_both_work(tmp_path: Path) -> None:
    """The app and its hosted worker on one fresh file: SQLite refuses the second switch to WAL at once
    ("database is locked", no busy handler), which made opening fail now and then (1 in 20 here)."""
    failures: list[str] = []

    def use(store: LocalStore, barrier: threading.Barrier) -> None:
        async def go() -> None:
            barrier.wait()
            try:
                await store.upsert_mirror("p", [])
                await store.list_projects()
            finally:
                await store.close()

        try:
            asyncio.run(go())
        except Exception as exc:
            failures.append(repr(exc))

    for n in range(100):
        path = tmp_path / f"store-{n}.sqlite3"
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=use, args=(LocalStore(path), barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert failures == []


async def test_no_change_is_lost_while_another_store_keeps_writing(tmp_path: Path) -> None:
    """A subscriber polling while another connection commits change after change (the app and its
    hosted worker on one file) sees every one: the new changes and the new cursor are read from one
    snapshot, so a commit landing between the two reads cannot move the cursor past an unseen change."""
    path = tmp_path / "shared.sqlite3"
    reader = LocalStore(path, poll_interval=0.001)
    writer = LocalStore(path)
    seen: set[str] = set()

    def collect(event: object) -> None:
        if isinstance(event, Snapshot):
            seen.update(job.job_id for job in event.jobs)
        elif isinstance(event, JobChange) and event.job is not None:
            seen.add(event.job.job_id)

    await writer.upsert_mirror(PROJECT, [{"job_id": "first", "name": "First"}])
    subscription = await reader.subscribe(PROJECT, collect)
    wanted = {"first"} | {f"job-{n}" for n in range(300)}
    try:
        for n in range(300):
            await writer.upsert_mirror(PROJECT, [{"job_id": f"job-{n}", "name": f"Job {n}"}])
        for _ in range(200):
            if seen >= wanted:
                break
            await asyncio.sleep(0.01)
        assert sorted(wanted - seen) == []
    finally:
        await subscription.close()
        await reader.close()
        await writer.close()


async def test_text_that_is_not_utf8_is_shown_not_fatal(tmp_path: Path) -> None:
    """SQLite keeps whatever bytes a writer gave a TEXT column; one such row must not make the whole store
    'unusable' (Python's sqlite3 refuses to decode it by default)."""
    path = tmp_path / "store.sqlite3"
    store = LocalStore(path)
    try:
        await store.upsert_mirror("p", [{"job_id": "fine", "name": "Fine"}])
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT INTO cron_mirror (id, project_id, job_id, name, updated_at) "
                "VALUES ('x', 'p', 'bytes', CAST(? AS TEXT), '2026-11-29T00:00:00+00:00')",
                (b"caf\xe9 \xff",),
            )
        names = {j.job_id: j.name for j in await store.list_jobs("p")}
        assert names == {"fine": "Fine", "bytes": "caf\ufffd \ufffd"}
        (project,) = await store.list_projects()
        assert project.job_count == 2
    finally:
        await store.close()
