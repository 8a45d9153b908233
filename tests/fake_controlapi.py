"""A local HTTP server that answers exactly like the ClawdOS Control API (`server/index.mjs`).

Shapes and behaviour from `../shared/docs/clawdos-interop.md` §1: bodies sent with `Transfer-Encoding:
chunked` (written in two pieces here, so the client must reassemble them), CORS headers on every answer,
`OPTIONS` → 204, unknown routes → 404 `{"ok":false,"error":"not_found"}`, the project taken from
`x-clawdos-project` (default `front-office`), `GET /api/cron` a bare array of the enabled jobs only, CLI
failures → 500 `{"ok":false,"error":"Command failed: <bin> <args>\\n<stderr>"}`.

Two gateway variants behind it:

- `clawdbot` (ClawdBot 2026.1.x): `cron run` without `--force` runs only a *due* job (blocking until it
  finishes); a job that is not due is skipped and the server still answers `{"ok":true}`.
- `openclaw` (OpenClaw ≥ 2026.2.6): force is the default; the run is enqueued and logged when it finishes.

The server's clock can be shifted (`clock_offset_ms`) to play a Mac mini whose clock differs from ours: it
then also sends a matching `Date` header, as Node does.

Also here: `raw_server()`, a TCP server that answers with whatever bytes a test gives it (garbage, a
response cut off mid-chunk, nothing at all).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import web

BIN = {"clawdbot": "/opt/homebrew/bin/clawdbot", "openclaw": "/opt/homebrew/bin/openclaw"}
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET,POST,OPTIONS",
    "access-control-allow-headers": "content-type,x-clawdos-project",
}


@dataclass
class FakeJob:
    id: str
    name: str
    enabled: bool = True
    due: bool = False
    schedule_kind: str = "every"
    schedule_expr: str | None = "1800000"
    tz: str | None = None
    next_run_at_ms: int | None = 1769454000123
    last_run_status: str | None = "ok"
    instructions: str | None = "Check for urgent email and flag it."
    target_agent_key: str | None = "agent:main:main"

    def as_listed(self) -> dict[str, Any]:
        """Exactly the keys the Control API's `GET /api/cron` gives (in its order)."""
        next_run = ""
        if self.next_run_at_ms is not None:
            next_run = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.next_run_at_ms / 1000))
            next_run += f".{self.next_run_at_ms % 1000:03d}Z"
        return {
            "id": self.id,
            "name": self.name,
            "enabled": self.enabled,
            "scheduleKind": self.schedule_kind,
            "scheduleExpr": self.schedule_expr,
            "tz": self.tz,
            "nextRun": next_run,
            "nextRunAtMs": self.next_run_at_ms,
            "lastRunStatus": self.last_run_status,
            "instructions": self.instructions,
            "targetAgentKey": self.target_agent_key,
        }


