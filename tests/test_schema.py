"""The Supabase schema (migrations/) against a real PostgreSQL, acting as the real API roles."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import PgDatabase
from tests.pgcluster import BOOTSTRAP_SQL, MIGRATIONS_DIR, PgCluster, migration_files

pytestmark = pytest.mark.pg

SEED_MIRROR_COLUMNS = [
    ("id", "uuid", "NO", "gen_random_uuid()"),
    ("project_id", "text", "NO", None),
    ("job_id", "text", "NO", None),
    ("name", "text", "NO", None),
    ("schedule_kind", "text", "YES", None),
    ("schedule_expr", "text", "YES", None),
    ("tz", "text", "YES", None),
    ("enabled", "boolean", "NO", "true"),
    ("next_run_at", "timestamp with time zone", "YES", None),
    ("last_run_at", "timestamp with time zone", "YES", None),
    ("last_status", "text", "YES", None),
    ("last_duration_ms", "integer", "YES", None),
    ("instructions", "text", "YES", None),
    ("updated_at", "timestamp with time zone", "NO", "now()"),
]
SEED_REQUEST_COLUMNS = [
    ("id", "uuid", "NO", "gen_random_uuid()"),
    ("project_id", "text", "NO", None),
    ("job_id", "text", "NO", None),
    ("requested_by", "text", "YES", None),
    ("requested_at", "timestamp with time zone", "NO", "now()"),
    ("status", "text", "NO", "'queued'::text"),
    ("picked_up_at", "timestamp with time zone", "YES", None),
    ("completed_at", "timestamp with time zone", "YES", None),
    ("result", "jsonb", "YES", None),
]
SEED_POLICIES = {
    ("cron_mirror", "cron_mirror_select_anon", "SELECT", "true", None),
    ("cron_mirror", "cron_mirror_write_anon", "ALL", "true", "true"),
    ("cron_run_requests", "cron_run_requests_select_anon", "SELECT", "true", None),
    ("cron_run_requests", "cron_run_requests_insert_anon", "INSERT", None, "true"),
    ("cron_run_requests", "cron_run_requests_update_anon", "UPDATE", "true", "true"),
}
PROJECT = "front-office"


def columns(conn: psycopg.Connection, table: str) -> list[tuple[str, str, str, str | None]]:
    rows = conn.execute(
        """select column_name, data_type, is_nullable, column_default
             from information_schema.columns
            where table_schema = 'public' and table_name = %s
            order by ordinal_position""",
        (table,),
    ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def queue(conn: psycopg.Connection, job_id: str, project: str = PROJECT) -> uuid.UUID:
    row = conn.execute(
        "insert into cron_run_requests (project_id, job_id, requested_by) values (%s, %s, 'ui') returning id",
        (project, job_id),
    ).fetchone()
    assert row is not None
    return row[0]


def claim(conn: psycopg.Connection, worker: str, lease: int = 60) -> dict | None:
    cur = conn.execute("select * from claim_run_request(%s, %s, %s)", (PROJECT, worker, lease))
    names = [d.name for d in cur.description or []]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def status_of(db: PgDatabase, request_id: uuid.UUID) -> tuple:
    with db.connect() as conn:
        row = conn.execute(
            "select status, worker_id, lease_until, result, completed_at "
            "from cron_run_requests where id = %s",
            (request_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


# -- migrations as files ----------------------------------------------------------------------------


def test_migration_files_use_supabase_cli_naming_in_order() -> None:
    files = migration_files()
    assert len(files) >= 9
    stamps = []
    for path in files:
        match = re.fullmatch(r"(\d{14})_[a-z0-9_]+\.sql", path.name)
        assert match, f"{path.name} does not follow YYYYMMDDHHMMSS_name.sql"
        stamps.append(match.group(1))
    assert len(set(stamps)) == len(stamps), "two migrations share a timestamp"
    assert files[0].name.endswith("_create_cron_mirror.sql")
    assert files[1].name.endswith("_create_cron_run_requests.sql")
    for path in files[2:]:
        assert path.read_text().lstrip().startswith("-- Why:"), f"{path.name} must say why"


def test_seed_migrations_are_the_plan_verbatim() -> None:
    """The first two files hold the seed plan's SQL blocks (docs/seed-plan.md) character for character."""
    plan = (MIGRATIONS_DIR.parent / "docs" / "seed-plan.md").read_text()
    mirror_sql, requests_sql = re.findall(r"```sql\n(.*?)```", plan, flags=re.S)
    mirror, requests = (p.read_text() for p in migration_files()[:2])
    assert mirror_sql in mirror
    assert requests_sql in requests


