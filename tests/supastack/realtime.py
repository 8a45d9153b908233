"""Realtime's `postgres_changes` over Phoenix channels (serializer V1 JSON objects; V2 arrays too).

Changes arrive as NOTIFY payloads from the capture trigger (see sql/supastack.sql) and are handled one at
a time, in commit order, by a single dispatcher task (as Realtime does). For each change, the subscribers
whose bindings match the table and event are checked in one round trip: `supastack.realtime_visible()`
switches to each subscriber's role and claims, evaluates the binding's filters with the column types
(`jsonb_populate_record`) and, for INSERT/UPDATE on an RLS table, whether the subscriber can see the row
now. Frames follow Realtime's `apply_rls` field rules; see the module docstring of tests/supastack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import WSMsgType, web

from tests.supastack import schema, tokens
from tests.supastack.query import Filter, QueryError, filter_sql, literal_sink, parse_realtime_filter
from tests.supastack.schema import SchemaCache, Table, quote_ident

if TYPE_CHECKING:
    from tests.supastack.server import StackServer

log = logging.getLogger(__name__)

EVENTS = ("*", "INSERT", "UPDATE", "DELETE")
#: Realtime's `max_record_bytes`: larger changes keep only values of at most 64 bytes, with an error.
MAX_RECORD_BYTES = 1024 * 1024
IDLE_TIMEOUT = 60.0

CONNECT_ERRORS = {
    tokens.TokenProblem.MALFORMED: "The token provided is not a valid JWT",
    tokens.TokenProblem.BAD_SIGNATURE: "Failed to validate JWT signature",
    tokens.TokenProblem.EXPIRED: "Token has expired",
    tokens.TokenProblem.MISSING_CLAIMS: "Fields `role` and `exp` are required in JWT",
}
JOIN_ERRORS = {
    tokens.TokenProblem.MALFORMED: "MalformedJWT: The token provided is not a valid JWT",
    tokens.TokenProblem.BAD_SIGNATURE: "JwtSignatureError: Failed to validate JWT signature",
    tokens.TokenProblem.EXPIRED: "InvalidJWTToken: Token has expired",
    tokens.TokenProblem.MISSING_CLAIMS: "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
}


@dataclass
class Binding:
    id: int
    event: str
    schema: str
    table: str
    filter_text: str | None
    filters: list[Filter]
    select: list[str] | None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Binding:
        event = str(raw.get("event", ""))
        schema_name = str(raw.get("schema") or "public")
        table = str(raw.get("table") or "*")
        filter_text = raw.get("filter")
        select = raw.get("select") if isinstance(raw.get("select"), list) else None
        key = json.dumps([event, schema_name, table, filter_text, select], sort_keys=True)
        # like the real server's :erlang.phash2(params): a stable 27-bit integer, never 0
        binding_id = (zlib.crc32(key.encode()) & 0x7FFFFFF) or 1
        return cls(binding_id, event, schema_name, table, filter_text, [], select)

    def matches(self, schema_name: str, table: str, change_type: str) -> bool:
        return (
            self.event in ("*", change_type)
            and self.schema in ("*", schema_name)
            and self.table in ("*", table)
        )

    def describe(self) -> str:
        """Realtime's wording of the parameters in its "Unable to subscribe" message."""
        filters = ", ".join(
            '{{"{}", "{}", "{}"}}'.format(
                f.column,
                ("not." if f.negate else "") + f.op,
                f.value if isinstance(f.value, str) else "{" + ",".join(f.value) + "}",
            )
            for f in self.filters
        )
        return f"[event: {self.event}, schema: {self.schema}, table: {self.table}, filters: [{filters}]]"


@dataclass
class Channel:
    topic: str
    join_ref: str | None
    bindings: list[Binding]
    claims: dict[str, Any]
    active: bool = False
    expiry: asyncio.TimerHandle | None = None

    @property
    def role(self) -> str:
        return str(self.claims.get("role") or "anon")

    @property
    def name(self) -> str:
        return self.topic.removeprefix("realtime:")


