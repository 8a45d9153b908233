"""PostgREST's error answers: the `{code, details, hint, message}` body and the SQLSTATE → status table."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON_TYPE = "application/json; charset=utf-8"


class RestError(Exception):
    """An answer PostgREST gives instead of a result."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=json.dumps(self.body()).encode(),
            headers={"Content-Type": JSON_TYPE, **self.headers},
        )


def status_for_sqlstate(sqlstate: str, *, anonymous: bool) -> int:
    """PostgREST's table (docs: Errors → SQLSTATE); 42501 is 401 for the anonymous role, else 403."""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "42883": 404,
        "42P01": 404,
        "42P17": 500,
        "P0001": 400,
        "53400": 500,
        "42501": 401 if anonymous else 403,
    }
    if sqlstate in exact:
        return exact[sqlstate]
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    prefix = sqlstate[:2]
    if prefix in ("08", "53"):
        return 503
    if prefix in ("0L", "0P", "28"):
        return 403
    if prefix in ("09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX"):
        return 500
    return 400


def from_postgres(
    sqlstate: str, message: str, detail: str | None, hint: str | None, *, anonymous: bool
) -> RestError:
    status = status_for_sqlstate(sqlstate, anonymous=anonymous)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return RestError(status, sqlstate, message, detail or None, hint or None, headers)


def bad_query(message: str, details: str | None = None) -> RestError:
    return RestError(400, "PGRST100", message, details)


def table_not_found(schema: str, name: str) -> RestError:
    return RestError(404, "PGRST205", f"Could not find the table '{schema}.{name}' in the schema cache")


def column_not_found(table: str, column: str) -> RestError:
    """Unknown column in `columns=` or a payload (PostgREST's own check, before any SQL runs)."""
    return RestError(
        400, "PGRST204", f"Could not find the '{column}' column of '{table}' in the schema cache"
    )


def undefined_column(table: str, column: str) -> RestError:
    """Unknown column in select/filter/order: PostgreSQL's 42703, worded as it words it."""
    return RestError(400, "42703", f"column {table}.{column} does not exist")


def jwt_error(code: str, message: str) -> RestError:
    return RestError(
        401,
        code,
        message,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'},
    )