def test_migrations_apply_in_order_on_a_bootstrap_only_database(pg_cluster: PgCluster) -> None:
    name = "fresh_bootstrap_only"
    pg_cluster.create_database(name)
    try:
        pg_cluster.apply_sql(name, BOOTSTRAP_SQL)
        applied = []
        for path in migration_files():
            pg_cluster.apply_sql(name, path)
            applied.append(path.name)
        assert applied == sorted(applied)
        with pg_cluster.connect(name) as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "select tablename from pg_tables where schemaname = 'public'"
                ).fetchall()
            }
            assert {"cron_mirror", "cron_run_requests"} <= tables
            functions = {
                r[0]
                for r in conn.execute(
                    "select proname from pg_proc where pronamespace = 'public'::regnamespace"
                ).fetchall()
            }
            assert {
                "claim_run_request",
                "heartbeat_run_request",
                "complete_run_request",
                "cancel_run_request",
                "rescue_expired_run_requests",
            } <= functions
    finally:
        pg_cluster.drop_database(name)


# -- the seed's shape, exactly --------------------------------------------------------------------


def test_seed_columns_types_defaults_and_nullability(pg_db: PgDatabase) -> None:
    with pg_db.connect() as conn:
        mirror = columns(conn, "cron_mirror")
        requests = columns(conn, "cron_run_requests")
    assert mirror[: len(SEED_MIRROR_COLUMNS)] == SEED_MIRROR_COLUMNS
    assert requests[: len(SEED_REQUEST_COLUMNS)] == SEED_REQUEST_COLUMNS
    added = [c[0] for c in requests[len(SEED_REQUEST_COLUMNS) :]]
    assert added == [
        "worker_id",
        "lease_until",
        "heartbeat_at",
        "attempts",
        "cancel_requested_at",
        "cancel_requested_by",
        "action",
        "args",
    ]


def test_seed_indexes_and_rls(pg_db: PgDatabase) -> None:
    with pg_db.connect() as conn:
        indexes = dict(
            conn.execute("select indexname, indexdef from pg_indexes where schemaname = 'public'").fetchall()
        )
        rls = dict(
            conn.execute(
                "select relname, relrowsecurity from pg_class "
                "where relname in ('cron_mirror', 'cron_run_requests')"
            ).fetchall()
        )
    assert indexes["cron_mirror_project_job_idx"] == (
        "CREATE UNIQUE INDEX cron_mirror_project_job_idx "
        "ON public.cron_mirror USING btree (project_id, job_id)"
    )
    assert indexes["cron_run_requests_project_time_idx"] == (
        "CREATE INDEX cron_run_requests_project_time_idx "
        "ON public.cron_run_requests USING btree (project_id, requested_at DESC)"
    )
    assert rls == {"cron_mirror": True, "cron_run_requests": True}


def test_seed_policies_exactly_before_hardening(pg_cluster: PgCluster) -> None:
    name = "seed_only"
    pg_cluster.prepare_database(name, migrations=migration_files()[:2])
    try:
        with pg_cluster.connect(name) as conn:
            rows = conn.execute(
                "select tablename, policyname, cmd, qual, with_check, roles from pg_policies"
            ).fetchall()
    finally:
        pg_cluster.drop_database(name)
    assert {tuple(r[:5]) for r in rows} == SEED_POLICIES
    assert all(r[5] == ["public"] for r in rows)


def test_both_tables_published_for_realtime_with_full_replica_identity(pg_db: PgDatabase) -> None:
    with pg_db.connect() as conn:
        published = {
            r[0]
            for r in conn.execute(
                "select tablename from pg_publication_tables where pubname = 'supabase_realtime'"
            ).fetchall()
        }
        identity = dict(
            conn.execute(
                "select relname, relreplident::text from pg_class "
                "where relname in ('cron_mirror', 'cron_run_requests')"
            ).fetchall()
        )
    assert published == {"cron_mirror", "cron_run_requests", "cron_run_log"}
    assert identity == {"cron_mirror": "f", "cron_run_requests": "f"}


