"""Finding and calling the ClawdBot / Moltbot / OpenClaw CLI, and reading its JSON.

launchd starts the worker with PATH=/usr/bin:/bin:/usr/sbin:/sbin, which has neither the CLI (Homebrew,
npm global, nvm...) nor the `node` its `#!/usr/bin/env node` line needs, so the usual install locations are
searched too and put in front of the CLI's PATH.
The variant is detected once from `<bin> cron run --help`: `--due` there means force is the default
(OpenClaw ≥ 2026.2.6, which rejects `--force`); otherwise `--force` is needed to run a job that is not due.

What the real CLIs print when something goes wrong (tests/fakes/gateway_captures): the error **first**, then
4-5 trailer lines (`Gateway target: …`, `Source: …`, `Config: …`, `Bind: loopback`); OpenClaw also answers
`{"ok": false, "error": {"message": …}}` on stdout, and exits 1 even for some answers that are not errors
(`{"ok": true, "ran": false, …}`). A CLI that cannot start at all prints its cause and then a node stack.
So `cli_error` reads stdout's JSON first, then the first meaningful stderr line — never the last line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.process import ProcessResult, SpawnError, run_process

BINARY_NAMES = ("openclaw", "clawdbot", "moltbot")
#: Enough for thousands of jobs with long prompts; anything bigger is cut and reported, not buffered.
MAX_JSON_CHARS = 8_000_000
_MAX_JSON_STARTS = 200


class GatewayError(Exception):
    """The CLI failed or answered something unusable; `str()` is one line for a person."""


class GatewayDown(GatewayError):
    """The CLI could not reach the gateway (it is not running, or not on this port)."""


class GatewayTimeout(GatewayError):
    """The CLI gave up waiting for the gateway (`gateway timeout after Nms`); the gateway may go on."""


_DOWN_MARKERS = (
    "econnrefused",  # OpenClaw: "Gateway not reachable at ws://127.0.0.1:P (ECONNREFUSED)."
    "gateway not reachable",
    "gateway closed (1006",  # ClawdBot: "Error: gateway closed (1006 abnormal closure (no close frame)): …"
    "gateway not running",
)  # not "gateway connect failed": ClawdBot says that for a refused token too (then "gateway closed (1008)")
_TIMEOUT_MARKERS = ("gateway timeout", "timeout after", "timed out")
_UNKNOWN_JOB_MARKERS = ("unknown cron job id", "automation not found")
#: Lines that follow the real error (or frame it) and never are the error themselves.
_TRAILER = re.compile(
    r"^(Gateway target|Source|Config|Bind|Fix|Try): |^Start it with `|^For the default local"
)
_STACK_FRAME = re.compile(r"^\s+at |^\S+:\d+$|^\s*\^+\s*$")


def looks_down(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _DOWN_MARKERS)


def looks_timed_out(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _TIMEOUT_MARKERS)


def looks_unknown_job(text: str) -> bool:
    """ClawdBot: `Error: Error: unknown cron job id: <id>`; OpenClaw: `Automation not found: <id>. …`."""
    lowered = text.lower()
    return any(marker in lowered for marker in _UNKNOWN_JOB_MARKERS)


def rejects_option(text: str, option: str) -> bool:
    """commander's `error: unknown option '--x'` or OpenClaw's `OpenClaw does not recognize option "--x".`"""
    return f"unknown option '{option}'" in text or f'does not recognize option "{option}"' in text


def first_line(text: str) -> str:
    """The first line that says something: not blank, not a stack frame or code echo, not a trailer."""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or _STACK_FRAME.match(line) or raw[:1].isspace() or _TRAILER.match(line):
            continue
        while line.startswith("Error: Error: "):  # ClawdBot wraps the gateway's error once more
            line = line[len("Error: ") :]
        return line.strip()[:300]
    return ""


def json_error(stdout: str) -> str:
    """The message of an `{"ok": false, "error": …}` answer on stdout (OpenClaw), else ''."""
    try:
        answer = extract_json(stdout, lambda v: isinstance(v, dict) and v.get("ok") is False)
    except GatewayError:
        return ""
    assert isinstance(answer, dict)
    error = answer.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    return first_line(message) if isinstance(message, str) else ""


def cli_error(result: ProcessResult) -> str:
    """One line saying why a CLI call failed, read the way the real CLIs print it (see the docstring)."""
    return (
        json_error(result.stdout_tail)
        or first_line(result.stderr_tail)
        or first_line(result.stdout_tail)
        or f"exit code {result.exit_code}"
    )


def error_for(line: str) -> GatewayError:
    """The exception a failed call's `cli_error` line stands for."""
    if looks_down(line):
        return GatewayDown(line)
    if looks_timed_out(line):
        return GatewayTimeout(line)
    return GatewayError(line)


