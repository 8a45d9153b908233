"""The embedded store: one SQLite file (WAL) with the same tables and rules as the Supabase schema.

Why it exists: a newcomer (or a Mac mini without a Supabase project) gets a working app and worker with
nothing to set up. Semantics match `SupabaseStore` exactly: the one-active-request-per-job index, atomic
claims, leases that only act while held, rescue of expired leases.

Change notification: triggers append every write to a `changes` log, which subscriptions follow
(`localstore_feed.py`).

This module is long because it is one thing: every Store operation in SQL, beside the schema it runs on.

All SQLite work runs on one thread per store, so the asyncio loop (the GUI's, with qasync) never blocks.

Hostile rows: the rules the Supabase schema applies to a client holding the anon key (…_client_request_rules
.sql) hold for `queue_run` here too (the same bounds and words; `requested_at` is always this store's
clock). The file has no roles: whatever else writes it is the user's own process, so its rows are read as
untrusted (rows.py), text that is not UTF-8 included, rather than refused by the schema.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from cronmirror_desktop.core.actions import ACTIONS, MAX_ARGS_BYTES, RUN, check_args
from cronmirror_desktop.core.errors import Conflict, CronMirrorError, InvalidRow, NotFound, Unreachable
from cronmirror_desktop.core.localstore_feed import LocalSubscription, wake_all
from cronmirror_desktop.core.mirror_rows import normalize_mirror_row
from cronmirror_desktop.core.rows import (
    MIRROR_COLUMNS,
    MIRROR_STATE_JOB_ID,
    MIRROR_STATE_KIND,
    CronMirrorJob,
    CronRunRequest,
    ProjectInfo,
)
from cronmirror_desktop.core.run_log import DEFAULT_KEEP_PER_JOB, RUN_LOG_COLUMNS, RunLogEntry
from cronmirror_desktop.core.store import (
    DEFAULT_HISTORY_LIMIT,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_REQUEST_LIMIT,
    ChangeType,
    EventHandler,
    JobChange,
    MirrorTouched,
    QueueOutcome,
    RequestChange,
    RunLogChange,
    Snapshot,
    Store,
    Subscription,
    check_lease,
    make_snapshot,
    mirror_touched,
    sort_jobs,
)
from cronmirror_desktop.core.text import has_control_characters
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc, parse_timestamp

log = logging.getLogger(__name__)

T = TypeVar("T")

#: 1: the seed's tables (+ ClawdOS's columns); 2: cron_mirror.source and .host, a host keeps its rows;
#: 3: the run log and a request's stop request (…_run_log.sql, …_stop_a_running_request.sql);
#: 4: a request's action and args, one active request per job and action (…_action_requests.sql).
SCHEMA_VERSION = 4
#: How many change-log entries survive pruning; a subscriber further behind gets a Snapshot.
CHANGE_LOG_KEEP = 20_000
#: How long opening waits for another connection that is switching a new file to WAL at the same moment.
WAL_SWITCH_WAIT_S = 10.0
_IN_CHUNK = 500

#: `action` and `args` of a request, checked for every writer as the migration's CHECKs do.
ACTION_COLUMN = (
    " TEXT NOT NULL DEFAULT 'run' CHECK (action IN (" + ", ".join(f"'{action}'" for action in ACTIONS) + "))"
)
ARGS_COLUMN = (
    " TEXT CHECK (args IS NULL OR (json_valid(args) AND json_type(args) = 'object' "
    f"AND length(CAST(args AS BLOB)) <= {MAX_ARGS_BYTES}))"
)
ONE_ACTIVE_INDEX = """
CREATE UNIQUE INDEX IF NOT EXISTS cron_run_requests_one_active_idx
  ON cron_run_requests (project_id, job_id, action) WHERE status IN ('queued', 'running');
