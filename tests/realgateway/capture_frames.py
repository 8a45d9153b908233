"""Capture real WebSocket frames from both gateways into tests/fakes/gateway_frames.json.

    .venv/bin/python -m tests.realgateway.capture_frames

The frame-replaying fake in tests/test_gateway_client.py sends these, so the client's unit tests see what
the real gateways send (challenge, hello-ok, refusals, errors, cron events), not what we imagine. Needs
scripts/install-gateways; takes about a minute. Tokens, nonces and keys in the output are the throwaway
ones of this run.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.realgateway.harness import KINDS, RealGateway

OUT = Path(__file__).resolve().parents[1] / "fakes" / "gateway_frames.json"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _connect(
    gw: RealGateway,
    *,
    scopes: list[str],
    token: str | None = None,
    protocols: tuple[int, int] = (3, 4),
    headers: dict[str, str] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """A raw handshake; returns the socket (None if refused) and every frame received."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    device_id = hashlib.sha256(raw).hexdigest()
    token = gw.token if token is None else token
    frames: list[dict[str, Any]] = []
    ws = await websockets.connect(gw.url, max_size=None, additional_headers=headers)
    challenge = json.loads(await ws.recv())
    frames.append(challenge)
    nonce, ts = challenge["payload"]["nonce"], challenge["payload"]["ts"]
    payload = "|".join(
        ["v2", device_id, "gateway-client", "backend", "operator", ",".join(scopes), str(ts), token, nonce]
    )
    params = {
        "minProtocol": protocols[0],
        "maxProtocol": protocols[1],
        "client": {"id": "gateway-client", "version": "0.1.0", "platform": "linux", "mode": "backend"},
        "role": "operator",
        "scopes": scopes,
        "auth": {"token": token},
        "device": {
            "id": device_id,
            "publicKey": _b64url(raw),
            "signature": _b64url(key.sign(payload.encode())),
            "signedAt": ts,
            "nonce": nonce,
        },
    }
    await ws.send(json.dumps({"type": "req", "id": "connect", "method": "connect", "params": params}))
    while True:
        frame = json.loads(await ws.recv())
        frames.append(frame)
        if frame.get("type") == "res":
            break
    if not frames[-1].get("ok"):
        await ws.close()
        return None, frames
    return ws, frames


async def _call(ws: Any, method: str, params: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    request_id = f"r-{method}-{len(events)}"
    await ws.send(json.dumps({"type": "req", "id": request_id, "method": method, "params": params}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == "res" and frame.get("id") == request_id:
            return frame  # type: ignore[no-any-return]
        if frame.get("event") == "cron":
            events.append(frame)


async def _capture(gw: RealGateway) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ws, frames = await _connect(gw, scopes=["operator.read", "operator.admin"])
    out["challenge"], out["hello_ok"] = frames[0], frames[-1]
    _, frames = await _connect(gw, scopes=["operator.read"], token="not-the-token")
    out["refused_token"] = frames[-1]
    wrong = (3, 3) if gw.kind == "openclaw" else (4, 4)
    _, frames = await _connect(gw, scopes=["operator.read"], protocols=wrong)
    out["refused_protocol"] = frames[-1]
    reader, _ = await _connect(gw, scopes=["operator.read"])
    events: list[dict[str, Any]] = []
    out["run_missing_scope"] = await _call(reader, "cron.run", {"id": "nope"}, events)
    await reader.close()
    out["run_unknown_id"] = await _call(
        ws, "cron.run", {"id": "00000000-0000-0000-0000-000000000000"}, events
    )
    if gw.kind == "openclaw":
        job = gw.add_job("--name", "Frames", "--every", "1h", "--no-deliver", "--command", "echo hi")
    else:
        job = gw.add_job("--name", "Frames", "--every", "1h", "--session", "isolated", "--message", "Say hi.")
    out["run_answer"] = await _call(ws, "cron.run", {"id": job["id"], "mode": "force"}, events)
    out["runs_answer"] = await _call(ws, "cron.runs", {"id": job["id"], "limit": 5}, events)
    gw.cli("cron", "rm", job["id"])
    for _ in range(50):
        if any(e["payload"].get("action") == "removed" for e in events):
            break
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
        except TimeoutError:
            continue
        if frame.get("event") == "cron":
            events.append(frame)
    out["cron_events"] = [e for e in events if e["payload"].get("jobId") == job["id"]]
    await ws.close()
    try:
        _, frames = await _connect(gw, scopes=["operator.read"], headers={"X-Forwarded-For": "203.0.113.9"})
        out["from_untrusted_proxy"] = frames[-1]
    except websockets.exceptions.InvalidStatus as exc:
        out["from_untrusted_proxy"] = {"httpStatus": exc.response.status_code}
    return out


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="capture-frames-"))
    gateways = {kind: RealGateway.create(kind, root / kind) for kind in KINDS}
    try:
        for gateway in gateways.values():
            gateway.start()
        captured = {}
        for kind, gateway in gateways.items():
            gateway.wait_ready()
            captured[kind] = asyncio.run(_capture(gateway))
        OUT.write_text(json.dumps(captured, indent=1, sort_keys=True) + "\n")
        print(f"wrote {OUT}")
    finally:
        for gateway in gateways.values():
            gateway.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
