"""Action requests in the Supabase schema (…_action_requests.sql), on a real PostgreSQL, as the API roles."""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from cronmirror_desktop.core.actions import ACTIONS, args_problem
from tests.conftest import PgDatabase
from tests.pgcluster import MIGRATIONS_DIR, PgCluster, migration_files

pytestmark = pytest.mark.pg

PROJECT = "front-office"
ALL_ACTIONS = list(ACTIONS)

GOOD: list[tuple[str, str, dict[str, Any] | None]] = [
    ("run", "j1", None),
    ("enable", "j1", None),
    ("disable", "j1", {}),
    ("set_schedule", "j1", {"kind": "cron", "expr": "0 3 * * 1-5", "tz": "Europe/Berlin"}),
    ("set_schedule", "j2", {"kind": "every", "expr": "1800000"}),
    ("set_schedule", "j3", {"kind": "at", "expr": "2026-12-01T09:00:00Z", "tz": None}),
    ("rename", "j1", {"name": "Nightly backup ü"}),
    (
        "create",
        "jobs:backup",
        {
            "key": "backup",
            "name": "Backup",
            "command": ["/usr/bin/env", "echo", "hi; $(rm -rf ~)"],
            "schedule": {"kind": "cron", "expr": "@daily"},
            "timeout": 600,
            "enabled": False,
            "host": "mini-2",
        },
    ),
    ("delete", "jobs:backup", None),
]

#: (action, job id, args, the words of the refusal). Each is refused for anon and authenticated, and
#: core.actions.args_problem says exactly the same.
HOSTILE: list[tuple[str, str, object, str]] = [
    ("shutdown", "j1", None, "action must be one of run, enable, disable"),
    ("Disable", "j1", None, "action must be one of run, enable, disable"),
    ("set_schedule", "j1", None, "args are required for set_schedule"),
    ("rename", "j1", [1, 2], "args must be a JSON object"),
    ("rename", "j1", "x", "args must be a JSON object"),
    ("rename", "j1", {"name": "x" * 20_000}, "args must be at most 16384 bytes, got 20012"),
    ("rename", "j1", {"name": "x" * 201}, "args.name must be at most 200 characters"),
    ("rename", "j1", {"name": 5}, "args.name must be text"),
    ("rename", "j1", {"name": ""}, "args.name must not be empty"),
    ("rename", "j1", {"name": "a\nb"}, "args.name must not contain control characters"),
    ("rename", "j1", {"name": "\x1b]0;owned\x07"}, "args.name must not contain control characters"),
    ("rename", "j1", {}, "args.name must be text"),
    ("rename", "j1", {"name": [[[[["deep"]]]]]}, "args.name must be text"),
    ("enable", "j1", {"force": True}, "args.force is not an argument of enable"),
    ("disable", "j1", {"\x1b[2J": 1}, r"args.\?\[2J is not an argument of disable"),
    ("set_schedule", "j1", {"kind": "cron", "expr": "0 3 * * *", "shell": "sh"}, "args.shell is not an"),
    ("set_schedule", "j1", {"kind": "shell", "expr": "x"}, "args.kind must be one of cron, every, at"),
    ("set_schedule", "j1", {"kind": 1, "expr": "x"}, "args.kind must be one of cron, every, at"),
    ("set_schedule", "j1", {"kind": "cron", "expr": "0 3 * * *; rm -rf ~"}, "args.expr must be a cron"),
    ("set_schedule", "j1", {"kind": "cron", "expr": "$(reboot) * * * *"}, "args.expr must be a cron"),
    ("set_schedule", "j1", {"kind": "cron", "expr": "`id` * * * *"}, "args.expr must be a cron"),
    ("set_schedule", "j1", {"kind": "cron", "expr": "* * * * * | sh"}, "args.expr must be a cron"),
    ("set_schedule", "j1", {"kind": "cron", "expr": "* * * * *\n"}, "args.expr must not contain control"),
    ("set_schedule", "j1", {"kind": "cron", "expr": ["* * * * *"]}, "args.expr must be text"),
    ("set_schedule", "j1", {"kind": "every", "expr": "30m"}, "args.expr must be the interval in millis"),
    ("set_schedule", "j1", {"kind": "every", "expr": "0"}, "args.expr must be the interval in millis"),
    ("set_schedule", "j1", {"kind": "at", "expr": "tomorrow"}, "args.expr must be a date and time"),
    ("set_schedule", "j1", {"kind": "at", "expr": "2026-12-01T09:00:00"}, "args.expr must be a date and"),
    ("set_schedule", "j1", {"kind": "every", "expr": "60000", "tz": "UTC"}, "args.tz applies to cron"),
    (
        "set_schedule",
        "j1",
        {"kind": "cron", "expr": "* * * * *", "tz": "Europe/Berlin; rm -rf ~"},
        "args.tz must be an IANA time zone name",
    ),
    ("set_schedule", "j1", {"kind": "cron", "expr": "* * * * *", "tz": 1}, "args.tz must be text"),
    ("create", "jobs:x", {"key": "x", "command": "rm -rf ~"}, "args.command must be a list of 1 to 64"),
    ("create", "jobs:x", {"key": "x", "command": []}, "args.command must be a list of 1 to 64"),
    ("create", "jobs:x", {"key": "x", "command": ["a"] * 65}, "args.command must be a list of 1 to 64"),
    ("create", "jobs:x", {"key": "x", "command": ["echo", 1]}, r"args.command\[1\] must be text"),
    ("create", "jobs:x", {"key": "x", "command": ["a\x00b"]}, None),  # jsonb itself refuses NUL
    ("create", "jobs:x", {"key": "x", "command": ["a\tb"]}, r"args.command\[0\] must not contain control"),
    ("create", "jobs:x", {"key": "x", "command": ["a" * 1025]}, r"args.command\[0\] must be at most 1024"),
    ("create", "jobs:y", {"key": "x", "command": ["true"]}, "job_id must be jobs:<args.key>"),
    ("create", "jobs:../x", {"key": "../x", "command": ["true"]}, "args.key must be 1 to 64 letters"),
    ("create", "jobs:x", {"key": "x", "command": ["true"], "timeout": "10"}, "args.timeout must be a whole"),
    ("create", "jobs:x", {"key": "x", "command": ["true"], "timeout": 1.5}, "args.timeout must be a whole"),
    ("create", "jobs:x", {"key": "x", "command": ["true"], "timeout": 0}, "args.timeout must be a whole"),
    ("create", "jobs:x", {"key": "x", "command": ["true"], "enabled": "yes"}, "args.enabled must be true"),
    (
        "create",
        "jobs:x",
        {"key": "x", "command": ["true"], "schedule": {"kind": "cron", "expr": "* * * * * && reboot"}},
        "args.schedule.expr must be a cron expression",
    ),
    ("create", "jobs:x", {"key": "x", "command": ["true"], "schedule": "daily"}, "args.schedule must be an"),
]


