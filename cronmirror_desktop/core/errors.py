"""Errors a person can act on.

Every failure that reaches the UI, the CLI or the worker log is one of these: a one-line `message` that says
what went wrong and a `hint` that says what to do. Code below the boundary (HTTP, SQLite, keyring,
subprocesses) converts its own exceptions into these, so callers never see a library's traceback.
"""

from __future__ import annotations

import re


class CronMirrorError(Exception):
    """Base class: `message` is one line for a person, `hint` the next step (may be empty)."""

    #: Process exit code the `cronmirror` CLI uses for this kind of failure.
    exit_code: int = 1
    default_hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message.strip().splitlines()[0] if message.strip() else type(self).__name__
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotConfigured(CronMirrorError):
    """A setting or secret the operation needs is missing."""

    exit_code = 3
    default_hint = "Open Settings (or run `cronmirror config set`) and fill it in."


class AuthFailed(CronMirrorError):
    """The server refused our key or token."""

    exit_code = 4
    default_hint = "Check the key in Settings: copy it again from your Supabase project's API settings."


class Unreachable(CronMirrorError):
    """The server could not be reached, timed out, or answered something that is not its API."""

    exit_code = 4
    default_hint = "Check the URL and your network connection; the app keeps retrying."


class Conflict(CronMirrorError):
    """The operation clashes with the current state (e.g. the job already has an active request)."""

    exit_code = 5


class NotFound(CronMirrorError):
    """The job, request or project does not exist (any more)."""

    exit_code = 6


class InvalidRow(CronMirrorError):
    """Data from the network or a job source that does not have the expected shape."""

    exit_code = 7


class SecretStoreError(CronMirrorError):
    """The OS keychain could not be used."""

    exit_code = 3
    default_hint = (
        "CronMirror keeps keys in the system keychain. On Linux without a Secret Service, "
        "set the keys as environment variables (SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY) instead."
    )


class InvalidValue(NotConfigured):
    """A configured value (URL, number, project id) is present but not usable, e.g. a URL without http://."""

    default_hint = "Correct it in Settings (or with `cronmirror config set`)."


class CommandFailed(CronMirrorError):
    """A command on the Mac mini (the gateway CLI behind the Control API, a job) failed.

    `message` is the command's own error line (its stderr), never the server's command line or paths;
    `detail` keeps the rest of the error output for a details pane.
    """

    exit_code = 1
    default_hint = "The Mac mini ran the gateway's CLI and it reported this error; check the gateway there."

    def __init__(self, message: str, hint: str | None = None, *, detail: str = "") -> None:
        super().__init__(message, hint)
        self.detail = detail


_ERROR_LINE = re.compile(r"(\w+)?error\b", re.IGNORECASE)


def error_line(text: str) -> str | None:
    """The line of a program's output that says what went wrong, for a one-line reason.

    The first line that starts like an error ("error: …", "TypeError: …"), else the first that mentions one,
    else the last line (output usually ends with its summary). Stack-trace lines ("at …") never count.
    """
    lines = [line.strip() for line in text.splitlines()]
    meaningful = [line for line in lines if line and not line.startswith("at ")]
    return (
        next((line for line in meaningful if _ERROR_LINE.match(line)), None)
        or next((line for line in meaningful if "error" in line.lower()), None)
        or (meaningful[-1] if meaningful else None)
    )