"""

RUN_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS cron_run_log (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  run_key TEXT NOT NULL,
  run_at TEXT NOT NULL,
  finished_at TEXT,
  duration_ms INTEGER,
  status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error', 'skipped', 'cancelled')),
  summary TEXT,
  stdout_tail TEXT,
  stderr_tail TEXT,
  trigger TEXT NOT NULL DEFAULT 'unknown',
  request_id TEXT,
  source TEXT,
  host TEXT,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS cron_run_log_key_idx ON cron_run_log (project_id, run_key);
CREATE INDEX IF NOT EXISTS cron_run_log_job_time_idx ON cron_run_log (project_id, job_id, run_at DESC);
"""

#: The tables whose changes subscriptions see.
LOGGED_TABLES = ("cron_mirror", "cron_run_requests", "cron_run_log")


def _change_triggers(tables: tuple[str, ...]) -> str:
    return "".join(
        f"""
CREATE TRIGGER IF NOT EXISTS {table}_{op.lower()}_log AFTER {op} ON {table} BEGIN
  INSERT INTO changes (tbl, op, row_id, project_id) VALUES ('{table}', '{op}', {ref}.id, {ref}.project_id);
END;"""
        for table in tables
        for op, ref in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    )


_SCHEMA = (
    """
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
  ui_label TEXT,
  source TEXT CHECK (source IS NULL OR source IN ('gateway', 'crontab', 'launchd', 'jobs')),
  host TEXT CHECK (host IS NULL OR length(host) BETWEEN 1 AND 255)
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
  attempts INTEGER NOT NULL DEFAULT 0,
  cancel_requested_at TEXT,
  cancel_requested_by TEXT,
  """
    + "action"
    + ACTION_COLUMN
    + """,
  args"""
    + ARGS_COLUMN
    + """
);
CREATE INDEX IF NOT EXISTS cron_run_requests_project_time_idx
  ON cron_run_requests (project_id, requested_at DESC);
"""
    + ONE_ACTIVE_INDEX
    + """

"""
    + RUN_LOG_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl TEXT NOT NULL,
  op TEXT NOT NULL,
  row_id TEXT NOT NULL,
  project_id TEXT NOT NULL
);
"""
    + _change_triggers(LOGGED_TABLES)
)

#: Version 1 -> 2 (migration …_mirror_source_and_host.sql): the two columns; SQLite cannot add a CHECK to
#: an existing table, so an upgraded file relies on `normalize_mirror_row`, which refuses the same values.
_UPGRADES: dict[int, str] = {
    2: "ALTER TABLE cron_mirror ADD COLUMN source TEXT; ALTER TABLE cron_mirror ADD COLUMN host TEXT;",
    3: "ALTER TABLE cron_run_requests ADD COLUMN cancel_requested_at TEXT; "
    "ALTER TABLE cron_run_requests ADD COLUMN cancel_requested_by TEXT; "
    + RUN_LOG_SCHEMA
    + _change_triggers(("cron_run_log",)),
    4: f"ALTER TABLE cron_run_requests ADD COLUMN action{ACTION_COLUMN}; "
    f"ALTER TABLE cron_run_requests ADD COLUMN args{ARGS_COLUMN}; "
    "DROP INDEX IF EXISTS cron_run_requests_one_active_idx; " + ONE_ACTIVE_INDEX,
}

_JOB_FILTER = f"job_id != '{MIRROR_STATE_JOB_ID}' AND coalesce(schedule_kind, '') != '{MIRROR_STATE_KIND}'"

#: What a queued request's text may be: (column, longest), as in …_client_request_rules.sql.
REQUEST_TEXT_BOUNDS = (("project_id", 512), ("job_id", 512), ("requested_by", 200))


def check_request_text(project_id: str, job_id: str, requested_by: str | None) -> None:
    """Raise InvalidRow, in the server's words, for text the Supabase schema refuses from a client."""
    values = {"project_id": project_id, "job_id": job_id, "requested_by": requested_by}
    for column, longest in REQUEST_TEXT_BOUNDS:
        value = values[column]
        if value is None:
            continue
        if len(value) > longest:
            raise InvalidRow(f"{column} must be at most {longest} characters, got {len(value)}.")
        if has_control_characters(value):
            raise InvalidRow(
                f"{column} must not contain control characters (newlines, tabs, escape sequences)."
            )


