"""A native client for the gateway's WebSocket protocol (gateway_protocol): one connection, many calls.

    client = GatewayClient(endpoint, identity, on_event=...)
    hello = await client.connect()             # challenge → signed connect → hello-ok, or ConnectRefused
    jobs = await client.call(CRON_LIST, {"includeDisabled": True})
    await client.close()

A reader task owns the socket: it hands each response to the call waiting for it (responses may come out
of order) and each event to `on_event` (`cron` job and run changes; `tick` keeps the watchdog fed). When
the gateway goes away, pending calls fail with GatewayDisconnected and `on_closed` fires; reconnecting is
the owner's choice (gateway_native). A connection silent for two tick intervals is closed as dead, as
the reference client does; no pings of our own, so an idle connection costs one tick every 30 s.
The shared secret is never logged; messages that reach a person pass through `endpoint.scrub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from cronmirror_desktop import __version__
from worker.sources.gateway_config import GatewayEndpoint
from worker.sources.gateway_device import DeviceIdentity
from worker.sources.gateway_protocol import (
    CLIENT_ID,
    CLIENT_MODE,
    MAX_FRAME_BYTES,
    PROTOCOL_MAX,
    PROTOCOL_MIN,
    REQUIRED_METHODS,
    ROLE,
    SCOPES,
    GatewayDisconnected,
    GatewayRpcError,
    GatewayRpcTimeout,
    Method,
    P,
    R,
    device_auth_payload,
)

log = logging.getLogger(__name__)
#: The socket's own logger: never below INFO, since at DEBUG websockets logs frames, and the connect
#: frame carries the gateway's token.
_ws_log = logging.getLogger(f"{__name__}.websocket")
_ws_log.setLevel(logging.INFO)

CONNECT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 30.0
DEFAULT_TICK_MS = 30_000


class GatewayUnreachable(Exception):
    """Nothing answers at the gateway's address (it is not running), or it stopped mid-handshake."""


class ConnectRefused(Exception):
    """The gateway answered but will not take this client: its reason decides the fallback (the CLI).

    `retry_after` (seconds) is set when the gateway asked to be asked again later (still starting)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Hello:
    """The gateway's `hello-ok`, as far as the worker uses it."""

    protocol: int
    server_version: str
    methods: frozenset[str]
    events: frozenset[str]
    scopes: tuple[str, ...] | None
    tick_ms: int

    def offers(self, method: str) -> bool:
        return method in self.methods


