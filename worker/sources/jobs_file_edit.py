"""Editing `jobs.toml` for action requests, keeping the user's file as it is outside the edited job.

Why so careful: the file is the user's own, with their comments and layout. So
- only the edited job's table changes: the text from its `[jobs.<key>]` header to its last setting is cut
  out, edited with tomlkit (which keeps comments and layout inside it too, except for a setting that is
  replaced by one of another name), and put back; every byte before and after it stays as it was, the
  comments between this table and the next one included. A new job is appended at the end; a removed one
  takes its table with it, not the comments around it.
- the result must mean what was asked and nothing else: it is read again (tomllib) and compared with the old
  file — every other table equal, this job changed exactly as asked — and the job must still be one the
  worker lists (worker.sources.jobs_file). Otherwise nothing is written.
- the file is replaced atomically (core.fileio), keeping its mode, through a symlink (a dotfiles repo) to the
  real file, and only if it did not change since it was read: someone editing it meanwhile wins, and the
  request ends saying so.
A job written another way (`[jobs]` with an inline table, dotted keys) is edited through tomlkit on the whole
document and the same checks apply.
"""

from __future__ import annotations

import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from cronmirror_desktop.core.actions import (
    CREATE,
    DELETE,
    DISABLE,
    ENABLE,
    RENAME,
    SET_SCHEDULE,
    schedule_words,
)
from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.schedule import AT, CRON, EVERY
from worker.sources.jobs_file import parse_jobs_file