@dataclass(eq=False)
class Socket:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    apikey: str
    v2: bool
    channels: dict[str, Channel] = field(default_factory=dict)

    def encode(
        self, topic: str, event: str, payload: Any, ref: str | None, join_ref: str | None = None
    ) -> str:
        if self.v2:
            return json.dumps([join_ref, ref, topic, event, payload], separators=(",", ":"))
        return json.dumps(
            {"event": event, "payload": payload, "ref": ref, "topic": topic}, separators=(",", ":")
        )

    async def send(
        self, topic: str, event: str, payload: Any, ref: str | None, join_ref: str | None = None
    ) -> None:
        await self.send_text(self.encode(topic, event, payload, ref, join_ref))

    async def send_text(self, text: str) -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_str(text)

    async def reply(
        self, topic: str, ref: str | None, status: str, response: Any, join_ref: str | None
    ) -> None:
        await self.send(topic, "phx_reply", {"status": status, "response": response}, ref, join_ref)


class RealtimeHub:
    def __init__(self, server: StackServer) -> None:
        self.server = server
        self.sockets: set[Socket] = set()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.Task[None]] = set()  # strong references to expiry tasks
        self.idle_timeout = IDLE_TIMEOUT
        #: called with (change, seconds spent) after each change is dispatched (benchmark hook)
        self.on_dispatched: Callable[[dict[str, Any], float], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._dispatch_forever(), name="supastack-realtime")

    async def stop(self) -> None:
        await self.drop_all()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def enqueue(self, item: dict[str, Any]) -> None:
        self.queue.put_nowait(item)

    async def drop_all(self) -> None:
        """Cut every WebSocket connection (no close frame: like a network failure)."""
        for sock in list(self.sockets):
            self._forget(sock)
            if sock.transport is not None:
                sock.transport.abort()

    def _forget(self, sock: Socket) -> None:
        self.sockets.discard(sock)
        for channel in sock.channels.values():
            if channel.expiry:
                channel.expiry.cancel()
        sock.channels.clear()

    # -- connection --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        apikey = request.query.get("apikey") or request.headers.get("x-api-key")
        if not apikey:
            return web.json_response({"error": "API key is missing"}, status=401)
        try:
            tokens.verify(self.server.jwt_secret, apikey, require_role_and_exp=True)
        except tokens.TokenError as exc:
            return web.json_response({"error": CONNECT_ERRORS[exc.problem]}, status=401)
        vsn = request.query.get("vsn", "1.0.0")
        if vsn not in ("1.0.0", "2.0.0"):
            return web.json_response({"error": f"Unsupported vsn {vsn}"}, status=400)
        ws = web.WebSocketResponse(compress=False, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        sock = Socket(ws, request.transport, apikey, vsn == "2.0.0")
        self.sockets.add(sock)
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.idle_timeout)
                except TimeoutError:
                    await ws.close()  # Phoenix closes a socket that sent nothing (heartbeats) for 60 s
                    break
                if msg.type == WSMsgType.TEXT:
                    await self._on_message(sock, msg.data)
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            self._forget(sock)
        return ws

    async def _on_message(self, sock: Socket, text: str) -> None:
        try:
            data = json.loads(text)
            if sock.v2:
                join_ref, ref, topic, event, payload = data
            else:
                topic, event, payload = data["topic"], data["event"], data.get("payload") or {}
                ref, join_ref = data.get("ref"), data.get("join_ref")
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable frame: %.200s", text)
            return
        if topic == "phoenix" and event == "heartbeat":
            await sock.reply("phoenix", ref, "ok", {}, None)
        elif event == "phx_join":
            await self._join(sock, topic, ref, join_ref, payload if isinstance(payload, dict) else {})
        elif topic not in sock.channels:
            await sock.reply(topic, ref, "error", {"reason": "unmatched topic"}, join_ref)
        elif event == "phx_leave":
            channel = sock.channels.pop(topic)
            if channel.expiry:
                channel.expiry.cancel()
            await sock.reply(topic, ref, "ok", {}, channel.join_ref)
            await sock.send(topic, "phx_close", {}, channel.join_ref, channel.join_ref)
        elif event == "access_token":
            await self._access_token(sock, sock.channels[topic], payload.get("access_token"))
        # broadcast and presence are not part of the stand-in; their frames are ignored

    def _token_for(self, sock: Socket, token: Any) -> str:
        if not isinstance(token, str) or not token or token.startswith("sb_"):
            return sock.apikey
        return token

    async def _join(
        self, sock: Socket, topic: str, ref: str | None, join_ref: str | None, payload: dict[str, Any]
    ) -> None:
        token = self._token_for(sock, payload.get("access_token") or payload.get("user_token"))
        try:
            claims = tokens.verify(self.server.jwt_secret, token, require_role_and_exp=True)
        except tokens.TokenError as exc:
            await sock.reply(topic, ref, "error", {"reason": JOIN_ERRORS[exc.problem]}, join_ref)
            return
        old = sock.channels.pop(topic, None)
        if old is not None:
            if old.expiry:
                old.expiry.cancel()
            await sock.send(topic, "phx_close", {}, old.join_ref, old.join_ref)
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        raw_bindings = config.get("postgres_changes") or []
        bindings: list[Binding] = []
        response: list[dict[str, Any]] = []
        for raw in raw_bindings if isinstance(raw_bindings, list) else []:
            raw = raw if isinstance(raw, dict) else {}
            binding = Binding.from_raw(raw)
            bindings.append(binding)
            response.append({**raw, "id": binding.id})
        channel = Channel(topic, join_ref, bindings, claims)
        # Validate before replying (the real server does it after): once the client has the reply, every
        # change committed from then on is delivered, so a test need not wait for the system message.
        problem: Binding | None = None
        if bindings:
            try:
                problem = await self._check_bindings(channel)
            except Exception:  # PostgreSQL down: the client's rejoin timer tries again later
                log.warning("could not check bindings of %s", topic, exc_info=True)
                problem = bindings[0]
        channel.active = problem is None
        sock.channels[topic] = channel
        self._schedule_expiry(sock, channel)
        await sock.reply(topic, ref, "ok", {"postgres_changes": response}, join_ref)
        if not bindings:
            return
        if problem is None:
            await self._system(sock, channel, "postgres_changes", "ok", "Subscribed to PostgreSQL")
        else:
            message = (
                "Unable to subscribe to changes with given parameters. Please check Realtime is enabled "
                f"for the given connect parameters: {problem.describe()}"
            )
            await self._system(sock, channel, "postgres_changes", "error", message)

    async def _system(
        self, sock: Socket, channel: Channel, extension: str, status: str, message: str
    ) -> None:
        payload = {"channel": channel.name, "extension": extension, "message": message, "status": status}
        await sock.send(channel.topic, "system", payload, None, channel.join_ref)

    async def _check_bindings(self, channel: Channel) -> Binding | None:
        """The first binding Realtime would refuse (table not published, bad filter), or None."""
        async with self.server.db.acquire_admin() as conn:
            stamp = await conn.fetchval("select version from supastack.schema_stamp")
            cache = await self.server.cache_for(stamp)
            for binding in channel.bindings:
                if binding.event not in EVENTS:
                    return binding
                tables = self._tables_for(cache, binding)
                if not tables:
                    return binding
                if binding.filter_text:
                    try:
                        binding.filters = parse_realtime_filter(str(binding.filter_text))
                    except QueryError:
                        return binding
                    for table in tables:
                        if not await self._filters_valid(conn, table, binding.filters):
                            return binding
        return None

    def _tables_for(self, cache: SchemaCache, binding: Binding) -> list[Table]:
        found = [
            t
            for (s, n), t in cache.tables.items()
            if t.published_actions and binding.schema in ("*", s) and binding.table in ("*", n)
        ]
        return found

    async def _filters_valid(self, conn: asyncpg.Connection, table: Table, filters: list[Filter]) -> bool:
        casts = []
        for f in filters:
            column = table.columns.get(f.column)
            if column is None or (f.op == "in" and len(f.value) > 100):
                return False
            values = f.value if isinstance(f.value, list) else [f.value]
            if f.op in ("eq", "neq", "lt", "lte", "gt", "gte", "in", "isdistinct"):
                casts.extend(f"{literal_sink(v)}::{column.cast_type}" for v in values)
        if not casts:
            return True
        try:
            await conn.fetchval("select " + ", ".join(casts))
        except asyncpg.PostgresError:  # the value does not cast to the column's type
            return False
        return True

    # -- tokens ------------------------------------------------------------------------------------

    def _schedule_expiry(self, sock: Socket, channel: Channel) -> None:
        if channel.expiry:
            channel.expiry.cancel()
        exp = channel.claims.get("exp")
        if not isinstance(exp, (int, float)):
            return
        delay = max(0.0, exp - time.time())
        channel.expiry = asyncio.get_running_loop().call_later(delay, self._spawn_expired, sock, channel)

    def _spawn_expired(self, sock: Socket, channel: Channel) -> None:
        task = asyncio.ensure_future(self._expired(sock, channel))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _expired(self, sock: Socket, channel: Channel) -> None:
        if sock.channels.get(channel.topic) is not channel:
            return
        ago = max(0, int(time.time() - float(channel.claims.get("exp", 0))))
        await self._shutdown(sock, channel, f"Token has expired {ago} seconds ago")

    async def _shutdown(self, sock: Socket, channel: Channel, message: str) -> None:
        sock.channels.pop(channel.topic, None)
        if channel.expiry:
            channel.expiry.cancel()
        await self._system(sock, channel, "system", "error", message)
        await sock.send(channel.topic, "phx_close", {}, channel.join_ref, channel.join_ref)

    async def _access_token(self, sock: Socket, channel: Channel, token: Any) -> None:
        if not isinstance(token, str) or not token or token.startswith("sb_"):
            return
        try:
            claims = tokens.verify(self.server.jwt_secret, token, require_role_and_exp=True)
        except tokens.TokenError as exc:
            message = CONNECT_ERRORS[exc.problem]
            if exc.problem is tokens.TokenProblem.EXPIRED:
                message = f"Token has expired {exc.expired_for} seconds ago"
            await self._shutdown(sock, channel, message)
            return
        channel.claims = claims
        self._schedule_expiry(sock, channel)

    # -- changes -----------------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            item = await self.queue.get()
            started = time.perf_counter()
            try:
                if item.get("reload"):
                    await self.server.reload_cache()
                else:
                    await self._dispatch(item)
            except asyncio.CancelledError:
                raise
            except (RecursionError, ValueError):  # see docs/supastack.md, "Left out"
                log.warning(
                    "change not delivered: too deep or too long a number for the stand-in's JSON parser"
                )
            except Exception:
                log.exception("realtime dispatch failed for %.200s", item)
            if self.on_dispatched and not item.get("reload"):
                self.on_dispatched(item, time.perf_counter() - started)

    async def _dispatch(self, change: dict[str, Any]) -> None:
        size = 0
        if "overflow" in change:
            async with self.server.db.acquire_admin() as conn:
                text = await conn.fetchval(
                    "delete from supastack.overflow where id = $1 returning payload", change["overflow"]
                )
            if text is None:
                return
            size = len(text)
            change = json.loads(text)
        targets = self._targets(change)
        if not targets:
            return
        cache = self.server.cache
        table = cache.table(change["schema"], change["table"])
        if table is None or change["type"] not in table.published_actions:
            return
        if not size:
            size = len(json.dumps(change))
        await self._deliver(cache, table, change, targets, size > MAX_RECORD_BYTES)

    def _targets(self, change: dict[str, Any]) -> list[tuple[Socket, Channel, list[Binding]]]:
        found = []
        for sock in self.sockets:
            for channel in sock.channels.values():
                if not channel.active:
                    continue
                matching = [
                    b
                    for b in channel.bindings
                    if b.matches(change["schema"], change["table"], change["type"])
                ]
                if matching:
                    found.append((sock, channel, matching))
        return found

    async def _deliver(
        self,
        cache: SchemaCache,
        table: Table,
        change: dict[str, Any],
        targets: list[tuple[Socket, Channel, list[Binding]]],
        oversize: bool,
    ) -> None:
        kind = change["type"]
        record: dict[str, Any] | None = change.get("record")
        old_full: dict[str, Any] = change.get("old_record") or {}
        identity = set(table.identity_columns)
        old = {k: v for k, v in old_full.items() if k in identity}
        available = record if kind != "DELETE" else old
        assert available is not None
        needs_rls = table.rls and kind != "DELETE"

        selectable: dict[str, frozenset[str]] = {}
        async with self.server.db.acquire_admin() as conn:
            for _, channel, _ in targets:
                if channel.role not in selectable:
                    selectable[channel.role] = await schema.selectable_columns(
                        conn, cache, channel.role, table
                    )

        checks: list[dict[str, str]] = []
        plan: list[tuple[Socket, Channel, list[tuple[Binding, int | bool]], str | None]] = []
        for sock, channel, bindings in targets:
            error = None
            if kind != "DELETE":
                if not table.pk:
                    error = "Error 400: Bad Request, no primary key"
                elif not set(table.pk) <= selectable[channel.role]:
                    error = "Error 401: Unauthorized"
            verdicts: list[tuple[Binding, int | bool]] = []
            for binding in bindings:
                if error:
                    verdicts.append((binding, True))
                elif any(f.column not in available for f in binding.filters):
                    verdicts.append((binding, False))  # Realtime: a filter on a missing column is false
                elif not binding.filters and not needs_rls:
                    verdicts.append((binding, True))
                else:
                    verdicts.append((binding, len(checks)))
                    checks.append(
                        {
                            "role": channel.role,
                            "claims": json.dumps(channel.claims),
                            "sql": self._check_sql(table, binding.filters, needs_rls),
                        }
                    )
            plan.append((sock, channel, verdicts, error))

        answers = ""
        if checks:
            async with self.server.db.acquire() as conn:
                answers = await conn.fetchval(
                    "select supastack.realtime_visible($1::text::jsonb, $2::text::jsonb)",
                    json.dumps(checks),
                    json.dumps(available),
                )
        for sock, channel, verdicts, error in plan:
            ids: list[int] = []
            for binding, verdict in verdicts:
                passed = verdict if isinstance(verdict, bool) else answers[verdict] == "y"
                if passed and binding.id not in ids:
                    ids.append(binding.id)
            if not ids:
                continue
            if error:
                data: dict[str, Any] = {
                    "schema": table.schema,
                    "table": table.name,
                    "commit_timestamp": None,
                    "type": kind,
                    "columns": [],
                    "errors": [error],
                }
            else:
                data = self._frame_data(
                    table, change, old, selectable[channel.role], verdicts, oversize, channel
                )
            payload = {"ids": ids, "data": data}
            await sock.send(channel.topic, "postgres_changes", payload, None, channel.join_ref)

    def _check_sql(self, table: Table, filters: list[Filter], needs_rls: bool) -> str:
        def column_sql(name: str) -> tuple[str, str]:
            return f"_r.{quote_ident(name)}", table.columns[name].cast_type

        parts = [f"coalesce({filter_sql(f, column_sql, literal_sink)}, false)" for f in filters]
        if needs_rls:
            keys = " AND ".join(f"_t.{quote_ident(k)} = _r.{quote_ident(k)}" for k in table.pk)
            parts.append(f"EXISTS (SELECT 1 FROM {table.qualified} _t WHERE {keys})")
        return (
            f"SELECT {' AND '.join(parts) or 'true'} "
            f"FROM jsonb_populate_record(NULL::{table.qualified}, $1) _r"
        )

    def _frame_data(
        self,
        table: Table,
        change: dict[str, Any],
        old: dict[str, Any],
        selectable: frozenset[str],
        verdicts: list[tuple[Binding, int | bool]],
        oversize: bool,
        channel: Channel,
    ) -> dict[str, Any]:
        kind = change["type"]
        wanted = selectable
        selects = [b.select for b, _ in verdicts if b.select]
        if selects and len(selects) == len(verdicts):
            wanted = selectable & {c for s in selects for c in s}

        def trim(values: dict[str, Any], allowed: frozenset[str] | set[str]) -> dict[str, Any]:
            kept = {k: v for k, v in values.items() if k in allowed}
            if oversize:
                kept = {k: v for k, v in kept.items() if len(json.dumps(v).encode()) <= 64}
            return kept

        data: dict[str, Any] = {
            "schema": table.schema,
            "table": table.name,
            "commit_timestamp": change["commit_timestamp"],
            "type": kind,
            "columns": [
                {"name": c.name, "type": c.typname} for c in table.columns.values() if c.name in wanted
            ],
            "errors": ["Error 413: Payload Too Large"] if oversize else None,
        }
        if kind in ("INSERT", "UPDATE"):
            data["record"] = trim(change.get("record") or {}, wanted)
        if kind == "UPDATE":
            data["old_record"] = trim(old, wanted)
        elif kind == "DELETE":
            allowed = wanted & set(table.pk) if table.rls else wanted
            data["old_record"] = trim(old, allowed)
        return data
