"""Reading a user crontab (`crontab -l` output) the way cron(8) does, one entry at a time.

- `m h dom mon dow command`, or `@daily command` (and the other macros); `@reboot` has no clock time.
- `NAME = value` lines set the environment of the entries below them (as cron copies the environment
  into each entry when it loads the file); `SHELL` also picks the shell, `CRON_TZ` the zone (cronie).
- A `#` comment directly above an entry names it.
- `%` per crontab(5): the first unescaped `%` ends the command, the rest goes to its stdin with `%` as
  newlines; `\\%` is a literal `%`.
- Each entry gets a stable id from its schedule and command, so an edit elsewhere in the file does not
  change it; identical entries are told apart by order (`-2`, `-3`).
- An entry CronMirror disabled is commented out with `DISABLED_MARKER` in front of the line: cron skips it,
  and it is listed as a disabled job with the same id (enabling removes the marker again).
A malformed line is reported with its number and left out; the others still list.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cronmirror_desktop.core.schedule import InvalidSchedule, expand_cron

#: What CronMirror puts in front of an entry it disabled (`#` so cron ignores the line).
DISABLED_MARKER = "#cronmirror-disabled# "
_ENV_RE = re.compile(r"""^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$""")
_FIELDS_RE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$")
_MACRO_RE = re.compile(r"^(@\w+)\s+(.*)$")


@dataclass(frozen=True)
class CrontabEntry:
    line_no: int
    #: "0 7 * * *", "@daily" or "@reboot", whitespace normalised.
    schedule: str
    #: The command as written (after the schedule), including any `%` stdin part.
    raw_command: str
    #: What the shell runs: up to the first unescaped `%`, with `\%` turned into `%`.
    command: str
    stdin_data: bytes | None
    comment: str | None
    env: tuple[tuple[str, str], ...]
    #: False for an entry CronMirror commented out (DISABLED_MARKER).
    enabled: bool = True

    @property
    def zone(self) -> str | None:
        return dict(self.env).get("CRON_TZ") or None


@dataclass(frozen=True)
class ParsedCrontab:
    entries: tuple[CrontabEntry, ...]
    warnings: tuple[str, ...]


def parse_crontab(text: str) -> ParsedCrontab:
    entries: list[CrontabEntry] = []
    warnings: list[str] = []
    env: dict[str, str] = {}
    comment: str | None = None
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            comment = None
            continue
        enabled = not line.startswith(DISABLED_MARKER.strip())
        if not enabled:
            line = line[len(DISABLED_MARKER.strip()) :].strip()
        elif line.startswith("#"):
            comment = line.lstrip("#").strip() or None
            continue
        if enabled and (env_match := _ENV_RE.match(line)):
            env[env_match.group(1)] = _unquote(env_match.group(2))
            comment = None
            continue
        try:
            schedule, raw_command = _split_entry(line)
        except ValueError as exc:
            warnings.append(f"crontab line {line_no}: {exc}: {_cut(line)!r}")
            comment = None
            continue
        command, stdin_data = split_percent(raw_command)
        entries.append(
            CrontabEntry(
                line_no, schedule, raw_command, command, stdin_data, comment, tuple(env.items()), enabled
            )
        )
        comment = None
    return ParsedCrontab(tuple(entries), tuple(warnings))


def _split_entry(line: str) -> tuple[str, str]:
    if line.startswith("@"):
        match = _MACRO_RE.match(line)
        if not match:
            raise ValueError("a macro needs a command after it")
        schedule, command = match.group(1).lower(), match.group(2).strip()
        if schedule != "@reboot":
            _check(schedule)
        return schedule, command
    match = _FIELDS_RE.match(line)
    if not match:
        raise ValueError("expected five time fields and a command")
    schedule = " ".join(match.groups()[:5])
    _check(schedule)
    command = match.group(6).strip()
    if not command:  # pragma: no cover - the pattern needs something after the fifth field
        raise ValueError("missing command")
    return schedule, command


def _check(schedule: str) -> None:
    try:
        expand_cron(schedule)
    except InvalidSchedule as exc:
        raise ValueError(exc.message) from None


def split_percent(raw: str) -> tuple[str, bytes | None]:
    """crontab(5) `%` handling, as cron's do_command.c does it → (command for the shell, stdin or None).

    A backslash only escapes a `%` (and is then dropped); any other backslash stays for the shell.
    """
    command: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:  # the previous character was a backslash: it escapes a % and nothing else
            escaped = False
            if ch == "%":
                command[-1] = "%"
            else:
                command.append(ch)
            continue
        elif ch == "%":
            return "".join(command), _stdin_text(raw[i + 1 :]).encode()
        command.append(ch)
        escaped = ch == "\\"
    return "".join(command), None


def _stdin_text(rest: str) -> str:
    out: list[str] = []
    escaped = False
    for ch in rest:
        if escaped:  # the previous character was a backslash: it escapes a % and nothing else
            escaped = False
            if ch == "%":
                out[-1] = "%"
            else:
                out.append(ch)
            continue
        elif ch == "%":
            out.append("\n")
            continue
        out.append(ch)
        escaped = ch == "\\"
    return "".join(out)


def entry_ids(entries: tuple[CrontabEntry, ...]) -> list[str]:
    """`crontab:<12 hex of sha256(schedule, command)>`, with `-2`, `-3`... for repeated identical entries."""
    seen: dict[str, int] = {}
    ids: list[str] = []
    for entry in entries:
        digest = hashlib.sha256(f"{entry.schedule}\n{entry.raw_command}".encode()).hexdigest()[:12]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(f"crontab:{digest}" if seen[digest] == 1 else f"crontab:{digest}-{seen[digest]}")
    return ids


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
