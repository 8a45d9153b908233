"""The schema cache: what PostgREST and Realtime look up in the catalog instead of asking per request.

Loaded with one connection in a handful of queries. Column types are kept twice: `cast_type` (regtype
text, used to cast filter values `$n::text::<cast_type>`, since asyncpg cannot send untyped parameters) and
`typname` (`int4`, `_text`: what Realtime reports in `columns`). `"char"` catalog columns are cast to text
in SQL because asyncpg returns them as bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

API_ROLES = ("anon", "authenticated", "service_role")


@dataclass(frozen=True)
class Column:
    name: str
    cast_type: str
    typname: str
    has_default: bool


@dataclass
class Table:
    schema: str
    name: str
    kind: str  # pg_class.relkind: r, p, v, m, f
    columns: dict[str, Column]
    pk: tuple[str, ...]
    rls: bool
    replica_identity: str  # d(efault) f(ull) i(ndex) n(othing)
    identity_index: tuple[str, ...]
    published_actions: frozenset[str]  # INSERT/UPDATE/DELETE when in `supabase_realtime`, else empty

    @property
    def qualified(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def identity_columns(self) -> tuple[str, ...]:
        """The columns an UPDATE/DELETE change carries in `old_record` (logical replication's identity)."""
        if self.replica_identity == "f":
            return tuple(self.columns)
        if self.replica_identity == "i":
            return self.identity_index
        if self.replica_identity == "n":
            return ()
        return self.pk


@dataclass(frozen=True)
class Arg:
    name: str
    cast_type: str
    has_default: bool


@dataclass
class Function:
    schema: str
    name: str
    args: tuple[Arg, ...]
    returns_set: bool
    returns_void: bool
    #: columns when the function returns rows (a table type, RETURNS TABLE or OUT parameters)
    result_columns: dict[str, Column] | None
    volatility: str  # i, s, v
    variadic: bool

    @property
    def qualified(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def single_unnamed_json(self) -> bool:
        return len(self.args) == 1 and self.args[0].name == "" and self.args[0].cast_type in ("json", "jsonb")


@dataclass
class SchemaCache:
    stamp: int
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    functions: dict[tuple[str, str], list[Function]] = field(default_factory=dict)
    #: per API role: settings such as statement_timeout (`ALTER ROLE anon SET ...`), applied per request
    role_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    #: has_column_privilege(role, table, column, 'SELECT'), filled lazily by Realtime
    selectable: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)

    def table(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def published(self, schema: str) -> list[Table]:
        return [t for (s, _), t in self.tables.items() if s == schema and t.published_actions]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A standard-conforming SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1)."""
    return "'" + value.replace("'", "''") + "'"


_TABLES_SQL = """
select c.oid, n.nspname, c.relname, c.relkind::text as kind, c.relrowsecurity,
       c.relreplident::text as replident
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname = any($1::text[])
"""

_COLUMNS_SQL = """
select a.attrelid, a.attname, a.atttypid::regtype::text as cast_type, t.typname,
       (a.atthasdef or a.attidentity <> '' or a.attgenerated <> '') as has_default
  from pg_attribute a join pg_type t on t.oid = a.atttypid
 where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
 order by a.attrelid, a.attnum
"""

_PK_SQL = """
select con.conrelid, array_agg(a.attname order by k.ord) as cols
  from pg_constraint con
  cross join lateral unnest(con.conkey) with ordinality as k(attnum, ord)
  join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
 where con.contype = 'p' and con.conrelid = any($1::oid[])
 group by con.conrelid
"""

_IDENTITY_INDEX_SQL = """
select i.indrelid, array_agg(a.attname order by k.ord) as cols
  from pg_index i
  cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
 where i.indisreplident and i.indrelid = any($1::oid[])
 group by i.indrelid
"""

_PUBLICATION_SQL = """
select pt.schemaname, pt.tablename, p.pubinsert, p.pubupdate, p.pubdelete
  from pg_publication p join pg_publication_tables pt on pt.pubname = p.pubname
 where p.pubname = 'supabase_realtime'
"""

_FUNCTIONS_SQL = """
select p.oid, n.nspname, p.proname, p.proargnames, p.proargmodes::text[] as modes,
       p.proargtypes::oid[] as in_types, p.proallargtypes as all_types, p.pronargdefaults,
       p.prorettype, p.proretset, p.provolatile::text as volatility, p.provariadic <> 0 as variadic,
       rt.typrelid as ret_relid, p.prorettype = 'void'::regtype as returns_void
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_type rt on rt.oid = p.prorettype
 where n.nspname = any($1::text[]) and p.prokind = 'f'
"""

_TYPES_SQL = """
select t.oid, t.oid::regtype::text as cast_type, t.typname from pg_type t where t.oid = any($1::oid[])
"""

_ROLE_SETTINGS_SQL = """
select r.rolname, s.setconfig
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
 where r.rolname = any($1::text[]) and s.setdatabase in (0, (select oid from pg_database
                                                            where datname = current_database()))
"""


async def load(conn: asyncpg.Connection, schemas: Sequence[str], stamp: int) -> SchemaCache:
    cache = SchemaCache(stamp=stamp)
    tables = await conn.fetch(_TABLES_SQL, list(schemas))
    oids = [r["oid"] for r in tables]
    columns: dict[int, dict[str, Column]] = {oid: {} for oid in oids}
    for r in await conn.fetch(_COLUMNS_SQL, oids):
        columns[r["attrelid"]][r["attname"]] = Column(
            r["attname"], r["cast_type"], r["typname"], r["has_default"]
        )
    pks = {r["conrelid"]: tuple(r["cols"]) for r in await conn.fetch(_PK_SQL, oids)}
    idx = {r["indrelid"]: tuple(r["cols"]) for r in await conn.fetch(_IDENTITY_INDEX_SQL, oids)}
    published: dict[tuple[str, str], frozenset[str]] = {}
    for r in await conn.fetch(_PUBLICATION_SQL):
        actions = {a for a, on in (("INSERT", r[2]), ("UPDATE", r[3]), ("DELETE", r[4])) if on}
        published[(r["schemaname"], r["tablename"])] = frozenset(actions)
    for r in tables:
        key = (r["nspname"], r["relname"])
        cache.tables[key] = Table(
            schema=r["nspname"],
            name=r["relname"],
            kind=r["kind"],
            columns=columns[r["oid"]],
            pk=pks.get(r["oid"], ()),
            rls=r["relrowsecurity"],
            replica_identity=r["replident"],
            identity_index=idx.get(r["oid"], ()),
            published_actions=published.get(key, frozenset()),
        )
    rel_columns = {r["oid"]: columns[r["oid"]] for r in tables}

    funcs = await conn.fetch(_FUNCTIONS_SQL, list(schemas))
    type_oids = {o for f in funcs for o in (f["all_types"] or f["in_types"] or [])}
    type_oids |= {f["prorettype"] for f in funcs}
    types = {r["oid"]: (r["cast_type"], r["typname"]) for r in await conn.fetch(_TYPES_SQL, list(type_oids))}
    missing_rels = {f["ret_relid"] for f in funcs if f["ret_relid"] and f["ret_relid"] not in rel_columns}
    if missing_rels:
        extra: dict[int, dict[str, Column]] = {oid: {} for oid in missing_rels}
        for r in await conn.fetch(_COLUMNS_SQL, list(missing_rels)):
            extra[r["attrelid"]][r["attname"]] = Column(
                r["attname"], r["cast_type"], r["typname"], r["has_default"]
            )
        rel_columns.update(extra)
    for f in funcs:
        fn = _function(f, types, rel_columns)
        cache.functions.setdefault((fn.schema, fn.name), []).append(fn)

    for r in await conn.fetch(_ROLE_SETTINGS_SQL, list(API_ROLES)):
        settings = cache.role_settings.setdefault(r["rolname"], {})
        for item in r["setconfig"] or []:
            name, _, value = item.partition("=")
            settings[name] = value
    return cache


def _function(
    f: asyncpg.Record, types: dict[int, tuple[str, str]], rel_columns: dict[int, dict[str, Column]]
) -> Function:
    all_types: list[int] = list(f["all_types"] or f["in_types"] or [])
    modes: list[str] = list(f["modes"] or ["i"] * len(all_types))
    names: list[str] = list(f["proargnames"] or [""] * len(all_types))
    in_args: list[tuple[str, int]] = []
    out_cols: dict[str, Column] = {}
    for name, mode, oid in zip(names, modes, all_types, strict=False):
        cast_type, typname = types.get(oid, ("text", "text"))
        if mode in ("i", "b", "v"):
            in_args.append((name, oid))
        if mode in ("o", "b", "t"):
            out_cols[name] = Column(name, cast_type, typname, False)
    n_defaults = f["pronargdefaults"]
    args = tuple(
        Arg(name, types.get(oid, ("text", "text"))[0], i >= len(in_args) - n_defaults)
        for i, (name, oid) in enumerate(in_args)
    )
    result_columns: dict[str, Column] | None = None
    if f["ret_relid"]:
        result_columns = rel_columns.get(f["ret_relid"], {})
    elif out_cols and types.get(f["prorettype"], ("", ""))[1] == "record":
        result_columns = out_cols
    return Function(
        schema=f["nspname"],
        name=f["proname"],
        args=args,
        returns_set=f["proretset"],
        returns_void=f["returns_void"],
        result_columns=result_columns,
        volatility=f["volatility"],
        variadic=f["variadic"],
    )


async def selectable_columns(
    conn: asyncpg.Connection, cache: SchemaCache, role: str, table: Table
) -> frozenset[str]:
    """The columns `role` may SELECT (Realtime sends only those), cached until the next reload."""
    key = (role, table.schema, table.name)
    found = cache.selectable.get(key)
    if found is None:
        rows = await conn.fetch(
            "select a.attname from pg_attribute a"
            " where a.attrelid = $2::regclass and a.attnum > 0 and not a.attisdropped"
            " and has_column_privilege($1::text, a.attrelid, a.attname, 'SELECT')",
            role,
            table.qualified,
        )
        found = frozenset(r["attname"] for r in rows)
        cache.selectable[key] = found
    return found
