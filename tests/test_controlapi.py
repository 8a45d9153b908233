"""The Control API client against a real local server answering like ClawdOS's (tests/fake_controlapi.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.controlapi import (
    PROJECT_HEADER,
    ControlApiClient,
    RunRequested,
    command_error,
)
from cronmirror_desktop.core.errors import (
    AuthFailed,
    CommandFailed,
    InvalidValue,
    NotConfigured,
    NotFound,
    Unreachable,
)
from tests.fake_controlapi import FakeControlApi, FakeJob, raw_server

JOB = "9b0d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
TOKEN = "control-api-token-secret-value"
FORCE_STDERR = "error: unknown option '--force'\n"


@pytest.fixture
def fake(event_loop: asyncio.AbstractEventLoop) -> Iterator[FakeControlApi]:
    api = FakeControlApi()
    api.add_job(FakeJob(JOB, "Inbox check"))
    event_loop.run_until_complete(api.start())
    yield api
    event_loop.run_until_complete(api.stop())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the stand-in itself ------------------------------------------------------------------------------


async def test_the_fake_answers_like_node_chunked_with_cors(fake: FakeControlApi) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(fake.url + "/api/cron")
        options = await client.options(fake.url + "/api/cron")
        missing = await client.get(fake.url + "/api/nothing")
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert list(response.json()[0]) == [
        "id",
        "name",
        "enabled",
        "scheduleKind",
        "scheduleExpr",
        "tz",
        "nextRun",
        "nextRunAtMs",
        "lastRunStatus",
        "instructions",
        "targetAgentKey",
    ]
    assert options.status_code == 204
    assert (missing.status_code, missing.json()) == (404, {"ok": False, "error": "not_found"})


# -- health -----------------------------------------------------------------------------------------


async def test_health_reports_the_status_fields(fake: FakeControlApi) -> None:
    async with ControlApiClient(fake.url + "/", project="lab") as api:
        health = await api.health()
    assert health.reachable
    assert health.reason is None
    assert health.status is not None
    assert health.status.online is True
    assert (health.status.active_sessions, health.status.main_sessions) == (None, 1)
    assert (health.status.project_id, health.status.port) == ("lab", 3737)
    assert health.status.workspace == "/Users/trunks/clawd"
    assert health.status.last_updated is not None
    assert health.elapsed_s < 2
    method, path, headers = fake.requests[-1]
    assert (method, path) == ("GET", "/api/status")
    assert headers[PROJECT_HEADER] == "lab"
    assert "Authorization" not in headers


async def test_health_gives_up_after_two_seconds(fake: FakeControlApi) -> None:
    fake.delays["status"] = 5
    async with ControlApiClient(fake.url) as api:
        started = time.monotonic()
        health = await api.health()
        elapsed = time.monotonic() - started
    assert not health.reachable
    assert 1.9 <= elapsed < 3.0
    assert isinstance(health.error, Unreachable)
    assert health.reason == f"The Control API at {fake.url} did not answer GET /api/status within 2 s."


async def test_health_when_nothing_listens() -> None:
    async with ControlApiClient(f"http://127.0.0.1:{_closed_port()}") as api:
        health = await api.health()
    assert not health.reachable
    assert isinstance(health.error, Unreachable)
    assert health.reason is not None
    assert "refused the connection" in health.reason
    assert "Is the Control API running" in health.error.hint


async def test_health_with_an_unknown_host() -> None:
    async with ControlApiClient("http://cronmirror-test.invalid:3737") as api:
        health = await api.health()
    assert not health.reachable
    assert health.reason == "Could not find the host 'cronmirror-test.invalid' of the Control API."


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            (
                200,
                "text/html",
                b"<!doctype html><html><head><title>ClawdOS</title></head><body></body></html>",
            ),
            "does not look like a ClawdOS Control API: GET /api/status answered an HTML page (HTTP 200)",
        ),
        ((200, "application/json", b'{"hello":"world"}'), "answered something that is not this API's JSON"),
        (
            (200, "text/plain", b"\x00\x01garbage"),
            "answered something that is not this API's JSON (text/plain)",
        ),
        ((500, "text/html", b"<html>Internal Server Error</html>"), "answered an HTML page (HTTP 500)"),
        ((502, "text/html", b"<html>Bad Gateway</html>"), "is not available (HTTP 502)"),
        (
            (404, "application/json", b'{"ok":false,"error":"not_found"}'),
            "GET /api/status answered 404 Not Found",
        ),
    ],
)
async def test_health_against_something_that_is_not_the_control_api(
    fake: FakeControlApi, override: tuple[int, str, bytes], expected: str
) -> None:
    fake.override = override
    async with ControlApiClient(fake.url) as api:
        health = await api.health()
    assert not health.reachable
    assert isinstance(health.error, Unreachable)
    assert health.reason is not None
    assert expected in health.reason


# -- jobs -------------------------------------------------------------------------------------------


async def test_list_jobs_gives_typed_enabled_jobs(fake: FakeControlApi) -> None:
    fake.add_job(FakeJob("disabled-1", "Paused", enabled=False))
    fake.add_job(
        FakeJob(
            "at-1",
            "One shot",
            schedule_kind="at",
            schedule_expr=None,
            next_run_at_ms=None,
            last_run_status=None,
            instructions=None,
            tz="Europe/Berlin",
        )
    )
    async with ControlApiClient(fake.url, project="front-office") as api:
        jobs = await api.list_jobs()
    assert [job.id for job in jobs] == [JOB, "at-1"]  # the disabled job is not listed by this API
    inbox, once = jobs
    assert (inbox.name, inbox.enabled, inbox.schedule_kind, inbox.schedule_expr) == (
        "Inbox check",
        True,
        "every",
        "1800000",
    )
    assert inbox.next_run_at_ms == 1769454000123
    assert inbox.next_run == datetime(2026, 1, 26, 19, 0, 0, 123000, tzinfo=UTC)
    assert inbox.next_run_at == inbox.next_run
    assert (inbox.last_run_status, inbox.target_agent_key) == ("ok", "agent:main:main")
    assert inbox.problems == ()
    assert (once.schedule_expr, once.next_run, once.next_run_at, once.tz) == (
        None,
        None,
        None,
        "Europe/Berlin",
    )
    assert (once.last_run_status, once.instructions) == (None, None)
    assert fake.requests[-1][2][PROJECT_HEADER] == "front-office"


async def test_list_jobs_tolerates_nulls_wrong_types_and_unknown_keys(fake: FakeControlApi) -> None:
    body = (
        b'[{"id":"a","name":"A","enabled":true,"scheduleKind":"cron","scheduleExpr":"0 7 * * *",'
        b'"tz":null,"nextRun":"","nextRunAtMs":null,"lastRunStatus":"skipped","instructions":"",'
        b'"targetAgentKey":null,"jobIntent":"digest","uiLabel":"Morning"},'
        b'{"id":"b","name":42,"enabled":"yes","scheduleExpr":60000,"nextRun":"tomorrow"},'
        b'{"name":"no id"}, 7, null, {"id":""}]'
    )
    fake.override = (200, "application/json", body)
    async with ControlApiClient(fake.url) as api:
        jobs = await api.list_jobs()
    assert [job.id for job in jobs] == ["a", "b"]
    first, second = jobs
    assert (first.next_run, first.next_run_at, first.tz, first.instructions) == (None, None, None, None)
    assert first.last_run_status == "skipped"
    assert dict(first.extra) == {"jobIntent": "digest", "uiLabel": "Morning"}
    assert (second.name, second.enabled, second.schedule_expr) == (None, True, "60000")
    assert set(second.problems) == {
        "name is int, expected str",
        "enabled is str, expected bool",
        "nextRun is not an ISO date",
    }


async def test_list_jobs_that_is_not_a_list(fake: FakeControlApi) -> None:
    fake.override = (200, "application/json", b'{"ok":true}')
    async with ControlApiClient(fake.url) as api:
        with pytest.raises(Unreachable, match="does not look like a ClawdOS Control API: GET /api/cron"):
            await api.list_jobs()


async def test_list_jobs_when_the_cli_fails(fake: FakeControlApi) -> None:
    fake.cli_stderr = "Error: gateway timeout after 60000ms\n    at callGateway (file:///x/dist/cli.js:1:1)\n"
    async with ControlApiClient(fake.url) as api:
        with pytest.raises(CommandFailed) as info:
            await api.list_jobs()
    assert info.value.message == "Error: gateway timeout after 60000ms"
    assert "/opt/homebrew" not in str(info.value)


# -- run and confirm: the two gateways ---------------------------------------------------------------


async def test_openclaw_runs_the_job_and_the_run_is_confirmed(fake: FakeControlApi) -> None:
    fake.variant = "openclaw"
    fake.run_duration_s = 0.3
    async with ControlApiClient(fake.url, project="front-office") as api:
        requested = await api.run_job(JOB)
        assert requested.message == "Run requested on the Mac mini."
        assert requested.ran is None
        confirmation = await api.confirm_run(requested, within_s=5, interval_s=0.1)
    assert confirmation.confirmed
    assert confirmation.via == "runs"
    assert confirmation.entry is not None
    assert confirmation.entry.status == "ok"
    assert 0.2 <= confirmation.waited_s < 2
    assert confirmation.message.startswith("Ran on the Mac mini at ")
    assert confirmation.message.endswith(": ok in 0.3 s.")
    method, path, headers = fake.requests[0]
    assert (method, path, headers[PROJECT_HEADER]) == ("POST", f"/api/cron/{JOB}/run", "front-office")
    assert headers.get("Content-Length") == "0"


async def test_clawdbot_answers_ok_for_a_job_that_is_not_due_and_confirmation_says_nothing_ran(
    fake: FakeControlApi,
) -> None:
    fake.variant = "clawdbot"
    fake.log_run(JOB, fake.now_ms() - 3_600_000)  # an old scheduled run must not count
    async with ControlApiClient(fake.url) as api:
        requested = await api.run_job(JOB)
        confirmation = await api.confirm_run(requested, within_s=0.6, interval_s=0.1)
    assert not confirmation.confirmed
    assert confirmation.entry is None
    assert 0.6 <= confirmation.waited_s < 1.5
    assert confirmation.message.startswith("Nothing ran within 0.6 s of the request.")
    assert "ClawdBot 2026.1.x only runs a job that is due" in confirmation.message
    polls = [path for method, path, _ in fake.requests if path.startswith(f"/api/cron/{JOB}/runs")]
    assert len(polls) >= 3


async def test_clawdbot_runs_a_due_job_before_answering(fake: FakeControlApi) -> None:
    fake.variant = "clawdbot"
    fake.jobs[JOB].due = True
    async with ControlApiClient(fake.url) as api:
        requested = await api.run_job(JOB)
        confirmation = await api.confirm_run(requested, within_s=2, interval_s=0.1)
    assert confirmation.confirmed
    assert confirmation.waited_s < 0.5  # already in the log at the first look


async def test_confirmation_uses_the_mac_minis_clock_when_it_is_behind(fake: FakeControlApi) -> None:
    fake.variant = "openclaw"
    fake.clock_offset_ms = -30_000
    async with ControlApiClient(fake.url) as api:
        requested = await api.run_job(JOB)
        confirmation = await api.confirm_run(requested, within_s=3, interval_s=0.1)
    assert confirmation.confirmed
    assert requested.not_before_ms < time.time() * 1000 - 25_000


async def test_confirmation_ignores_an_earlier_run_when_the_mac_minis_clock_is_ahead(
    fake: FakeControlApi,
) -> None:
    # The Mac mini is 30 s ahead; a scheduled run 5 s before the request is "in our future". Comparing
    # with our own clock would wrongly take it for the requested run.
    fake.variant = "clawdbot"
    fake.clock_offset_ms = 30_000
    fake.log_run(JOB, fake.now_ms() - 5_000)
    async with ControlApiClient(fake.url) as api:
        requested = await api.run_job(JOB)
        confirmation = await api.confirm_run(requested, within_s=0.4, interval_s=0.1)
    assert not confirmation.confirmed


async def test_confirmation_by_the_callers_check(fake: FakeControlApi) -> None:
    fake.variant = "clawdbot"
    seen: list[datetime | None] = [None, None]

    async def mirror_last_run_at() -> datetime | None:
        return seen.pop(0) if seen else datetime.now(UTC)

    async with ControlApiClient(fake.url) as api:
        requested = await api.run_job(JOB)
        confirmation = await api.confirm_run(
            requested, within_s=3, interval_s=0.05, check=mirror_last_run_at, use_runs=False
        )
    assert confirmation.confirmed
    assert confirmation.via == "check"
    assert confirmation.message.startswith("Ran on the Mac mini at ")
    assert not any("/runs" in path for _, path, _ in fake.requests)


async def test_confirmation_polls_on_through_failures_and_reports_the_last_one(fake: FakeControlApi) -> None:
    fake.variant = "clawdbot"
    async with ControlApiClient(fake.url) as api:
        requested = await api.run_job(JOB)
        fake.cli_stderr = "Error: gateway closed (1006)\n"
        confirmation = await api.confirm_run(requested, within_s=0.4, interval_s=0.1)
    assert not confirmation.confirmed
    assert isinstance(confirmation.last_error, CommandFailed)
    assert confirmation.message.endswith("(Last problem while checking: Error: gateway closed (1006))")
    assert sum("/runs" in path for _, path, _ in fake.requests) >= 3  # it kept polling after the failure


async def test_a_server_that_says_it_did_not_run_is_believed_at_once() -> None:
    requested = RunRequested(JOB, datetime.now(UTC), 0, ran=False, reason="not-due")
    async with ControlApiClient("http://127.0.0.1:9") as api:
        confirmation = await api.confirm_run(requested)
    assert not confirmation.confirmed
    assert confirmation.via == "server"
    assert confirmation.message.startswith("The Mac mini's gateway did not run the job (not-due).")


# -- run errors -----------------------------------------------------------------------------------------


async def test_a_cli_failure_shows_the_cli_stderr_line_not_the_servers_command(fake: FakeControlApi) -> None:
    fake.cli_stderr = FORCE_STDERR
    async with ControlApiClient(fake.url) as api:
        with pytest.raises(CommandFailed) as info:
            await api.run_job(JOB)
    error = info.value
    assert error.message == "error: unknown option '--force'"
    assert error.detail == "error: unknown option '--force'"
    for text in (str(error), error.message, error.hint, error.detail):
        assert "/opt/homebrew" not in text
        assert "Command failed" not in text


async def test_running_an_unknown_job_is_not_found(fake: FakeControlApi) -> None:
    async with ControlApiClient(fake.url) as api:
        with pytest.raises(NotFound) as info:
            await api.run_job("gone-job")
    assert (
        info.value.message
        == "The Mac mini's gateway has no job 'gone-job': Error: unknown cron job id: gone-job"
    )


async def test_a_404_on_a_job_route_is_not_found(fake: FakeControlApi) -> None:
    fake.override = (404, "application/json", b'{"ok":false,"error":"not_found"}')
    async with ControlApiClient(fake.url) as api:
        with pytest.raises(NotFound, match="has no job 'x'"):
            await api.run_job("x")
        with pytest.raises(Unreachable, match="answered 404 Not Found"):
            await api.list_jobs()


@pytest.mark.parametrize(
    ("error_text", "message"),
    [
        (
            "Command failed: /opt/homebrew/bin/openclaw cron run x --timeout 60000\n"
            "error: unknown option '--force'",
            "error: unknown option '--force'",
        ),
        (
            "Command failed: /usr/local/bin/clawdbot cron run x\n"
            "\x1b[31mError: gateway not running\x1b[39m\n",
            "Error: gateway not running",
        ),
        (
            "Command failed: /opt/homebrew/bin/openclaw cron list --json\n"
            "(node:1) Warning: x\nGatewayError: closed",
            "GatewayError: closed",
        ),
        (
            "Command failed: /opt/homebrew/bin/openclaw cron run x --timeout 60000\n",
            "The gateway CLI on the Mac mini failed without an error message.",
        ),
        (
            "spawn /opt/homebrew/bin/openclaw ENOENT",
            "The Control API could not start `openclaw` on the Mac mini.",
        ),
        ("supabase not configured", "supabase not configured"),
    ],
)
def test_command_error_lines(error_text: str, message: str) -> None:
    error = command_error(error_text)
    assert error.message == message
    assert "/opt/homebrew" not in str(error)
    assert "/usr/local" not in str(error)


async def test_a_slow_run_times_out_as_unreachable(fake: FakeControlApi) -> None:
    fake.delays["run"] = 2
    async with ControlApiClient(fake.url, timeout=0.3) as api:
        started = time.monotonic()
        with pytest.raises(Unreachable) as info:
            await api.run_job(JOB)
    assert time.monotonic() - started < 1.5
    assert (
        info.value.message
        == f"The Control API at {fake.url} did not answer POST /api/cron/{JOB}/run within 0.3 s."
    )


async def test_the_server_stopping_during_a_call(fake: FakeControlApi) -> None:
    fake.delays["run"] = 5
    async with ControlApiClient(fake.url) as api:
        call = asyncio.ensure_future(api.run_job(JOB))
        await asyncio.sleep(0.2)
        await fake.stop()
        with pytest.raises(Unreachable, match="closed the connection without answering"):
            await call


@pytest.mark.parametrize(
    ("answer", "close", "expected"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'10\r\n[{"id":"abc","na',
            True,
            "dropped the connection in the middle of answering GET /api/cron",
        ),
        (None, True, "closed the connection without answering GET /api/cron"),
        (b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n\r\n", False, "is not even HTTP"),
    ],
    ids=["dies-mid-chunk", "closes-silently", "not-http"],
)
async def test_broken_servers(answer: bytes | None, close: bool, expected: str) -> None:
    server, url = await raw_server(answer, close=close)
    try:
        async with ControlApiClient(url) as api:
            with pytest.raises(Unreachable) as info:
                await api.list_jobs()
    finally:
        server.close()
    assert expected in info.value.message


# -- runs -------------------------------------------------------------------------------------------


async def test_list_runs_typed_newest_first_with_the_limit(fake: FakeControlApi) -> None:
    now = fake.now_ms()
    fake.log_run(JOB, now - 7_200_000)
    fake.log_run(
        JOB,
        now - 60_000,
        status="error",
        error="cron job failed",
        delivered=False,
        deliveryStatus="skipped",
        sessionId="s-1",
        model="gpt-5",
        usage={"input_tokens": 10, "output_tokens": 3},
        newField=1,
    )
    async with ControlApiClient(fake.url) as api:
        runs = await api.list_runs(JOB, limit=5)
        await api.list_runs(JOB, limit=5000)
    assert [run.status for run in runs] == ["error", "ok"]
    latest = runs[0]
    assert (latest.error, latest.run_at_ms, latest.job_id, latest.action) == (
        "cron job failed",
        now - 60_000,
        JOB,
        "finished",
    )
    assert (latest.delivered, latest.delivery_status, latest.session_id, latest.model) == (
        False,
        "skipped",
        "s-1",
        "gpt-5",
    )
    assert latest.usage == {"input_tokens": 10, "output_tokens": 3}
    assert dict(latest.extra) == {"newField": 1}
    assert latest.started_at == datetime.fromtimestamp((now - 60_000) / 1000, UTC)
    assert [path for _, path, _ in fake.requests] == [
        f"/api/cron/{JOB}/runs?limit=5",
        f"/api/cron/{JOB}/runs?limit=200",
    ]


async def test_list_runs_of_a_job_without_runs(fake: FakeControlApi) -> None:
    async with ControlApiClient(fake.url) as api:
        assert await api.list_runs("never-ran") == []


# -- tokens, URLs, clients -----------------------------------------------------------------------------


async def test_tokens_are_sent_as_bearer_and_never_logged(
    fake: FakeControlApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.required_token = TOKEN  # e.g. a reverse proxy in front of the Control API
    with caplog.at_level(logging.DEBUG):
        async with ControlApiClient(fake.url) as api:
            with pytest.raises(AuthFailed) as missing:
                await api.list_jobs()
        async with ControlApiClient(fake.url, token="wrong") as api:
            with pytest.raises(AuthFailed) as wrong:
                await api.run_job(JOB)
        async with ControlApiClient(fake.url, token=TOKEN) as api:
            assert (await api.health()).reachable
            await api.run_job(JOB)
            shown = repr(api)
    assert "wants a token" in missing.value.hint
    assert "Check the Control API token" in wrong.value.hint
    assert "(HTTP 401)" in wrong.value.message
    assert fake.requests[-1][2]["Authorization"] == f"Bearer {TOKEN}"
    assert "token=set" in shown
    for text in (caplog.text, shown, str(missing.value), str(wrong.value)):
        assert TOKEN not in text
    assert "control api POST" in caplog.text  # our own debug lines were captured


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mac-mini.local:3737", "The Control API URL needs a scheme"),
        ("ftp://mac-mini.local", "must start with http:// or https://"),
        ("", "The Control API URL is empty."),
        ("http://mac-mini.local:3737/?x=1", "must not contain"),
    ],
)
def test_unusable_urls_are_clear_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message) as info:
        ControlApiClient(url)
    assert isinstance(info.value, NotConfigured)


async def test_a_pasted_api_suffix_and_slashes_are_tolerated(fake: FakeControlApi) -> None:
    async with ControlApiClient(fake.url + "/api//") as api:
        assert api.base_url == fake.url
        assert (await api.health()).reachable


async def test_a_shared_http_client_is_left_open_and_projects_can_switch(fake: FakeControlApi) -> None:
    async with httpx.AsyncClient() as shared:
        api = ControlApiClient(fake.url, project="front-office", client=shared)
        other = api.for_project("lab")
        await api.health()
        await other.health()
        await api.aclose()
        await other.aclose()
        assert not shared.is_closed
        assert [headers[PROJECT_HEADER] for _, _, headers in fake.requests] == ["front-office", "lab"]
    own = ControlApiClient(fake.url)
    await own.aclose()
    assert own._client.is_closed


async def test_built_from_the_effective_configuration(fake: FakeControlApi) -> None:
    config = resolve_config(
        env={"VITE_API_BASE_URL": fake.url, "CLAWDOS_PROJECT_ID": "lab", "CONTROL_API_TOKEN": TOKEN}
    )
    async with ControlApiClient.from_config(config) as api:
        assert (await api.health()).reachable
    headers = fake.requests[-1][2]
    assert (headers[PROJECT_HEADER], headers["Authorization"]) == ("lab", f"Bearer {TOKEN}")
    with pytest.raises(NotConfigured, match="Control API URL is not set"):
        ControlApiClient.from_config(resolve_config(env={}))
