"""The stand-in's server: HTTP + WebSocket (aiohttp) on one port, the database plumbing behind them.

The data plane (connection pools, the LISTEN connection, the schema cache, the Realtime dispatcher) lives
as long as the server object; the HTTP/WebSocket front can be stopped and started again on the same port
(`stop_front()`/`start_front()`), dropping every socket, which is what the fault-injection hooks need.
When PostgreSQL goes away, the LISTEN connection reconnects with a short backoff and the pools are
expired, so everything works again once PostgreSQL is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from aiohttp import web

from tests.supastack import schema
from tests.supastack.realtime import RealtimeHub
from tests.supastack.rest import CONNECTION_ERRORS, RestHandler
from tests.supastack.schema import SchemaCache

log = logging.getLogger(__name__)

CHANGES_CHANNEL = "supastack_changes"
RELOAD_CHANNEL = "pgrst"


class Database:
    """Two small pools: `authenticator` for API requests, the superuser for the stand-in's own reads."""

    def __init__(self, api_dsn: str, admin_dsn: str) -> None:
        self.api_dsn = api_dsn
        self.admin_dsn = admin_dsn
        self.api: asyncpg.Pool | None = None
        self.admin: asyncpg.Pool | None = None
        #: bumped on every schema reload: pooled connections drop their prepared statements once
        self.generation = 0
        self._seen: weakref.WeakKeyDictionary[asyncpg.Connection, int] = weakref.WeakKeyDictionary()

    async def open(self) -> None:
        self.api = await asyncpg.create_pool(
            self.api_dsn, min_size=1, max_size=20, setup=self._setup, server_settings=_APP
        )
        self.admin = await asyncpg.create_pool(self.admin_dsn, min_size=1, max_size=4, server_settings=_APP)

    async def _setup(self, proxy: asyncpg.Connection) -> None:
        """Prepared statements cached before a schema change can fail ("cached plan must not change
        result type") inside a transaction, where asyncpg cannot retry them: drop them once."""
        conn = proxy._con  # type: ignore[attr-defined]
        seen = self._seen.get(conn)
        if seen != self.generation:
            if seen is not None:
                await conn.reload_schema_state()
            self._seen[conn] = self.generation

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        assert self.api is not None
        async with self.api.acquire() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def acquire_admin(self) -> AsyncIterator[asyncpg.Connection]:
        assert self.admin is not None
        async with self.admin.acquire() as conn:
            yield conn

    async def expire(self) -> None:
        """After PostgreSQL restarted: every pooled connection is dead, open new ones on next use."""
        for pool in (self.api, self.admin):
            if pool is not None:
                await pool.expire_connections()

    async def close(self) -> None:
        for pool in (self.api, self.admin):
            if pool is not None:
                pool.terminate()


_APP = {"application_name": "supastack"}


class StackServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        api_dsn: str,
        admin_dsn: str,
        jwt_secret: str,
        schemas: Sequence[str] = ("public",),
    ) -> None:
        self.host = host
        self.port = port
        self.jwt_secret = jwt_secret
        self.schemas = tuple(schemas)
        self.db = Database(api_dsn, admin_dsn)
        self.cache = SchemaCache(stamp=-1)
        self._reload_lock = asyncio.Lock()
        self.rest = RestHandler(self)
        self.realtime = RealtimeHub(self)
        self._runner: web.AppRunner | None = None
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        self._listener_task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._closing = False
        #: set whenever the LISTEN connection is (re)established; tests wait on it after a PG restart
        self.listen_generation = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.db.open()
        async with self.db.acquire_admin() as conn:
            await self._load_cache(conn, await conn.fetchval("select version from supastack.schema_stamp"))
        self.realtime.start()
        self._listener_task = asyncio.create_task(self._listen_forever(), name="supastack-listen")
        await asyncio.wait_for(self._listening.wait(), 10)
        await self.start_front()

    async def start_front(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._track])
        app.router.add_get("/realtime/v1/websocket", self.realtime.handle)
        app.router.add_route("*", "/rest/v1/{path:.*}", self.rest.handle)
        app.router.add_route("*", "/rest/v1", self.rest.handle)
        app.router.add_route("*", "/{path:.*}", _not_here)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner

    async def stop_front(self) -> None:
        """Close the listening socket and cut every HTTP and WebSocket connection at once."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for site in list(runner.sites):
            await site.stop()
        await self.realtime.drop_all()
        for transport in list(self._transports):
            transport.abort()
        await runner.cleanup()

    async def close(self) -> None:
        self._closing = True
        await self.stop_front()
        await self.realtime.stop()
        if self._listener_task:
            self._listener_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener_task
        await self.db.close()

    @web.middleware
    async def _track(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.transport is not None:
            self._transports.add(request.transport)
        response: web.StreamResponse = await handler(request)
        return response

    # -- schema cache ----------------------------------------------------------------------------

    async def cache_for(self, stamp: int) -> SchemaCache:
        """The schema cache as of `stamp` (read in the request's own transaction): reload if older."""
        if self.cache.stamp != stamp:
            async with self._reload_lock:
                if self.cache.stamp != stamp:
                    async with self.db.acquire_admin() as conn:
                        await self._load_cache(conn, stamp)
        return self.cache

    async def reload_cache(self) -> None:
        async with self._reload_lock, self.db.acquire_admin() as conn:
            stamp = await conn.fetchval("select version from supastack.schema_stamp")
            await self._load_cache(conn, stamp)

    async def _load_cache(self, conn: asyncpg.Connection, stamp: int) -> None:
        self.cache = await schema.load(conn, self.schemas, stamp)
        self.db.generation += 1

    # -- LISTEN ----------------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        delay = 0.02
        while not self._closing:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.db.admin_dsn, server_settings=_APP)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANGES_CHANNEL, self._on_notify)
                await conn.add_listener(RELOAD_CHANNEL, self._on_notify)
                if self.listen_generation:
                    # PostgreSQL came back: pooled connections are dead, the schema may have changed.
                    await self.db.expire()
                    with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                        await self.reload_cache()
                self.listen_generation += 1
                self._listening.set()
                delay = 0.02
                await lost.wait()
                log.warning("LISTEN connection lost; reconnecting")
            except asyncio.CancelledError:
                if conn is not None:
                    conn.terminate()
                raise
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                log.debug("LISTEN connection failed: %r", exc)
            if conn is not None and not conn.is_closed():
                conn.terminate()
            self._listening.clear()
            await self.db.expire()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == RELOAD_CHANNEL:
            if payload in ("", "reload schema"):
                self.realtime.enqueue({"reload": True})
            return
        try:
            self.realtime.enqueue(json.loads(payload))
        except json.JSONDecodeError:
            log.error("unreadable change notification: %.200s", payload)
        except (RecursionError, ValueError):  # see docs/supastack.md, "Left out"
            log.warning("change not delivered: too deep or too long a number for the stand-in's JSON parser")

    async def wait_listening(self) -> None:
        await self._listening.wait()


async def _not_here(request: web.Request) -> web.Response:
    return web.json_response(
        {"message": f"The Supabase stand-in serves /rest/v1 and /realtime/v1 only, not {request.path}"},
        status=404,
    )
