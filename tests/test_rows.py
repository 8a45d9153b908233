"""Row parsing: tolerant, honest, never raising."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cronmirror_desktop.core.rows import (
    MAX_TEXT,
    CronMirrorJob,
    CronRunRequest,
    ProjectInfo,
)
from cronmirror_desktop.core.timeutil import parse_timestamp

GOOD_JOB = {
    "id": "5b3c1f0e-0000-4000-8000-000000000001",
    "project_id": "front-office",
    "job_id": "3f1c2a9e-6b7d-4e21-9a0c-5d8e7f6a1b23",
    "name": "Morning status",
    "schedule_kind": "cron",
    "schedule_expr": "0 7 * * 1-5",
    "tz": "America/Los_Angeles",
    "enabled": True,
    "next_run_at": "2026-11-30T15:00:00+00:00",
    "last_run_at": "2026-11-27T15:00:00.123456+00:00",
    "last_status": "ok",
    "last_duration_ms": 48213,
    "instructions": "Summarize inbox + calendar for today.",
    "updated_at": "2026-11-29T05:48:16.591564+00:00",
}


def test_a_good_row_is_valid_and_keeps_the_seed_names_in_json() -> None:
    job = CronMirrorJob.from_row(GOOD_JOB)
    assert job.valid
    assert job.is_job
    assert job.next_run_at == datetime(2026, 11, 30, 15, tzinfo=UTC)
    public = job.to_public()
    for key in ("jobId", "scheduleKind", "scheduleExpr", "nextRunAt", "lastDurationMs", "updatedAt"):
        assert key in public
    assert public["jobId"] == GOOD_JOB["job_id"]
    json.dumps(public)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"schedule_kind": "fortnightly"}, "unknown schedule kind"),
        ({"schedule_expr": "61 * * * *"}, "invalid cron expression"),
        ({"schedule_kind": "every", "schedule_expr": "soon"}, "every-interval must be milliseconds"),
        ({"schedule_kind": "every", "schedule_expr": "-5"}, "every-interval must be positive"),
        ({"schedule_kind": "at", "schedule_expr": "tomorrow-ish"}, "must be an ISO date and time"),
        ({"tz": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"next_run_at": "not a date"}, "next_run_at is not a valid time"),
        ({"last_run_at": 12.5e99}, "last_run_at is not a valid time"),
        ({"enabled": "maybe"}, "enabled is not true/false"),
        ({"last_duration_ms": "fast"}, "last_duration_ms is not a whole number"),
        ({"last_duration_ms": -3}, "negative"),
        ({"last_status": "success"}, "unknown last status"),
        ({"name": None}, "name is missing"),
        ({"job_id": None}, "job_id is missing"),
        ({"instructions": "x" * (1024 * 1024)}, "instructions is too long (1,048,576 characters)"),
        ({"name": {"nested": True}}, "name is not text"),
        ({"job_id": "a\x00b"}, "NUL"),
    ],
)
def test_bad_fields_mark_the_row_invalid_with_a_reason(change: dict, problem: str) -> None:
    job = CronMirrorJob.from_row({**GOOD_JOB, **change})
    assert not job.valid
    assert any(problem in p for p in job.problems), job.problems


def test_huge_instructions_are_cut_not_kept() -> None:
    job = CronMirrorJob.from_row({**GOOD_JOB, "instructions": "y" * (1024 * 1024)})
    assert job.instructions is not None
    assert len(job.instructions) == MAX_TEXT


def test_null_optional_fields_are_fine() -> None:
    row = {k: None for k in GOOD_JOB}
    row.update(project_id="p", job_id="j", name="n", enabled=False)
    job = CronMirrorJob.from_row(row)
    assert job.valid, job.problems
    assert job.schedule_kind is None
    assert job.enabled is False


def test_the_clawdos_fingerprint_row_is_not_a_job_and_not_invalid() -> None:
    fingerprint = CronMirrorJob.from_row(
        {
            "project_id": "front-office",
            "job_id": "__mirror_state__",
            "name": "mirror state (do not delete)",
            "schedule_kind": "state",
            "schedule_expr": "a1b2c3d4",
            "enabled": False,
        }
    )
    assert not fingerprint.is_job
    assert fingerprint.valid


def test_clawdos_rows_with_null_instructions_and_extra_columns() -> None:
    job = CronMirrorJob.from_row(
        {**GOOD_JOB, "instructions": None, "target_agent_key": "agent:main:main", "context_policy": "default"}
    )
    assert job.valid
    assert job.target_agent_key == "agent:main:main"


def test_not_a_mapping_gives_an_invalid_row() -> None:
    assert not CronMirrorJob.from_row(["not", "a", "row"]).valid  # type: ignore[arg-type]
    assert not CronRunRequest.from_row("nope").valid  # type: ignore[arg-type]


REQUEST = {
    "id": "0b6a8f5e-0000-4000-8000-000000000002",
    "project_id": "front-office",
    "job_id": "job-1",
    "requested_by": "ui",
    "requested_at": "2026-11-29T06:00:00+00:00",
    "status": "done",
    "picked_up_at": "2026-11-29T06:00:01+00:00",
    "completed_at": "2026-11-29T06:00:04.500000+00:00",
    "result": {"exitCode": 0, "stdoutTail": "all good\n", "stderrTail": ""},
}


def test_request_duration_from_timestamps() -> None:
    request = CronRunRequest.from_row(REQUEST)
    assert request.valid
    assert request.duration_ms == 3500
    assert request.output_tail == "all good"
    assert request.exit_code == 0
    assert not request.is_active


def test_clawdos_request_without_timestamps_uses_duration_from_result() -> None:
    request = CronRunRequest.from_row(
        {
            **REQUEST,
            "status": "error",
            "picked_up_at": None,
            "completed_at": None,
            "result": {
                "jobId": "job-1",
                "exitCode": 1,
                "durationMs": 812,
                "stdoutTail": "",
                "stderrTail": "error: unknown option '--force'\n",
            },
        }
    )
    assert request.valid
    assert request.duration_ms == 812
    assert request.reason == "error: unknown option '--force'"


@pytest.mark.parametrize("result", [[1, 2], "plain text", 42, json.dumps([1])])
def test_non_object_result_is_shown_as_text_and_marked(result: object) -> None:
    request = CronRunRequest.from_row({**REQUEST, "status": "error", "result": result})
    assert not request.valid
    assert request.result is None
    assert request.result_text
    assert request.output_tail == request.result_text


def test_result_given_as_json_text_is_decoded() -> None:
    request = CronRunRequest.from_row({**REQUEST, "result": json.dumps({"exitCode": 3})})
    assert request.valid
    assert request.exit_code == 3
    assert request.reason is None  # done requests need no reason


def test_unknown_request_status_is_marked() -> None:
    request = CronRunRequest.from_row({**REQUEST, "status": "exploded"})
    assert not request.valid
    assert "unknown status" in request.problems[0]


def test_huge_output_in_result_is_bounded() -> None:
    request = CronRunRequest.from_row({**REQUEST, "result": {"stdoutTail": "z" * 5_000_000}})
    assert len(request.output_tail) <= MAX_TEXT


def test_timestamps_in_every_form_the_wire_uses() -> None:
    expected = datetime(2026, 1, 26, 19, 0, 0, 123000, tzinfo=UTC)
    assert parse_timestamp("2026-01-26T19:00:00.123Z") == expected
    assert parse_timestamp("2026-01-26T19:00:00.123+00:00") == expected
    assert parse_timestamp(1769454000123) == expected
    assert parse_timestamp("") is None
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp(True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=8,
)
columns = st.sampled_from([*GOOD_JOB, *REQUEST, "result", "whatever"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(columns, json_values))
def test_any_json_row_parses_without_raising(row: dict) -> None:
    job = CronMirrorJob.from_row(row)
    request = CronRunRequest.from_row(row)
    job.to_public()
    request.to_public()
    _ = (request.duration_ms, request.output_tail, request.reason, job.display_name, job.zone)


@pytest.mark.parametrize(
    ("kind", "expr"),
    [
        ("cron", "@daily"),
        ("every", "1800000"),
        ("at", "2026-12-24T18:00:00Z"),
        ("calendar", "0 9 * * 1; 30 17 * * 5"),
        ("event", "@reboot"),
    ],
)
def test_every_schedule_kind_the_worker_writes_is_valid(kind: str, expr: str) -> None:
    job = CronMirrorJob.from_row({**GOOD_JOB, "schedule_kind": kind, "schedule_expr": expr})
    assert job.valid, job.problems


def test_the_reason_is_the_error_line_not_the_last_line() -> None:
    request = CronRunRequest.from_row(
        {
            **REQUEST,
            "status": "error",
            "result": {
                "exitCode": 1,
                "stderrTail": "error: unknown option '--force'\n(Did you mean --due?)\n",
            },
        }
    )
    assert request.reason == "error: unknown option '--force'"


# -- source and host: which rules a row's schedule follows, and where it lives -------------------------


def test_the_source_picks_the_rules_a_row_is_validated_and_evaluated_by() -> None:
    """A step larger than its field only warns in cron(8) and is refused by the gateway (croner); `L` is
    croner syntax cron(8) refuses."""
    croner_only = {**GOOD_JOB, "schedule_expr": "0 0 L * *"}
    cron_only = {**GOOD_JOB, "schedule_expr": "*/90 * * * *"}
    assert CronMirrorJob.from_row(croner_only).valid
    assert not CronMirrorJob.from_row({**croner_only, "source": "crontab"}).valid
    assert not CronMirrorJob.from_row(cron_only).valid
    assert CronMirrorJob.from_row({**cron_only, "source": "jobs"}).valid
    gateway = CronMirrorJob.from_row(GOOD_JOB).schedule
    crontab = CronMirrorJob.from_row({**GOOD_JOB, "source": "crontab"}).schedule
    assert gateway is not None
    assert crontab is not None
    assert (gateway.dialect, crontab.dialect) == ("gateway", "cron")


def test_an_unknown_source_is_a_problem_and_read_as_a_gateway_job() -> None:
    job = CronMirrorJob.from_row({**GOOD_JOB, "source": "systemd"})
    assert job.source is None
    assert job.problems == ("unknown source 'systemd'; read as a gateway job",)


def test_host_and_the_id_in_its_hosts_own_terms() -> None:
    second = CronMirrorJob.from_row({**GOOD_JOB, "job_id": "jobs:backup@mini-2", "host": "mini-2"})
    assert (second.host, second.source_job_id) == ("mini-2", "jobs:backup")
    first = CronMirrorJob.from_row({**GOOD_JOB, "job_id": "jobs:backup", "host": "mini-1"})
    assert first.source_job_id == "jobs:backup"
    assert CronMirrorJob.from_row({**GOOD_JOB, "host": ""}).host is None
    assert CronMirrorJob.from_row({**GOOD_JOB, "host": "h" * 300}).problems


# -- values PostgreSQL accepts that no reader can use (issue 13) ---------------------------------

#: What PostgREST and Realtime send for timestamptz values outside Python's range or the app's.
HOSTILE_TIMESTAMPS = [
    "infinity",
    "-infinity",
    "294276-01-01T00:00:00+00:00",
    "0044-03-15T00:00:00+00:00 BC",
    "0001-01-01T00:00:00+05:00",  # parses, but moving it to UTC leaves the calendar
    "9999-12-31T23:59:59-05:00",
    "9999-06-01T00:00:00+00:00",  # parses; too close to the end for any arithmetic
    "1969-12-31T23:59:59+00:00",  # before every epoch clock
    -1,
    10**20,
]


@pytest.mark.parametrize("value", HOSTILE_TIMESTAMPS)
def test_timestamps_out_of_range_are_a_row_problem(value: object) -> None:
    job = CronMirrorJob.from_row({**GOOD_JOB, "updated_at": value, "next_run_at": value})
    assert job.updated_at is None
    assert job.next_run_at is None
    assert any(p.startswith("updated_at ") for p in job.problems), job.problems
    request = CronRunRequest.from_row({**REQUEST, "requested_at": value, "lease_until": value})
    assert (request.requested_at, request.lease_until) == (None, None)
    assert any(p.startswith("requested_at ") for p in request.problems), request.problems
    project = ProjectInfo.from_row({"project_id": "p", "job_count": 2, "last_sync_at": value})
    assert project.last_sync_at is None
    assert project.job_count == 2
    assert any(p.startswith("last_sync_at ") for p in project.problems), project.problems
    for row in (job, request, project):
        json.dumps(row.to_public())


def test_the_edges_of_the_range_are_fine() -> None:
    first = CronMirrorJob.from_row({**GOOD_JOB, "last_run_at": "1970-01-01T00:00:00+00:00"})
    late = CronMirrorJob.from_row({**GOOD_JOB, "next_run_at": "9998-12-31T23:59:59+00:00"})
    assert first.valid, first.problems
    assert late.valid, late.problems


@pytest.mark.parametrize(
    "raw",
    [
        {"project_id": "p", "job_count": "lots"},
        {"project_id": "p", "job_count": 10**30},
        {"project_id": "p", "job_count": -4},
        {"project_id": "p", "last_request_at": {"not": "a time"}},
        {"project_id": None},
        {"project_id": "a\nb", "job_count": 1},
        "not a row",
    ],
)
def test_project_info_from_any_row_never_raises(raw: object) -> None:
    project = ProjectInfo.from_row(raw)  # type: ignore[arg-type]
    assert not project.valid
    assert project.job_count >= 0
    json.dumps(project.to_public())


def test_a_good_project_row() -> None:
    project = ProjectInfo.from_row(
        {
            "project_id": "front-office",
            "job_count": 3,
            "last_sync_at": "2026-11-29T05:48:16.591564+00:00",
            "last_request_at": None,
        },
        configured=True,
    )
    assert project.valid
    assert (project.project_id, project.job_count, project.configured) == ("front-office", 3, True)
    assert project.last_sync_at == datetime(2026, 11, 29, 5, 48, 16, 591564, tzinfo=UTC)


def nested(depth: int) -> str:
    """A JSON object nested `depth` levels deep, as text."""
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [65, 300, 900, 1000, 100_000])
def test_a_deeply_nested_result_is_a_row_problem(depth: int) -> None:
    request = CronRunRequest.from_row({**REQUEST, "result": nested(depth)})
    assert not request.valid
    assert any("result too deeply nested" in p for p in request.problems)
    assert request.result is None
    assert request.result_text is None
    assert request.output_tail == ""
    assert request.reason is None
    text = json.dumps(request.to_public())
    assert "too deeply nested" in text


def test_a_deep_result_already_decoded_is_caught_too() -> None:
    decoded = json.loads(nested(300))
    request = CronRunRequest.from_row({**REQUEST, "result": decoded})
    assert any("result too deeply nested" in p for p in request.problems)
    json.dumps(request.to_public())
    deep_list = CronRunRequest.from_row({**REQUEST, "result": "[" * 900 + "]" * 900})
    assert any("result too deeply nested" in p for p in deep_list.problems)
    assert deep_list.result_text is None


def test_a_nested_result_within_the_limit_is_kept() -> None:
    request = CronRunRequest.from_row({**REQUEST, "result": {"exitCode": 0, "deep": json.loads(nested(60))}})
    assert request.valid, request.problems
    assert request.exit_code == 0


def test_the_json_null_result_is_no_result() -> None:
    request = CronRunRequest.from_row({**REQUEST, "status": "queued", "result": "null"})
    assert request.valid
    assert request.result is None


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ({"durationMs": 10**30}, "result.durationMs is out of range"),
        ({"durationMs": 1e300}, "result.durationMs is out of range"),
        ({"durationMs": float("inf")}, "result.durationMs is out of range"),
        ({"durationMs": -5}, "result.durationMs is out of range"),
        ({"exitCode": 10**30}, "result.exitCode is out of range"),
        ({"exitCode": "1"}, "result.exitCode is not a whole number"),
    ],
)
def test_numbers_in_a_result_are_checked(result: dict[str, object], problem: str) -> None:
    request = CronRunRequest.from_row({**REQUEST, "result": result, "picked_up_at": None})
    assert any(problem in p for p in request.problems), request.problems
    assert request.duration_ms is None
    assert request.exit_code is None
    json.dumps(request.to_public())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"last_duration_ms": 10**30}, "last_duration_ms is out of range"),
        ({"last_duration_ms": "9" * 5000}, "last_duration_ms is not a whole number"),
        ({"schedule_kind": "every", "schedule_expr": "99999999999999999999"}, "every-interval"),
        ({"schedule_kind": "every", "schedule_expr": "9" * 5000}, "every-interval"),
        ({"job_id": "backup\nfake row"}, "job_id contains control characters"),
        ({"job_id": "\x1b]0;owned\x07\x1b[2J"}, "job_id contains control characters"),
        ({"project_id": "front\x1boffice"}, "project_id contains control characters"),
        ({"schedule_kind": "at", "schedule_expr": "0001-01-01T00:00:00+05:00"}, "'at' time"),
        ({"schedule_kind": "at", "schedule_expr": "infinity"}, "'at' time"),
    ],
)
def test_hostile_mirror_values_are_flagged(change: dict[str, object], problem: str) -> None:
    job = CronMirrorJob.from_row({**GOOD_JOB, **change})
    assert not job.valid
    assert any(problem in p for p in job.problems), job.problems
    json.dumps(job.to_public())


def test_control_characters_in_a_request_are_flagged_and_kept_exactly() -> None:
    request = CronRunRequest.from_row({**REQUEST, "job_id": "a\nb", "requested_by": "ui\x1b[2J"})
    assert any("job_id contains control characters" in p for p in request.problems)
    assert any("requested_by contains control characters" in p for p in request.problems)
    assert request.job_id == "a\nb"  # --json shows exactly what the row holds
    assert request.to_public()["jobId"] == "a\nb"


hostile_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\x00\x1b\n\r\x07\x9b\x7f"),
    max_size=12,
)
hostile_times = st.sampled_from(HOSTILE_TIMESTAMPS) | st.datetimes(timezones=st.just(UTC)).map(
    lambda d: d.isoformat()
)
hostile_numbers = st.integers() | st.floats() | st.sampled_from([10**30, 2**63, -(2**63), "9" * 5000])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        columns,
        st.one_of(
            json_values, hostile_text, hostile_times, hostile_numbers, st.integers(1, 2000).map(nested)
        ),
    )
)
def test_any_hostile_row_parses_and_serialises(row: dict) -> None:
    for parsed in (CronMirrorJob.from_row(row), CronRunRequest.from_row(row), ProjectInfo.from_row(row)):
        json.dumps(parsed.to_public())
    request = CronRunRequest.from_row(row)
    for value in (request.duration_ms, request.exit_code):
        assert value is None or -(2**63) < value < 2**63
    _ = (request.output_tail, request.reason)


def test_control_characters_are_shown_escaped() -> None:
    from cronmirror_desktop.core.text import escape_controls, has_control_characters

    hostile = "a\x1b]0;owned\x07\x1b[2J\nb\tc\r\x00\x7f\x9b é ジ"
    assert escape_controls(hostile) == "a\\x1b]0;owned\\x07\\x1b[2J\\nb\\tc\\r\\x00\\x7f\\x9b é ジ"
    assert (
        escape_controls(hostile, keep_newlines=True)
        == "a\\x1b]0;owned\\x07\\x1b[2J\nb\tc\\r\\x00\\x7f\\x9b é ジ"
    )
    assert has_control_characters(hostile)
    assert not has_control_characters("plain ünïcode ジョブ")


def test_rows_share_the_strings_many_rows_repeat_and_one_fields_set() -> None:
    """10,000 rows hold one copy of a zone, a kind, a status, a host (not one each), and one set of field
    names per row class; a changed copy of a row still gets its own set."""

    def fresh(text: str) -> str:
        return "".join(list(text))  # a new string object, as each decoded database row gives

    a = CronMirrorJob.from_row({key: fresh(v) if isinstance(v, str) else v for key, v in GOOD_JOB.items()})
    b = CronMirrorJob.from_row({key: fresh(v) if isinstance(v, str) else v for key, v in GOOD_JOB.items()})
    for field in ("tz", "schedule_kind", "schedule_expr", "last_status", "project_id"):
        assert getattr(a, field) is getattr(b, field), field
    assert a.name == b.name
    assert a.model_fields_set is b.model_fields_set
    assert a.model_fields_set == set(CronMirrorJob.model_fields)
    renamed = a.model_copy(update={"name": "Evening status"})
    assert renamed.name == "Evening status"
    assert a.model_fields_set == b.model_fields_set == set(CronMirrorJob.model_fields)
    with pytest.raises(TypeError, match="every field"):
        CronMirrorJob._parsed([], {"name": "incomplete"})
