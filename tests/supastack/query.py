"""PostgREST's query-string grammar, parsed into small trees and rendered as SQL with typed parameters.

Filter values are sent as text and cast to the column's type in SQL (`$n::text::integer`): PostgREST sends
them untyped and lets PostgreSQL infer the type, which asyncpg cannot do. The same filter grammar serves
Realtime's `filter` strings (`col=op.value`, comma = AND), rendered with literals instead of parameters
because Realtime's checks run as dynamic SQL inside PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tests.supastack.schema import quote_ident, quote_literal


class QueryError(Exception):
    """A request the grammar rejects: PostgREST answers 400 with PGRST100."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


RESERVED = frozenset({"select", "order", "limit", "offset", "on_conflict", "columns", "or", "and", "not.or"})
RESERVED_PREFIXES = ("not.and",)

SIMPLE_OPS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "isdistinct": "IS DISTINCT FROM",
    "cs": "@>",
    "cd": "<@",
    "ov": "&&",
    "sl": "<<",
    "sr": ">>",
    "nxr": "&<",
    "nxl": "&>",
    "adj": "-|-",
}
PATTERN_OPS = {"like": "LIKE", "ilike": "ILIKE", "match": "~", "imatch": "~*"}
FTS_OPS = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}
IS_VALUES = {"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
ALL_OPS = frozenset({*SIMPLE_OPS, *PATTERN_OPS, *FTS_OPS, "in", "is"})


@dataclass
class Filter:
    column: str
    op: str
    value: str | list[str]
    negate: bool = False
    quantifier: str | None = None  # "any" / "all" for `eq(any).{a,b}`
    language: str | None = None  # fts(english)

    def columns(self) -> Iterable[str]:
        yield self.column


@dataclass
class Logic:
    op: str  # "and" / "or"
    items: list[Filter | Logic]
    negate: bool = False

    def columns(self) -> Iterable[str]:
        for item in self.items:
            yield from item.columns()


@dataclass
class OrderTerm:
    column: str
    desc: bool = False
    nulls: str | None = None  # "first" / "last"


@dataclass
class SelectItem:
    column: str  # "*" or a column name
    alias: str | None = None
    cast: str | None = None


@dataclass
class ReadQuery:
    select: list[SelectItem] = field(default_factory=lambda: [SelectItem("*")])
    where: list[Filter | Logic] = field(default_factory=list)
    order: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    #: everything not reserved and not a filter (rpc GET arguments)
    rest: list[tuple[str, str]] = field(default_factory=list)


# -- splitting ------------------------------------------------------------------------------------


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside parentheses, braces and double quotes (backslash escapes inside quotes)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted or depth != 0:
        raise QueryError(f'"failed to parse" unbalanced quotes or parentheses in: {text}')
    parts.append(text[start:])
    return parts


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_list(value: str, open_ch: str = "(", close_ch: str = ")") -> list[str]:
    """`(a,"b,c")` → ["a", "b,c"] (PostgREST's `in` list; `{}` for `any`/`all`)."""
    if not (value.startswith(open_ch) and value.endswith(close_ch)):
        raise QueryError(f'"failed to parse filter" expected a list in {open_ch}{close_ch}: {value}')
    inner = value[1:-1]
    if inner == "":
        return []
    return [unquote(item.strip()) for item in split_top(inner)]


# -- filters --------------------------------------------------------------------------------------

_OP_RE = re.compile(r"^(?P<op>[a-z]+)(?:\((?P<arg>[a-zA-Z_]+)\))?$")


def parse_filter(column: str, expr: str) -> Filter:
    """`not.eq.5`, `in.(1,2)`, `is.null`, `fts(english).cat`, `eq(any).{a,b}` for `column`."""
    negate = False
    if expr.startswith("not."):
        negate = True
        expr = expr[4:]
    op_text, dot, value = expr.partition(".")
    match = _OP_RE.match(op_text)
    if not dot or not match or match["op"] not in ALL_OPS:
        raise QueryError(
            f'"failed to parse filter ({expr})" (line 1, column {len(op_text) + 1})',
            'unexpected "{}" expecting operator'.format(op_text[:1] or "end of input"),
        )
    op, arg = match["op"], match["arg"]
    quantifier = language = None
    if arg:
        if op in FTS_OPS:
            language = arg
        elif arg in ("any", "all") and (op in ("eq", "neq", "gt", "gte", "lt", "lte") or op in PATTERN_OPS):
            quantifier = arg
        else:
            raise QueryError(f'"failed to parse filter ({expr})"')
    parsed: str | list[str]
    if op == "in":
        parsed = parse_list(value)
    elif quantifier:
        parsed = parse_list(value, "{", "}")
    elif op == "is":
        if value.lower() not in IS_VALUES:
            raise QueryError(f'"failed to parse filter ({expr})"', "is accepts null, not_null, true, false")
        parsed = value.lower()
    else:
        parsed = value
    if op in ("like", "ilike"):
        parsed = (
            [v.replace("*", "%") for v in parsed] if isinstance(parsed, list) else parsed.replace("*", "%")
        )
    return Filter(column, op, parsed, negate, quantifier, language)


def parse_logic(op: str, expr: str, negate: bool = False) -> Logic:
    """`or=(a.eq.1,and(b.is.null,c.eq.))` (the value includes the outer parentheses)."""
    if not (expr.startswith("(") and expr.endswith(")")):
        raise QueryError(f'"failed to parse logic tree ({expr})"', 'expecting "("')
    items: list[Filter | Logic] = []
    for part in split_top(expr[1:-1]):
        part = part.strip()
        nested = re.match(r"^(not\.)?(and|or)(\(.*\))$", part, re.S)
        if nested:
            items.append(parse_logic(nested[2], nested[3], bool(nested[1])))
            continue
        column, dot, rest = part.partition(".")
        if not dot or not column:
            raise QueryError(f'"failed to parse logic tree ({expr})"')
        filt = parse_filter(unquote(column), rest)
        if isinstance(filt.value, str) and filt.op != "is":
            filt.value = unquote(filt.value)
        items.append(filt)
    return Logic(op, items, negate)


# -- select / order -------------------------------------------------------------------------------


def parse_select(text: str) -> list[SelectItem]:
    items: list[SelectItem] = []
    for raw in split_top(text):
        part = raw.strip()
        if not part:
            continue
        if "(" in part or part.startswith("..."):
            raise QueryError(
                f"The Supabase stand-in does not support resource embedding or aggregates: {part}",
            )
        alias = None
        if ":" in part.replace("::", "\0"):
            alias_part, _, rest = part.replace("::", "\0").partition(":")
            alias, part = alias_part.replace("\0", "::"), rest.replace("\0", "::")
        column, _, cast = part.partition("::")
        if "->" in column:
            raise QueryError(f"The Supabase stand-in does not support JSON paths in select: {raw}")
        items.append(SelectItem(unquote(column), alias and unquote(alias), cast or None))
    return items or [SelectItem("*")]


def parse_order(text: str) -> list[OrderTerm]:
    terms: list[OrderTerm] = []
    for part in split_top(text):
        pieces = part.strip().split(".")
        if not pieces[0]:
            raise QueryError(f'"failed to parse order ({text})"')
        term = OrderTerm(unquote(pieces[0]))
        for modifier in pieces[1:]:
            if modifier in ("asc", "desc"):
                term.desc = modifier == "desc"
            elif modifier in ("nullsfirst", "nullslast"):
                term.nulls = modifier[5:]
            else:
                raise QueryError(f'"failed to parse order ({text})"', f'unexpected "{modifier}"')
        terms.append(term)
    return terms


def parse_int(name: str, value: str) -> int:
    if not re.fullmatch(r"\d+", value):
        raise QueryError(f'"failed to parse {name} parameter ({value})"')
    return int(value)


def parse_read_query(items: Iterable[tuple[str, str]], *, filter_keys: Callable[[str], bool]) -> ReadQuery:
    """The query string of a read (or the filter part of a write): `filter_keys(k)` says which other
    keys are filters (for rpc, argument names are not)."""
    query = ReadQuery()
    for key, value in items:
        if key == "select":
            query.select = parse_select(value)
        elif key == "order":
            query.order.extend(parse_order(value))
        elif key == "limit":
            query.limit = parse_int("limit", value)
        elif key == "offset":
            query.offset = parse_int("offset", value)
        elif key in ("or", "and"):
            query.where.append(parse_logic(key, value))
        elif key in ("not.or", "not.and"):
            query.where.append(parse_logic(key[4:], value, negate=True))
        elif key in ("on_conflict", "columns", "apikey"):
            continue
        elif "." in key and key.split(".")[-1] in ("or", "and", "order", "limit", "offset", "select"):
            raise QueryError(f"The Supabase stand-in does not support resource embedding: {key}")
        elif filter_keys(key):
            if "->" in key:
                raise QueryError(f"The Supabase stand-in does not support JSON paths in filters: {key}")
            query.where.append(parse_filter(unquote(key), value))
        else:
            query.rest.append((key, value))
    return query


# -- SQL rendering --------------------------------------------------------------------------------


class Params:
    """Collects positional parameters ($1, $2, ...) for one statement."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


#: How a value reaches SQL: a parameter (REST) or a literal (Realtime's dynamic checks).
ValueSink = Callable[[str | list[str]], str]


def param_sink(params: Params) -> ValueSink:
    def sink(value: str | list[str]) -> str:
        if isinstance(value, list):
            return params.add(value) + "::text[]"
        return params.add(value) + "::text"

    return sink


def literal_sink(value: str | list[str]) -> str:
    if isinstance(value, list):
        inner = ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value)
        return quote_literal("{" + inner + "}") + "::text[]"
    return quote_literal(value) + "::text"


def filter_sql(node: Filter | Logic, column_sql: Callable[[str], tuple[str, str]], sink: ValueSink) -> str:
    """Render a filter tree; `column_sql(name)` gives (SQL expression, cast type) for a column."""
    if isinstance(node, Logic):
        joiner = " AND " if node.op == "and" else " OR "
        body = joiner.join(filter_sql(item, column_sql, sink) for item in node.items) or "TRUE"
        return f"NOT ({body})" if node.negate else f"({body})"
    col, ctype = column_sql(node.column)
    value = node.value
    if node.op == "is":
        assert isinstance(value, str)
        sql = f"{col} IS {IS_VALUES[value]}"
    elif node.op == "in":
        assert isinstance(value, list)
        sql = f"{col} = ANY({sink(value)}::{_array_of(ctype)})"
    elif node.quantifier:
        assert isinstance(value, list)
        if node.op in PATTERN_OPS:
            sql = f"{col} {PATTERN_OPS[node.op]} {node.quantifier.upper()}({sink(value)})"
        else:
            array = f"{sink(value)}::{_array_of(ctype)}"
            sql = f"{col} {SIMPLE_OPS[node.op]} {node.quantifier.upper()}({array})"
    elif node.op in PATTERN_OPS:
        assert isinstance(value, str)
        sql = f"{col} {PATTERN_OPS[node.op]} {sink(value)}"
    elif node.op in FTS_OPS:
        assert isinstance(value, str)
        lang = f"{quote_literal(node.language)}::regconfig, " if node.language else ""
        sql = f"{col} @@ {FTS_OPS[node.op]}({lang}{sink(value)})"
    else:
        assert isinstance(value, str)
        sql = f"{col} {SIMPLE_OPS[node.op]} {sink(value)}::{ctype}"
    return f"NOT ({sql})" if node.negate else sql


def _array_of(cast_type: str) -> str:
    return cast_type if cast_type.endswith("[]") else cast_type + "[]"


def order_sql(terms: list[OrderTerm], column_sql: Callable[[str], tuple[str, str]]) -> str:
    parts = []
    for term in terms:
        sql = f"{column_sql(term.column)[0]} {'DESC' if term.desc else 'ASC'}"
        if term.nulls:
            sql += f" NULLS {term.nulls.upper()}"
        parts.append(sql)
    return ", ".join(parts)


def select_sql(items: list[SelectItem], qualifier: str, star: Iterable[str] | None = None) -> str:
    """The select list over `qualifier`; `*` becomes `star`'s columns when given (the source has more)."""
    parts = []
    for item in items:
        if item.column == "*":
            if star is None:
                parts.append(f"{qualifier}.*")
            else:
                parts.extend(f"{qualifier}.{quote_ident(c)}" for c in star)
            continue
        expr = f"{qualifier}.{quote_ident(item.column)}"
        if item.cast:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]*(\[\])?", item.cast):
                raise QueryError(f"invalid cast in select: {item.cast}")
            expr = f"{expr}::{item.cast}"
        name = item.alias or item.column
        parts.append(f"{expr} AS {quote_ident(name)}")
    return ", ".join(parts)


# -- Realtime filter strings ----------------------------------------------------------------------


def parse_realtime_filter(text: str) -> list[Filter]:
    """Realtime's `filter`: `col=op.value` joined by commas (AND); `in.(a,b)` lists keep their commas."""
    filters: list[Filter] = []
    for part in split_top(text):
        column, eq, expr = part.partition("=")
        if not eq or not column:
            raise QueryError(f"invalid filter: {part}")
        filters.append(parse_filter(column.strip(), expr))
    return filters
