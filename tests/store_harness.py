"""Backends for the Store contract suite: each gives an app-side store, a worker-side store, and a
way to put raw (possibly garbage) rows straight into the backend, bypassing every check."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.store import Store, StoreEvent


class LocalHarness:
    """Two LocalStore instances on one file: the app's and the worker's (as with the hosted worker)."""

    name = "local"

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "cronmirror.sqlite3"
        self.app = LocalStore(self.path)
        self.worker = LocalStore(self.path)
        self._extra: list[Store] = []

    async def open(self) -> None:
        await self.app.open()

    def store_code(self, role: str = "service_role") -> str:
        """Python source that builds the same kind of store in another process."""
        return (
            f"__import__('cronmirror_desktop.core.localstore').core.localstore.LocalStore({str(self.path)!r})"
        )

    async def new_worker_store(self) -> Store:
        store = LocalStore(self.path)
        self._extra.append(store)
        return store

    def raw_insert(self, table: str, row: dict[str, Any]) -> None:
        row = {"id": str(uuid.uuid4()), **row}
        if table == "cron_mirror":
            row.setdefault("updated_at", "2026-11-29T00:00:00.000000+00:00")
        if table == "cron_run_requests":
            row.setdefault("requested_at", "2026-11-29T00:00:00.000000+00:00")
        values = [json.dumps(v) if isinstance(v, dict | list) else v for v in row.values()]
        with sqlite3.connect(self.path) as conn:
            conn.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", values
            )

    def raw_update_mirror(self, job_id: str, **values: Any) -> None:
        """Change a mirror row behind every store's back (by hand, a restore, another tool)."""
        sets = ", ".join(f"{column} = ?" for column in values)
        with sqlite3.connect(self.path) as conn:
            conn.execute(f"UPDATE cron_mirror SET {sets} WHERE job_id = ?", (*values.values(), job_id))

    def raw_delete_mirror(self, job_id: str) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.execute("DELETE FROM cron_mirror WHERE job_id = ?", (job_id,))

    def expire_lease(self, request_id: str) -> None:
        past = (datetime.now(UTC) - timedelta(seconds=2)).isoformat(timespec="microseconds")
        with sqlite3.connect(self.path) as conn:
            conn.execute("UPDATE cron_run_requests SET lease_until = ? WHERE id = ?", (past, request_id))

    async def close(self) -> None:
        for store in (self.app, self.worker, *self._extra):
            await store.close()


class Events:
    """Collects store events; `wait_for` polls until one matches (for `async def` tests)."""

    def __init__(self) -> None:
        self.items: list[StoreEvent] = []

    def __call__(self, event: StoreEvent) -> None:
        self.items.append(event)

    async def wait_for(self, predicate: Callable[[StoreEvent], bool], within: float = 10.0) -> StoreEvent:
        deadline = time.monotonic() + within
        seen = 0
        while time.monotonic() < deadline:
            for event in self.items[seen:]:
                if predicate(event):
                    return event
            seen = len(self.items)
            await asyncio.sleep(0.005)
        raise AssertionError(f"no matching event within {within} s; got {self.items!r}")


class SupabaseHarness:
    """The app with the anon key and the worker with the service-role key, against the stand-in."""

    name = "supabase"

    def __init__(self, stack: Any) -> None:
        from cronmirror_desktop.core.supabasestore import SupabaseStore

        self.stack = stack
        self._store_class = SupabaseStore
        self.app = SupabaseStore(stack.url, stack.anon_key)
        self.worker = SupabaseStore(stack.url, stack.service_role_key)
        self._extra: list[Store] = []

    async def open(self) -> None:
        await self.app.client()
        await self.worker.client()

    def store_code(self, role: str = "service_role") -> str:
        key = self.stack.service_role_key if role == "service_role" else self.stack.anon_key
        return (
            "__import__('cronmirror_desktop.core.supabasestore').core.supabasestore.SupabaseStore("
            f"{self.stack.url!r}, {key!r})"
        )

    async def new_worker_store(self) -> Store:
        store = self._store_class(self.stack.url, self.stack.service_role_key)
        self._extra.append(store)
        return store

    def raw_insert(self, table: str, row: dict[str, Any]) -> None:
        import psycopg
        from psycopg import sql
        from psycopg.types.json import Jsonb

        values = [Jsonb(v) if isinstance(v, dict | list) else v for v in row.values()]
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row)),
        )
        with psycopg.connect(self.stack.db_url, autocommit=True) as conn:
            conn.execute(statement, values)

    def raw_update_mirror(self, job_id: str, **values: Any) -> None:
        import psycopg
        from psycopg import sql

        statement = sql.SQL("UPDATE cron_mirror SET {} WHERE job_id = %s").format(
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
        )
        with psycopg.connect(self.stack.db_url, autocommit=True) as conn:
            conn.execute(statement, (*values.values(), job_id))

    def raw_delete_mirror(self, job_id: str) -> None:
        import psycopg

        with psycopg.connect(self.stack.db_url, autocommit=True) as conn:
            conn.execute("DELETE FROM cron_mirror WHERE job_id = %s", (job_id,))

    def expire_lease(self, request_id: str) -> None:
        import psycopg

        with psycopg.connect(self.stack.db_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE cron_run_requests SET lease_until = now() - interval '2 seconds' WHERE id = %s",
                (request_id,),
            )

    async def close(self) -> None:
        for store in (self.app, self.worker, *self._extra):
            await store.close()


Backend = LocalHarness | SupabaseHarness


@pytest.fixture(params=["local", "supabase"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, event_loop: asyncio.AbstractEventLoop
) -> Iterator[Backend]:
    """Each test twice: on the embedded store and on the Supabase stand-in (import it into the module)."""
    if request.param == "local":
        harness: Backend = LocalHarness(tmp_path)
    else:
        harness = SupabaseHarness(request.getfixturevalue("supabase_env"))
    event_loop.run_until_complete(harness.open())
    yield harness
    event_loop.run_until_complete(harness.close())