def args_json(args: Mapping[str, Any]) -> str:
    """A request's args as stored: JSON with jsonb's own spacing, so its size is the one the checks count."""
    return json.dumps(dict(args), ensure_ascii=False, separators=(", ", ": "))


def _decode_text(raw: bytes) -> str:
    """SQLite stores whatever bytes a writer gave it; a row that is not UTF-8 is shown, not fatal."""
    return raw.decode("utf-8", errors="replace")


def _enter_wal(conn: sqlite3.Connection) -> None:
    """`PRAGMA journal_mode=WAL`, retried while locked. When two connections open a new file at the same
    moment (the app and its hosted worker, say), the one that loses the race to switch it to WAL gets
    "database is locked" at once: SQLite does not call the busy handler there (it would deadlock).
    Runs on the store's own thread, so waiting blocks nothing else."""
    deadline = time.monotonic() + WAL_SWITCH_WAIT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file at `version` to SCHEMA_VERSION in one write transaction: a new file gets the whole
    schema, an older one the upgrades it lacks. Another connection may upgrade the same file at the same
    moment; then ours fails on its duplicate column, and the version it left is checked instead."""
    if version == 0:
        script = _SCHEMA
    else:
        script = " ".join(_UPGRADES[v] for v in range(version + 1, SCHEMA_VERSION + 1))
    try:
        conn.executescript(f"BEGIN IMMEDIATE; {script} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    except sqlite3.OperationalError:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            raise


class LocalStore(Store):
    """The embedded SQLite store. Safe to open the same file from several stores and processes."""

    kind = "local"

    def __init__(self, path: Path | str, *, poll_interval: float = 0.25) -> None:
        self.path = Path(path).expanduser()
        self.poll_interval = poll_interval
        #: Identifies the file across stores in this process (for immediate wake-ups).
        self._key = str(self.path.resolve())
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cronmirror-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._subscriptions: set[LocalSubscription] = set()
        self._writes_since_prune = 0
        self._closed = False

    @property
    def location(self) -> str:
        return str(self.path)

    # -- plumbing ---------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The store's connection, opened on first use on the store's own thread."""
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            conn.row_factory = sqlite3.Row
            conn.text_factory = _decode_text
            _enter_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.close()
                raise Unreachable(
                    f"The local store {self.path} was written by a newer CronMirror (schema {version}).",
                    hint="Update CronMirror, or point it at another file.",
                )
            if version < SCHEMA_VERSION:
                _upgrade(conn, version)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T], *, writes: bool = False) -> T:
        if self._closed:
            raise CronMirrorError("The local store is closed.")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, partial(self._call, fn, writes))
        except (sqlite3.Error, OSError) as exc:
            raise Unreachable(
                f"The local store {self.path} cannot be used: {exc}",
                hint="Check that the folder exists and is writable and that the disk is not full.",
            ) from exc
        if writes:
            wake_all(self._key)
        return result

    def _call(self, fn: Callable[[sqlite3.Connection], T], writes: bool) -> T:
        conn = self._connection()
        result = fn(conn)
        if writes:
            self._writes_since_prune += 1
            if self._writes_since_prune >= 500:
                self._writes_since_prune = 0
                conn.execute(
                    "DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?",
                    (CHANGE_LOG_KEEP,),
                )
        return result

    @staticmethod
    def _transaction(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def forget(self, subscription: Subscription) -> None:
        """A subscription closed: stop closing it with the store."""
        self._subscriptions.discard(subscription)

    async def open(self) -> None:
        """Create or check the file now, so a bad path fails at start-up rather than on first use."""
        await self._run(lambda conn: None)

    async def close(self) -> None:
        if self._closed:
            return
        for sub in list(self._subscriptions):
            await sub.close()
        self._closed = True

        def shutdown() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shutdown)
        self._executor.shutdown(wait=False)

    # -- reading and queueing ---------------------------------------------------------------------

    async def list_projects(self, configured: Sequence[str] = ()) -> list[ProjectInfo]:
        def query(conn: sqlite3.Connection) -> list[ProjectInfo]:
            mirror = conn.execute(
                f"SELECT project_id, sum(CASE WHEN {_JOB_FILTER} THEN 1 ELSE 0 END), max(updated_at) "
                "FROM cron_mirror GROUP BY project_id"
            ).fetchall()
            requests = conn.execute(
                "SELECT project_id, max(requested_at) FROM cron_run_requests GROUP BY project_id"
            ).fetchall()
            rows: dict[str, dict[str, Any]] = {}
            for project_id, count, last_sync in mirror:
                rows[project_id] = {"project_id": project_id, "job_count": count, "last_sync_at": last_sync}
            for project_id, last_request in requests:
                rows.setdefault(project_id, {"project_id": project_id})["last_request_at"] = last_request
            for project_id in configured:
                rows.setdefault(project_id, {"project_id": project_id})["configured"] = True
            return [
                ProjectInfo.from_row(row, configured=bool(row.get("configured")))
                for _, row in sorted(rows.items(), key=lambda item: str(item[0]))
            ]

        return await self._run(query)

    async def list_jobs(self, project_id: str) -> list[CronMirrorJob]:
        def query(conn: sqlite3.Connection) -> list[CronMirrorJob]:
            rows = conn.execute(
                f"SELECT * FROM cron_mirror WHERE project_id = ? AND {_JOB_FILTER}", (project_id,)
            ).fetchall()
            return sort_jobs([CronMirrorJob.from_row(dict(r)) for r in rows])

        return await self._run(query)

    async def queue_run(
        self,
        project_id: str,
        job_id: str,
        requested_by: str,
        *,
        action: str = RUN,
        args: Mapping[str, Any] | None = None,
    ) -> QueueOutcome:
        check_request_text(project_id, job_id, requested_by)
        plain_args = dict(args) if isinstance(args, Mapping) else args
        check_args(action, job_id, plain_args)
        args_text = args_json(plain_args) if isinstance(plain_args, dict) else None

        def insert(conn: sqlite3.Connection) -> QueueOutcome:
            for _ in range(3):
                try:
                    row = conn.execute(
                        "INSERT INTO cron_run_requests "
                        "(id, project_id, job_id, requested_by, requested_at, action, args) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
                        (
                            str(uuid.uuid4()),
                            project_id,
                            job_id,
                            requested_by,
                            format_timestamp(now_utc()),
                            action,
                            args_text,
                        ),
                    ).fetchone()
                    return QueueOutcome(CronRunRequest.from_row(dict(row)), created=True)
                except sqlite3.IntegrityError:
                    active = conn.execute(
                        "SELECT * FROM cron_run_requests WHERE project_id = ? AND job_id = ? AND action = ? "
                        "AND status IN ('queued', 'running')",
                        (project_id, job_id, action),
                    ).fetchone()
                    if active is not None:
                        return QueueOutcome(CronRunRequest.from_row(dict(active)), created=False)
            raise Conflict(f"Could not queue {job_id}: its requests keep changing; try again.")

        return await self._run(insert, writes=True)

    async def list_requests(
        self, project_id: str, limit: int = DEFAULT_REQUEST_LIMIT, job_id: str | None = None
    ) -> list[CronRunRequest]:
        def query(conn: sqlite3.Connection) -> list[CronRunRequest]:
            return self._requests(conn, project_id, limit, job_id)

        return await self._run(query)

    @staticmethod
    def _requests(
        conn: sqlite3.Connection, project_id: str, limit: int, job_id: str | None = None
    ) -> list[CronRunRequest]:
        sql = "SELECT * FROM cron_run_requests WHERE project_id = ?"
        params: list[Any] = [project_id]
        if job_id is not None:
            sql += " AND job_id = ?"
            params.append(job_id)
        sql += " ORDER BY requested_at DESC, id DESC LIMIT ?"
        params.append(max(0, limit))
        return [CronRunRequest.from_row(dict(r)) for r in conn.execute(sql, params).fetchall()]

    async def get_request(self, request_id: str) -> CronRunRequest | None:
        def query(conn: sqlite3.Connection) -> CronRunRequest | None:
            row = conn.execute("SELECT * FROM cron_run_requests WHERE id = ?", (request_id,)).fetchone()
            return CronRunRequest.from_row(dict(row)) if row else None

        return await self._run(query)

    async def cancel_request(self, project_id: str, request_id: str, by: str | None = None) -> CronRunRequest:
        who = (by or "").strip() or None
        if who is not None:
            check_request_text(project_id, "-", who)

        def cancel(conn: sqlite3.Connection) -> CronRunRequest:
            now = format_timestamp(now_utc())
            reason = "cancelled before a worker picked it up" + (f" (by {who})" if who else "")
            # The same rules as cancel_run_request (…_stop_a_running_request.sql).
            row = conn.execute(
                "UPDATE cron_run_requests SET "
                "status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, "
                "completed_at = CASE WHEN status = 'queued' THEN :now ELSE completed_at END, "
                "result = CASE WHEN status = 'queued' THEN :result ELSE result END, "
                "cancel_requested_at = coalesce(cancel_requested_at, :now), "
                "cancel_requested_by = coalesce(cancel_requested_by, :who) "
                "WHERE id = :id AND project_id = :project AND status IN ('queued', 'running') RETURNING *",
                {
                    "now": now,
                    "result": json.dumps({"reason": reason}),
                    "who": who,
                    "id": request_id,
                    "project": project_id,
                },
            ).fetchone()
            if row is not None:
                return CronRunRequest.from_row(dict(row))
            current = conn.execute(
                "SELECT status FROM cron_run_requests WHERE id = ? AND project_id = ?",
                (request_id, project_id),
            ).fetchone()
            if current is None:
                raise NotFound(f"There is no run request {request_id} in project {project_id}.")
            raise Conflict(f"The request has already ended ({current[0]}); there is nothing to stop.")

        return await self._run(cancel, writes=True)

    async def subscribe(self, project_id: str, on_event: EventHandler) -> Subscription:
        subscription = LocalSubscription(project_id=project_id, store=self, handler=on_event)
        self._subscriptions.add(subscription)
        subscription.start()
        return subscription

    # -- mirroring and executing ------------------------------------------------------------------

    async def mirror_rows(self, project_id: str) -> list[CronMirrorJob]:
        def query(conn: sqlite3.Connection) -> list[CronMirrorJob]:
            rows = conn.execute("SELECT * FROM cron_mirror WHERE project_id = ?", (project_id,)).fetchall()
            return [CronMirrorJob.from_row(dict(r)) for r in rows]

        return await self._run(query)

    async def upsert_mirror(self, project_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
        normal = [normalize_mirror_row(row) for row in rows]
        if not normal:
            return 0
        columns = ("id", "project_id", *MIRROR_COLUMNS, "updated_at")
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*MIRROR_COLUMNS, "updated_at"))
        # A row of one host is never taken over by another (the migration's trigger does the same).
        sql = (
            f"INSERT INTO cron_mirror ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT (project_id, job_id) DO UPDATE SET {updates} "
            "WHERE cron_mirror.host IS NULL OR excluded.host IS NULL OR cron_mirror.host = excluded.host"
        )

        def upsert(conn: sqlite3.Connection) -> int:
            now = format_timestamp(now_utc())
            params = [
                (str(uuid.uuid4()), project_id, *(row[c] for c in MIRROR_COLUMNS), now) for row in normal
            ]
            cursor = self._transaction(conn, lambda: conn.executemany(sql, params))
            return max(0, cursor.rowcount)  # rows written (not the change log's), skipped ones left out

        return await self._run(upsert, writes=True)

    async def delete_mirror(self, project_id: str, job_ids: Sequence[str], *, host: str | None = None) -> int:
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return 0
        only_host = "" if host is None else " AND host = ?"
        host_param = () if host is None else (host,)

        def delete(conn: sqlite3.Connection) -> int:
            def body() -> int:
                deleted = 0
                for start in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[start : start + _IN_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    cur = conn.execute(
                        f"DELETE FROM cron_mirror WHERE project_id = ? AND job_id IN ({marks}){only_host}",
                        (project_id, *chunk, *host_param),
                    )
                    deleted += cur.rowcount
                return deleted

            return self._transaction(conn, body)

        return await self._run(delete, writes=True)

    async def claim_next(
        self,
        project_id: str,
        worker_id: str,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        *,
        host: str | None = None,
        actions: Sequence[str] = (RUN,),
    ) -> CronRunRequest | None:
        check_lease(worker_id, lease_seconds)
        wanted = [a for a in dict.fromkeys(actions) if a in ACTIONS] or [RUN]
        marks = ", ".join(f":a{i}" for i in range(len(wanted)))

        def claim(conn: sqlite3.Connection) -> CronRunRequest | None:
            now = now_utc()
            # Requests for a job of another host are that host's worker's, and only the actions this worker
            # applies are taken (migrations …_claim_requests_by_host.sql, …_action_requests.sql do the same).
            row = conn.execute(
                "UPDATE cron_run_requests SET status = 'running', picked_up_at = :now, worker_id = :worker, "
                "lease_until = :lease, heartbeat_at = :now, attempts = attempts + 1 "
                "WHERE status = 'queued' AND id = (SELECT q.id FROM cron_run_requests AS q "
                f"  WHERE q.project_id = :project AND q.status = 'queued' AND q.action IN ({marks}) "
                "  AND NOT EXISTS ("
                "    SELECT 1 FROM cron_mirror AS m WHERE m.project_id = q.project_id "
                "    AND m.job_id = q.job_id AND m.host IS NOT NULL AND m.host IS NOT :host) "
                "  AND (q.action <> 'create' OR json_valid(q.args) = 0 "
                "    OR json_extract(q.args, '$.host') IS NULL OR json_extract(q.args, '$.host') = :host) "
                "  ORDER BY q.requested_at, q.id LIMIT 1) "
                "RETURNING *",
                {
                    **{f"a{i}": action for i, action in enumerate(wanted)},
                    "now": format_timestamp(now),
                    "worker": worker_id,
                    "lease": format_timestamp(now + timedelta(seconds=lease_seconds)),
                    "project": project_id,
                    "host": host,
                },
            ).fetchone()
            return CronRunRequest.from_row(dict(row)) if row else None

        return await self._run(claim, writes=True)

    async def heartbeat(
        self, request_id: str, worker_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> bool:
        check_lease(worker_id, lease_seconds)

        def beat(conn: sqlite3.Connection) -> bool:
            now = now_utc()
            cur = conn.execute(
                "UPDATE cron_run_requests SET heartbeat_at = :now, lease_until = :lease "
                "WHERE id = :id AND worker_id = :worker AND status = 'running' AND lease_until > :now",
                {
                    "now": format_timestamp(now),
                    "lease": format_timestamp(now + timedelta(seconds=lease_seconds)),
                    "id": request_id,
                    "worker": worker_id,
                },
            )
            return cur.rowcount == 1

        return await self._run(beat, writes=True)

    async def complete(
        self,
        request_id: str,
        worker_id: str,
        status: Literal["done", "error", "cancelled"],
        result: Mapping[str, Any],
    ) -> bool:
        if status not in ("done", "error", "cancelled"):
            raise ValueError(f"a request completes as done, error or cancelled, not {status!r}")
        payload = json.dumps(dict(result), default=str)

        def finish(conn: sqlite3.Connection) -> bool:
            now = format_timestamp(now_utc())
            cur = conn.execute(
                "UPDATE cron_run_requests SET status = :status, completed_at = :now, result = :result, "
                "lease_until = NULL "
                # The holder may report after its lease ran out, until the request is rescued (the
                # migration …_complete_by_the_lease_holder.sql says why).
                "WHERE id = :id AND worker_id = :worker AND status = 'running' AND lease_until IS NOT NULL "
                "AND (:status <> 'cancelled' OR cancel_requested_at IS NOT NULL)",
                {"status": status, "now": now, "result": payload, "id": request_id, "worker": worker_id},
            )
            return cur.rowcount == 1

        return await self._run(finish, writes=True)

    async def rescue_expired(self, project_id: str | None = None) -> list[CronRunRequest]:
        def rescue(conn: sqlite3.Connection) -> list[CronRunRequest]:
            def body() -> list[CronRunRequest]:
                now = format_timestamp(now_utc())
                sql = (
                    "SELECT * FROM cron_run_requests WHERE status = 'running' "
                    "AND lease_until IS NOT NULL AND lease_until < ?"
                )
                params: list[Any] = [now]
                if project_id is not None:
                    sql += " AND project_id = ?"
                    params.append(project_id)
                rescued = []
                for row in conn.execute(sql, params).fetchall():
                    old = CronRunRequest.from_row(dict(row))
                    result = {**(old.result or {}), **rescue_result(old)}
                    updated = conn.execute(
                        "UPDATE cron_run_requests SET status = 'error', completed_at = ?, result = ?, "
                        "lease_until = NULL WHERE id = ? RETURNING *",
                        (now, json.dumps(result, default=str), old.id),
                    ).fetchone()
                    rescued.append(CronRunRequest.from_row(dict(updated)))
                return rescued

            return self._transaction(conn, body)

        return await self._run(rescue, writes=True)

    async def report_progress(self, request_id: str, worker_id: str, result: Mapping[str, Any]) -> bool:
        payload = json.dumps(dict(result), default=str)

        def progress(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE cron_run_requests SET result = ? WHERE id = ? AND worker_id = ? "
                "AND status = 'running' AND lease_until IS NOT NULL",
                (payload, request_id, worker_id),
            )
            return cur.rowcount == 1

        return await self._run(progress, writes=True)

    # -- run history ------------------------------------------------------------------------------

    async def record_runs(self, project_id: str, entries: Sequence[Mapping[str, Any]]) -> int:
        if not entries:
            return 0
        columns = ("id", "project_id", *RUN_LOG_COLUMNS, "updated_at")
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*RUN_LOG_COLUMNS, "updated_at"))
        sql = (
            f"INSERT INTO cron_run_log ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT (project_id, run_key) DO UPDATE SET {updates}"
        )

        def record(conn: sqlite3.Connection) -> int:
            now = format_timestamp(now_utc())
            params = [
                (str(uuid.uuid4()), project_id, *(entry.get(c) for c in RUN_LOG_COLUMNS), now)
                for entry in entries
            ]
            self._transaction(conn, lambda: conn.executemany(sql, params))
            return len(params)

        return await self._run(record, writes=True)

    async def run_history(
        self, project_id: str, job_id: str | None = None, limit: int = DEFAULT_HISTORY_LIMIT
    ) -> list[RunLogEntry]:
        def query(conn: sqlite3.Connection) -> list[RunLogEntry]:
            sql = "SELECT * FROM cron_run_log WHERE project_id = ?"
            params: list[Any] = [project_id]
            if job_id is not None:
                sql += " AND job_id = ?"
                params.append(job_id)
            sql += " ORDER BY run_at DESC, id DESC LIMIT ?"
            params.append(max(0, limit))
            return [RunLogEntry.from_row(dict(r)) for r in conn.execute(sql, params).fetchall()]

        return await self._run(query)

    async def latest_runs(self, project_id: str) -> dict[str, datetime]:
        def query(conn: sqlite3.Connection) -> dict[str, datetime]:
            rows = conn.execute(
                "SELECT job_id, max(run_at) FROM cron_run_log WHERE project_id = ? GROUP BY job_id",
                (project_id,),
            ).fetchall()
            latest = {}
            for job_id, run_at in rows:
                try:
                    when = parse_timestamp(run_at)
                except (ValueError, OverflowError):
                    continue
                if when is not None:
                    latest[job_id] = when
            return latest

        return await self._run(query)

    async def prune_run_log(self, project_id: str, keep: int = DEFAULT_KEEP_PER_JOB) -> int:
        if not 1 <= keep <= 100_000:
            raise ValueError(f"keep must be between 1 and 100000, got {keep}")

        def prune(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM cron_run_log WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
                "(PARTITION BY job_id ORDER BY run_at DESC, id DESC) AS n FROM cron_run_log "
                "WHERE project_id = ?) WHERE n > ?)",
                (project_id, keep),
            )
            return cur.rowcount

        return await self._run(prune, writes=True)

    # -- for subscriptions ------------------------------------------------------------------------

    def _snapshot(self, conn: sqlite3.Connection, project_id: str) -> tuple[int, Snapshot]:
        conn.execute("BEGIN")
        try:
            head = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
            rows = conn.execute("SELECT * FROM cron_mirror WHERE project_id = ?", (project_id,)).fetchall()
            requests = self._requests(conn, project_id, DEFAULT_REQUEST_LIMIT)
        finally:
            conn.execute("COMMIT")
        return head, make_snapshot(project_id, [CronMirrorJob.from_row(dict(r)) for r in rows], requests)

    def _changes_since(
        self, conn: sqlite3.Connection, project_id: str, after: int
    ) -> tuple[int, list[JobChange | RequestChange | RunLogChange | MirrorTouched] | None]:
        """(new head, events) — events None when the log no longer reaches back to `after`.

        One read transaction, so the changes, the new head and the rows they point at come from one
        snapshot: read one statement at a time, a commit landing between reading the changes and reading
        `max(seq)` moved the head past a change nobody had seen, and it was lost for good."""
        conn.execute("BEGIN")
        try:
            return self._read_changes(conn, project_id, after)
        finally:
            conn.execute("COMMIT")

    def _read_changes(
        self, conn: sqlite3.Connection, project_id: str, after: int
    ) -> tuple[int, list[JobChange | RequestChange | RunLogChange | MirrorTouched] | None]:
        oldest = conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
        if oldest is not None and oldest > after + 1:
            return after, None
        head = conn.execute("SELECT coalesce(max(seq), ?) FROM changes", (after,)).fetchone()[0]
        rows = conn.execute(
            "SELECT seq, tbl, op, row_id FROM changes WHERE seq > ? AND project_id = ? ORDER BY seq",
            (after, project_id),
        ).fetchall()
        # Coalesce several changes of one row into one event carrying its current state.
        first_op: dict[tuple[str, str], str] = {}
        last_op: dict[tuple[str, str], str] = {}
        for _seq, table, op, row_id in rows:
            first_op.setdefault((table, row_id), op)
            last_op[(table, row_id)] = op
        events: list[JobChange | RequestChange | RunLogChange | MirrorTouched] = []
        for key, op in last_op.items():
            table, row_id = key
            if op == "DELETE":
                if first_op[key] == "INSERT":
                    continue
                kind = ChangeType.DELETE
                current = None
            else:
                kind = ChangeType.INSERT if first_op[key] == "INSERT" else ChangeType.UPDATE
                current = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
                if current is None:
                    continue
            if table == "cron_mirror":
                job = CronMirrorJob.from_row(dict(current)) if current else None
                if job is not None and not job.is_job:
                    if (touched := mirror_touched(project_id, job)) is not None:
                        events.append(touched)
                    continue
                events.append(JobChange(kind, project_id, row_id, job))
            elif table == "cron_run_log":
                entry = RunLogEntry.from_row(dict(current)) if current else None
                events.append(RunLogChange(kind, project_id, row_id, entry))
            else:
                request = CronRunRequest.from_row(dict(current)) if current else None
                events.append(RequestChange(kind, project_id, row_id, request))
        return head, events


def rescue_result(request: CronRunRequest) -> dict[str, Any]:
    """What a rescued request's result says (the same words as the SQL function)."""
    lease = request.lease_until.strftime("%Y-%m-%dT%H:%M:%SZ") if request.lease_until else "?"
    return {
        "reason": f"worker {request.worker_id or '?'} stopped reporting; its lease expired at {lease}",
        "workerId": request.worker_id,
        "rescued": True,
    }
