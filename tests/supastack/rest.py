"""The PostgREST subset at `/rest/v1/`: reads, writes, upserts and rpc, one transaction per request.

Each request logs in as `authenticator` (pool), and in one transaction (READ ONLY for GET/HEAD and for
stable functions) switches to the JWT's role and sets `request.jwt.claims`, exactly as PostgREST does, so
grants and RLS are PostgreSQL's own. PostgreSQL also builds the JSON (`json_agg` of the rows), so values
look exactly as PostgREST shows them. The first statement of the transaction also reads the schema stamp,
so the schema cache is reloaded before a request that follows a DDL change (see sql/supastack.sql).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web

from tests.supastack import tokens
from tests.supastack.errors import (
    JSON_TYPE,
    RestError,
    bad_query,
    column_not_found,
    from_postgres,
    jwt_error,
    table_not_found,
    undefined_column,
)
from tests.supastack.query import (
    RESERVED,
    Params,
    QueryError,
    ReadQuery,
    filter_sql,
    order_sql,
    param_sink,
    parse_read_query,
    select_sql,
)
from tests.supastack.schema import Column, Function, SchemaCache, Table, quote_ident

if TYPE_CHECKING:
    from tests.supastack.server import StackServer

log = logging.getLogger(__name__)

OBJECT_TYPE = "application/vnd.pgrst.object+json; charset=utf-8"

#: Errors that mean "the database is not there" (stopped, restarting, connection cut): PostgREST answers
#: 503 PGRST001 for these, and so does the stand-in. Anything else that goes wrong inside the stand-in
#: is a 500, never a 503 (the client retries 503 for seven seconds).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
)


@dataclass
class Prefer:
    returning: str | None = None  # representation / minimal / headers-only
    resolution: str | None = None  # merge-duplicates / ignore-duplicates
    count: str | None = None
    missing_default: bool = False
    applied: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, values: list[str]) -> Prefer:
        prefer = cls()
        for value in values:
            for item in value.split(","):
                key, _, val = item.strip().partition("=")
                if key == "return" and val in ("representation", "minimal", "headers-only"):
                    prefer.returning = val
                elif key == "resolution" and val in ("merge-duplicates", "ignore-duplicates"):
                    prefer.resolution = val
                elif key == "count" and val in ("exact", "planned", "estimated"):
                    prefer.count = val
                elif key == "missing" and val == "default":
                    prefer.missing_default = True
                else:
                    continue
                prefer.applied.append(f"{key}={val}")
        return prefer


@dataclass
class Outcome:
    """What a statement produced: rows in the page, the total (count=exact), the JSON body."""

    n: int
    total: int | None
    body: str
    #: rows an upsert inserted rather than updated (PostgREST answers 200 when there are none)
    inserted: int | None = None


@dataclass
class Request:
    method: str
    schema: str
    role: str
    claims: dict[str, Any]
    prefer: Prefer
    single: bool
    query: list[tuple[str, str]]
    headers: dict[str, str]
    path: str
    body: bytes


class Rollback(Exception):
    """Leave the transaction without committing, then answer with `error`."""

    def __init__(self, error: RestError) -> None:
        super().__init__(error.message)
        self.error = error


class RestHandler:
    def __init__(self, server: StackServer) -> None:
        self.server = server

    # -- entry -----------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            req = await self._parse(request)
            path = request.match_info.get("path", "")
            if path in ("", "/"):
                return web.json_response({"info": "Supabase stand-in: no OpenAPI document"}, status=200)
            if path.startswith("rpc/"):
                return await self._rpc(req, path[4:])
            if "/" in path:
                raise RestError(404, "PGRST125", f"Invalid path specified in request URL: /{path}")
            return await self._table(req, path)
        except RestError as exc:
            return exc.response()
        except QueryError as exc:
            return bad_query(exc.message, exc.details).response()
        except Exception as exc:
            log.exception("stand-in failure on %s %s", request.method, request.path_qs)
            return RestError(500, "PGRSTX00", f"Supabase stand-in failure: {exc!r}").response()

    async def _parse(self, request: web.Request) -> Request:
        if "apikey" not in request.headers and "apikey" not in request.query:
            # What Supabase's API gateway answers before PostgREST sees the request.
            raise _GatewayError()
        role, claims = self._authenticate(request.headers.get("Authorization"))
        method = request.method
        profile_header = "Accept-Profile" if method in ("GET", "HEAD") else "Content-Profile"
        schema = request.headers.get(profile_header, self.server.schemas[0])
        if schema not in self.server.schemas:
            raise RestError(
                406,
                "PGRST106",
                f"Invalid schema: {schema}",
                hint="Only the following schemas are exposed: " + ", ".join(self.server.schemas),
            )
        single = _wants_single(request.headers.get("Accept", "*/*"))
        return Request(
            method=method,
            schema=schema,
            role=role,
            claims=claims,
            prefer=Prefer.parse(request.headers.getall("Prefer", [])),
            single=single,
            query=list(request.query.items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            path=request.path,
            body=await request.read() if request.body_exists else b"",
        )

    def _authenticate(self, header: str | None) -> tuple[str, dict[str, Any]]:
        if not header:
            return "anon", {"role": "anon"}
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise jwt_error("PGRST301", "Expected 3 parts in JWT; got 1")
        try:
            claims = tokens.verify(self.server.jwt_secret, token.strip())
        except tokens.TokenError as exc:
            if exc.problem is tokens.TokenProblem.EXPIRED:
                raise jwt_error("PGRST303", "JWT expired") from exc
            if exc.problem is tokens.TokenProblem.MALFORMED:
                raise jwt_error("PGRST301", f"Expected 3 parts in JWT; got {token.count('.') + 1}") from exc
            raise jwt_error("PGRST301", "No suitable key or wrong key type") from exc
        role = claims.get("role") or "anon"
        return str(role), claims

    # -- transaction -------------------------------------------------------------------------------

    async def _run(
        self,
        req: Request,
        *,
        readonly: bool,
        work: Callable[[asyncpg.Connection, SchemaCache], Awaitable[Outcome]],
    ) -> Outcome:
        """Run `work` in one transaction as the request's role; retry once on a stale pooled connection."""
        anonymous = req.role == "anon"
        for attempt in (1, 2):
            started = False
            try:
                async with self.server.db.acquire() as conn, conn.transaction(readonly=readonly):
                    stamp = await conn.fetchval(*self._setup(req))
                    started = True
                    cache = await self.server.cache_for(stamp)
                    return await work(conn, cache)
            except Rollback as exc:
                raise exc.error from None
            except asyncpg.PostgresError as exc:
                if isinstance(exc, CONNECTION_ERRORS):
                    if attempt == 1 and not started:
                        continue
                    raise _db_unavailable(exc) from exc
                raise from_postgres(
                    exc.sqlstate or "XX000",
                    getattr(exc, "message", str(exc)),
                    getattr(exc, "detail", None),
                    getattr(exc, "hint", None),
                    anonymous=anonymous,
                ) from exc
            except (*CONNECTION_ERRORS, asyncpg.InterfaceError) as exc:
                if isinstance(exc, asyncpg.InterfaceError) and not _is_closed_error(exc):
                    raise
                if attempt == 1 and not started:
                    continue
                raise _db_unavailable(exc) from exc
        raise AssertionError("unreachable")

    def _setup(self, req: Request) -> tuple[str, ...]:
        settings = self.server.cache.role_settings.get(req.role, {})
        extra = "".join(
            f", set_config({_lit(name)}, {_lit(value)}, true)"
            for name, value in sorted(settings.items())
            if name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        )
        sql = (
            "select (select version from supastack.schema_stamp),"
            " set_config('search_path', $1, true), set_config('role', $2, true),"
            " set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true),"
            " set_config('request.path', $5, true), set_config('request.headers', $6, true),"
            " set_config('request.cookies', '{}', true)" + extra
        )
        claims = dict(req.claims)
        claims.setdefault("role", req.role)
        search_path = quote_ident(req.schema) + (', "extensions"' if req.schema != "extensions" else "")
        return (
            sql,
            search_path,
            req.role,
            json.dumps(claims),
            req.method,
            req.path,
            json.dumps(req.headers),
        )

    # -- tables ------------------------------------------------------------------------------------

    async def _table(self, req: Request, name: str) -> web.StreamResponse:
        method = req.method
        if method in ("GET", "HEAD"):
            return await self._read(req, name)
        if method == "POST":
            return await self._insert(req, name)
        if method == "PATCH":
            return await self._update(req, name)
        if method == "DELETE":
            return await self._delete(req, name)
        raise RestError(405, "PGRST117", f"Unsupported HTTP method: {method}")

    def _table_of(self, cache: SchemaCache, req: Request, name: str) -> Table:
        table = cache.table(req.schema, name)
        if table is None:
            raise table_not_found(req.schema, name)
        return table

    async def _read(self, req: Request, name: str) -> web.StreamResponse:
        query = parse_read_query(req.query, filter_keys=lambda k: k not in RESERVED)
        query.limit, query.offset = _range(req, query)

        async def work(conn: asyncpg.Connection, cache: SchemaCache) -> Outcome:
            table = self._table_of(cache, req, name)
            source = f"SELECT {table.qualified}.* FROM {table.qualified}"
            return await self._select(
                conn, req, query, table.name, table.columns, source, table.qualified, Params()
            )

        outcome = await self._run(req, readonly=True, work=work)
        return self._read_response(req, query, outcome)

    async def _select(
        self,
        conn: asyncpg.Connection,
        req: Request,
        query: ReadQuery,
        label: str,
        columns: dict[str, Column],
        source: str,
        qualifier: str,
        params: Params,
    ) -> Outcome:
        """Filter, order and page the rows of `source` (whose columns are `qualifier`.col), as JSON."""
        where = self._where(query, label, columns, qualifier, params)
        _check_columns(label, columns, [i.column for i in query.select if i.column != "*"])
        body_sql = self._source_sql(source, where, query, label, columns, qualifier)
        total_sql = "NULL::bigint"
        if req.prefer.count:
            total_sql = f"(SELECT count(*) FROM ({source}{where}) _pgrst_count)"
        sql = (
            f"WITH pgrst_source AS ({body_sql}) "
            f"SELECT {total_sql}, count(*), {_body_expr(req, 'GET')} "
            f"FROM (SELECT {select_sql(query.select, 'pgrst_source')} FROM pgrst_source) _pgrst_t"
        )
        row = await conn.fetchrow(sql, *params.values)
        assert row is not None
        return Outcome(row[1], row[0], row[2] or "")

    def _where(
        self, query: ReadQuery, label: str, columns: dict[str, Column], qualifier: str, params: Params
    ) -> str:
        def column_sql(name: str) -> tuple[str, str]:
            col = columns.get(name)
            if col is None:
                raise undefined_column(label, name)
            return f"{qualifier}.{quote_ident(name)}", col.cast_type

        sink = param_sink(params)
        clauses = [filter_sql(node, column_sql, sink) for node in query.where]
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def _source_sql(
        self,
        source: str,
        where: str,
        query: ReadQuery,
        label: str,
        columns: dict[str, Column],
        qualifier: str,
    ) -> str:
        sql = source + where
        if query.order:

            def column_sql(name: str) -> tuple[str, str]:
                if name not in columns:
                    raise undefined_column(label, name)
                return f"{qualifier}.{quote_ident(name)}", columns[name].cast_type

            sql += " ORDER BY " + order_sql(query.order, column_sql)
        if query.limit is not None:
            sql += f" LIMIT {query.limit}"
        if query.offset:
            sql += f" OFFSET {query.offset}"
        return sql

    def _read_response(self, req: Request, query: ReadQuery, outcome: Outcome) -> web.StreamResponse:
        offset = query.offset or 0
        total = "*" if outcome.total is None else str(outcome.total)
        headers = {}
        status = 200
        if outcome.total is not None and offset > outcome.total and not (offset == 0):
            raise RestError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                f"An offset of {offset} was requested, but there are only {outcome.total} rows.",
                headers={"Content-Range": f"*/{outcome.total}"},
            )
        if outcome.n:
            headers["Content-Range"] = f"{offset}-{offset + outcome.n - 1}/{total}"
            if outcome.total is not None and outcome.n < outcome.total:
                status = 206
        else:
            headers["Content-Range"] = f"*/{total}"
        if req.single:
            _check_single(outcome.n)
        if req.prefer.applied:
            headers["Preference-Applied"] = ", ".join(p for p in req.prefer.applied if p.startswith("count"))
            if not headers["Preference-Applied"]:
                del headers["Preference-Applied"]
        content_type = OBJECT_TYPE if req.single else JSON_TYPE
        body = b"" if req.method == "HEAD" else outcome.body.encode()
        return web.Response(status=status, body=body, headers={"Content-Type": content_type, **headers})

    # -- writes ------------------------------------------------------------------------------------

    def _payload(self, req: Request) -> tuple[Any, str]:
        try:
            text = req.body.decode("utf-8")
            payload = json.loads(text) if text.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RestError(400, "PGRST102", "Empty or invalid json") from exc
        if payload is None:
            raise RestError(400, "PGRST102", "Empty or invalid json")
        return payload, text

    def _payload_columns(self, req: Request, table: Table, payload: Any) -> list[str]:
        """`columns=` when given, else the payload's keys (all objects of an array must share them)."""
        columns_param = next((v for k, v in req.query if k == "columns"), None)
        if columns_param is not None:
            cols = [c.strip().strip('"') for c in columns_param.split(",") if c.strip()]
        elif isinstance(payload, dict):
            cols = list(payload)
        elif isinstance(payload, list):
            if not all(isinstance(item, dict) for item in payload):
                raise RestError(400, "PGRST102", "All object keys must match")
            keysets = {tuple(sorted(item)) for item in payload}
            if len(keysets) > 1:
                raise RestError(400, "PGRST102", "All object keys must match")
            cols = list(payload[0]) if payload else []
        else:
            raise RestError(400, "PGRST102", "Empty or invalid json")
        for col in cols:
            if col not in table.columns:
                raise column_not_found(table.name, col)
        return cols

    async def _insert(self, req: Request, name: str) -> web.StreamResponse:
        payload, text = self._payload(req)
        if isinstance(payload, dict):
            text = "[" + text + "]"
            rows = [payload]
        elif isinstance(payload, list):
            rows = payload
        else:
            raise RestError(400, "PGRST102", "Empty or invalid json")
        query = parse_read_query(req.query, filter_keys=lambda k: k not in RESERVED)
        on_conflict = next((v for k, v in req.query if k == "on_conflict"), None)

        async def work(conn: asyncpg.Connection, cache: SchemaCache) -> Outcome:
            table = self._table_of(cache, req, name)
            cols = self._payload_columns(req, table, payload)
            params = Params()
            body_param = params.add(text)
            target = table.qualified
            if not cols:
                if len(rows) > 1:
                    raise RestError(400, "PGRST102", "All object keys must match")
                if not rows:
                    return Outcome(0, 0, "[]")
                params = Params()  # the body is not used
                insert = f"INSERT INTO {target} DEFAULT VALUES"
            elif req.prefer.missing_default:
                insert = f"INSERT INTO {target} ({_idents(cols)}) VALUES " + ", ".join(
                    "("
                    + ", ".join(
                        f"(json_populate_record(NULL::{target}, {body_param}::text::json -> {i}))."
                        + quote_ident(c)
                        if c in row
                        else "DEFAULT"
                        for c in cols
                    )
                    + ")"
                    for i, row in enumerate(rows)
                )
            else:
                insert = (
                    f"INSERT INTO {target} ({_idents(cols)}) SELECT {_idents(cols)} "
                    f"FROM json_populate_recordset(NULL::{target}, {body_param}::text::json) _pgrst_body"
                )
            if req.prefer.resolution:
                if on_conflict:
                    conflict = [c.strip().strip('"') for c in on_conflict.split(",")]
                    for col in conflict:
                        if col not in table.columns:
                            raise undefined_column(table.name, col)
                else:
                    conflict = list(table.pk)
                target_sql = f"({_idents(conflict)})" if conflict else ""
                if req.prefer.resolution == "ignore-duplicates":
                    insert += f" ON CONFLICT {target_sql} DO NOTHING"
                else:
                    sets = ", ".join(f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in cols)
                    insert += f" ON CONFLICT {target_sql} DO UPDATE SET {sets}" if sets else ""
            return await self._mutate(conn, req, query, table, insert + " RETURNING *", params)

        outcome = await self._run(req, readonly=False, work=work)
        return self._write_response(req, outcome, created=True)

    async def _update(self, req: Request, name: str) -> web.StreamResponse:
        payload, text = self._payload(req)
        if not isinstance(payload, dict):
            raise RestError(400, "PGRST102", "Empty or invalid json")
        query = parse_read_query(req.query, filter_keys=lambda k: k not in RESERVED)
        if query.limit is not None or query.offset:
            raise bad_query("The Supabase stand-in does not support limit/offset on PATCH")

        async def work(conn: asyncpg.Connection, cache: SchemaCache) -> Outcome:
            table = self._table_of(cache, req, name)
            cols = self._payload_columns(req, table, payload)
            params = Params()
            body_param = params.add(text)
            where = self._where(query, table.name, table.columns, table.qualified, params)
            if not where:
                # pg-safeupdate, loaded for PostgREST's login role on hosted Supabase
                raise RestError(400, "21000", "UPDATE requires a WHERE clause")
            if not cols:
                return Outcome(0, 0 if req.prefer.count else None, "[]")
            sets = ", ".join(f"{quote_ident(c)} = _pgrst_body.{quote_ident(c)}" for c in cols)
            update = (
                f"UPDATE {table.qualified} SET {sets} FROM (SELECT * FROM "
                f"json_populate_record(NULL::{table.qualified}, {body_param}::text::json)) _pgrst_body"
                f"{where} RETURNING {table.qualified}.*"
            )
            return await self._mutate(conn, req, query, table, update, params)

        outcome = await self._run(req, readonly=False, work=work)
        return self._write_response(req, outcome, created=False)

    async def _delete(self, req: Request, name: str) -> web.StreamResponse:
        query = parse_read_query(req.query, filter_keys=lambda k: k not in RESERVED)
        if query.limit is not None or query.offset:
            raise bad_query("The Supabase stand-in does not support limit/offset on DELETE")

        async def work(conn: asyncpg.Connection, cache: SchemaCache) -> Outcome:
            table = self._table_of(cache, req, name)
            params = Params()
            where = self._where(query, table.name, table.columns, table.qualified, params)
            if not where:
                raise RestError(400, "21000", "DELETE requires a WHERE clause")
            delete = f"DELETE FROM {table.qualified}{where} RETURNING {table.qualified}.*"
            return await self._mutate(conn, req, query, table, delete, params)

        outcome = await self._run(req, readonly=False, work=work)
        return self._write_response(req, outcome, created=False)

    async def _mutate(
        self,
        conn: asyncpg.Connection,
        req: Request,
        query: ReadQuery,
        table: Table,
        statement: str,
        params: Params,
    ) -> Outcome:
        _check_columns(table.name, table.columns, [i.column for i in query.select if i.column != "*"])
        upsert = req.method == "POST" and req.prefer.resolution is not None
        inserted = "(SELECT count(*) FROM pgrst_source WHERE pgrst_inserted)" if upsert else "NULL::bigint"
        if upsert:
            # a row an ON CONFLICT DO UPDATE touched carries the inserting transaction's xmax; a new row 0
            statement += ", (xmax::text = '0') AS pgrst_inserted"
        listing = select_sql(query.select, "pgrst_source", table.columns)
        sql = (
            f"WITH pgrst_source AS ({statement}) "
            f"SELECT count(*), {_body_expr(req, 'POST')}, {inserted} "
            f"FROM (SELECT {listing} FROM pgrst_source) _pgrst_t"
        )
        row = await conn.fetchrow(sql, *params.values)
        assert row is not None
        if req.single and row[0] != 1:
            raise Rollback(_single_error(row[0]))
        return Outcome(row[0], row[0] if req.prefer.count else None, row[1] or "", row[2])

    def _write_response(self, req: Request, outcome: Outcome, *, created: bool) -> web.StreamResponse:
        representation = req.prefer.returning == "representation"
        if created and outcome.inserted == 0:
            created = False  # PostgREST 12+: an upsert that inserted nothing answers 200
            if not representation:
                return web.Response(status=200, headers={"Content-Range": f"*/{outcome.total or '*'}"})
        total = "*" if outcome.total is None else str(outcome.total)
        headers: dict[str, str] = {}
        if req.prefer.applied:
            headers["Preference-Applied"] = ", ".join(req.prefer.applied)
        if created:
            headers["Content-Range"] = f"*/{outcome.n}" if representation else f"*/{total}"
        else:
            headers["Content-Range"] = f"0-{outcome.n - 1}/{total}" if outcome.n else f"*/{total}"
        if not representation:
            return web.Response(status=201 if created else 204, headers=headers)
        content_type = OBJECT_TYPE if req.single else JSON_TYPE
        return web.Response(
            status=201 if created else 200,
            body=outcome.body.encode(),
            headers={"Content-Type": content_type, **headers},
        )

    # -- rpc ---------------------------------------------------------------------------------------

    async def _rpc(self, req: Request, name: str) -> web.StreamResponse:
        if req.method not in ("GET", "HEAD", "POST"):
            raise RestError(405, "PGRST101", "Only GET, HEAD and POST are allowed for functions")
        if req.method == "POST":
            payload, text = self._payload(req) if req.body.strip() else ({}, "{}")
            keys = set(payload) if isinstance(payload, dict) else set()
        else:
            payload, text = None, ""
            keys = {k for k, _ in req.query if k not in RESERVED and k != "apikey"}
        outcome_fn: dict[str, Function] = {}
        row_query: dict[str, ReadQuery] = {}

        async def work(conn: asyncpg.Connection, cache: SchemaCache) -> Outcome:
            fn, whole_body = _resolve(cache, req.schema, name, keys, req.method, payload)
            outcome_fn["fn"] = fn
            if req.method == "POST" and fn.volatility in ("s", "i"):
                await conn.execute("SET TRANSACTION READ ONLY")
            params = Params()
            call, from_sql = _call_sql(fn, req, keys, payload, text, whole_body, params)
            if fn.returns_void:
                await conn.execute(f"SELECT {call}{from_sql}", *params.values)
                return Outcome(0, None, "")
            if fn.result_columns is None:
                if not fn.returns_set:
                    value = await conn.fetchval(f"SELECT to_json({call})::text{from_sql}", *params.values)
                    return Outcome(1, None, value or "null")
                row = await conn.fetchrow(
                    f"SELECT count(*), coalesce(json_agg(_pgrst_v), '[]')::text FROM "
                    f"(SELECT {call} AS _pgrst_v{from_sql}) _pgrst_t",
                    *params.values,
                )
                assert row is not None
                return Outcome(row[0], None, row[1])
            arg_names = {a.name for a in fn.args}
            query = parse_read_query(
                req.query,
                filter_keys=lambda k: k not in RESERVED and (req.method == "POST" or k not in arg_names),
            )
            query.limit, query.offset = _range(req, query)
            row_query["q"] = query
            lateral = f", LATERAL {call} AS _pgrst_call" if from_sql else f" FROM {call} AS _pgrst_call"
            source = f"SELECT _pgrst_call.*{from_sql}{lateral}"
            outcome = await self._select(
                conn, req, query, fn.name, fn.result_columns, source, "_pgrst_call", params
            )
            if not fn.returns_set and not req.single:
                body = json.loads(outcome.body)
                outcome.body = json.dumps(body[0]) if body else "null"
            return outcome

        readonly = req.method in ("GET", "HEAD")
        outcome = await self._run(req, readonly=readonly, work=work)
        fn = outcome_fn["fn"]
        if fn.returns_void:
            return web.Response(status=204)
        if fn.returns_set and "q" in row_query:
            return self._read_response(req, row_query["q"], outcome)
        if req.single:
            _check_single(outcome.n)
        headers = {"Content-Type": OBJECT_TYPE if req.single else JSON_TYPE}
        if fn.returns_set or fn.result_columns is not None:
            total = "*" if outcome.total is None else str(outcome.total)
            headers["Content-Range"] = f"0-{outcome.n - 1}/{total}" if outcome.n else f"*/{total}"
        body = b"" if req.method == "HEAD" else outcome.body.encode()
        return web.Response(status=200, body=body, headers=headers)


