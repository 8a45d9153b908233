"""`Supastack`: one running stand-in (database + server thread) with the hooks tests drive synchronously.

The server runs on its own plain asyncio loop in a daemon thread, never on the test session's qasync loop:
a test that blocks, or drives Qt, does not stall the server, and latency is not tied to Qt. Every public
method is called from the test's thread and waits for the server thread to finish the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from tests.pgcluster import TEMPLATE_DB, PgCluster, free_port
from tests.supastack import tokens
from tests.supastack.server import StackServer

T = TypeVar("T")

STANDIN_SQL = Path(__file__).resolve().parent / "sql" / "supastack.sql"
#: the app's tables that `reset()` empties
APP_TABLES = ("cron_mirror", "cron_run_requests", "cron_run_log")


def prepare_database(cluster: PgCluster, dbname: str) -> None:
    """Bootstrap + migrations (cloned from the harness template when there is one) + the stand-in's SQL."""
    with cluster.connect() as conn:
        has_template = conn.execute("select 1 from pg_database where datname = %s", (TEMPLATE_DB,)).fetchone()
    if has_template:
        cluster.create_database(dbname, template=TEMPLATE_DB)
        cluster.apply_sql(dbname, STANDIN_SQL)
    else:
        cluster.prepare_database(dbname, extra_sql=[STANDIN_SQL])


class _LoopThread:
    """A plain asyncio loop in a daemon thread; `run()` executes a coroutine there and waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="supastack-server", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        if threading.current_thread() is self.thread:
            raise RuntimeError("Supastack methods must not be called from the server's own thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


class Supastack:
    """A running stand-in. Build it with `start_supastack()`."""

    def __init__(
        self,
        cluster: PgCluster,
        dbname: str,
        *,
        port: int | None = None,
        jwt_secret: str | None = None,
        owns_cluster: bool = False,
    ) -> None:
        self.cluster = cluster
        self.dbname = dbname
        self.port = port or free_port()
        self.jwt_secret = jwt_secret or secrets.token_urlsafe(32)
        self.anon_key = self.make_jwt("anon", expires_in=10 * 365 * 86400)
        self.service_role_key = self.make_jwt("service_role", expires_in=10 * 365 * 86400)
        self._owns_cluster = owns_cluster
        self._thread: _LoopThread | None = None
        self.server: StackServer | None = None

    # -- addresses and keys ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/rest/v1"

    @property
    def realtime_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/realtime/v1/websocket"

    @property
    def db_url(self) -> str:
        """Superuser DSN of the stand-in's database (arrange and inspect data behind the API's back)."""
        return self.cluster.dsn(self.dbname)

    def make_jwt(self, role: str, *, expires_in: float = 3600, **claims: Any) -> str:
        """A token signed with this stand-in's secret, e.g. `make_jwt("authenticated", sub=uid)`."""
        return tokens.make_jwt(self.jwt_secret, role, expires_in=expires_in, **claims)

    def info(self) -> dict[str, str]:
        """What `python -m tests.supastack` prints."""
        return {
            "url": self.url,
            "anon_key": self.anon_key,
            "service_role_key": self.service_role_key,
            "jwt_secret": self.jwt_secret,
            "db_url": self.db_url,
        }

    def connect(self) -> psycopg.Connection:
        """A superuser connection to the stand-in's database (autocommit)."""
        return psycopg.connect(self.db_url, autocommit=True)

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> Supastack:
        self._thread = _LoopThread()
        self.server = StackServer(
            host="127.0.0.1",
            port=self.port,
            api_dsn=self.cluster.dsn(self.dbname, user="authenticator"),
            admin_dsn=self.db_url,
            jwt_secret=self.jwt_secret,
        )
        try:
            self._run(self.server.start())
        except BaseException:
            self.close()
            raise
        return self

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        assert self._thread is not None, "Supastack is not started"
        return self._thread.run(coro, timeout)

    def close(self) -> None:
        """Stop the server and, if this stand-in created its cluster, remove the cluster too."""
        if self._thread is not None:
            if self.server is not None:
                with contextlib.suppress(Exception):
                    self._run(self.server.close(), timeout=15)
            self._thread.stop()
            self._thread = None
        if self._owns_cluster:
            self.cluster.destroy()

    def __enter__(self) -> Supastack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fault hooks ---------------------------------------------------------------------------------

    def stop_server(self) -> None:
        """Close the port and cut every HTTP and WebSocket connection (clients see a network failure)."""
        assert self.server is not None
        self._run(self.server.stop_front())

    def start_server(self) -> None:
        assert self.server is not None
        self._run(self.server.start_front())

    def restart_server(self, down_for: float = 0.0) -> None:
        """Drop every socket and listen again on the same port, optionally after `down_for` seconds."""
        self.stop_server()
        if down_for:
            time.sleep(down_for)
        self.start_server()

    def stop_postgres(self, mode: str = "fast") -> None:
        """Stop the cluster (`fast` disconnects every session; `immediate` is a crash)."""
        self.cluster.stop(mode)

    def start_postgres(self, wait_listening: bool = True) -> None:
        """Start the cluster again; by default wait until the server's LISTEN connection is back too, so a
        change committed right after this call reaches Realtime subscribers."""
        self.cluster.start()
        if wait_listening:
            self.wait_ready()

    def wait_ready(self, timeout: float = 10) -> None:
        assert self.server is not None
        self._run(asyncio.wait_for(self.server.wait_listening(), timeout), timeout=timeout + 1)

    @property
    def postgres_running(self) -> bool:
        return self.cluster.is_running()

    def reset(self) -> None:
        """Per-test isolation: PostgreSQL and the server up, the app's tables empty, no realtime socket left.

        TRUNCATE fires no row triggers, so emptying the tables sends no realtime events.
        """
        if not self.cluster.is_running():
            self.start_postgres()
        assert self.server is not None
        if self.server._runner is None:
            self.start_server()
        self._run(self.server.realtime.drop_all())
        with self.connect() as conn:
            conn.execute("SET lock_timeout = '10s'")  # a transaction left open by a test: fail, don't hang
            conn.execute(
                sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in APP_TABLES))
            )
            conn.execute("DELETE FROM supastack.overflow")

    def reload_schema(self) -> None:
        """Reload the server's schema cache now (DDL does that by itself; this is for the impatient)."""
        assert self.server is not None
        self._run(self.server.reload_cache())


def start_supastack(
    cluster: PgCluster | None = None,
    *,
    dbname: str = "supastack",
    port: int | None = None,
    jwt_secret: str | None = None,
) -> Supastack:
    """Start a stand-in on `cluster` (a database of its own in it) or on a fresh cluster it owns."""
    owns = cluster is None
    if cluster is None:
        cluster = PgCluster.create()
        try:
            cluster.start()
        except BaseException:
            cluster.destroy()
            raise
    try:
        prepare_database(cluster, dbname)
    except BaseException:
        if owns:
            cluster.destroy()
        raise
    return Supastack(cluster, dbname, port=port, jwt_secret=jwt_secret, owns_cluster=owns).start()