def test_status_must_be_a_known_state(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("service_role") as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, status) values (%s, 'j', 'Done')",
                (PROJECT,),
            )
        for status in ("queued", "running", "done", "error", "cancelled"):
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, status) values (%s, %s, %s)",
                (PROJECT, f"job-{status}", status),
            )


# -- what the anon key may and may not do ---------------------------------------------------------


def test_anon_can_queue_and_read(pg_db: PgDatabase) -> None:
    with pg_db.connect() as admin:
        admin.execute(
            "insert into cron_mirror (project_id, job_id, name) values (%s, 'j1', 'Inbox check')",
            (PROJECT,),
        )
    with pg_db.connect_as("anon") as anon:
        request_id = queue(anon, "j1")
        rows = anon.execute(
            "select status, attempts, worker_id from cron_run_requests where id = %s",
            (request_id,),
        ).fetchall()
        assert rows == [("queued", 0, None)]
        assert anon.execute("select name from cron_mirror").fetchall() == [("Inbox check",)]
        assert anon.execute("select project_id, job_count from cron_projects").fetchall() == [(PROJECT, 1)]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "done"),
        ("status", "running"),
        ("worker_id", "evil"),
        ("picked_up_at", "2026-01-01T00:00:00Z"),
        ("completed_at", "2026-01-01T00:00:00Z"),
        ("result", Jsonb({"exitCode": 0})),
        ("attempts", 3),
    ],
)
def test_anon_cannot_forge_a_request(pg_db: PgDatabase, column: str, value: object) -> None:
    with pg_db.connect_as("anon") as anon, pytest.raises(psycopg.errors.InsufficientPrivilege):
        anon.execute(
            f"insert into cron_run_requests (project_id, job_id, {column}) values (%s, 'j', %s)",
            (PROJECT, value),
        )


