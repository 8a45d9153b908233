"""The unmodified supabase-py `AsyncClient`, configured so that a test fails fast instead of retrying.

Two retry traps cost seconds in tests (supabase-wire.md §3.1, §7.12):
* Realtime: a refused WebSocket handshake (bad apikey, server down) is retried `max_retries=5` times with
  backoff 1, 2, 4, 8 s — about 15 s before `subscribe()` raises. `make_client()` defaults to 2 retries
  starting at 50 ms; pass `max_retries`/`initial_backoff` to change that.
* PostgREST: GET/HEAD are retried on 503/520 and network errors, sleeping 1, 2, 4 s. The stand-in only
  answers 503 when PostgreSQL itself is down (as PostgREST does); call `.retry(False)` on the request
  builder (`client.table("t").select().retry(False)`) where a test expects that failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from tests.supastack.stack import Supastack


async def make_client(
    stack: Supastack,
    key: str | None = None,
    *,
    access_token: str | None = None,
    max_retries: int = 2,
    initial_backoff: float = 0.05,
    httpx_client: httpx.AsyncClient | None = None,
    **options: Any,
) -> AsyncClient:
    """`acreate_client(stack.url, key)` (anon key by default) with test-friendly realtime retries.

    `access_token` (a user JWT from `stack.make_jwt("authenticated", sub=...)`) is used for both REST
    (`Authorization`) and Realtime (`set_auth`) — supabase-py does not pass a custom Authorization header
    on to Realtime by itself (supabase-wire.md §7.1). Close the client with `close_client()`.
    """
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    # Our own httpx client, as the app does: without one supabase-py warns that its timeout/verify
    # parameters are deprecated. It is closed by close_client().
    client_options = AsyncClientOptions(
        headers=headers,
        realtime={"max_retries": max_retries, "initial_backoff": initial_backoff},
        httpx_client=httpx_client or httpx.AsyncClient(timeout=10),
        **options,
    )
    client = await acreate_client(stack.url, key or stack.anon_key, options=client_options)
    if access_token:
        await client.realtime.set_auth(access_token)
    return client


async def close_client(client: AsyncClient) -> None:
    """Leave every channel, close the WebSocket and the HTTP client."""
    await client.realtime.remove_all_channels()
    await client.realtime.close()
    await client.postgrest.session.aclose()


async def wait_until(predicate: Callable[[], bool], within: float = 5, poll: float = 0.005) -> None:
    """Poll `predicate` on the running loop (callbacks land there) until true, else `TimeoutError`.

    Inside an `async def` test, poll like this rather than with `qtbot.waitUntil` (docs/testing.md).
    """
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(poll)
