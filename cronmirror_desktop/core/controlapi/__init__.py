"""Client for the ClawdOS Control API on the Mac mini, as it really answers.

The Control API (`server/index.mjs` of the ClawdOS web project, default port 3737) is a thin HTTP layer
over the gateway CLI (`openclaw`/`clawdbot`). What it says, and what that means:

- `GET /api/status` → `{online, activeSessions, mainSessions, lastUpdated, port, environment, projectId,
  workspace}`: our health check (2 s).
- `GET /api/cron` → a bare array of the **enabled** jobs only (it runs `cron list` without `--all`). It is
  not the whole truth: the Supabase mirror is. `nextRun` may be `""`; `tz`, `nextRunAtMs`,
  `lastRunStatus` may be null.
- `POST /api/cron/{id}/run` → `{"ok":true}` when the CLI **exited 0**, which is not "the job ran": on
  ClawdBot 2026.1.x a job that is not due is silently skipped (the server does not pass `--force`). So
  `run_job()` returns `RunRequested`, and `confirm_run()` watches `GET /api/cron/{id}/runs` (or a check the
  caller supplies, e.g. the mirror's `last_run_at`) for a run that started after the request.
- A CLI failure is HTTP 500 `{"ok":false,"error":"Command failed: <bin> <args>\\n<stderr>"}`: we raise
  `CommandFailed` whose message is the CLI's stderr line, never the server's command line or paths.
- JSON arrives with `Transfer-Encoding: chunked`; unknown routes answer 404
  `{"ok":false,"error":"not_found"}`.

Every failure is one of `core.errors`: `Unreachable` (refused, DNS, timeout, dropped connection, or an
answer that is not this API, such as an HTML page), `AuthFailed` (401/403), `NotFound`, `CommandFailed`.
The token is sent as a bearer header and never logged or shown.
"""

from cronmirror_desktop.core.controlapi.client import (
    CLOCK_SLACK_MS,
    CONFIRM_INTERVAL_S,
    CONFIRM_TIMEOUT_S,
    DEFAULT_PORT,
    HEALTH_TIMEOUT_S,
    PROJECT_HEADER,
    REQUEST_TIMEOUT_S,
    RUNS_LIMIT_MAX,
    ControlApiClient,
    RunCheck,
)
from cronmirror_desktop.core.controlapi.errors import command_error
from cronmirror_desktop.core.controlapi.models import (
    ControlApiJob,
    ControlApiStatus,
    Health,
    RunConfirmation,
    RunEntry,
    RunRequested,
)

__all__ = [
    "CLOCK_SLACK_MS",
    "CONFIRM_INTERVAL_S",
    "CONFIRM_TIMEOUT_S",
    "DEFAULT_PORT",
    "HEALTH_TIMEOUT_S",
    "PROJECT_HEADER",
    "REQUEST_TIMEOUT_S",
    "RUNS_LIMIT_MAX",
    "ControlApiClient",
    "ControlApiJob",
    "ControlApiStatus",
    "Health",
    "RunCheck",
    "RunConfirmation",
    "RunEntry",
    "RunRequested",
    "command_error",
]
