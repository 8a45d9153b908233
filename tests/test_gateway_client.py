"""The native gateway client against frames captured from the real gateways (tests/fakes/gateway_ws.py).

The handshake is checked the way the gateways check it (the device id is the key's SHA-256, the signature
verifies over the v2 payload); refusals and errors are the gateways' own frames.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.fakes.gateway_ws import TOKEN, FrameServer
from worker.sources.gateway_client import ConnectRefused, GatewayClient, GatewayUnreachable
from worker.sources.gateway_device import load_or_create
from worker.sources.gateway_protocol import (
    CRON_RUN,
    CRON_RUNS,
    GatewayDisconnected,
    GatewayRpcError,
    GatewayRpcTimeout,
    device_auth_payload,
)

KINDS = ["openclaw", "clawdbot"]


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_for(server: FrameServer, tmp_path: Path, **kwargs: Any) -> GatewayClient:
    return GatewayClient(server.endpoint(), load_or_create(tmp_path / "device.json"), **kwargs)


async def test_the_handshake_signs_the_challenge_and_negotiates_the_protocol(
    kind: str, tmp_path: Path
) -> None:
    async with FrameServer(kind) as server:
        client = client_for(server, tmp_path)
        hello = await client.connect()
        await client.close()
    assert hello.protocol == (4 if kind == "openclaw" else 3)
    assert {"cron.list", "cron.run", "cron.runs", "cron.update"} <= hello.methods
    assert "cron" in hello.events
    assert hello.scopes is not None
    assert set(hello.scopes) == {"operator.read", "operator.admin"}
    (connect,) = server.received
    params = connect["params"]
    assert (params["minProtocol"], params["maxProtocol"]) == (3, 4)
    assert (params["client"]["id"], params["client"]["mode"], params["role"]) == (
        "gateway-client",
        "backend",
        "operator",
    )
    assert params["scopes"] == ["operator.read", "operator.admin"]
    assert params["auth"] == {"token": TOKEN}
    device, challenge = params["device"], server.frames["challenge"]["payload"]
    raw = unb64(device["publicKey"])
    assert device["id"] == hashlib.sha256(raw).hexdigest()
    assert (device["nonce"], device["signedAt"]) == (challenge["nonce"], challenge["ts"])
    payload = device_auth_payload(
        device_id=device["id"], scopes=("operator.read", "operator.admin"), signed_at_ms=challenge["ts"],
        token=TOKEN, nonce=challenge["nonce"],
    )  # fmt: skip
    assert payload.startswith(
        f"v2|{device['id']}|gateway-client|backend|operator|operator.read,operator.admin|"
    )
    Ed25519PublicKey.from_public_bytes(raw).verify(
        unb64(device["signature"]), payload.encode()
    )  # raises if bad


@pytest.mark.parametrize(
    ("kind", "captured", "expected"),
    [
        (
            "openclaw",
            "refused_token",
            "the gateway refused the credentials: unauthorized: gateway token mismatch",
        ),
        (
            "clawdbot",
            "refused_token",
            "the gateway refused the credentials: unauthorized: gateway token mismatch",
        ),
        ("clawdbot", "from_untrusted_proxy", "pairing of this worker's device is pending (request "),
    ],
)
async def test_refusals_say_why(kind: str, captured: str, expected: str, tmp_path: Path) -> None:
    async with FrameServer(kind) as server:
        server.connect_reply = server.frames[captured]
        with pytest.raises(ConnectRefused) as refused:
            await client_for(server, tmp_path).connect()
    assert refused.value.reason.startswith(expected)
    assert refused.value.retry_after is None


async def test_a_gateway_on_a_newer_protocol_is_named(kind: str, tmp_path: Path) -> None:
    async with FrameServer(kind) as server:
        reply = server.frames["refused_protocol"]
        reply["error"]["details"]["expectedProtocol"] = 5  # the real refusal, from a gateway one version on
        server.connect_reply = reply
        with pytest.raises(ConnectRefused) as refused:
            await client_for(server, tmp_path).connect()
    assert refused.value.reason == "the gateway speaks protocol 5; this worker speaks 3-4"


async def test_an_upgrade_refused_over_http_and_a_gateway_without_a_challenge_are_refusals(
    tmp_path: Path,
) -> None:
    async with FrameServer("openclaw") as server:
        server.http_status = 403  # what OpenClaw answers a connection from behind an untrusted proxy
        with pytest.raises(ConnectRefused, match=r"^the gateway refused the WebSocket \(403\)$"):
            await client_for(server, tmp_path).connect()
    async with FrameServer("clawdbot") as server:
        server.send_challenge = False
        with pytest.raises(ConnectRefused, match=r"sent no connect\.challenge"):
            await client_for(server, tmp_path).connect(timeout=3)


async def test_a_gateway_without_cron_methods_is_a_refusal(tmp_path: Path) -> None:
    async with FrameServer("openclaw") as server:
        methods = server.connect_reply["payload"]["features"]["methods"]
        methods[:] = [m for m in methods if m != "cron.runs"]
        with pytest.raises(ConnectRefused, match=r"^the gateway offers no cron.runs$"):
            await client_for(server, tmp_path).connect()


async def test_nothing_listening_is_unreachable_not_a_refusal(tmp_path: Path) -> None:
    async with FrameServer("openclaw") as server:
        endpoint = server.endpoint()
    client = GatewayClient(endpoint, load_or_create(tmp_path / "device.json"))
    with pytest.raises(GatewayUnreachable, match="connection refused"):
        await client.connect()


async def test_calls_get_their_own_answers_and_the_gateways_errors(kind: str, tmp_path: Path) -> None:
    async with FrameServer(kind) as server:
        server.answer_with("cron.run", "run_unknown_id")
        server.answer_with("cron.runs", "runs_answer")
        client = client_for(server, tmp_path)
        await client.connect()
        runs, unknown = await asyncio.gather(
            client.call(CRON_RUNS, {"id": "x"}),
            client.call(CRON_RUN, {"id": "00000000-0000-0000-0000-000000000000"}),
            return_exceptions=True,
        )
        assert isinstance(runs, dict)
        assert runs["entries"] == server.frames["runs_answer"]["payload"]["entries"]
        assert isinstance(unknown, GatewayRpcError)
        assert unknown.unknown_job
        assert unknown.method == "cron.run"
        server.answer_with("cron.run", "run_missing_scope")
        with pytest.raises(GatewayRpcError) as missing:
            await client.call(CRON_RUN, {"id": "x"})
        assert missing.value.missing_scope
        assert not missing.value.unknown_job
        await client.close()


async def test_events_reach_the_listener_in_order(kind: str, tmp_path: Path) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    async with FrameServer(kind) as server:
        client = client_for(server, tmp_path, on_event=lambda name, payload: events.append((name, payload)))
        await client.connect()
        for frame in server.frames["cron_events"]:
            await server.push(frame)
        for _ in range(200):
            if len(events) == 4:
                break
            await asyncio.sleep(0.01)
        await client.close()
    assert [(name, payload["action"]) for name, payload in events] == [
        ("cron", "added"), ("cron", "started"), ("cron", "finished"), ("cron", "removed"),
    ]  # fmt: skip


async def test_a_gateway_that_goes_away_fails_pending_calls_and_says_so(kind: str, tmp_path: Path) -> None:
    closed: list[str] = []
    async with FrameServer(kind) as server:

        async def never(method: str, params: dict[str, Any]) -> None:
            return None

        server.handlers["cron.run"] = never
        client = client_for(server, tmp_path, on_closed=closed.append)
        await client.connect()
        pending = asyncio.ensure_future(client.call(CRON_RUN, {"id": "x"}))
        await server.wait_for_request("cron.run")
        await server.drop_connections()
        with pytest.raises(GatewayDisconnected):
            await pending
        assert not client.connected
        assert closed
        assert closed[0].startswith("the gateway closed the connection")
        with pytest.raises(GatewayDisconnected):
            await client.call(CRON_RUN, {"id": "x"})


async def test_a_silent_gateway_is_dropped_after_two_ticks_and_a_slow_call_times_out(tmp_path: Path) -> None:
    closed: list[str] = []
    async with FrameServer("openclaw") as server:
        server.connect_reply["payload"]["policy"]["tickIntervalMs"] = 100  # silence limit: 2 ticks + 5 s

        async def never(method: str, params: dict[str, Any]) -> None:
            return None

        server.handlers["cron.run"] = never
        client = client_for(server, tmp_path, on_closed=closed.append)
        await client.connect()
        with pytest.raises(GatewayRpcTimeout):
            await client.call(CRON_RUN, {"id": "x"}, timeout=0.2)
        for _ in range(700):
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed == ["the gateway was silent for 5 s"]