def insert(conn: psycopg.Connection, action: str | None, job_id: str, args: object) -> uuid.UUID:
    columns = ["project_id", "job_id", "requested_by"]
    values: list[object] = [PROJECT, job_id, "ui"]
    if action is not None:
        columns.append("action")
        values.append(action)
    if args is not None:
        columns.append("args")
        values.append(Jsonb(args))
    row = conn.execute(
        f"insert into cron_run_requests ({', '.join(columns)}) values ({', '.join(['%s'] * len(values))}) "
        "returning id",
        values,
    ).fetchone()
    assert row is not None
    return row[0]


def claim(
    conn: psycopg.Connection, worker: str, actions: list[str] | None = None, host: str | None = None
) -> Any:
    if actions is None:
        cur = conn.execute(
            "select id, action from claim_run_request(%s, %s, 60, %s)", (PROJECT, worker, host)
        )
    else:
        cur = conn.execute(
            "select id, action from claim_run_request(%s, %s, 60, %s, %s)", (PROJECT, worker, host, actions)
        )
    return cur.fetchone()


def count(db: PgDatabase) -> int:
    with db.connect() as admin:
        row = admin.execute("select count(*) from cron_run_requests").fetchone()
    assert row is not None
    return int(row[0])


def test_a_request_without_an_action_is_a_run(pg_db: PgDatabase) -> None:
    """The seed's insert and ClawdOS's rows mean what they meant."""
    with pg_db.connect_as("anon") as anon:
        request_id = insert(anon, None, "j1", None)
        row = anon.execute(
            "select action, args from cron_run_requests where id = %s", (request_id,)
        ).fetchone()
    assert row == ("run", None)


