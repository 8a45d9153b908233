"""A loopback stand-in for an OpenAI-compatible model server, so a gateway's agent jobs can run offline.

`POST /v1/chat/completions` (streamed or not) answers "model-reply: ok". The last user message steers it:
`DELAY=<seconds>` makes the answer wait that long (a slow job), `FAIL` answers HTTP 500 (a failed job).
`GET /v1/models` lists one model. Standard library only (it runs inside the gateway's network namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any

REPLY = "model-reply: ok"
_DELAY = re.compile(r"DELAY=(\d+(?:\.\d+)?)")


async def serve_model(host: str, port: int) -> asyncio.Server:
    return await asyncio.start_server(_handle, host=host, port=port)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await _read_request(reader)
            if request is None:
                break
            method, path, body = request
            await _answer(writer, method, path, body)
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return method, path, body


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content)
    return ""


async def _answer(writer: asyncio.StreamWriter, method: str, path: str, raw: bytes) -> None:
    if method == "GET" and path.rstrip("/").endswith("/models"):
        _send_json(writer, 200, {"object": "list", "data": [{"id": "slow-model", "object": "model"}]})
        await writer.drain()
        return
    if not (method == "POST" and path.rstrip("/").endswith("/chat/completions")):
        _send_json(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        await writer.drain()
        return
    body = json.loads(raw or b"{}")
    text = _last_user_text(body)
    delay = _DELAY.search(text)
    if delay:
        await asyncio.sleep(float(delay.group(1)))
    if "FAIL" in text:
        _send_json(writer, 500, {"error": {"message": "stand-in model failure (FAIL requested)"}})
        await writer.drain()
        return
    model = body.get("model") or "slow-model"
    created = int(time.time())
    usage = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    if not body.get("stream"):
        message = {"role": "assistant", "content": REPLY}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        _send_json(
            writer,
            200,
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [choice],
                "usage": usage,
            },
        )
        await writer.drain()
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"connection: close\r\n\r\n"
    )
    chunks = [
        {"index": 0, "delta": {"role": "assistant", "content": REPLY}, "finish_reason": None},
        {"index": 0, "delta": {}, "finish_reason": "stop"},
    ]
    for number, choice in enumerate(chunks):
        chunk: dict[str, Any] = {
            "id": "cmpl-1",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
        }
        if number == len(chunks) - 1:
            chunk["usage"] = usage
        writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    writer.write(b"data: [DONE]\n\n")
    await writer.drain()
    writer.close()


def _send_json(writer: asyncio.StreamWriter, status: int, payload: object) -> None:
    data = json.dumps(payload).encode()
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(status, "OK")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
        "\r\n".encode()
        + data
    )
