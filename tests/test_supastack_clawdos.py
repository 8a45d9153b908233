"""Issue 9, item 4: the stand-in answers ClawdOS's supabase-js 2.93.3 client as PostgREST does.

Each test is one request form from clawdos-interop.md §3, sent with supabase-js's headers. The mirror
writes go to `sst_clawdos_mirror`, a copy of `cron_mirror` with ClawdOS's later columns, so these tests do
not depend on whether the app's own migrations have added those columns yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.supastack import Supastack

PROJECT = "front-office"
TABLE = "sst_clawdos_mirror"

SETUP_SQL = f"""
drop table if exists public.{TABLE};
create table public.{TABLE} (like public.cron_mirror including all);
alter table public.{TABLE}
  add column if not exists target_agent_key text,
  add column if not exists job_intent text,
  add column if not exists context_policy text default 'default',
  add column if not exists ui_label text;
"""


def js_client(stack: Supastack) -> httpx.Client:
    """Headers as supabase-js 2.93.3 sends them from Node with the service-role key."""
    key = stack.service_role_key
    return httpx.Client(
        base_url=stack.rest_url,
        headers={
            "apikey": key,
            "Authorization": f"Bearer {key}",
            "X-Client-Info": "supabase-js-node/2.93.3",
            "Accept-Profile": "public",
            "Content-Profile": "public",
        },
        timeout=10,
    )


@pytest.fixture(scope="module")
def mirror_table(supastack: Supastack) -> Iterator[str]:
    with supastack.connect() as conn:
        conn.execute(SETUP_SQL)
    yield TABLE
    with supastack.connect() as conn:
        conn.execute(f"drop table if exists public.{TABLE}")


@pytest.fixture
def stack(supabase_env: Supastack, mirror_table: str) -> Supastack:
    with supabase_env.connect() as conn:
        conn.execute(f"truncate public.{TABLE}")
    return supabase_env


def rows(stack: Supastack, query: str) -> list[tuple[Any, ...]]:
    with stack.connect() as conn:
        return conn.execute(query).fetchall()


def mirror_row(job_id: str, **extra: Any) -> dict[str, Any]:
    row = {
        "project_id": PROJECT,
        "job_id": job_id,
        "name": f"job {job_id}",
        "schedule_kind": "every",
        "schedule_expr": "1800000",
        "tz": None,
        "enabled": True,
        "instructions": None,
        "target_agent_key": "agent:main:main",
    }
    row.update(extra)
    return row


def upsert(http: httpx.Client, payload: list[dict[str, Any]]) -> httpx.Response:
    columns = ",".join(f'"{c}"' for c in payload[0])
    return http.post(
        f"/{TABLE}",
        params={"on_conflict": "project_id,job_id", "columns": columns},
        json=payload,
        headers={"Prefer": "resolution=merge-duplicates", "Content-Type": "application/json"},
    )


def test_bulk_upsert_with_quoted_columns_and_no_return_is_201_empty(stack: Supastack) -> None:
    with js_client(stack) as http:
        first = upsert(
            http, [mirror_row("a"), mirror_row("b"), mirror_row("__mirror_state__", enabled=False)]
        )
        again = upsert(http, [mirror_row("a", name="renamed"), mirror_row("c")])
    assert first.status_code == 201
    assert first.content == b""
    assert "%22project_id%22" in str(first.request.url)  # percent-encoded double quotes, as supabase-js sends
    assert again.status_code == 201
    assert rows(stack, f"select job_id, name, context_policy from {TABLE} order by job_id") == [
        ("__mirror_state__", "job __mirror_state__", "default"),
        ("a", "renamed", "default"),
        ("b", "job b", "default"),
        ("c", "job c", "default"),
    ]


def test_patch_with_flat_or_including_is_null_and_empty_eq(stack: Supastack) -> None:
    with js_client(stack) as http:
        upsert(
            http,
            [
                mirror_row("null", target_agent_key=None),
                mirror_row("empty", target_agent_key=""),
                mirror_row("set", target_agent_key="agent:x"),
            ],
        )
        patched = http.patch(
            f"/{TABLE}",
            params={"or": "(target_agent_key.is.null,target_agent_key.eq.)", "project_id": f"eq.{PROJECT}"},
            json={"target_agent_key": "agent:main:main"},
        )
    assert patched.status_code == 204  # no Prefer: minimal
    assert patched.content == b""
    assert rows(stack, f"select job_id, target_agent_key from {TABLE} order by job_id") == [
        ("empty", "agent:main:main"),
        ("null", "agent:main:main"),
        ("set", "agent:x"),
    ]


def test_delete_with_not_in_quoted_list(stack: Supastack) -> None:
    with js_client(stack) as http:
        upsert(http, [mirror_row(j) for j in ("keep 1", "keep,2", "gone")])
        deleted = http.delete(
            f"/{TABLE}", params={"project_id": f"eq.{PROJECT}", "job_id": 'not.in.("keep 1","keep,2")'}
        )
    assert deleted.status_code == 204
    assert rows(stack, f"select job_id from {TABLE} order by job_id") == [("keep 1",), ("keep,2",)]


def test_unknown_payload_column_is_pgrst204(stack: Supastack) -> None:
    with js_client(stack) as http:
        r = upsert(http, [mirror_row("a", clawdos_only_column="x")])
    assert r.status_code == 400
    assert r.json() == {
        "code": "PGRST204",
        "details": None,
        "hint": None,
        "message": f"Could not find the 'clawdos_only_column' column of '{TABLE}' in the schema cache",
    }


def test_unknown_table_is_pgrst205_json(stack: Supastack) -> None:
    with js_client(stack) as http:
        r = http.get(
            "/cron_delete_requests",
            params={
                "select": "*",
                "project_id": f"eq.{PROJECT}",
                "status": "eq.queued",
                "order": "requested_at.asc",
            },
        )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["code"] == "PGRST205"
    assert r.json()["message"] == "Could not find the table 'public.cron_delete_requests' in the schema cache"


def test_queue_poll_and_lease_less_status_updates(stack: Supastack) -> None:
    with stack.connect() as conn:
        conn.execute(
            "insert into cron_run_requests (project_id, job_id, requested_at) values"
            " (%s, 'j1', now() - interval '2 min'), (%s, 'j2', now() - interval '1 min'),"
            " ('other', 'j3', now())",
            (PROJECT, PROJECT),
        )
    with js_client(stack) as http:
        polled = http.get(
            "/cron_run_requests",
            params={
                "select": "*",
                "project_id": f"eq.{PROJECT}",
                "status": "eq.queued",
                "order": "requested_at.asc",
                "limit": "5",
            },
            headers={"Accept": "application/json"},
        )
        first = polled.json()[0]
        running = http.patch(f"/cron_run_requests?id=eq.{first['id']}", json={"status": "running"})
        done = http.patch(
            f"/cron_run_requests?id=eq.{first['id']}",
            json={
                "status": "done",
                "result": {
                    "jobId": "j1",
                    "exitCode": 0,
                    "durationMs": 12,
                    "stdoutTail": "ok",
                    "stderrTail": "",
                },
            },
        )
    assert [r["job_id"] for r in polled.json()] == ["j1", "j2"]
    assert running.status_code == 204
    assert done.status_code == 204
    assert rows(
        stack,
        "select status, picked_up_at, result->>'stdoutTail' from cron_run_requests where job_id = 'j1'",
    ) == [("done", None, "ok")]


def test_head_with_exact_count(stack: Supastack) -> None:
    with js_client(stack) as http:
        upsert(http, [mirror_row(j) for j in ("a", "b", "c")])
        r = http.head(
            f"/{TABLE}",
            params={"select": "*", "project_id": f"eq.{PROJECT}"},
            headers={"Prefer": "count=exact"},
        )
    assert r.status_code == 200
    assert r.headers["content-range"] == "0-2/3"
    assert r.content == b""


def test_new_column_is_accepted_after_alter_and_reload_notify(stack: Supastack) -> None:
    with js_client(stack) as http:
        before = upsert(http, [mirror_row("a", sst_added_later="x")])
        with stack.connect() as conn:
            conn.execute(f"alter table public.{TABLE} add column sst_added_later text")
            conn.execute("notify pgrst, 'reload schema'")
        after = upsert(http, [mirror_row("a", sst_added_later="x")])
        with stack.connect() as conn:
            conn.execute(f"alter table public.{TABLE} drop column sst_added_later")
    assert before.status_code == 400
    assert before.json()["code"] == "PGRST204"
    assert after.status_code == 201