@pytest.mark.parametrize(("action", "job_id", "args"), GOOD)
def test_anon_queues_every_action_with_its_args(
    pg_db: PgDatabase, action: str, job_id: str, args: dict[str, Any] | None
) -> None:
    assert args_problem(action, job_id, args) is None
    for role in ("anon", "authenticated"):
        with pg_db.connect_as(role) as conn:
            request_id = insert(conn, action, job_id, args)
            row = conn.execute(
                "select action, args, status, worker_id from cron_run_requests where id = %s", (request_id,)
            ).fetchone()
            conn.execute("select * from cancel_run_request(%s, %s)", (PROJECT, request_id))
        assert row == (action, args, "queued", None)


@pytest.mark.parametrize(("action", "job_id", "args", "words"), HOSTILE)
def test_hostile_actions_and_args_are_refused_in_the_same_words_as_core(
    pg_db: PgDatabase, action: str, job_id: str, args: object, words: str | None
) -> None:
    for role in ("anon", "authenticated"):
        with pg_db.connect_as(role) as conn:
            if words is None:  # NUL: jsonb has no place for it, whoever sends it
                with pytest.raises(psycopg.errors.UntranslatableCharacter):
                    insert(conn, action, job_id, args)
                continue
            with pytest.raises(psycopg.errors.CheckViolation, match=words):
                insert(conn, action, job_id, args)
    assert count(pg_db) == 0
    problem = args_problem(action, job_id, args)
    assert problem is not None
    if words is not None:
        assert re.search(words, problem), problem


def test_the_database_and_core_agree_on_every_refusal(pg_db: PgDatabase) -> None:
    """The same function, twice: the database's answer for each hostile request is core's, word for word."""
    with pg_db.connect_as("anon") as anon:
        for action, job_id, args, words in HOSTILE:
            if words is None:
                continue
            row = anon.execute(
                "select cron_request_args_problem(%s, %s, %s)",
                (action, job_id, Jsonb(args) if args is not None else None),
            ).fetchone()
            assert row is not None
            assert row[0] == args_problem(action, job_id, args), (action, args)
        for action, job_id, args in GOOD:
            row = anon.execute(
                "select cron_request_args_problem(%s, %s, %s)",
                (action, job_id, Jsonb(args) if args is not None else None),
            ).fetchone()
            assert row == (None,)


def test_every_writer_is_held_to_a_known_action_and_bounded_args(pg_db: PgDatabase) -> None:
    """The service role (the worker's key, trusted with the args' shape: the worker checks again) still
    cannot write an unknown action, args that are not an object, or more than 16 kB of them."""
    with pg_db.connect_as("service_role") as svc:
        for action, args in (("Disable", None), ("run", [1]), ("rename", {"name": "x" * 20_000})):
            with pytest.raises(psycopg.errors.CheckViolation):
                insert(svc, action, "j1", args)
        insert(svc, "set_schedule", "j1", {"kind": "cron", "expr": "0 3 * * *; rm -rf ~"})
    assert count(pg_db) == 1


