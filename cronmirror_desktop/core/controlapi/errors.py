"""What the Control API's failures mean, as `core.errors` a person can act on (never its paths)."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import httpx

from cronmirror_desktop.core.errors import CommandFailed, CronMirrorError, NotFound, Unreachable, error_line

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SPAWN_ENOENT = re.compile(r"spawn (\S+) ENOENT")
_UNKNOWN_JOB = re.compile(r"unknown cron job id|job not found|no such job", re.IGNORECASE)


def command_error(error_text: str, *, job_id: str | None = None) -> CronMirrorError:
    """Turn the server's `"Command failed: <bin> <args>\\n<stderr>"` into an error whose message is the CLI's
    own error line. The first line (the server's command, with its paths) is never shown."""
    text = _ANSI.sub("", error_text or "")
    lines = text.splitlines()
    if lines and lines[0].lstrip().startswith("Command failed:"):
        lines = lines[1:]
    detail = "\n".join(line.rstrip() for line in lines).strip()
    if spawn := _SPAWN_ENOENT.search(text):
        program = spawn.group(1).rsplit("/", 1)[-1]
        return CommandFailed(
            f"The Control API could not start `{program}` on the Mac mini.",
            "Install the gateway CLI there, or set EXECUTOR_BIN for the Control API.",
        )
    line = error_line("\n".join(lines))
    if line is None:
        return CommandFailed(
            "The gateway CLI on the Mac mini failed without an error message.", detail=detail
        )
    if _UNKNOWN_JOB.search(line):
        shown = f"job {job_id!r}" if job_id else "this job"
        return NotFound(
            f"The Mac mini's gateway has no {shown}: {line}",
            "The job may have been deleted or renamed; refresh the job list.",
        )
    return CommandFailed(line, detail=detail)


def connect_failure(exc: httpx.HTTPError, shown: str) -> Unreachable:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            host = urlsplit(shown).hostname or shown
            return Unreachable(
                f"Could not find the host {host!r} of the Control API.",
                "Check the Control API URL (the Mac mini's name or address) and your network.",
            )
        if isinstance(cause, ConnectionRefusedError):
            return Unreachable(
                f"The Control API at {shown} refused the connection.",
                "Is the Control API running on the Mac mini (default port 3737)?",
            )
        cause = cause.__cause__ or cause.__context__
    return Unreachable(f"Could not connect to the Control API at {shown}.")