class GatewayClient:
    def __init__(
        self,
        endpoint: GatewayEndpoint,
        identity: DeviceIdentity,
        *,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        on_closed: Callable[[str], None] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """`headers`: extra HTTP headers for the upgrade request (as a reverse proxy in front would add)."""
        self.endpoint = endpoint
        self._headers = dict(headers or {})
        self._identity = identity
        self._on_event = on_event
        self._on_closed = on_closed
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        #: request id → (method, the future its answer resolves)
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._ids = itertools.count(1)
        self.hello: Hello | None = None
        self.closed_reason: str | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    # -- connecting ---------------------------------------------------------------------------------

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> Hello:  # noqa: ASYNC109 - the handshake's budget
        """Open the socket and do the handshake. Raises GatewayUnreachable or ConnectRefused."""
        try:
            ws = await connect(
                self.endpoint.url,
                max_size=MAX_FRAME_BYTES,
                compression=None,
                ping_interval=None,
                open_timeout=timeout,
                user_agent_header=f"cronmirror-worker/{__version__}",
                additional_headers=self._headers or None,
                logger=_ws_log,
            )
        except InvalidStatus as exc:
            raise ConnectRefused(f"the gateway refused the WebSocket ({exc.response.status_code})") from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise GatewayUnreachable(self._describe(exc)) from exc
        try:
            hello = await asyncio.wait_for(self._handshake(ws, challenge_wait=timeout / 2), timeout)
        except BaseException as exc:
            await ws.close()
            if isinstance(exc, TimeoutError):
                url = self.endpoint.url
                raise GatewayUnreachable(f"no handshake from {url} within {timeout:.0f} s") from exc
            if isinstance(exc, ConnectionClosed):
                raise GatewayUnreachable(f"the gateway closed the connection ({exc})") from exc
            raise
        self._ws = ws
        self.hello = hello
        self.closed_reason = None
        self._reader = asyncio.get_running_loop().create_task(self._read(ws, hello), name="gateway-reader")
        return hello

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, ConnectionRefusedError):
            return f"nothing listens at {self.endpoint.url} (connection refused)"
        if isinstance(exc, TimeoutError):
            return f"{self.endpoint.url} did not answer"
        return self.endpoint.scrub(f"{self.endpoint.url}: {exc}")

    async def _handshake(self, ws: ClientConnection, challenge_wait: float) -> Hello:
        try:  # a gateway from before connect.challenge waits for us to speak first: not one we speak to
            first = json.loads(await asyncio.wait_for(ws.recv(), challenge_wait))
        except TimeoutError:
            first = None
        if not (isinstance(first, dict) and first.get("event") == "connect.challenge"):
            raise ConnectRefused("the gateway sent no connect.challenge (a gateway older than this protocol)")
        challenge = first.get("payload") or {}
        nonce, ts = challenge.get("nonce"), challenge.get("ts")
        if not isinstance(nonce, str) or not nonce or type(ts) is not int or ts < 0:
            raise ConnectRefused("the gateway's connect.challenge is malformed")
        await ws.send(json.dumps(self._connect_frame(nonce, ts)))
        while True:
            frame = json.loads(await ws.recv())
            if isinstance(frame, dict) and frame.get("type") == "res" and frame.get("id") == "connect":
                break
        if frame.get("ok") is not True:
            raise self._refusal(GatewayRpcError("connect", frame.get("error")))
        return self._hello(frame.get("payload"))

    def _connect_frame(self, nonce: str, ts: int) -> dict[str, Any]:
        token = self.endpoint.token
        auth: dict[str, str] = {}
        if token:
            auth["token"] = token
        if self.endpoint.password:
            auth["password"] = self.endpoint.password
        signature = self._identity.sign(
            device_auth_payload(
                device_id=self._identity.device_id, scopes=SCOPES, signed_at_ms=ts, token=token, nonce=nonce
            )
        )
        return {
            "type": "req",
            "id": "connect",
            "method": "connect",
            "params": {
                "minProtocol": PROTOCOL_MIN,
                "maxProtocol": PROTOCOL_MAX,
                "client": {
                    "id": CLIENT_ID,
                    "displayName": "CronMirror worker",
                    "version": __version__,
                    "platform": platform.system().lower() or "unknown",
                    "mode": CLIENT_MODE,
                },
                "role": ROLE,
                "scopes": list(SCOPES),
                "caps": [],
                "auth": auth,
                "device": {
                    "id": self._identity.device_id,
                    "publicKey": self._identity.public_key,
                    "signature": signature,
                    "signedAt": ts,
                    "nonce": nonce,
                },
            },
        }

    def _refusal(self, error: GatewayRpcError) -> ConnectRefused:
        """Why the gateway turned the connect down, in words for the source's listing."""
        code, message = error.detail_code, self.endpoint.scrub(error.message)
        details = error.details
        if code == "PROTOCOL_MISMATCH" or message == "protocol mismatch":
            expected = details.get("expectedProtocol", "another version")
            return ConnectRefused(
                f"the gateway speaks protocol {expected}; this worker speaks {PROTOCOL_MIN}-{PROTOCOL_MAX}"
            )
        if code.startswith("PAIRING") or error.code == "NOT_PAIRED" or "pairing required" in message:
            request = details.get("requestId")
            hint = (
                f" (request {request}: approve it with the gateway CLI's `devices approve`)"
                if request
                else ""
            )
            return ConnectRefused(f"pairing of this worker's device is pending{hint}")
        if message.startswith("unauthorized") or code.startswith("AUTH_"):
            return ConnectRefused(f"the gateway refused the credentials: {message}")
        if error.retryable or error.retry_after_ms is not None:
            retry = (error.retry_after_ms or 1000) / 1000
            return ConnectRefused(f"the gateway is not ready yet: {message}", retry_after=retry)
        return ConnectRefused(f"the gateway refused the connection: {message}")

    def _hello(self, payload: object) -> Hello:
        if not isinstance(payload, dict) or payload.get("type") != "hello-ok":
            raise ConnectRefused("the gateway's answer to connect is not hello-ok")
        features, auth = _object(payload.get("features")), _object(payload.get("auth"))
        server, policy = _object(payload.get("server")), _object(payload.get("policy"))
        methods = frozenset(m for m in features.get("methods") or () if isinstance(m, str))
        missing = [m for m in REQUIRED_METHODS if m not in methods]
        if missing:
            raise ConnectRefused(f"the gateway offers no {', '.join(missing)}")
        scopes = auth.get("scopes") if isinstance(auth.get("scopes"), list) else None
        tick = policy.get("tickIntervalMs")
        protocol = payload.get("protocol")
        return Hello(
            protocol=protocol if isinstance(protocol, int) else PROTOCOL_MIN,
            server_version=str(server.get("version") or "unknown"),
            methods=methods,
            events=frozenset(e for e in features.get("events") or () if isinstance(e, str)),
            scopes=tuple(str(s) for s in scopes) if scopes is not None else None,
            tick_ms=tick if isinstance(tick, int) and tick > 0 else DEFAULT_TICK_MS,
        )

    # -- calling --------------------------------------------------------------------------------------

    async def call(
        self,
        method: Method[P, R],
        params: P,
        *,
        timeout: float | None = CALL_TIMEOUT_S,  # noqa: ASYNC109 - the request's own deadline
    ) -> R:
        """One request, typed by its `Method`. Raises GatewayRpcError (the gateway said no),
        GatewayRpcTimeout (no answer in time; None waits forever) or GatewayDisconnected."""
        return cast(R, await self.call_raw(method.name, cast(Mapping[str, Any], params), timeout=timeout))

    async def call_raw(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = CALL_TIMEOUT_S,  # noqa: ASYNC109 - the request's own deadline
    ) -> Any:
        ws = self._ws
        if ws is None or not self.connected:
            raise GatewayDisconnected(self.closed_reason or "not connected")
        request_id = f"cm-{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        try:
            frame = {"type": "req", "id": request_id, "method": method, "params": dict(params or {})}
            try:
                await ws.send(json.dumps(frame))
            except ConnectionClosed as exc:
                raise GatewayDisconnected(f"the connection closed ({exc})") from exc
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError as exc:
                raise GatewayRpcTimeout(f"{method} did not answer within {timeout:.0f} s") from exc
        finally:
            self._pending.pop(request_id, None)

    # -- reading --------------------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection, hello: Hello) -> None:
        silence = 2 * hello.tick_ms / 1000 + 5
        reason = "closed"
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), silence)
                except TimeoutError:
                    reason = f"the gateway was silent for {silence:.0f} s"
                    break
                self._dispatch(raw)
        except ConnectionClosed as exc:
            reason = f"the gateway closed the connection ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except asyncio.CancelledError:
            reason = "closed by the worker"
            raise
        finally:
            self._finish(reason)
            with contextlib.suppress(Exception):
                await ws.close()

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("the gateway sent a frame that is not JSON (%d bytes); ignored", len(raw))
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == "res":
            method, future = self._pending.get(str(frame.get("id")), ("", None))
            if future is None or future.done():
                return
            if frame.get("ok") is True:
                future.set_result(frame.get("payload"))
            else:
                future.set_exception(GatewayRpcError(method, frame.get("error")))
        elif frame.get("type") == "event" and self._on_event is not None:
            payload = frame.get("payload")
            try:
                self._on_event(str(frame.get("event")), payload if isinstance(payload, dict) else {})
            except Exception:
                log.exception("handling the gateway event %r failed", frame.get("event"))

    def _finish(self, reason: str) -> None:
        self._ws = None
        self.closed_reason = reason
        for _, future in self._pending.values():
            if not future.done():
                future.set_exception(GatewayDisconnected(reason))
                future.exception()  # retrieved here: a call that gave up waiting must not warn later
        self._pending.clear()
        if self._on_closed is not None:
            try:
                self._on_closed(reason)
            except Exception:
                log.exception("on_closed failed")

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        ws, self._ws = self._ws, None
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
