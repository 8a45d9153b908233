"""Property (issue 13): whatever PostgreSQL accepts into the two tables, every reader shows every row.

Hypothesis writes random rows through the Supabase stand-in's database (as a writer the client rules do not
bind: the service role, ClawdOS's worker, anon-worker mode, rows from before the rules), and the same rows
into an embedded store file: random JSON in `result` (deep, huge numbers, not objects), timestamps
including 'infinity', '-infinity', year 294276 and BC dates, random unicode and control characters in every
text column. Then the app's readers run for real: both stores (the anon key over REST, a Snapshot through
a subscription), the `cronmirror` CLI (tables and JSON) and the job and request models (every role of
every cell, and Qt's model tester). None may raise, and every row must be shown, valid or flagged.

Few examples on one database (the stand-in's, emptied between examples): a few seconds of suite time.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from PySide6.QtCore import QModelIndex, Qt

from cronmirror_desktop import cli
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.rows import CronMirrorJob, CronRunRequest
from cronmirror_desktop.core.store import Snapshot, Store
from cronmirror_desktop.core.supabasestore import SupabaseStore
from cronmirror_desktop.core.text import CONTROL_CHARACTERS
from cronmirror_desktop.ui.job_model import JobTableModel
from cronmirror_desktop.ui.request_model import RequestTableModel
from tests.store_harness import Events
from tests.supastack import Supastack

pytestmark = pytest.mark.pg

PROJECT = "front-office"

# -- what PostgreSQL accepts -------------------------------------------------------------------------

#: PostgreSQL text holds any character but NUL; these are the ones that steer terminals and parsers.
NASTY = "\x1b\x07\n\r\t\x08\x7f\x85\x9b\u2028\u202e\ufeff"
alphabet = st.characters(codec="utf-8", exclude_characters="\x00") | st.sampled_from(NASTY)
text_values = st.text(alphabet, max_size=16)
#: timestamptz literals: the infinities, the ends of PostgreSQL's range, offsets that overflow in UTC.
present_times = st.one_of(
    st.sampled_from(
        [
            "infinity",
            "-infinity",
            "294276-12-31 23:59:59+00",
            "4713-01-01 00:00:00+00 BC",
            "0044-03-15 00:00:00+00 BC",
            "0001-01-01 00:00:00+05",
            "9999-12-31 23:59:59-05",
            "1969-12-31 23:59:59+00",
            "1970-01-01 00:00:00+00",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat() + "+00"),
)
times = st.none() | present_times
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 2**63, -(2**63) - 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    text_values,
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text_values, children, max_size=3),
    max_leaves=10,
)


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


#: `result` as JSON text for `::jsonb`: any JSON, the keys the app reads with odd values, or deep nesting.
results = st.one_of(
    st.none(),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "exitCode": json_leaves,
            "durationMs": json_leaves,
            "stdoutTail": text_values,
            "stderrTail": text_values,
            "reason": text_values,
        },
    ).map(json.dumps),
    st.integers(1, 1200).map(_deep),
    # numbers PostgreSQL keeps exactly and Python will not read (more than 4,300 digits)
    st.just('{"durationMs": 1' + "0" * 5000 + ', "exitCode": -9' + "9" * 5000 + "}"),
)
ids = st.one_of(st.sampled_from([PROJECT]), st.text(alphabet, min_size=1, max_size=16))
mirror_rows = st.fixed_dictionaries(
    {
        "project_id": ids,
        "job_id": text_values,
        "name": text_values,
        "schedule_kind": st.one_of(
            st.none(), st.sampled_from(["cron", "every", "at", "calendar", "event", "state"]), text_values
        ),
        "schedule_expr": st.one_of(
            st.none(),
            text_values,
            st.sampled_from(["*/5 * * * *", "99999999999999999999", "1800000", "0 7 * * 1-5", "@daily"]),
            st.integers().map(str),
        ),
        "tz": st.one_of(st.none(), text_values, st.sampled_from(["Europe/Berlin", "UTC", "Mars/Olympus"])),
        "enabled": st.booleans(),
        "next_run_at": times,
        "last_run_at": times,
        "last_status": st.one_of(st.none(), st.sampled_from(["ok", "error", "skipped"]), text_values),
        "last_duration_ms": st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
        "instructions": st.one_of(st.none(), text_values),
        "updated_at": present_times,
        "target_agent_key": st.one_of(st.none(), text_values),
        "ui_label": st.one_of(st.none(), text_values),
    }
)
request_rows = st.fixed_dictionaries(
    {
        "project_id": ids,
        "job_id": text_values,
        "requested_by": st.one_of(st.none(), text_values),
        "requested_at": present_times,
        "status": st.sampled_from(["queued", "running", "done", "error", "cancelled"]),
        "picked_up_at": times,
        "completed_at": times,
        "result": results,
        "worker_id": st.one_of(st.none(), text_values),
        "lease_until": times,
        "heartbeat_at": times,
        "attempts": st.integers(0, 2**31 - 1),
    }
)
tables = st.tuples(
    st.lists(mirror_rows, max_size=6, unique_by=lambda r: (r["project_id"], r["job_id"])),
    st.lists(
        request_rows,
        max_size=6,
        # the one-active-request-per-job index
        unique_by=lambda r: (
            (r["project_id"], r["job_id"]) if r["status"] in ("queued", "running") else object()
        ),
    ),
)


# -- writing them ----------------------------------------------------------------------------------


def write_postgres(stack: Supastack, mirror: list[dict[str, Any]], requests: list[dict[str, Any]]) -> None:
    with stack.connect() as conn:
        conn.execute("TRUNCATE cron_mirror, cron_run_requests")  # no row triggers: no realtime events
        for table, rows in (("cron_mirror", mirror), ("cron_run_requests", requests)):
            for row in rows:
                columns = list(row)
                values = [
                    sql.SQL("{}::jsonb").format(sql.Placeholder()) if c == "result" else sql.Placeholder()
                    for c in columns
                ]
                conn.execute(
                    sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                        sql.Identifier(table),
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.SQL(", ").join(values),
                    ),
                    list(row.values()),
                )


def write_sqlite(path: Path, stack: Supastack) -> None:
    """The same rows in an embedded store file, each value as the text PostgreSQL gives it."""
    with stack.connect() as pg, sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM cron_mirror")
        conn.execute("DELETE FROM cron_run_requests")
        for table in ("cron_mirror", "cron_run_requests"):
            cursor = pg.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            names = [d.name for d in cursor.description or []]
            text = pg.execute(
                sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(n)) for n in names),
                    sql.Identifier(table),
                )
            ).fetchall()
            for values in text:
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                    [int(v == "true") if n == "enabled" else v for n, v in zip(names, values, strict=True)],
                )


# -- reading them ----------------------------------------------------------------------------------


async def read_everything(
    store: Store, projects: set[str]
) -> tuple[list[CronMirrorJob], list[CronRunRequest]]:
    listed = await store.list_projects(configured=[PROJECT])
    assert {p.project_id for p in listed} == projects | {PROJECT}
    jobs: list[CronMirrorJob] = []
    requests: list[CronRunRequest] = []
    for project in sorted(projects):
        every_row = await store.mirror_rows(project)
        listed_jobs = await store.list_jobs(project)
        assert len(listed_jobs) == sum(1 for j in every_row if j.is_job)
        jobs.extend(every_row)
        requests.extend(await store.list_requests(project, limit=100))
        for request in requests[-2:]:
            await store.get_request(request.id)
    events = Events()
    subscription = await store.subscribe(PROJECT, events)
    try:
        snapshot = await events.wait_for(lambda e: isinstance(e, Snapshot))
        assert isinstance(snapshot, Snapshot)
    finally:
        await subscription.close()
    return jobs, requests


def shown_whole(rows: list[Any]) -> None:
    for row in rows:
        json.dumps(row.to_public())
        assert isinstance(row.problems, tuple)


def every_role_of_every_cell(model: Any) -> None:
    roles = [*range(0, 14), *range(Qt.ItemDataRole.UserRole, Qt.ItemDataRole.UserRole + 4)]
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column, QModelIndex())
            for role in roles:
                model.data(index, role)
        model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)


def run_cli(*argv: str) -> tuple[int, str]:
    """`cronmirror ARGV` in a thread of its own (it runs its own asyncio loop), as a user would."""
    out = io.StringIO()
    with ThreadPoolExecutor(1) as pool:
        code = pool.submit(cli.main, list(argv), stream=out).result(60)
    return code, out.getvalue()


@pytest.fixture
def configured(supabase_env: Supastack, monkeypatch: pytest.MonkeyPatch) -> Supastack:
    monkeypatch.setenv("SUPABASE_URL", supabase_env.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", supabase_env.anon_key)
    monkeypatch.setenv("CRONMIRROR_PROJECT_ID", PROJECT)
    return supabase_env


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(tables)
def test_no_row_breaks_a_store_the_cli_or_the_models(
    configured: Supastack,
    event_loop: asyncio.AbstractEventLoop,
    qtmodeltester: Any,
    tmp_path_factory: pytest.TempPathFactory,
    rows: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    mirror, requests = rows
    write_postgres(configured, mirror, requests)
    local_file = tmp_path_factory.getbasetemp() / "property-store.sqlite3"
    local = LocalStore(local_file)
    event_loop.run_until_complete(asyncio.wait_for(local.open(), 10))
    write_sqlite(local_file, configured)
    projects = {r["project_id"] for r in [*mirror, *requests]}

    supabase = SupabaseStore(configured.url, configured.anon_key)
    try:
        for store in (supabase, local):
            jobs, seen = event_loop.run_until_complete(asyncio.wait_for(read_everything(store, projects), 30))
            assert len(jobs) == len(mirror), store.kind
            assert len(seen) == len(requests), store.kind
            shown_whole(jobs)
            shown_whole(seen)
    finally:
        event_loop.run_until_complete(supabase.close())
        event_loop.run_until_complete(local.close())

    job_model = JobTableModel()
    job_model.set_jobs([j for j in jobs if j.is_job])
    assert job_model.rowCount() == sum(1 for j in jobs if j.is_job)
    every_role_of_every_cell(job_model)
    qtmodeltester.check(job_model)
    request_model = RequestTableModel(limit=100)
    request_model.set_requests(seen)
    assert request_model.rowCount() == len(seen)
    every_role_of_every_cell(request_model)
    qtmodeltester.check(request_model)

    shown_jobs = [r for r in mirror if r["project_id"] == PROJECT]
    shown_requests = [r for r in requests if r["project_id"] == PROJECT]
    code, out = run_cli("--json", "jobs")
    assert code == 0, out
    listed = json.loads(out)
    assert sorted(j["jobId"] for j in listed) == sorted(
        r["job_id"] for r in shown_jobs if r["job_id"] != "__mirror_state__" and r["schedule_kind"] != "state"
    )
    code, out = run_cli("--json", "requests", "--limit", "100")
    assert code == 0, out
    listed_requests = json.loads(out)
    assert sorted(r["jobId"] for r in listed_requests) == sorted(r["job_id"] for r in shown_requests)
    code, out = run_cli("--json", "projects")
    assert code == 0, out
    listed_projects = json.loads(out)
    for argv, rows in (
        (("jobs",), listed),
        (("requests", "--limit", "100"), listed_requests),
        (("projects",), listed_projects),
    ):
        code, out = run_cli(*argv)
        assert code == 0, (argv, out)
        assert not CONTROL_CHARACTERS.search(out.replace("\n", "")), (argv, out)
        if rows:  # a header, one line per row, one more per row that could not be fully read, and for
            # jobs one more per Late job (an unreadable schedule still trusts the source's next run)
            expected = 1 + len(rows) + sum(1 for r in rows if r["problems"])
            expected += sum(1 for r in rows if r.get("late") is True)
            assert len(out.rstrip("\n").split("\n")) == expected, (argv, out)
