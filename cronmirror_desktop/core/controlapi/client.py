"""`ControlApiClient`: health, jobs, run, run log and run confirmation over one Control API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from cronmirror_desktop import __version__ as _app_version
from cronmirror_desktop.core.controlapi.errors import command_error, connect_failure
from cronmirror_desktop.core.controlapi.models import (
    ControlApiJob,
    ControlApiStatus,
    Health,
    RunConfirmation,
    RunEntry,
    RunRequested,
)
from cronmirror_desktop.core.errors import AuthFailed, CommandFailed, CronMirrorError, NotFound, Unreachable
from cronmirror_desktop.core.fields import bool_or_none as _bool
from cronmirror_desktop.core.fields import text_or_none as _str
from cronmirror_desktop.core.timeutil import utc_from_ms as _from_ms
from cronmirror_desktop.core.urls import normalize_base_url, redact_url

if TYPE_CHECKING:
    from cronmirror_desktop.core.config import EffectiveConfig

log = logging.getLogger(__name__)

PROJECT_HEADER = "x-clawdos-project"
DEFAULT_PORT = 3737
HEALTH_TIMEOUT_S = 2.0
#: The server waits up to 60-65 s for its CLI (`--timeout 60000`), so anything shorter cuts off real answers.
REQUEST_TIMEOUT_S = 75.0
CONFIRM_TIMEOUT_S = 60.0
CONFIRM_INTERVAL_S = 2.0
#: Without the server's Date header, a run this much older than our clock's request time still counts.
CLOCK_SLACK_MS = 2_000
RUNS_LIMIT_MAX = 200

_NOT_JSON = object()

#: A caller's own evidence of the latest run (epoch ms or an aware datetime), e.g. the mirror's
#: `last_run_at`; None while there is none.
RunCheck: TypeAlias = Callable[[], Awaitable[datetime | int | float | None]]


class ControlApiClient:
    """Async client for one Control API. Share the app's `httpx.AsyncClient` by passing it in (it is then
    not closed here); otherwise one is created and closed by `aclose()` / `async with`."""

    def __init__(
        self,
        base_url: str,
        *,
        project: str | None = None,
        token: str | SecretStr | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = REQUEST_TIMEOUT_S,
        health_timeout: float = HEALTH_TIMEOUT_S,
    ) -> None:
        self.base_url = normalize_base_url(base_url, what="The Control API URL", strip_suffixes=("/api",))
        self.project = project
        self._token = token if isinstance(token, SecretStr) or token is None else SecretStr(token)
        if self._token is not None and not self._token.get_secret_value().strip():
            self._token = None
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()
        self.timeout = timeout
        self.health_timeout = health_timeout

    @classmethod
    def from_config(
        cls, config: EffectiveConfig, *, client: httpx.AsyncClient | None = None
    ) -> ControlApiClient:
        """The client the effective configuration describes; `NotConfigured` when it has no usable URL."""
        token = config.control_api_token.value if config.control_api_token.usable else None
        return cls(config.control_api_url_or_raise(), project=config.project_id, token=token, client=client)

    def for_project(self, project: str | None) -> ControlApiClient:
        """The same API and connection pool, another `x-clawdos-project`."""
        other = ControlApiClient(
            self.base_url,
            project=project,
            token=self._token,
            client=self._client,
            timeout=self.timeout,
            health_timeout=self.health_timeout,
        )
        return other

    @property
    def shown_url(self) -> str:
        return redact_url(self.base_url)

    def __repr__(self) -> str:
        token = "set" if self._token else "none"
        return f"ControlApiClient({self.shown_url!r}, project={self.project!r}, token={token})"

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> ControlApiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- plumbing -----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json", "user-agent": f"CronMirror/{_app_version}"}
        if self.project:
            headers[PROJECT_HEADER] = self.project
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token.get_secret_value()}"
        return headers

    async def _request(
        self, method: str, path: str, *, what: str, limit_s: float, params: dict[str, str] | None = None
    ) -> httpx.Response:
        url = self.base_url + path
        started = time.monotonic()
        error: CronMirrorError | None = None
        try:
            async with asyncio.timeout(limit_s):
                response = await self._client.request(
                    method, url, headers=self._headers(), params=params, timeout=limit_s
                )
        except (TimeoutError, httpx.TimeoutException):
            error = Unreachable(
                f"The Control API at {self.shown_url} did not answer {what} within {limit_s:g} s.",
                "The Mac mini may be asleep, busy or unreachable from here; a run can be queued instead.",
            )
        except httpx.ConnectError as exc:
            error = connect_failure(exc, self.shown_url)
        except httpx.RemoteProtocolError as exc:
            error = self._protocol_failure(exc, what)
        except httpx.HTTPError as exc:
            error = Unreachable(
                f"The connection to the Control API at {self.shown_url} failed ({type(exc).__name__})."
            )
        elapsed = time.monotonic() - started
        if error is not None:
            log.debug("control api %s %s: %s after %.3f s", method, path, type(error).__name__, elapsed)
            raise error
        log.debug("control api %s %s: HTTP %s in %.3f s", method, path, response.status_code, elapsed)
        return response

    def _protocol_failure(self, exc: httpx.RemoteProtocolError, what: str) -> Unreachable:
        text = str(exc).lower()
        if "illegal" in text or "malformed" in text or "invalid" in text:
            return Unreachable(
                f"{self.shown_url} does not look like a ClawdOS Control API: "
                f"its answer to {what} is not even HTTP.",
                "Check the Control API URL and port: something else listens there.",
            )
        if "without sending a response" in text:
            return Unreachable(
                f"The Control API at {self.shown_url} closed the connection without answering {what}.",
                "It may have crashed or restarted on the Mac mini, or something else listens on that port.",
            )
        return Unreachable(
            f"The Control API at {self.shown_url} dropped the connection in the middle of answering {what}.",
            "It may have crashed or restarted on the Mac mini; try again.",
        )

    def _not_this_api(self, what: str, response: httpx.Response) -> Unreachable:
        body = response.text[:512].lower()
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        if "html" in content_type or "<html" in body or "<!doctype" in body:
            kind = "an HTML page"
        elif not body.strip():
            kind = "an empty body"
        else:
            kind = f"something that is not this API's JSON ({content_type})"
        return Unreachable(
            f"{self.shown_url} does not look like a ClawdOS Control API: {what} answered {kind} "
            f"(HTTP {response.status_code}).",
            "Check the Control API URL: it is the Mac mini's Control API, e.g. http://mac-mini.local:3737.",
        )

    def _decode(self, response: httpx.Response, what: str, *, job_id: str | None = None) -> Any:
        """The JSON body of a successful answer; every other answer becomes the matching error."""
        status = response.status_code
        try:
            data: Any = response.json()
        except ValueError:
            data = _NOT_JSON
        if status in (401, 403):
            hint = (
                "Check the Control API token in Settings (CONTROL_API_TOKEN)."
                if self._token is not None
                else "This Control API wants a token: set it in Settings (or CONTROL_API_TOKEN)."
            )
            raise AuthFailed(f"The Control API at {self.shown_url} refused {what} (HTTP {status}).", hint)
        if 300 <= status < 400:
            location = redact_url(response.headers.get("location", "")) or "another address"
            raise Unreachable(
                f"The Control API at {self.shown_url} redirects {what} to {location}.",
                "Set the address it redirects to as the Control API URL.",
            )
        if status == 404:
            if job_id is not None and isinstance(data, dict):
                raise NotFound(
                    f"The Control API has no job {job_id!r} ({what} answered 404).",
                    "The job may have been deleted or renamed; refresh the job list.",
                )
            raise Unreachable(
                f"{self.shown_url} does not look like a ClawdOS Control API: {what} answered 404 Not Found.",
                "Check the Control API URL: it is the Mac mini's Control API, e.g. http://mac-mini.local:3737.",
            )
        if isinstance(data, dict) and data.get("ok") is False:
            message = data.get("error")
            if isinstance(message, str) and message.strip():
                raise command_error(message, job_id=job_id)
            raise CommandFailed(
                f"The Control API reported a failure of {what} without a reason (HTTP {status})."
            )
        if status in (502, 503, 504):
            raise Unreachable(
                f"The Control API at {self.shown_url} is not available (HTTP {status}).",
                "A proxy in front of it could not reach it, or it is restarting; try again.",
            )
        if status >= 400 or data is _NOT_JSON:
            raise self._not_this_api(what, response)
        return data

    # -- endpoints ----------------------------------------------------------------------------------

    async def health(self) -> Health:
        """`GET /api/status` within `health_timeout` (2 s). Never raises: the reason is in the result."""
        started = time.monotonic()
        what = "GET /api/status"
        try:
            response = await self._request("GET", "/api/status", what=what, limit_s=self.health_timeout)
            data = self._decode(response, what)
            if not isinstance(data, dict) or "online" not in data:
                raise self._not_this_api(what, response)
        except CronMirrorError as exc:
            return Health(False, self.shown_url, time.monotonic() - started, error=exc)
        return Health(
            True, self.shown_url, time.monotonic() - started, status=ControlApiStatus.from_json(data)
        )

    async def list_jobs(self) -> list[ControlApiJob]:
        """`GET /api/cron`: the gateway's **enabled** jobs only (the server omits disabled ones), so this
        is not the whole list — the mirror is. Entries without an id are skipped (and logged)."""
        what = "GET /api/cron"
        response = await self._request("GET", "/api/cron", what=what, limit_s=self.timeout)
        data = self._decode(response, what)
        if isinstance(data, dict) and isinstance(data.get("jobs"), list):
            data = data["jobs"]  # other dashboards wrap the list; accept it
        if not isinstance(data, list):
            raise self._not_this_api(what, response)
        jobs = []
        skipped = 0
        for item in data:
            job = ControlApiJob.from_json(item) if isinstance(item, dict) else None
            if job is None:
                skipped += 1
            else:
                jobs.append(job)
        if skipped:
            log.warning("control api: skipped %d job entries without an id", skipped)
        return jobs

    async def run_job(self, job_id: str) -> RunRequested:
        """`POST /api/cron/{id}/run` (no body). Waits for the gateway CLI, so this can take up to a minute.

        Returns `RunRequested` — the CLI exited 0, the job may or may not have run. Raises `CommandFailed`
        with the CLI's stderr line, `NotFound` for a job the gateway does not know, `Unreachable`,
        `AuthFailed`.
        """
        path = f"/api/cron/{_quote_id(job_id)}/run"
        what = f"POST {path}"
        sent_wall = time.time()
        sent = time.monotonic()
        response = await self._request("POST", path, what=what, limit_s=self.timeout)
        round_trip_ms = int((time.monotonic() - sent) * 1000)
        data = self._decode(response, what, job_id=job_id)
        if not isinstance(data, dict) or data.get("ok") is not True:
            raise self._not_this_api(what, response)
        server_ms = _server_time_ms(response)
        if server_ms is not None:
            not_before = server_ms - round_trip_ms
        else:
            not_before = int(sent_wall * 1000) - CLOCK_SLACK_MS
        ran = _bool(data.get("ran"))
        return RunRequested(
            job_id=job_id,
            requested_at=datetime.fromtimestamp(sent_wall, UTC),
            not_before_ms=not_before,
            ran=ran,
            reason=_str(data.get("reason")),
        )

    #: The actions the Control API can carry out itself (`POST /api/cron/{id}/enable|disable`, job id only).
    #: Its `edit` route is not used: it puts the body's name and schedule into a shell command line, drops a
    #: cron job's time zone and passes an interval without its unit; those go through the queue instead.
    DIRECT_ACTIONS = frozenset({"enable", "disable"})

    async def set_enabled(self, job_id: str, enabled: bool) -> bool:
        """`POST /api/cron/{id}/enable` (or `/disable`, no body): the gateway CLI's `cron enable|disable`.
        Returns what the server says the job now is. Raises like `run_job`."""
        action = "enable" if enabled else "disable"
        path = f"/api/cron/{_quote_id(job_id)}/{action}"
        what = f"POST {path}"
        response = await self._request("POST", path, what=what, limit_s=self.timeout)
        data = self._decode(response, what, job_id=job_id)
        if not isinstance(data, dict) or data.get("ok") is not True:
            raise self._not_this_api(what, response)
        answered = _bool(data.get("enabled"))
        return enabled if answered is None else answered

    async def list_runs(self, job_id: str, limit: int = 25) -> list[RunEntry]:
        """`GET /api/cron/{id}/runs?limit=N` (1..200): the gateway's run log for the job, newest first.
        The gateway logs a run when it **finishes**."""
        limit = max(1, min(RUNS_LIMIT_MAX, int(limit)))
        path = f"/api/cron/{_quote_id(job_id)}/runs"
        what = f"GET {path}"
        response = await self._request(
            "GET", path, what=what, limit_s=self.timeout, params={"limit": str(limit)}
        )
        data = self._decode(response, what, job_id=job_id)
        entries = data.get("entries") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise self._not_this_api(what, response)
        runs = [RunEntry.from_json(item) for item in entries if isinstance(item, dict)]
        runs.sort(key=lambda entry: entry.started_ms if entry.started_ms is not None else -1, reverse=True)
        return runs

    async def confirm_run(
        self,
        requested: RunRequested,
        *,
        within_s: float = CONFIRM_TIMEOUT_S,
        interval_s: float = CONFIRM_INTERVAL_S,
        check: RunCheck | None = None,
        use_runs: bool = True,
    ) -> RunConfirmation:
        """Wait until a run that started after the request shows up, or `within_s` (60 s) passes.

        Evidence: an entry of `list_runs()` whose start (`runAtMs`, else `ts`) is at or after
        `requested.not_before_ms`, and/or `check()` returning such a time (e.g. the mirror's
        `last_run_at`). `Unreachable`/`CommandFailed` while polling are remembered and polling goes on;
        `AuthFailed` is raised. Never reports "ran" without evidence.
        """
        started = time.monotonic()
        job_id = requested.job_id
        if requested.ran is False:
            why = f" ({requested.reason})" if requested.reason else ""
            return RunConfirmation(
                job_id,
                False,
                f"The Mac mini's gateway did not run the job{why}. {_NOT_DUE_ADVICE}",
                0.0,
                via="server",
            )
        last_error: CronMirrorError | None = None
        while True:
            if use_runs:
                try:
                    entries = await self.list_runs(job_id, limit=10)
                except NotFound as exc:
                    last_error, use_runs = exc, False
                except (Unreachable, CommandFailed) as exc:
                    last_error = exc
                else:
                    hits = [
                        e
                        for e in entries
                        if e.started_ms is not None and e.started_ms >= requested.not_before_ms
                    ]
                    if hits:
                        entry = min(hits, key=lambda e: e.started_ms or 0)
                        return RunConfirmation(
                            job_id,
                            True,
                            _ran_message(entry),
                            time.monotonic() - started,
                            entry=entry,
                            ran_at=entry.started_at,
                            via="runs",
                            last_error=last_error,
                        )
            if check is not None:
                seen = _as_ms(await check())
                if seen is not None and seen >= requested.not_before_ms:
                    ran_at = _from_ms(seen)
                    return RunConfirmation(
                        job_id,
                        True,
                        f"Ran on the Mac mini at {_clock(ran_at)}.",
                        time.monotonic() - started,
                        ran_at=ran_at,
                        via="check",
                        last_error=last_error,
                    )
            remaining = within_s - (time.monotonic() - started)
            if remaining <= 0 or (not use_runs and check is None):
                break
            await asyncio.sleep(min(interval_s, remaining))
        waited = time.monotonic() - started
        message = f"Nothing ran within {within_s:g} s of the request. {_NOT_DUE_ADVICE}"
        if last_error is not None:
            message += f" (Last problem while checking: {last_error.message})"
        return RunConfirmation(job_id, False, message, waited, last_error=last_error)


_NOT_DUE_ADVICE = (
    "The Mac mini accepted the request, but its gateway recorded no run: ClawdBot 2026.1.x only runs a job "
    "that is due when it is triggered this way. Queue the run instead (the worker forces it). A long job is "
    "logged only when it finishes, so it may still be running."
)


def _quote_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not job_id.strip():
        raise ValueError("job_id must be a non-empty string")
    return quote(job_id, safe="")


def _server_time_ms(response: httpx.Response) -> int | None:
    raw = response.headers.get("date")
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _as_ms(value: datetime | int | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return int(value)


def _clock(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S") if moment else "an unknown time"


def _ran_message(entry: RunEntry) -> str:
    text = f"Ran on the Mac mini at {_clock(entry.started_at)}"
    if entry.status:
        text += f": {entry.status}"
    if entry.duration_ms is not None:
        text += f" in {entry.duration_ms / 1000:.1f} s"
    detail = entry.error if entry.status == "error" and entry.error else None
    return text + (f" ({detail})." if detail else ".")
