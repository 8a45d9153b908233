"""LaunchAgent property lists → jobs, testable anywhere (plistlib reads XML and binary plists).

`StartCalendarInterval` (a dict, or a list of dicts) becomes one cron expression when it can be one: a
single dict always can (a missing key is a wildcard, Weekday 7 is Sunday); a list can when it is the full
cross product of per-key values ({Hour 7, 19} × {Minute 0} → "0 7,19 * * *"). Otherwise the schedule is
kind "calendar": the cron expressions of each dict, joined by "; ", so nothing is made up.
`StartInterval` (seconds) becomes kind "every". A job without either is kind "event" (RunAtLoad, KeepAlive,
WatchPaths... or "on demand"): listed, never predicted. Times are the Mac's local zone (tz None).
"""

from __future__ import annotations

import math
import plistlib
import shlex
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from cronmirror_desktop.core.schedule import CALENDAR, CALENDAR_SEPARATOR, CRON, EVENT, EVERY
from worker.jobs import LocalJob

SOURCE = "launchd"
#: (plist key, cron field position, lowest, highest)
_FIELDS = (("Minute", 0, 59), ("Hour", 0, 23), ("Day", 1, 31), ("Month", 1, 12), ("Weekday", 0, 7))
_EVENT_KEYS = ("KeepAlive", "WatchPaths", "QueueDirectories", "StartOnMount", "RunAtLoad")
_MAX_CALENDAR_ENTRIES = 500


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedAgents:
    jobs: tuple[LocalJob, ...]
    warnings: tuple[str, ...]


def calendar_to_schedule(value: object) -> tuple[str, str]:
    """StartCalendarInterval → ("cron", "0 7,19 * * *") or ("calendar", "0 7 * * *; 30 8 * * 1")."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise CalendarError("StartCalendarInterval is an empty list")
    if len(items) > _MAX_CALENDAR_ENTRIES:
        raise CalendarError(f"StartCalendarInterval has more than {_MAX_CALENDAR_ENTRIES} entries")
    rows = sorted({_calendar_row(item) for item in items}, key=_time_order)
    columns = [sorted({row[i] for row in rows}, key=lambda v: -1 if v is None else v) for i in range(5)]
    mixes_wildcard = any(None in col and len(col) > 1 for col in columns)
    if not mixes_wildcard and math.prod(len(col) for col in columns) == len(rows):
        return CRON, " ".join(_field(col) for col in columns)
    return CALENDAR, CALENDAR_SEPARATOR.join(" ".join(_field([v]) for v in row) for row in rows)


def _calendar_row(item: object) -> tuple[int | None, ...]:
    if not isinstance(item, dict):
        raise CalendarError("StartCalendarInterval entries must be dictionaries")
    unknown = set(item) - {name for name, _, _ in _FIELDS}
    if unknown:
        raise CalendarError(f"unknown StartCalendarInterval key(s): {', '.join(sorted(map(str, unknown)))}")
    row: list[int | None] = []
    for name, low, high in _FIELDS:
        value = item.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
        ):
            raise CalendarError(
                f"StartCalendarInterval {name} must be an integer {low}-{high}, got {value!r}"
            )
        row.append(0 if name == "Weekday" and value == 7 else value)
    return tuple(row)


def _time_order(row: tuple[int | None, ...]) -> tuple[int, ...]:
    """Month, day, weekday, hour, minute: the order a person reads a calendar in (wildcards first)."""
    return tuple(-1 if row[i] is None else row[i] for i in (3, 2, 4, 1, 0))  # type: ignore[misc]


def _field(values: list[int | None]) -> str:
    return "*" if values == [None] else ",".join(str(v) for v in values)


def job_from_plist(data: Any, *, file_name: str) -> tuple[LocalJob | None, list[str]]:
    """(job or None, warnings) for one plist's top-level dict."""
    if not isinstance(data, dict):
        return None, [f"{file_name}: the top level is not a dictionary; skipped"]
    label = data.get("Label")
    if not _usable_label(label):
        return None, [f"{file_name}: missing or unusable Label {label!r}; skipped"]
    assert isinstance(label, str)
    notes: list[str] = []
    kind: str | None = EVENT
    expr: str | None = next((k for k in _EVENT_KEYS if data.get(k)), "on demand")
    if "StartCalendarInterval" in data:
        try:
            kind, expr = calendar_to_schedule(data["StartCalendarInterval"])
        except CalendarError as exc:
            kind, expr = None, None
            notes.append(f"{file_name}: {exc}")
        if "StartInterval" in data:
            notes.append(f"{file_name}: has StartInterval too; the mirror shows StartCalendarInterval")
    elif "StartInterval" in data:
        seconds = data["StartInterval"]
        if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds > 0:
            kind, expr = EVERY, str(seconds * 1000)
        else:
            kind, expr = None, None
            notes.append(f"{file_name}: StartInterval must be a positive number of seconds, got {seconds!r}")
    job = LocalJob(
        job_id=f"launchd:{label}",
        name=label,
        source=SOURCE,
        schedule_kind=kind,
        schedule_expr=expr,
        tz=None,
        enabled=data.get("Disabled") is not True,
        instructions=_program_text(data),
        native_id=label,
        problems=tuple(notes),
    )
    return job, notes


def _usable_label(label: object) -> bool:
    """A label we can put into `gui/<uid>/<label>`: text, no '/', not an option, no control characters."""
    if not isinstance(label, str) or not label or len(label) > 256 or label.startswith("-") or "/" in label:
        return False
    return not any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in label)


def _program_text(data: dict[str, Any]) -> str | None:
    args = data.get("ProgramArguments")
    if isinstance(args, list) and args and all(isinstance(a, str) for a in args):
        return shlex.join(args)
    program = data.get("Program")
    return program if isinstance(program, str) else None


def parse_agents_dir(directory: Path) -> ParsedAgents:
    """Every `*.plist` in `directory` (sorted); an unreadable file is a warning, not a failure."""
    jobs: list[LocalJob] = []
    warnings: list[str] = []
    for path in sorted(directory.glob("*.plist")):
        try:
            with path.open("rb") as handle:
                data = plistlib.load(handle)
        except (plistlib.InvalidFileException, ExpatError, ValueError, OSError, TypeError) as exc:
            warnings.append(
                f"{path.name}: not a readable property list ({type(exc).__name__}: {exc}); skipped"
            )
            continue
        job, notes = job_from_plist(data, file_name=path.name)
        warnings += notes
        if job is not None:
            jobs.append(job)
    return ParsedAgents(tuple(jobs), tuple(warnings))


def parse_print_disabled(text: str) -> dict[str, bool]:
    """`launchctl print-disabled gui/<uid>` → {label: disabled}, from lines like `"label" => disabled`."""
    out: dict[str, bool] = {}
    for line in text.splitlines():
        left, sep, right = line.partition("=>")
        if not sep:
            continue
        label = left.strip().strip('"')
        state = right.strip().rstrip(",").lower()
        if label and state in {"disabled", "true", "enabled", "false"}:
            out[label] = state in {"disabled", "true"}
    return out