def test_one_active_request_per_job_and_action(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        disable = insert(anon, "disable", "j1", None)
        with pytest.raises(psycopg.errors.UniqueViolation):
            insert(anon, "disable", "j1", None)
        insert(anon, "run", "j1", None)  # a Run beside the Disable is fine
        with pytest.raises(psycopg.errors.UniqueViolation):
            insert(anon, None, "j1", None)  # ... but still one Run at a time
        insert(anon, "enable", "j1", None)
        insert(anon, "disable", "j2", None)
        anon.execute("select * from cancel_run_request(%s, %s)", (PROJECT, disable))
        insert(anon, "disable", "j1", None)  # the first one ended: a new one may come


def test_claim_hands_out_only_the_actions_the_worker_applies(pg_db: PgDatabase) -> None:
    """A worker from before action requests calls claim_run_request without `p_actions`: it gets runs only,
    so it never runs a job it was asked to disable."""
    with pg_db.connect_as("anon") as anon:
        disable = insert(anon, "disable", "j1", None)
        run = insert(anon, "run", "j2", None)
        rename = insert(anon, "rename", "j3", {"name": "x"})
    with pg_db.connect_as("service_role") as svc:
        assert claim(svc, "old-worker") == (run, "run")
        assert claim(svc, "old-worker") is None
        assert claim(svc, "new-worker", ALL_ACTIONS) == (disable, "disable")
        assert claim(svc, "new-worker", ["run", "rename"]) == (rename, "rename")


def test_a_create_goes_to_the_host_it_names(pg_db: PgDatabase) -> None:
    args = {"key": "x", "command": ["true"], "host": "mini-2"}
    with pg_db.connect_as("anon") as anon:
        for_mini_2 = insert(anon, "create", "jobs:x", args)
        anywhere = insert(anon, "create", "jobs:y", {"key": "y", "command": ["true"]})
    with pg_db.connect_as("service_role") as svc:
        assert claim(svc, "w1", ALL_ACTIONS, host="mini-1") == (anywhere, "create")
        assert claim(svc, "w1", ALL_ACTIONS, host="mini-1") is None
        assert claim(svc, "w2", ALL_ACTIONS, host="mini-2") == (for_mini_2, "create")


def test_functions_returning_requests_carry_action_and_args(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        queued = insert(anon, "rename", "j1", {"name": "New"})
        running = insert(anon, "disable", "j2", None)
        cancelled = anon.execute(
            "select action, args from cancel_run_request(%s, %s)", (PROJECT, queued)
        ).fetchall()
    assert cancelled == [("rename", {"name": "New"})]
    with pg_db.connect_as("service_role") as svc:
        assert claim(svc, "w", ALL_ACTIONS) == (running, "disable")
    with pg_db.connect() as admin:
        admin.execute(
            "update cron_run_requests set lease_until = now() - interval '1 s' where id = %s", (running,)
        )
    with pg_db.connect_as("service_role") as svc:
        rescued = svc.execute(
            "select id, action, status from rescue_expired_run_requests(%s)", (PROJECT,)
        ).fetchall()
    assert rescued == [(running, "disable", "error")]


def test_claim_with_actions_keeps_the_hardened_rights(pg_db: PgDatabase) -> None:
    with pg_db.connect() as conn:
        overloads = conn.execute(
            "select pg_get_function_identity_arguments(oid) from pg_proc where proname = 'claim_run_request'"
        ).fetchall()
        rights = {
            role: conn.execute(
                "select has_function_privilege(%s, "
                "'public.claim_run_request(text, text, integer, text, text[])', 'EXECUTE')",
                (role,),
            ).fetchone()[0]  # type: ignore[index]
            for role in ("anon", "authenticated", "service_role")
        }
    assert len(overloads) == 1
    assert rights == {"anon": False, "authenticated": False, "service_role": True}


def test_claim_with_actions_keeps_the_anon_only_modes_rights(pg_cluster: PgCluster) -> None:
    name = "anon_only_actions"
    files = [path for path in migration_files() if not path.name.endswith("_harden_policies.sql")]
    pg_cluster.prepare_database(name, migrations=files)
    try:
        with pg_cluster.connect(name) as conn:
            conn.execute("set role anon")
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, action) values (%s, 'j', 'disable')",
                (PROJECT,),
            )
            row = conn.execute(
                "select job_id, action from claim_run_request(%s, 'anon-worker', 60, null, %s)",
                (PROJECT, ALL_ACTIONS),
            ).fetchone()
    finally:
        pg_cluster.drop_database(name)
    assert row == ("j", "disable")


def test_anon_worker_mode_script_grants_the_new_claim(pg_db: PgDatabase) -> None:
    pg_db.cluster.apply_sql(pg_db.name, MIGRATIONS_DIR.parent / "docs" / "sql" / "anon-worker-mode.sql")
    with pg_db.connect_as("anon") as anon:
        insert(anon, "enable", "j1", None)
        assert claim(anon, "anon-worker", ALL_ACTIONS) is not None
        # The client rules still hold for the anon key's updates in this mode.
        with pytest.raises(psycopg.errors.CheckViolation, match=r"args\.name must be text"):
            anon.execute("update cron_run_requests set action = 'rename', args = '{}'::jsonb")
