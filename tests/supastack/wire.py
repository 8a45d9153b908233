"""Raw wire helpers for conformance tests: an HTTP client with Supabase's headers and a Phoenix V1 socket.

They speak exactly the frames supabase-py sends (supabase-wire.md §2.1, §3.2), without the client's
retries and validation in between, so a test sees what the server really answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.supastack.stack import Supastack


def rest_client(stack: Supastack, key: str | None = None, *, token: str | None = None) -> httpx.Client:
    """Headers as postgrest-py sends them: `apiKey`, `Authorization: Bearer`, both profiles, `Accept: */*`."""
    key = key or stack.anon_key
    return httpx.Client(
        base_url=stack.rest_url,
        headers={
            "apiKey": key,
            "Authorization": f"Bearer {token or key}",
            "Accept-Profile": "public",
            "Content-Profile": "public",
            "Accept": "*/*",
            "X-Client-Info": "supastack-tests",
        },
        timeout=10,
    )


class PhoenixSocket:
    """A Phoenix V1 JSON socket as realtime-py drives it: string refs from a per-socket counter."""

    def __init__(self, stack: Supastack, apikey: str | None = None) -> None:
        url = f"{stack.realtime_url}?apikey={apikey or stack.anon_key}&vsn=1.0.0"
        self.ws: ClientConnection = connect(url, open_timeout=5, compression=None)
        self._ref = 0
        self.join_refs: dict[str, str] = {}

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> PhoenixSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def next_ref(self) -> str:
        self._ref += 1
        return str(self._ref)

    def push(
        self, topic: str, event: str, payload: dict[str, Any], *, ref: str | None = "auto"
    ) -> str | None:
        if ref == "auto":
            ref = self.next_ref()
        frame = {
            "event": event,
            "topic": topic,
            "payload": payload,
            "ref": ref,
            "join_ref": self.join_refs.get(topic),
        }
        self.ws.send(json.dumps(frame))
        return ref

    def join(
        self,
        topic: str,
        bindings: list[dict[str, Any]] | None = None,
        *,
        access_token: str | None = None,
    ) -> str:
        """Send phx_join as realtime-py does (config + access_token); returns the join ref."""
        ref = self.next_ref()
        self.join_refs[topic] = ref
        payload: dict[str, Any] = {
            "config": {
                "broadcast": {"ack": False, "self": False},
                "presence": {"key": "", "enabled": False},
                "private": False,
                "postgres_changes": bindings or [],
            }
        }
        if access_token:
            payload["access_token"] = access_token
        self.push(topic, "phx_join", payload, ref=ref)
        return ref

    def recv(self, timeout: float = 5) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        return frame

    def recv_until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 5) -> dict[str, Any]:
        """The first frame for which `match` is true; earlier frames are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            frame = self.recv(left)
            if match(frame):
                return frame

    def recv_none(self, within: float = 0.3) -> None:
        """Assert that nothing arrives for `within` seconds."""
        try:
            frame = self.ws.recv(timeout=within)
        except TimeoutError:
            return
        except ConnectionClosed:
            return
        raise AssertionError(f"unexpected frame: {frame}")

    def changes(self, timeout: float = 5) -> dict[str, Any]:
        return self.recv_until(lambda f: f["event"] == "postgres_changes", timeout)
