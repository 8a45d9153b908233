"""Rows exactly as ClawdOS's Node worker (`scripts/cron-mirror.mjs`) writes them, sent as supabase-js does.

From `shared/docs/clawdos-interop.md` §2: `instructions` = `payload.message` only, cut to 2000 characters
(a systemEvent's text becomes NULL); `target_agent_key` = the job's `sessionTarget` or `agent:main:main`;
`schedule_expr` = the cron expression, `String(everyMs)`, or NULL for `at` jobs; times ISO from the `state`
milliseconds; plus the `__mirror_state__` fingerprint row. Run requests go `queued` → `running` →
`done`/`error` without `picked_up_at`/`completed_at`, with `result = {jobId, exitCode, durationMs,
stdoutTail, stderrTail}`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.supastack import Supastack


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mirror_row(project: str, job: dict[str, Any]) -> dict[str, Any]:
    schedule = job["schedule"]
    expr = schedule.get("expr") if schedule["kind"] == "cron" else None
    if schedule["kind"] == "every":
        expr = str(schedule["everyMs"])
    state = job.get("state", {})
    message = job.get("payload", {}).get("message")
    return {
        "project_id": project,
        "job_id": job["id"],
        "name": job["name"],
        "schedule_kind": schedule["kind"],
        "schedule_expr": expr,
        "tz": schedule.get("tz"),
        "enabled": job["enabled"],
        "next_run_at": _iso(state.get("nextRunAtMs")),
        "last_run_at": _iso(state.get("lastRunAtMs")),
        "last_status": state.get("lastStatus"),
        "last_duration_ms": state.get("lastDurationMs"),
        "instructions": message[:2000] if message else None,
        "target_agent_key": job.get("sessionTarget") or "agent:main:main",
    }


def fingerprint_row(project: str, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    digest = hashlib.sha1(repr(sorted(j["id"] for j in jobs)).encode()).hexdigest()[:8]  # noqa: S324
    return {
        "project_id": project,
        "job_id": "__mirror_state__",
        "name": "mirror state (do not delete)",
        "schedule_kind": "state",
        "schedule_expr": digest,
        "tz": None,
        "enabled": False,
        "next_run_at": None,
        "last_run_at": None,
        "last_status": None,
        "last_duration_ms": None,
        "instructions": None,
        "target_agent_key": None,
    }


def js_client(stack: Supastack) -> httpx.Client:
    """supabase-js 2.93.3 from Node with the service-role key, as their worker runs."""
    key = stack.service_role_key
    return httpx.Client(
        base_url=stack.rest_url,
        headers={"apikey": key, "Authorization": f"Bearer {key}", "X-Client-Info": "supabase-js-node/2.93.3"},
        timeout=10,
    )


def mirror_like_clawdos(stack: Supastack, project: str, gateway_jobs: list[dict[str, Any]]) -> None:
    """Their sync: bulk upsert with quoted columns and no `return=`, then delete what the gateway dropped."""
    payload = [mirror_row(project, job) for job in gateway_jobs] + [fingerprint_row(project, gateway_jobs)]
    columns = ",".join(f'"{c}"' for c in payload[0])
    with js_client(stack) as http:
        answer = http.post(
            "/cron_mirror",
            params={"on_conflict": "project_id,job_id", "columns": columns},
            json=payload,
            headers={"Prefer": "resolution=merge-duplicates"},
        )
        answer.raise_for_status()
        keep = ",".join(f'"{row["job_id"]}"' for row in payload)
        http.delete(
            "/cron_mirror", params={"project_id": f"eq.{project}", "job_id": f"not.in.({keep})"}
        ).raise_for_status()


def run_like_clawdos(
    stack: Supastack, request_id: str, job_id: str, *, exit_code: int, stdout: str = "", stderr: str = ""
) -> None:
    """Their queue poller: `running`, then `done`/`error` with their result shape; no timestamps, no lease."""
    with js_client(stack) as http:
        http.patch(
            "/cron_run_requests", params={"id": f"eq.{request_id}"}, json={"status": "running"}
        ).raise_for_status()
        result = {
            "jobId": job_id,
            "exitCode": exit_code,
            "durationMs": 812,
            "stdoutTail": stdout[-4000:],
            "stderrTail": stderr[-4000:],
        }
        http.patch(
            "/cron_run_requests",
            params={"id": f"eq.{request_id}"},
            json={"status": "done" if exit_code == 0 else "error", "result": result},
        ).raise_for_status()