@pytest.mark.parametrize(
    "statement",
    [
        "update cron_run_requests set status = 'done'",
        "delete from cron_run_requests",
        "insert into cron_mirror (project_id, job_id, name) values ('front-office', 'x', 'x')",
        "update cron_mirror set name = 'pwned'",
        "delete from cron_mirror",
        "select * from claim_run_request('front-office', 'anon-worker')",
        "select heartbeat_run_request(gen_random_uuid(), 'w', 60)",
        "select complete_run_request(gen_random_uuid(), 'w', 'done')",
        "select * from rescue_expired_run_requests()",
    ],
)
def test_anon_cannot_rewrite_or_delete(pg_db: PgDatabase, statement: str) -> None:
    with pg_db.connect() as admin:
        admin.execute(
            "insert into cron_mirror (project_id, job_id, name) values (%s, 'j1', 'a')",
            (PROJECT,),
        )
        queue(admin, "j1")
    for role in ("anon", "authenticated"):
        with pg_db.connect_as(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    with pg_db.connect() as admin:
        assert admin.execute("select name from cron_mirror").fetchall() == [("a",)]
        assert admin.execute("select status from cron_run_requests").fetchall() == [("queued",)]


def test_service_role_can_do_everything(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("service_role") as svc:
        svc.execute(
            "insert into cron_mirror (project_id, job_id, name) values (%s, 'j1', 'a')"
            " on conflict (project_id, job_id) do update set name = excluded.name",
            (PROJECT,),
        )
        svc.execute("update cron_mirror set name = 'b'")
        request_id = queue(svc, "j1")
        claimed = claim(svc, "mac-mini")
        assert claimed is not None
        assert claimed["id"] == request_id
        assert claimed["status"] == "running"
        assert claimed["picked_up_at"] is not None
        assert claimed["attempts"] == 1
        assert svc.execute(
            "select complete_run_request(%s, 'mac-mini', 'done', %s)",
            (request_id, Jsonb({"exitCode": 0})),
        ).fetchone() == (True,)
        svc.execute("delete from cron_mirror")
        svc.execute("delete from cron_run_requests")


def test_anon_can_cancel_only_a_queued_request(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        queued = queue(anon, "j1")
        running = queue(anon, "j2")
    with pg_db.connect() as admin:
        admin.execute(
            "update cron_run_requests set status = 'running', worker_id = 'w', "
            "lease_until = now() + interval '1 minute' where id = %s",
            (running,),
        )
    with pg_db.connect_as("anon") as anon:
        cancelled = anon.execute(
            "select id, status from cancel_run_request(%s, %s)", (PROJECT, queued)
        ).fetchall()
        assert cancelled == [(queued, "cancelled")]
        # A running request only gets a stop request (the worker ends it and reports 'cancelled').
        stop = anon.execute(
            "select status, cancel_requested_by from cancel_run_request(%s, %s, %s)",
            (PROJECT, running, "ui:alice@laptop"),
        ).fetchall()
        assert stop == [("running", "ui:alice@laptop")]
        assert anon.execute("select * from cancel_run_request(%s, %s)", (PROJECT, queued)).fetchall() == []
    assert status_of(pg_db, running)[0] == "running"
    assert status_of(pg_db, queued)[0] == "cancelled"
    assert status_of(pg_db, queued)[4] is not None


# -- the request lifecycle ------------------------------------------------------------------------


def test_claim_hands_each_request_to_exactly_one_of_eight_concurrent_claimers(
    pg_db: PgDatabase,
) -> None:
    with pg_db.connect_as("anon") as anon:
        expected = {queue(anon, f"job-{i:03d}") for i in range(200)}
    claimers = 8
    barrier = threading.Barrier(claimers)
    claimed: list[list[uuid.UUID]] = [[] for _ in range(claimers)]
    errors: list[BaseException] = []

    def claimer(index: int) -> None:
        try:
            with pg_db.connect_as("service_role") as conn:
                barrier.wait(timeout=30)
                while (row := claim(conn, f"worker-{index}")) is not None:
                    claimed[index].append(row["id"])
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    every_claim = [rid for ids in claimed for rid in ids]
    counts = Counter(every_claim)
    assert set(counts) == expected
    assert max(counts.values()) == 1
    assert sum(1 for ids in claimed if ids) >= 2, "the claimers did not actually overlap"
    with pg_db.connect() as admin:
        rows = admin.execute(
            "select count(*), count(distinct worker_id), min(attempts), max(attempts) "
            "from cron_run_requests where status = 'running'"
        ).fetchone()
    assert rows is not None
    assert rows[0] == 200
    assert (rows[2], rows[3]) == (1, 1)


def test_claim_takes_oldest_first_and_only_own_project(pg_db: PgDatabase) -> None:
    with pg_db.connect() as admin:
        admin.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at) values "
            "(%s, 'late', now()), (%s, 'early', now() - interval '1 hour'), "
            "('other', 'older', now() - interval '2 hours')",
            (PROJECT, PROJECT),
        )
    with pg_db.connect_as("service_role") as svc:
        first = claim(svc, "w")
        second = claim(svc, "w")
        assert first is not None
        assert second is not None
        assert (first["job_id"], second["job_id"]) == ("early", "late")
        assert claim(svc, "w") is None


def test_second_active_request_for_the_same_job_is_refused(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        first = queue(anon, "j1")
        with pytest.raises(psycopg.errors.UniqueViolation):
            queue(anon, "j1")
        queue(anon, "j1", project="another-project")
    with pg_db.connect_as("service_role") as svc:
        claim(svc, "w")
    with pg_db.connect_as("anon") as anon, pytest.raises(psycopg.errors.UniqueViolation):
        queue(anon, "j1")
    with pg_db.connect_as("service_role") as svc:
        svc.execute("select complete_run_request(%s, 'w', 'error', null)", (first,))
    with pg_db.connect_as("anon") as anon:
        queue(anon, "j1")  # finished requests no longer block a new one


def test_heartbeat_extends_only_the_holders_lease(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        request_id = queue(anon, "j1")
    with pg_db.connect_as("service_role") as svc:
        claim(svc, "w1", lease=10)
        before = status_of(pg_db, request_id)[2]
        assert svc.execute("select heartbeat_run_request(%s, 'w2', 600)", (request_id,)).fetchone() == (
            False,
        )
        assert status_of(pg_db, request_id)[2] == before
        assert svc.execute("select heartbeat_run_request(%s, 'w1', 600)", (request_id,)).fetchone() == (True,)
        assert status_of(pg_db, request_id)[2] > before


def test_expired_lease_is_rescued_and_a_live_one_is_not(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        expired = queue(anon, "expired")
        live = queue(anon, "live")
        leaseless = queue(anon, "leaseless")
    with pg_db.connect() as admin:
        admin.execute(
            "update cron_run_requests set status = 'running', worker_id = 'dead-worker', "
            "lease_until = now() - interval '1 second' where id = %s",
            (expired,),
        )
        admin.execute(
            "update cron_run_requests set status = 'running', worker_id = 'live-worker', "
            "lease_until = now() + interval '1 minute' where id = %s",
            (live,),
        )
        # A seed/ClawdOS-style worker never sets a lease: it may still be running the job.
        admin.execute("update cron_run_requests set status = 'running' where id = %s", (leaseless,))
    with pg_db.connect_as("service_role") as svc:
        rescued = svc.execute("select id from rescue_expired_run_requests()").fetchall()
        assert rescued == [(expired,)]
        assert svc.execute("select id from rescue_expired_run_requests()").fetchall() == []
    status, worker, lease, result, completed = status_of(pg_db, expired)
    assert (status, worker, lease) == ("error", "dead-worker", None)
    assert completed is not None
    assert result["rescued"] is True
    assert "dead-worker" in result["reason"]
    assert "lease expired" in result["reason"]
    assert status_of(pg_db, live)[0] == "running"
    assert status_of(pg_db, leaseless)[0] == "running"


def test_after_its_lease_expired_only_the_holder_may_complete_and_only_until_a_rescue(
    pg_db: PgDatabase,
) -> None:
    """A result kept through an outage longer than the lease still counts; nothing counts after a rescue."""
    with pg_db.connect_as("anon") as anon:
        reported, rescued = queue(anon, "j1"), queue(anon, "j2")
    with pg_db.connect_as("service_role") as svc:
        assert claim(svc, "slow-worker") is not None
        assert claim(svc, "slow-worker") is not None
    with pg_db.connect() as admin:
        admin.execute(
            "update cron_run_requests set lease_until = now() - interval '1 second' where id in (%s, %s)",
            (reported, rescued),
        )
    with pg_db.connect_as("service_role") as svc:
        # Expired but not yet rescued: the lease can't be extended, and only its holder may complete it.
        assert svc.execute("select heartbeat_run_request(%s, 'slow-worker', 60)", (reported,)).fetchone() == (
            False,
        )
        assert svc.execute(
            "select complete_run_request(%s, 'another-worker', 'done', %s)",
            (reported, Jsonb({"exitCode": 0})),
        ).fetchone() == (False,)
        assert svc.execute(
            "select complete_run_request(%s, 'slow-worker', 'done', %s)",
            (reported, Jsonb({"exitCode": 0})),
        ).fetchone() == (True,)
        assert [r[0] for r in svc.execute("select id from rescue_expired_run_requests()")] == [rescued]
        after_rescue = status_of(pg_db, rescued)
        assert svc.execute(
            "select complete_run_request(%s, 'slow-worker', 'done', %s)",
            (rescued, Jsonb({"exitCode": 0})),
        ).fetchone() == (False,)
    assert status_of(pg_db, reported)[0] == "done"
    assert status_of(pg_db, rescued) == after_rescue
    assert after_rescue[0] == "error"


def test_complete_refuses_a_non_final_status(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("service_role") as svc, pytest.raises(psycopg.errors.InvalidParameterValue):
        svc.execute("select complete_run_request(gen_random_uuid(), 'w', 'queued')")


def test_claim_validates_its_arguments(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("service_role") as svc:
        for args in ((PROJECT, "", 60), (PROJECT, "w", 0), ("", "w", 60)):
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                svc.execute("select * from claim_run_request(%s, %s, %s)", args)


def test_cron_projects_counts_jobs_not_fingerprints(pg_db: PgDatabase) -> None:
    with pg_db.connect() as admin:
        admin.execute(
            "insert into cron_mirror (project_id, job_id, name, schedule_kind, enabled) values "
            "('a', 'j1', 'one', 'cron', true), ('a', 'j2', 'two', 'every', false), "
            "('a', '__mirror_state__', 'mirror state (do not delete)', 'state', false)"
        )
        admin.execute("insert into cron_run_requests (project_id, job_id) values ('b', 'x')")
    with pg_db.connect_as("anon") as anon:
        rows = anon.execute(
            "select project_id, job_count, last_sync_at is not null, last_request_at is not null "
            "from cron_projects order by project_id"
        ).fetchall()
    assert rows == [("a", 2, True, False), ("b", 0, False, True)]


def test_anon_worker_mode_script_restores_the_seed_rights(pg_db: PgDatabase) -> None:
    script = MIGRATIONS_DIR.parent / "docs" / "sql" / "anon-worker-mode.sql"
    pg_db.cluster.apply_sql(pg_db.name, script)
    with pg_db.connect_as("anon") as anon:
        anon.execute("insert into cron_mirror (project_id, job_id, name) values (%s, 'j1', 'a')", (PROJECT,))
        request_id = queue(anon, "j1")
        claimed = claim(anon, "anon-worker")
        assert claimed is not None
        assert claimed["id"] == request_id
        assert anon.execute(
            "select complete_run_request(%s, 'anon-worker', 'done', null)", (request_id,)
        ).fetchone() == (True,)


def test_clawdos_columns_are_there_nullable_with_one_default(pg_db: PgDatabase) -> None:
    with pg_db.connect() as conn:
        extra = columns(conn, "cron_mirror")[len(SEED_MIRROR_COLUMNS) :]
    assert extra[:4] == [
        ("target_agent_key", "text", "YES", None),
        ("job_intent", "text", "YES", None),
        ("context_policy", "text", "YES", "'default'::text"),
        ("ui_label", "text", "YES", None),
    ]


# -- source and host (…_mirror_source_and_host.sql, …_claim_requests_by_host.sql) ----------------------


def upsert_as_worker(conn: psycopg.Connection, job_id: str, name: str, host: str | None) -> None:
    """What a worker's upsert does (PostgREST: INSERT … ON CONFLICT (project_id, job_id) DO UPDATE)."""
    conn.execute(
        "insert into cron_mirror (project_id, job_id, name, source, host) values (%s, %s, %s, 'jobs', %s) "
        "on conflict (project_id, job_id) do update set name = excluded.name, host = excluded.host, "
        "source = excluded.source",
        (PROJECT, job_id, name, host),
    )


def mirror_row(db: PgDatabase, job_id: str) -> tuple:
    with db.connect() as conn:
        row = conn.execute(
            "select name, host from cron_mirror where project_id = %s and job_id = %s", (PROJECT, job_id)
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_source_and_host_are_nullable_after_the_clawdos_columns(pg_db: PgDatabase) -> None:
    with pg_db.connect() as conn:
        extra = columns(conn, "cron_mirror")[len(SEED_MIRROR_COLUMNS) + 4 :]
    assert extra == [("source", "text", "YES", None), ("host", "text", "YES", None)]


@pytest.mark.parametrize(
    ("column", "value"),
    [("source", "cron"), ("source", "Gateway"), ("host", ""), ("host", "x" * 256), ("host", "mini\x1b]0;x")],
)
def test_source_and_host_refuse_what_no_worker_writes(pg_db: PgDatabase, column: str, value: str) -> None:
    with pg_db.connect_as("service_role") as svc, pytest.raises(psycopg.errors.CheckViolation):
        svc.execute(
            f"insert into cron_mirror (project_id, job_id, name, {column}) values (%s, 'j', 'n', %s)",
            (PROJECT, value),
        )


def test_a_hosts_row_is_never_taken_over_by_another_host(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("service_role") as svc:
        upsert_as_worker(svc, "jobs:backup", "on mini-1", "mini-1")
        upsert_as_worker(svc, "jobs:backup", "on mini-2", "mini-2")  # skipped, not an error
        assert mirror_row(pg_db, "jobs:backup") == ("on mini-1", "mini-1")
        upsert_as_worker(svc, "jobs:backup", "renamed on mini-1", "mini-1")
        assert mirror_row(pg_db, "jobs:backup") == ("renamed on mini-1", "mini-1")
        # A row without a host (ClawdOS's, or written before the column) is taken over; a release is allowed.
        upsert_as_worker(svc, "legacy", "old row", None)
        upsert_as_worker(svc, "legacy", "adopted", "mini-2")
        assert mirror_row(pg_db, "legacy") == ("adopted", "mini-2")
        svc.execute("update cron_mirror set host = null where job_id = 'legacy'")
        assert mirror_row(pg_db, "legacy") == ("adopted", None)
        # A writer that does not name the column (ClawdOS's worker) changes the row and keeps its host.
        svc.execute("update cron_mirror set name = 'by clawdos' where job_id = 'jobs:backup'")
        assert mirror_row(pg_db, "jobs:backup") == ("by clawdos", "mini-1")


def test_claim_hands_a_worker_only_requests_for_its_host_or_no_host(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("service_role") as svc:
        for job_id, host in (("a1", "mini-1"), ("b1", "mini-2"), ("n1", None)):
            upsert_as_worker(svc, job_id, job_id, host)
        b1, a1, n1, unknown = (queue(svc, j) for j in ("b1", "a1", "n1", "not-mirrored"))

        def claim_as(worker: str, host: str | None) -> uuid.UUID | None:
            row = svc.execute(
                "select id from claim_run_request(%s, %s, 60, %s)", (PROJECT, worker, host)
            ).fetchone()
            return row[0] if row else None

        assert claim_as("w1", "mini-1") == a1  # b1 is older, but mini-2's
        assert claim_as("w0", None) == n1  # a worker without a host: jobs without one only
        assert claim_as("w0", None) == unknown
        assert claim_as("w0", None) is None
        assert claim_as("w1", "mini-1") is None
        assert claim_as("w2", "mini-2") == b1


def test_claim_by_host_keeps_the_hardened_rights(pg_db: PgDatabase) -> None:
    """(…_action_requests.sql replaced it once more, with the same rights: tests/test_schema_actions.py.)"""
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
    assert overloads == [
        ("p_project_id text, p_worker_id text, p_lease_seconds integer, p_host text, p_actions text[]",)
    ]
    assert rights == {"anon": False, "authenticated": False, "service_role": True}


def test_claim_by_host_keeps_the_anon_only_modes_rights(pg_cluster: PgCluster) -> None:
    """A project in the seed's anon-only mode (hardening never applied) keeps a claim its anon worker can
    call; the old function's rights move to the new one."""
    name = "anon_only_mode"
    files = [path for path in migration_files() if not path.name.endswith("_harden_policies.sql")]
    pg_cluster.prepare_database(name, migrations=files)
    try:
        with pg_cluster.connect(name) as conn:
            conn.execute("set role anon")
            conn.execute("insert into cron_run_requests (project_id, job_id) values (%s, 'j')", (PROJECT,))
            row = conn.execute(
                "select job_id, worker_id from claim_run_request(%s, 'anon-worker', 60, null)", (PROJECT,)
            ).fetchone()
    finally:
        pg_cluster.drop_database(name)
    assert row == ("j", "anon-worker")


# -- what a client holding the public key may put into a request (…_client_request_rules.sql) ----


HOSTILE_TIMES = [
    "infinity",
    "-infinity",
    "294276-01-01T00:00:00Z",
    "0044-03-15T00:00:00Z BC",
    "2000-01-01T00:00:00Z",  # an ordinary time in the past: queue order is the server's too
]


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("when", HOSTILE_TIMES)
def test_requested_at_is_the_servers_now_for_a_client(pg_db: PgDatabase, role: str, when: str) -> None:
    with pg_db.connect_as(role) as conn:
        row = conn.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at) values (%s, 'j1', %s) "
            "returning requested_at = now(), isfinite(requested_at)",
            (PROJECT, when),
        ).fetchone()
    assert row == (True, True)


def test_a_client_cannot_jump_the_queue(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        first = queue(anon, "first")
        anon.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at) "
            "values (%s, 'pushy', '1970-01-01T00:00:00Z')",
            (PROJECT,),
        )
    with pg_db.connect_as("service_role") as svc:
        claimed = claim(svc, "w")
    assert claimed is not None
    assert claimed["id"] == first


def test_the_service_role_still_chooses_requested_at(pg_db: PgDatabase) -> None:
    """The worker's key is trusted: imports and tests may back-date a request (and readers cope)."""
    with pg_db.connect_as("service_role") as svc:
        row = svc.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at, requested_by) "
            "values (%s, 'j1', '2001-02-03T04:05:06Z', %s) returning requested_at",
            (PROJECT, "x" * 300),
        ).fetchone()
    assert row is not None
    assert row[0].year == 2001


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("requested_by", "x" * 201, "requested_by must be at most 200 characters"),
        ("requested_by", "x" * 5_000_000, "requested_by must be at most 200 characters"),
        ("requested_by", "ui\x1b[2J", "requested_by must not contain control characters"),
        ("job_id", "j" * 513, "job_id must be at most 512 characters"),
        ("job_id", "a\nb", "job_id must not contain control characters"),
        ("job_id", "\x1b]0;owned\x07\x1b[2J", "job_id must not contain control characters"),
        ("job_id", "c1\u009bcontrol", "job_id must not contain control characters"),
        ("job_id", "del\x7f", "job_id must not contain control characters"),
        ("project_id", "p" * 513, "project_id must be at most 512 characters"),
        ("project_id", "front\toffice", "project_id must not contain control characters"),
    ],
)
def test_a_client_request_has_bounded_plain_text(
    pg_db: PgDatabase, column: str, value: str, words: str
) -> None:
    row = {"project_id": PROJECT, "job_id": "j1", "requested_by": "ui", column: value}
    for role in ("anon", "authenticated"):
        with pg_db.connect_as(role) as conn, pytest.raises(psycopg.errors.CheckViolation, match=words):
            conn.execute(
                "insert into cron_run_requests (project_id, job_id, requested_by) values (%s, %s, %s)",
                (row["project_id"], row["job_id"], row["requested_by"]),
            )
    with pg_db.connect() as admin:
        assert admin.execute("select count(*) from cron_run_requests").fetchone() == (0,)


def test_text_at_the_bounds_and_any_unicode_is_fine(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon:
        row = anon.execute(
            "insert into cron_run_requests (project_id, job_id, requested_by) values (%s, %s, %s) "
            "returning char_length(project_id), char_length(job_id), char_length(requested_by)",
            ("p" * 511 + "é", "ジョブ" * 170 + "jo", "ü" * 200),
        ).fetchone()
    assert row == (512, 512, 200)


def test_in_anon_worker_mode_the_rules_hold_for_updates_too(pg_db: PgDatabase) -> None:
    """With the seed's rights back, the anon key may update rows: still not requested_at, not to bad text;
    and the anon worker's own claim and completion are untouched by the rules."""
    script = MIGRATIONS_DIR.parent / "docs" / "sql" / "anon-worker-mode.sql"
    pg_db.cluster.apply_sql(pg_db.name, script)
    with pg_db.connect_as("anon") as anon:
        request_id = queue(anon, "j1")
        before = status_of(pg_db, request_id)
        anon.execute("update cron_run_requests set requested_at = '-infinity' where id = %s", (request_id,))
        with pytest.raises(psycopg.errors.CheckViolation):
            anon.execute("update cron_run_requests set job_id = 'a\nb' where id = %s", (request_id,))
        assert claim(anon, "anon-worker") is not None
        assert anon.execute(
            "select complete_run_request(%s, 'anon-worker', 'done', null)", (request_id,)
        ).fetchone() == (True,)
    with pg_db.connect() as admin:
        row = admin.execute(
            "select isfinite(requested_at), job_id, status from cron_run_requests where id = %s",
            (request_id,),
        ).fetchone()
    assert row == (True, "j1", "done")
    assert before[0] == "queued"


# -- cancelling names the project (…_cancel_within_project.sql) -----------------------------------


def test_anon_cancels_a_queued_request_of_the_project_it_names(pg_db: PgDatabase) -> None:
    """By design (no sign-in), anyone with the anon key may withdraw any queued request of a project whose
    id they name; never a running one, and never one of another project than the one named."""
    with pg_db.connect_as("anon") as anon:
        mine = queue(anon, "j1")
        theirs = queue(anon, "j1", project="back-office")
        assert anon.execute("select * from cancel_run_request(%s, %s)", (PROJECT, theirs)).fetchall() == []
        cancelled = anon.execute(
            "select id, status from cancel_run_request(%s, %s)", (PROJECT, mine)
        ).fetchall()
        assert cancelled == [(mine, "cancelled")]
    assert status_of(pg_db, theirs)[0] == "queued"


def test_the_old_one_argument_cancel_is_gone(pg_db: PgDatabase) -> None:
    with pg_db.connect_as("anon") as anon, pytest.raises(psycopg.errors.UndefinedFunction):
        anon.execute("select * from cancel_run_request(gen_random_uuid())")


def test_cancel_may_be_called_by_the_api_roles_only(pg_db: PgDatabase) -> None:
    with pg_db.connect() as admin:
        granted = admin.execute(
            "select grantee from information_schema.routine_privileges "
            "where routine_name = 'cancel_run_request' and privilege_type = 'EXECUTE' order by grantee"
        ).fetchall()
        definer = admin.execute(
            "select prosecdef, pg_get_function_identity_arguments(oid) from pg_proc "
            "where proname = 'cancel_run_request'"
        ).fetchall()
    assert {g[0] for g in granted} - {"postgres"} == {"anon", "authenticated", "service_role"}
    assert definer == [(True, "p_project_id text, p_request_id uuid, p_by text")]