class _GatewayError(RestError):
    def __init__(self) -> None:
        super().__init__(401, "", "No API key found in request")

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "hint": "No `apikey` request header or url param was found."}


def _is_closed_error(exc: BaseException) -> bool:
    """asyncpg reports a connection that died while idle in the pool as `InterfaceError("... closed")`."""
    return "closed" in str(exc) or "connection was lost" in str(exc)


def _db_unavailable(exc: BaseException) -> RestError:
    return RestError(
        503, "PGRST001", "Database client error. Retrying the connection.", details=str(exc) or repr(exc)
    )


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _idents(cols: list[str]) -> str:
    return ", ".join(quote_ident(c) for c in cols)


def _body_expr(req: Request, method: str) -> str:
    if req.method == "HEAD":
        return "''"
    if req.single:
        return "coalesce((json_agg(_pgrst_t) -> 0)::text, '')"
    return "coalesce(json_agg(_pgrst_t), '[]')::text"


def _check_columns(label: str, columns: dict[str, Column], names: list[str]) -> None:
    for name in names:
        if name not in columns:
            raise undefined_column(label, name)


def _single_error(n: int) -> RestError:
    return RestError(
        406, "PGRST116", "Cannot coerce the result to a single JSON object", f"The result contains {n} rows"
    )