def default_search_dirs(home: Path) -> list[Path]:
    """Where the CLI usually lives on a Mac, beyond PATH."""
    dirs = [
        Path("/opt/homebrew/bin"),
        Path("/usr/local/bin"),
        home / ".npm-global" / "bin",
        home / ".local" / "bin",
        home / ".volta" / "bin",
        home / ".bun" / "bin",
        home / "Library" / "pnpm",
        home / ".local" / "share" / "pnpm",
        Path("/opt/local/bin"),
    ]
    return dirs + sorted((home / ".nvm" / "versions" / "node").glob("*/bin"), reverse=True)


def find_binary(
    configured: str | os.PathLike[str] | None,
    search_dirs: Sequence[Path],
    names: Sequence[str] = BINARY_NAMES,
) -> Path | None:
    """A configured path (only that), else the first of `names` (in that order) found in `search_dirs`."""
    if configured:
        path = Path(configured).expanduser()
        return path if _executable(path) else None
    for name in names:
        for directory in search_dirs:
            candidate = directory / name
            if _executable(candidate):
                return candidate
    return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def cli_environment(binary: Path, base: Mapping[str, str], extra_dirs: Sequence[Path]) -> dict[str, str]:
    """`base` with the CLI's own directory (and node's usual homes) in front of PATH."""
    dirs = [str(binary.parent), str(binary.resolve().parent), *map(str, extra_dirs)]
    dirs += [d for d in base.get("PATH", "/usr/bin:/bin").split(os.pathsep) if d]
    path = os.pathsep.join(dict.fromkeys(dirs))  # first occurrence wins, order kept
    return {**base, "PATH": path}


def extract_json(text: str, accept: Callable[[object], bool]) -> object:
    """The first JSON value in `text` that `accept`s, skipping log noise before (or after) it."""
    decoder = json.JSONDecoder()
    tried = 0
    index = _next_start(text, 0)
    while index != -1 and tried < _MAX_JSON_STARTS:
        tried += 1
        try:
            value, _ = decoder.raw_decode(text, index)
        except ValueError:
            value = None
        else:
            if accept(value):
                return value
        index = _next_start(text, index + 1)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    raise GatewayError(f"no usable JSON in the CLI's output (it began: {first[:120]!r})")


def _next_start(text: str, start: int) -> int:
    positions = [p for p in (text.find("{", start), text.find("[", start)) if p != -1]
    return min(positions) if positions else -1


@dataclass(frozen=True)
class CliInfo:
    """What the installed CLI is and how to call it."""

    binary: Path
    help_text: str
    pass_force: bool

    @property
    def flavor(self) -> str:
        return self.binary.name


class GatewayCli:
    def __init__(self, binary: Path, env: Mapping[str, str]) -> None:
        self.binary = binary
        self.env = dict(env)
        self._info: CliInfo | None = None

    async def call(
        self,
        args: Sequence[str],
        *,
        timeout: float,  # noqa: ASYNC109 - a kill deadline for the CLI process
        max_chars: int = MAX_JSON_CHARS,
    ) -> ProcessResult:
        """Run `<bin> args...`; raises GatewayError if it cannot even start."""
        try:
            return await run_process(
                [str(self.binary), *args], timeout=timeout, env=self.env, tail_chars=max_chars
            )
        except SpawnError as exc:
            raise GatewayError(exc.message) from exc

    async def info(self, *, refresh: bool = False) -> CliInfo:
        """Detected once per binary (and again with `refresh`, after the CLI rejected an option).

        Raises GatewayError when the CLI cannot even print its help: it cannot start (a broken install)."""
        if self._info is None or refresh:
            run_help = await self.call(["cron", "run", "--help"], timeout=30, max_chars=100_000)
            text = run_help.stdout_tail + run_help.stderr_tail
            if run_help.timed_out:
                raise GatewayError("`cron run --help` did not finish within 30 s")
            if run_help.exit_code != 0 and "Usage:" not in text:
                raise GatewayError(cli_error(run_help))
            if "--due" in text:
                pass_force = False
            elif "--force" in text:
                pass_force = True
            else:  # no help to go by: the names that predate the change all need --force
                pass_force = self.binary.name in {"clawdbot", "moltbot"}
            self._info = CliInfo(self.binary, text, pass_force)
        return self._info