SCHEDULE_KEYS = (CRON, EVERY, AT)
_HEADER = re.compile(r"^\s*\[\s*jobs\s*\.\s*(?:\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_.-]+))\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_BLANK_OR_COMMENT = re.compile(r"^\s*(#.*)?$")
NEW_FILE_HEADER = "# CronMirror's jobs (docs/worker-sources.md, jobs.toml). Edit freely.\n"


class EditRefused(Exception):
    """The edit cannot be made safely; `str()` says why. Nothing was written."""


@dataclass(frozen=True)
class Edit:
    """The new text of the file and what it changes (field -> {"from", "to"}; empty: nothing to do)."""

    text: str
    changes: dict[str, Any]
    summary: str


def duration_text(ms: int) -> str:
    """Milliseconds as jobs.toml writes a duration: the largest unit that fits exactly ("30m", "2h")."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _span(text: str, key: str) -> tuple[int, int] | None:
    """Where the `[jobs.<key>]` table is: from its header line to the end of its last line that is not blank
    or a comment, its line end included (character offsets); None when the job has no header of its own."""
    lines = text.splitlines(keepends=True)
    offset = 0
    start = None
    for index, line in enumerate(lines):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match and next(g for g in match.groups()[:3] if g is not None) == key:
            start = (index, offset)
            break
        offset += len(line)
    if start is None:
        return None
    first, begin = start
    end_index = len(lines)
    for index in range(first + 1, len(lines)):
        if _ANY_HEADER.match(lines[index]):
            end_index = index
            break
    last = end_index - 1
    while last > first and _BLANK_OR_COMMENT.match(lines[last].rstrip("\r\n")):
        last -= 1
    end = sum(len(line) for line in lines[: last + 1])
    return begin, end


def _plain(value: Any) -> Any:
    """tomlkit items as plain Python values (for comparing and for the changes)."""
    if hasattr(value, "unwrap"):
        return value.unwrap()
    return value


def _apply_to_table(table: Any, action: str, args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Change one job's tomlkit table as `action` says; returns (changes, summary)."""
    if action in (ENABLE, DISABLE):
        wanted = action == ENABLE
        current = _plain(table.get("enabled", True))
        if current is wanted:
            return {}, f"it was already {'enabled' if wanted else 'disabled'}"
        table["enabled"] = wanted
        return {"enabled": {"from": current, "to": wanted}}, "enabled" if wanted else "disabled"
    if action == RENAME:
        old = _plain(table.get("name"))
        if old == args["name"]:
            return {}, "it already had that name"
        table["name"] = args["name"]
        return {"name": {"from": old, "to": args["name"]}}, f"renamed to {args['name']!r}"
    if action == SET_SCHEDULE:
        return _set_schedule(table, args)
    raise EditRefused(f"jobs.toml jobs cannot be asked to {action}")


def _schedule_of(table: Any) -> dict[str, Any]:
    found = {k: _plain(table[k]) for k in SCHEDULE_KEYS if k in table}
    if "tz" in table:
        found["tz"] = _plain(table["tz"])
    return found


def _set_schedule(table: Any, args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    kind, expr, tz = args["kind"], args["expr"], args.get("tz")
    before = _schedule_of(table)
    value: Any = duration_text(int(expr)) if kind == EVERY else expr
    for other in SCHEDULE_KEYS:
        if other != kind and other in table:
            del table[other]
    table[kind] = value
    if tz:
        table["tz"] = tz
    elif "tz" in table:
        del table["tz"]
    after = _schedule_of(table)
    if after == before:
        return {}, "it already had that schedule"
    return {"schedule": {"from": before, "to": after}}, f"schedule set to {schedule_words(args)}"


def _new_table(key: str, args: Mapping[str, Any]) -> str:
    table = tomlkit.table()
    table["name"] = args.get("name") or key
    schedule = args.get("schedule")
    if schedule:
        kind, expr = schedule["kind"], schedule["expr"]
        table[kind] = duration_text(int(expr)) if kind == EVERY else expr
        if schedule.get("tz"):
            table["tz"] = schedule["tz"]
    table["command"] = list(args["command"])
    if args.get("timeout"):
        table["timeout"] = int(args["timeout"])
    if args.get("enabled") is False:
        table["enabled"] = False
    jobs = tomlkit.table(True)
    jobs.add(key, table)
    document = tomlkit.document()
    document.add("jobs", jobs)
    return tomlkit.dumps(document).lstrip("\n")


def _appended(text: str, table: str) -> str:
    """`table` after everything in the file, one blank line between (a new file gets a header comment)."""
    if not text:
        return f"{NEW_FILE_HEADER}\n{table}"
    base = text if text.endswith("\n") else f"{text}\n"
    return base + ("" if base.endswith("\n\n") else "\n") + table


def _jobs_table(document: dict[str, Any]) -> dict[str, Any]:
    jobs = document.get("jobs")
    return dict(jobs) if isinstance(jobs, dict) else {}


def edit_text(text: str, key: str, action: str, args: Mapping[str, Any]) -> Edit:
    """The file's new text with job `key` changed as `action` says (pure: nothing is read or written).
    Raises EditRefused when that cannot be done safely."""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EditRefused(f"jobs.toml is not valid TOML ({exc})") from None
    exists = key in _jobs_table(before)
    if action == CREATE:
        if exists:
            raise EditRefused(f"jobs.toml already has a job [jobs.{key}]")
        new_text = _appended(text, _new_table(key, args))
        name = args.get("name") or key
        edit = Edit(new_text, {"created": f"jobs:{key}"}, f"added job {name!r} to jobs.toml")
    elif not exists:
        raise EditRefused(f"jobs.toml has no job [jobs.{key}] any more")
    elif action == DELETE:
        span = _span(text, key)
        if span is None:
            raise EditRefused(f"[jobs.{key}] is not a table of its own in jobs.toml; remove it by hand")
        begin, end = span  # its lines, with their line ends
        edit = Edit(text[:begin] + text[end:], {"deleted": f"jobs:{key}"}, "removed it from jobs.toml")
    else:
        edit = _edit_table(text, key, action, args)
    _check(text, edit.text, key, action)
    return edit


def _edit_table(text: str, key: str, action: str, args: Mapping[str, Any]) -> Edit:
    span = _span(text, key)
    try:
        if span is None:  # an inline table or dotted keys: edit the whole document
            document = tomlkit.parse(text)
            changes, summary = _apply_to_table(document["jobs"][key], action, args)
            return Edit(tomlkit.dumps(document), changes, summary)
        begin, end = span
        piece = tomlkit.parse(text[begin:end])
        changes, summary = _apply_to_table(piece["jobs"][key], action, args)
        edited = tomlkit.dumps(piece)
    except TOMLKitError as exc:
        raise EditRefused(f"jobs.toml could not be edited ({exc})") from None
    if not edited.endswith(("\n", "\r\n")) and text[begin:end].endswith("\n"):
        edited += "\n"
    return Edit(text[:begin] + edited + text[end:], changes, summary)


def _check(old_text: str, new_text: str, key: str, action: str) -> None:
    """The new text means the old one with only job `key` changed, and the worker still reads that job."""
    try:
        old, new = tomllib.loads(old_text), tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise EditRefused(f"the edited jobs.toml would not be valid TOML ({exc})") from None
    old_jobs, new_jobs = _jobs_table(old), _jobs_table(new)
    old_jobs.pop(key, None)
    had = new_jobs.pop(key, None)
    if {**old, "jobs": old_jobs} != {**new, "jobs": new_jobs} or (had is None) != (action == DELETE):
        raise EditRefused("editing jobs.toml would have changed more than this job")
    if action == DELETE:
        return
    parsed = parse_jobs_file(new_text)
    if not any(job.native_id == key for job in parsed.jobs):
        why = next((w for w in parsed.warnings if f"[jobs.{key}]" in w), parsed.error or "it would not list")
        raise EditRefused(f"the edited job would not be usable ({why})")


def edit_file(path: Path, key: str, action: str, args: Mapping[str, Any]) -> Edit:
    """Edit the jobs file at `path` (see the module docstring). Raises EditRefused (nothing written)."""
    target = path.resolve() if path.is_symlink() else path
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        if action != CREATE:
            raise EditRefused(f"there is no jobs file at {path}") from None
        raw = b""
    except OSError as exc:
        raise EditRefused(f"cannot read {path}: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EditRefused(f"{path.name} is not UTF-8 text") from None
    edit = edit_text(text, key, action, args)
    if edit.text == text:
        return edit
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        current = target.read_bytes()
    except FileNotFoundError:
        mode, current = 0o600, b""
    except OSError as exc:
        raise EditRefused(f"cannot read {path} again before writing: {exc}") from None
    if current != raw:
        raise EditRefused(
            f"{path.name} changed while CronMirror was editing it (someone else saved it meanwhile); "
            "ask again"
        )
    try:
        atomic_write_text(target, edit.text, mode=mode)
    except OSError as exc:
        raise EditRefused(f"cannot write {path}: {exc}") from None
    return edit