@dataclass
class FakeControlApi:
    variant: str = "openclaw"
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: How long a run takes; on clawdbot the run request blocks this long.
    run_duration_s: float = 0.05
    #: Seconds to wait before answering, per route name ("status", "list", "run", "runs").
    delays: dict[str, float] = field(default_factory=dict)
    #: When set, the next CLI call fails with this stderr (HTTP 500 "Command failed: ...").
    cli_stderr: str | None = None
    clock_offset_ms: int = 0
    #: Answer every request with this (status, content type, body) instead, e.g. an HTML page.
    override: tuple[int, str, bytes] | None = None
    #: A proxy in front that wants this bearer token (the real server checks none on these routes).
    required_token: str | None = None
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def add_job(self, job: FakeJob) -> FakeJob:
        self.jobs[job.id] = job
        return job

    def log_run(self, job_id: str, started_ms: int, status: str = "ok", **extra: Any) -> dict[str, Any]:
        """Append a run-log line shaped like ClawdBot's `runs/<jobId>.jsonl` (clawdbot-cron.md §3)."""
        entry = {
            "ts": max(started_ms, self.now_ms()),
            "jobId": job_id,
            "action": "finished",
            "status": status,
            "summary": "Check for urgent email and flag it.",
            "runAtMs": started_ms,
            "durationMs": max(0, self.now_ms() - started_ms),
            "nextRunAtMs": started_ms + 1_800_000,
            **extra,
        }
        self.runs.setdefault(job_id, []).append(entry)
        return entry

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> FakeControlApi:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- HTTP ---------------------------------------------------------------------------------------

    async def _send(self, request: web.Request, status: int, body: Any) -> web.StreamResponse:
        """Like Node's `res.writeHead(...); res.end(JSON.stringify(body))`: chunked, with CORS."""
        response = web.StreamResponse(status=status, headers=CORS)
        response.content_type = "application/json"
        response.charset = "utf-8"
        response.headers["Date"] = formatdate(self.now_ms() / 1000, usegmt=True)
        response.enable_chunked_encoding()
        await response.prepare(request)
        payload = json.dumps(body, separators=(",", ":")).encode()
        middle = len(payload) // 2
        await response.write(payload[:middle])
        await response.write(payload[middle:])
        await response.write_eof()
        return response

    async def _cli_failure(self, request: web.Request, args: str) -> web.StreamResponse | None:
        if self.cli_stderr is None:
            return None
        stderr, self.cli_stderr = self.cli_stderr, None
        return await self._send(
            request, 500, {"ok": False, "error": f"Command failed: {BIN[self.variant]} {args}\n{stderr}"}
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        if self.override is not None:
            status, content_type, body = self.override
            return web.Response(status=status, body=body, content_type=content_type)
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=CORS)
        if self.required_token and request.headers.get("authorization") != f"Bearer {self.required_token}":
            return await self._send(request, 401, {"ok": False, "error": "unauthorized"})
        path = request.path
        parts = path.strip("/").split("/")
        if request.method == "GET" and path == "/api/status":
            await asyncio.sleep(self.delays.get("status", 0))
            return await self._send(request, 200, self._status(request))
        if request.method == "GET" and path == "/api/cron":
            await asyncio.sleep(self.delays.get("list", 0))
            if failed := await self._cli_failure(request, "cron list --json --timeout 60000"):
                return failed
            return await self._send(
                request, 200, [job.as_listed() for job in self.jobs.values() if job.enabled]
            )
        if (
            len(parts) == 4
            and parts[:2] == ["api", "cron"]
            and parts[3] == "run"
            and request.method == "POST"
        ):
            return await self._run(request, request.match_info["tail"].split("/")[2])
        if (
            len(parts) == 4
            and parts[:2] == ["api", "cron"]
            and parts[3] == "runs"
            and request.method == "GET"
        ):
            await asyncio.sleep(self.delays.get("runs", 0))
            job_id = request.match_info["tail"].split("/")[2]
            limit = max(1, min(200, int(request.query.get("limit") or "25")))
            if failed := await self._cli_failure(
                request, f'cron runs --id "{job_id}" --limit "{limit}" --timeout 60000'
            ):
                return failed
            return await self._send(request, 200, {"entries": self.runs.get(job_id, [])[-limit:]})
        if (
            len(parts) == 4
            and parts[:2] == ["api", "cron"]
            and parts[3] in ("enable", "disable")
            and request.method == "POST"
        ):
            return await self._toggle(request, request.match_info["tail"].split("/")[2], parts[3])
        return await self._send(request, 404, {"ok": False, "error": "not_found"})

    async def _toggle(self, request: web.Request, job_id: str, action: str) -> web.StreamResponse:
        """`cron enable|disable "<id>" --timeout 60000`, then `{"ok": true, "enabled": …}` (index.mjs)."""
        await asyncio.sleep(self.delays.get(action, 0))
        args = f'cron {action} "{job_id}" --timeout 60000'
        if failed := await self._cli_failure(request, args):
            return failed
        job = self.jobs.get(job_id)
        if job is None:
            stderr = f"Error: Error: unknown cron job id: {job_id}\n"
            return await self._send(
                request, 500, {"ok": False, "error": f"Command failed: {BIN[self.variant]} {args}\n{stderr}"}
            )
        job.enabled = action == "enable"
        return await self._send(request, 200, {"ok": True, "enabled": job.enabled})

    def _status(self, request: web.Request) -> dict[str, Any]:
        return {
            "online": True,
            "activeSessions": None,
            "mainSessions": 1,
            "lastUpdated": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.now_ms() / 1000)),
            "port": 3737,
            "environment": "local",
            "projectId": request.headers.get("x-clawdos-project") or "front-office",
            "workspace": "/Users/trunks/clawd",
        }

    async def _run(self, request: web.Request, job_id: str) -> web.StreamResponse:
        await asyncio.sleep(self.delays.get("run", 0))
        args = f'cron run "{job_id}" --timeout 60000'
        if failed := await self._cli_failure(request, args):
            return failed
        job = self.jobs.get(job_id)
        if job is None:
            stderr = f"Error: unknown cron job id: {job_id}\n"
            return await self._send(
                request, 500, {"ok": False, "error": f"Command failed: {BIN[self.variant]} {args}\n{stderr}"}
            )
        started = self.now_ms()
        if self.variant == "clawdbot":
            if job.due:  # runs, and the CLI blocks until it finished
                await asyncio.sleep(self.run_duration_s)
                self.log_run(job_id, started)
            # not due: the CLI printed {"ok":true,"ran":false,"reason":"not-due"} and exited 0
            return await self._send(request, 200, {"ok": True})
        task = asyncio.ensure_future(self._finish_later(job_id, started))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await self._send(request, 200, {"ok": True})

    async def _finish_later(self, job_id: str, started: int) -> None:
        await asyncio.sleep(self.run_duration_s)
        self.log_run(job_id, started)


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def raw_server(answer: bytes | None, *, close: bool = True) -> tuple[asyncio.Server, str]:
    """A server that reads one request head, writes `answer` (None: nothing), and closes (or hangs up
    only when the client does). Returns the server and its base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if answer is not None:
                writer.write(answer)
                await writer.drain()
            if not close:
                await reader.read()  # until the client goes away
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"