def _check_single(n: int) -> None:
    if n != 1:
        raise _single_error(n)


def _wants_single(accept: str) -> bool:
    types = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    if any(t in ("application/vnd.pgrst.object+json", "application/vnd.pgrst.object") for t in types):
        return True
    if not types or any(t in ("*/*", "application/json", "application/*") for t in types):
        return False
    raise RestError(406, "PGRST107", "None of these media types are available: " + ", ".join(types))


def _range(req: Request, query: ReadQuery) -> tuple[int | None, int | None]:
    """limit/offset from the query, else from a `Range: a-b` header (older clients)."""
    limit, offset = query.limit, query.offset
    header = req.headers.get("range")
    if header and limit is None and offset is None:
        first, _, last = header.partition("-")
        if first.isdigit():
            offset = int(first)
            if last.isdigit():
                limit = int(last) - offset + 1
    return limit, offset


def _resolve(
    cache: SchemaCache, schema: str, name: str, keys: set[str], method: str, payload: Any
) -> tuple[Function, bool]:
    """Pick the overload whose argument names fit the given keys (PostgREST matches by name)."""
    candidates = cache.functions.get((schema, name), [])
    best: Function | None = None
    best_rank = (-1, 0)
    for fn in candidates:
        names = {a.name for a in fn.args}
        required = {a.name for a in fn.args if not a.has_default}
        if "" in names and fn.args:
            continue
        # POST: every body key is an argument. GET: query keys that are not arguments filter the result.
        fits = keys <= names if method == "POST" else True
        if fits and required <= keys:
            rank = (len(names & keys), -len(names))
            if rank > best_rank:
                best, best_rank = fn, rank
    if best is not None:
        return best, False
    if method == "POST":
        for fn in candidates:
            if fn.single_unnamed_json:
                return fn, True
    params = ", ".join(sorted(keys))
    if keys:
        message = f"Could not find the function {schema}.{name}({params}) in the schema cache"
        details = (
            f"Searched for the function {schema}.{name} with parameters {params} or with a single "
            "unnamed json/jsonb parameter, but no matches were found in the schema cache."
        )
    else:
        message = f"Could not find the function {schema}.{name} without parameters in the schema cache"
        details = (
            f"Searched for the function {schema}.{name} without parameters or with a single unnamed "
            "json/jsonb parameter, but no matches were found in the schema cache."
        )
    hint = None
    if candidates:
        known = candidates[0]
        hint = (
            f"Perhaps you meant to call the function {schema}.{name}({', '.join(a.name for a in known.args)})"
        )
    raise RestError(404, "PGRST202", message, details, hint)


def _call_sql(
    fn: Function,
    req: Request,
    keys: set[str],
    payload: Any,
    text: str,
    whole_body: bool,
    params: Params,
) -> tuple[str, str]:
    """The function call and the FROM clause that feeds it its arguments."""
    if whole_body:
        cast = fn.args[0].cast_type
        return f"{fn.qualified}({params.add(text)}::text::{cast})", ""
    args = [a for a in fn.args if a.name in keys]
    if not args:
        return f"{fn.qualified}()", ""
    if req.method == "POST":
        body = params.add(text)
        named = ", ".join(f"{quote_ident(a.name)} := _pgrst_args.{quote_ident(a.name)}" for a in args)
        coldefs = ", ".join(f"{quote_ident(a.name)} {a.cast_type}" for a in args)
        return (
            f"{fn.qualified}({named})",
            f" FROM json_to_record({body}::text::json) AS _pgrst_args({coldefs})",
        )
    values = dict(req.query)
    named = ", ".join(
        f"{quote_ident(a.name)} := {params.add(values[a.name])}::text::{a.cast_type}" for a in args
    )
    return f"{fn.qualified}({named})", ""
