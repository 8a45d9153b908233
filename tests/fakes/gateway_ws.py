"""A WebSocket server that answers like a real gateway, from frames captured off the real ones.

    async with FrameServer("openclaw") as server:          # tests/fakes/gateway_frames.json, "openclaw"
        server.jobs = [...]                                 # what cron.list answers
        client = GatewayClient(server.endpoint(), identity)
        await client.connect()                              # the captured challenge, then hello-ok
        await server.push(server.frames["cron_events"][0])  # a captured `cron` event

The handshake and every error it sends are the captured frames (refresh them with
`python -m tests.realgateway.capture_frames`); `connect_reply` and `handlers` choose which one a test gets.
For the fast unit tests of the native client; the real gateways are tested in tests/test_gateway_real.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from worker.sources.gateway_config import GatewayEndpoint

FRAMES = json.loads((Path(__file__).with_name("gateway_frames.json")).read_text())
TOKEN = "frame-server-token"

#: A request handler: (method, params) → the response frame's fields ({"ok": ..., "payload"/"error": ...}),
#: or None to never answer.
Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]


class FrameServer:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.frames: dict[str, Any] = copy.deepcopy(FRAMES[kind])
        self.jobs: list[dict[str, Any]] = []
        #: The answer to `connect` (default: the captured hello-ok); a captured refusal to refuse.
        self.connect_reply: dict[str, Any] = self.frames["hello_ok"]
        self.send_challenge = True
        self.http_status: int | None = None
        self.handlers: dict[str, Handler] = {"cron.list": self._list}
        self.received: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self._server: Server | None = None

    async def __aenter__(self) -> FrameServer:
        self._server = await serve(self._serve, "127.0.0.1", 0, process_request=self._http)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    def endpoint(self, token: str = TOKEN) -> GatewayEndpoint:
        return GatewayEndpoint(f"ws://127.0.0.1:{self.port}", None, token)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def drop_connections(self) -> None:
        """The gateway goes away without a word (a crash): every socket closes."""
        for connection in list(self.connections):
            connection.transport.abort()

    async def push(self, frame: dict[str, Any]) -> None:
        for connection in list(self.connections):
            await connection.send(json.dumps(frame))

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.http_status is not None:
            return connection.respond(self.http_status, "refused\n")
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        if self.send_challenge:
            await connection.send(json.dumps(self.frames["challenge"]))
        first = json.loads(await connection.recv())
        self.received.append(first)
        await connection.send(json.dumps({**self.connect_reply, "id": first.get("id")}))
        if self.connect_reply.get("ok") is not True:
            await connection.close(1008, "refused")
            return
        self.connections.append(connection)
        try:
            async for raw in connection:
                frame = json.loads(raw)
                self.received.append(frame)
                handler = self.handlers.get(frame.get("method", ""))
                if handler is None:
                    answer: dict[str, Any] | None = {
                        "ok": False,
                        "error": {
                            "code": "INVALID_REQUEST",
                            "message": f"unknown method: {frame.get('method')}",
                        },
                    }
                else:
                    answer = await handler(frame["method"], frame.get("params") or {})
                if answer is not None:
                    await connection.send(json.dumps({"type": "res", "id": frame["id"], **answer}))
        finally:
            self.connections.remove(connection)

    async def _list(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "payload": {"jobs": self.jobs}}

    def answer_with(self, method: str, captured: str) -> None:
        """Answer `method` with a captured response (its `ok` and `payload`/`error`)."""
        frame = self.frames[captured]

        async def handler(_method: str, _params: dict[str, Any]) -> dict[str, Any]:
            return {key: frame[key] for key in ("ok", "payload", "error") if key in frame}

        self.handlers[method] = handler

    async def wait_for_request(self, method: str, within: float = 5.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            for frame in self.received:
                if frame.get("method") == method:
                    return frame
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {method} request within {within} s")
