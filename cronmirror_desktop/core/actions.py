"""Action requests: what a request may ask of a job besides running it, with one set of rules everywhere.

A request (`cron_run_requests`) names a job, an `action` and, for some actions, `args` (migration
…_action_requests.sql):

| action         | args                                                         | sources              |
|----------------|--------------------------------------------------------------|----------------------|
| `run`          | —                                                            | all                  |
| `enable`       | —                                                            | all                  |
| `disable`      | —                                                            | all                  |
| `set_schedule` | `{kind: cron/every/at, expr, tz?}` (`tz` for cron only)      | gateway, jobs, crontab |
| `rename`       | `{name}`                                                     | gateway, jobs        |
| `create`       | `{key, command, name?, schedule?, timeout?, enabled?, host?}` | jobs (id `jobs:<key>`) |
| `delete`       | —                                                            | jobs                 |

`args_problem` is the shape check the database makes for a client holding the public key
(`cron_request_args_problem`), in the same words, so LocalStore refuses what Supabase refuses. The worker
checks again and more (`schedule_problem`: the expression in the job's own dialect, the zone) before it
applies anything. Readers show an action in its own words ("Disable requested 5 s ago").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cronmirror_desktop.core.errors import InvalidRow
from cronmirror_desktop.core.schedule import (
    AT,
    CRON,
    EVERY,
    MAX_EVERY_MS,
    InvalidSchedule,
    Schedule,
    resolve_zone,
    schedule_for,
    validate,
)
from cronmirror_desktop.core.timetext import relative
from cronmirror_desktop.core.timeutil import iso_z, parse_iso

RUN: Final = "run"
ENABLE: Final = "enable"
DISABLE: Final = "disable"
SET_SCHEDULE: Final = "set_schedule"
RENAME: Final = "rename"
CREATE: Final = "create"
DELETE: Final = "delete"
ACTIONS: Final = (RUN, ENABLE, DISABLE, SET_SCHEDULE, RENAME, CREATE, DELETE)

#: The largest `args` a request may carry (bytes of its JSON text), as the database checks it.
MAX_ARGS_BYTES = 16384
MAX_NAME = 200
MAX_EXPR = 200
MAX_TZ = 64
MAX_ARGUMENTS = 64
MAX_ARGUMENT = 1024
MAX_HOST = 255
MAX_TIMEOUT_S = 604800
SCHEDULE_KINDS: Final = (CRON, EVERY, AT)

#: What each source can do to its jobs (a mirror row without a source is a gateway job). `create` is not a
#: job's: a jobs.toml job is created on a host, the request naming the job it will be.
CAPABILITIES: Final[Mapping[str, frozenset[str]]] = {
    "gateway": frozenset({RUN, ENABLE, DISABLE, SET_SCHEDULE, RENAME}),
    "jobs": frozenset({RUN, ENABLE, DISABLE, SET_SCHEDULE, RENAME, DELETE}),
    "crontab": frozenset({RUN, ENABLE, DISABLE, SET_SCHEDULE}),
    "launchd": frozenset({RUN, ENABLE, DISABLE}),
}
#: The schedule kinds each source can be given.
SOURCE_SCHEDULE_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "gateway": (CRON, EVERY, AT),
    "jobs": (CRON, EVERY, AT),
    "crontab": (CRON,),
    "launchd": (),
}
_WHY_NOT: Final[Mapping[tuple[str, str], str]] = {
    ("launchd", SET_SCHEDULE): (
        "a launchd job's schedule lives in its property list, which CronMirror does not edit; change it on "
        "the Mac (and load it again with launchctl)"
    ),
    ("launchd", RENAME): "a launchd job is known by its label, which CronMirror does not change",
    ("crontab", RENAME): (
        "a crontab entry's name is the comment above it, which CronMirror does not change; edit the crontab"
    ),
}

WORDS: Final[Mapping[str, str]] = {
    RUN: "Run",
    ENABLE: "Enable",
    DISABLE: "Disable",
    SET_SCHEDULE: "Schedule change",
    RENAME: "Rename",
    CREATE: "Add job",
    DELETE: "Remove",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CRON_TEXT = re.compile(r"^[0-9A-Za-z*/,?#@+ -]+$")
_EVERY_TEXT = re.compile(r"^[1-9][0-9]{0,14}$")
_AT_TEXT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_TZ_TEXT = re.compile(r"^[A-Za-z0-9_+/-]+$")
KEY_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ALLOWED: Final[Mapping[str, tuple[str, ...]]] = {
    SET_SCHEDULE: ("kind", "expr", "tz"),
    RENAME: ("name",),
    CREATE: ("key", "name", "command", "schedule", "timeout", "enabled", "host"),
}
_DURATION = re.compile(r"^\s*(?:every\s+)?(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


# -- the shape of a request (what the database checks for a client) --------------------------------


def _shown_key(key: str) -> str:
    return _CONTROL.sub("?", key[:40])


def _text_problem(name: str, value: object, longest: int) -> str | None:
    if not isinstance(value, str):
        return f"args.{name} must be text"
    if value == "":
        return f"args.{name} must not be empty"
    if len(value) > longest:
        return f"args.{name} must be at most {longest} characters"
    if _CONTROL.search(value):
        return f"args.{name} must not contain control characters"
    return None


def _schedule_shape_problem(prefix: str, schedule: object) -> str | None:
    if not isinstance(schedule, dict):
        return f"args.{prefix.rstrip('.')} must be an object {{kind, expr, tz}}"
    for key in schedule:
        if key not in ("kind", "expr", "tz"):
            return f"args.{prefix}{_shown_key(str(key))} is not an argument of a schedule"
    kind = schedule.get("kind")
    if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
        return f"args.{prefix}kind must be one of cron, every, at"
    expr = schedule.get("expr")
    problem = _text_problem(f"{prefix}expr", expr, MAX_EXPR)
    if problem is not None:
        return problem
    assert isinstance(expr, str)
    if kind == CRON and not _CRON_TEXT.match(expr):
        return (
            f"args.{prefix}expr must be a cron expression: letters, digits, spaces and * / , - ? # @ + only"
        )
    if kind == EVERY and not _EVERY_TEXT.match(expr):
        return f"args.{prefix}expr must be the interval in milliseconds (digits only)"
    if kind == AT and not _AT_TEXT.match(expr):
        return f"args.{prefix}expr must be a date and time with its offset, like 2026-12-01T09:00:00Z"
    tz = schedule.get("tz")
    if tz is not None:
        if kind != CRON:
            return f"args.{prefix}tz applies to cron schedules only"
        problem = _text_problem(f"{prefix}tz", tz, MAX_TZ)
        if problem is not None:
            return problem
        assert isinstance(tz, str)
        if not _TZ_TEXT.match(tz):
            return f"args.{prefix}tz must be an IANA time zone name such as Europe/Berlin"
    return None


def args_size(args: Mapping[str, Any]) -> int:
    """The size of `args` as PostgreSQL counts it (`octet_length(args::text)`, jsonb's own spacing)."""
    return len(json.dumps(args, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8", "replace"))


def args_problem(action: object, job_id: str, args: object) -> str | None:
    """What is wrong with this action and its args as a client sends them (None: nothing). The database's
    `cron_request_args_problem`, in the same words."""
    if not isinstance(action, str) or action not in ACTIONS:
        return "action must be one of run, enable, disable, set_schedule, rename, create, delete"
    if args is None:
        if action in (SET_SCHEDULE, RENAME, CREATE):
            return f"args are required for {action}"
        return None
    if not isinstance(args, dict):
        return "args must be a JSON object"
    size = args_size(args)
    if size > MAX_ARGS_BYTES:
        return f"args must be at most {MAX_ARGS_BYTES} bytes, got {size}"
    allowed = _ALLOWED.get(action, ())
    for key in args:
        if key not in allowed:
            return f"args.{_shown_key(str(key))} is not an argument of {action}"
    if action == SET_SCHEDULE:
        return _schedule_shape_problem("", args)
    if action == RENAME:
        return _text_problem("name", args.get("name"), MAX_NAME)
    if action != CREATE:
        return None
    return _create_problem(job_id, args)


def _create_problem(job_id: str, args: dict[str, Any]) -> str | None:
    key = args.get("key")
    problem = _text_problem("key", key, 64)
    if problem is not None:
        return problem
    assert isinstance(key, str)
    if not KEY_TEXT.match(key):
        return "args.key must be 1 to 64 letters, digits, _ . - starting with a letter or digit"
    if job_id != f"jobs:{key}":
        return "a create request names the job it makes: job_id must be jobs:<args.key>"
    if "name" in args and (problem := _text_problem("name", args["name"], MAX_NAME)) is not None:
        return problem
    command = args.get("command")
    if not isinstance(command, list) or not 1 <= len(command) <= MAX_ARGUMENTS:
        return f"args.command must be a list of 1 to {MAX_ARGUMENTS} arguments"
    for index, argument in enumerate(command):
        if (problem := _text_problem(f"command[{index}]", argument, MAX_ARGUMENT)) is not None:
            return problem
    schedule = args.get("schedule")
    if schedule is not None and (problem := _schedule_shape_problem("schedule.", schedule)) is not None:
        return problem
    timeout = args.get("timeout")
    if timeout is not None and not _whole_seconds(timeout):
        return f"args.timeout must be a whole number of seconds from 1 to {MAX_TIMEOUT_S}"
    if "enabled" in args and not isinstance(args["enabled"], bool):
        return "args.enabled must be true or false"
    if "host" in args:
        return _text_problem("host", args["host"], MAX_HOST)
    return None


def _whole_seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer() and 1 <= value <= MAX_TIMEOUT_S


def check_args(action: str, job_id: str, args: object) -> None:
    """Raise InvalidRow, in the database's words, for a request a client may not queue."""
    problem = args_problem(action, job_id, args)
    if problem is not None:
        raise InvalidRow(f"{problem}.")


# -- what a job can do, and schedules in its own dialect -------------------------------------------


def capabilities(source: str | None) -> frozenset[str]:
    """The actions a job of `source` supports (None: a gateway job, as the mirror reads such rows)."""
    return CAPABILITIES.get(source or "gateway", frozenset({RUN}))


def why_not(source: str | None, action: str) -> str | None:
    """Why a job of `source` cannot do `action`, in one sentence (None when it can)."""
    name = source or "gateway"
    if action in capabilities(source):
        return None
    known = _WHY_NOT.get((name, action))
    if known is not None:
        return known
    if action in (CREATE, DELETE):
        return f"only jobs.toml jobs are added and removed from CronMirror; a {name} job is not"
    return f"a {name} job cannot be asked to {WORDS.get(action, action).lower()}"


def schedule_args(kind: str, expr: str, tz: str | None = None) -> dict[str, Any]:
    """A schedule as a request carries it (`set_schedule`'s args, `create`'s `schedule`)."""
    args: dict[str, Any] = {"kind": kind, "expr": expr}
    if tz:
        args["tz"] = tz
    return args


def parse_every(text: str) -> int:
    """ "30m", "1.5h", "every 10 min", "90s", "500ms" or plain milliseconds → milliseconds."""
    stripped = text.strip()
    if stripped.isdigit():
        value = int(stripped)
    else:
        match = _DURATION.match(stripped)
        if match is None:
            raise InvalidSchedule(f"{text!r} is not an interval", 'Write it like "30m", "2h" or "90s".')
        value = round(float(match.group(1)) * _UNIT_MS[match.group(2).lower()])
    if value <= 0 or value > MAX_EVERY_MS:
        raise InvalidSchedule(f"the interval must be between 1 ms and 100 years, got {text!r}")
    return value


def schedule_from_text(
    text: str, *, kind: str | None = None, tz: str | None = None, default_tz: str | None = None
) -> dict[str, Any]:
    """What a person typed (the CLI's EXPR, the Edit dialog's field) → schedule args. `kind` None guesses:
    an interval ("30m", "every 2h") is `every`, a date and time is `at` (without an offset, in `tz` or
    `default_tz`), anything else a cron expression. Raises InvalidSchedule for what is none of them."""
    stripped = " ".join(text.split())
    if kind is None:
        if _DURATION.match(stripped):
            kind = EVERY
        elif re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", stripped):
            kind = AT
        else:
            kind = CRON
    if kind == EVERY:
        return schedule_args(EVERY, str(parse_every(stripped)))
    if kind == AT:
        zone_name = tz or default_tz
        try:
            when = parse_iso(stripped.replace(" ", "T", 1), resolve_zone(zone_name) if zone_name else None)
        except ValueError as exc:
            raise InvalidSchedule(
                f"{text!r} is not a date and time", "Write it like 2026-12-01T09:00 or 2026-12-01T09:00Z."
            ) from exc
        return schedule_args(AT, iso_z(when))
    if kind != CRON:
        raise InvalidSchedule(f"unknown schedule kind {kind!r}", "Use cron, every or at.")
    return schedule_args(CRON, stripped, tz)


def schedule_problem(
    schedule: Mapping[str, Any], *, source: str | None, job_id: str | None = None
) -> str | None:
    """What is wrong with a schedule for a job of `source` (None: nothing): its shape, whether the source
    takes that kind, and the expression and zone read in the source's dialect (core.schedule)."""
    shape = _schedule_shape_problem("", dict(schedule))
    if shape is not None:
        return shape
    kind, tz = schedule["kind"], schedule.get("tz")
    name = source or "gateway"
    kinds = SOURCE_SCHEDULE_KINDS.get(name, ())
    if kind not in kinds:
        if not kinds:
            return why_not(source, SET_SCHEDULE)
        return f"a {name} job's schedule is a {' or '.join(kinds)} schedule, not {kind}"
    try:
        if tz:
            resolve_zone(tz)
        validate(as_schedule(schedule, source=source, job_id=job_id), default_tz="UTC")
    except InvalidSchedule as exc:
        return exc.message
    return None


def as_schedule(schedule: Mapping[str, Any], *, source: str | None, job_id: str | None = None) -> Schedule:
    """Schedule args as a `core.schedule.Schedule`, read in the dialect of `source`."""
    return schedule_for(
        str(schedule["kind"]), str(schedule["expr"]), schedule.get("tz") or None, source=source, job_id=job_id
    )


def key_from_name(name: str) -> str:
    """A jobs.toml key for a new job called `name`: "Nightly backup" → "nightly-backup"."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-._").lower()
    return slug[:64] or "job"


# -- in words ----------------------------------------------------------------------------------------


def words(action: str) -> str:
    """ "Disable", "Schedule change", … (an unknown action is shown as it is)."""
    return WORDS.get(action, action)


def describe(action: str, args: Mapping[str, Any] | None) -> str:
    """An action with what it asks for: "Disable", "Schedule → 0 3 * * * (Europe/Berlin)", "Rename →
    “Backup”". Text from the request is shown as it is (callers escape it for a terminal)."""
    args = args or {}
    if action == SET_SCHEDULE and isinstance(args.get("expr"), str):
        return f"Schedule → {schedule_words(args)}"
    if action == RENAME and isinstance(args.get("name"), str):
        return f"Rename → “{args['name']}”"
    if action == CREATE and isinstance(args.get("key"), str):
        return f"Add job “{args.get('name') or args['key']}”"
    return words(action)


def schedule_words(schedule: Mapping[str, Any]) -> str:
    kind, expr, tz = schedule.get("kind"), str(schedule.get("expr")), schedule.get("tz")
    if kind == EVERY and expr.isdigit():
        return f"every {_interval_words(int(expr))}"
    if kind == AT:
        return f"at {expr}"
    return expr + (f" ({tz})" if tz else "")


def _interval_words(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def pending_words(action: str, status: str, requested_at: datetime | None, now: datetime) -> str:
    """What an active request says on its job's row: "Disable requested 5 s ago", "Disable in progress"."""
    if status == "running":
        return f"{words(action)} in progress"
    return f"{words(action)} requested {relative(requested_at, now, empty='earlier')}"
