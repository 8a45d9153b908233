"""Run one argument vector as a job: own process group, bounded output, a timeout and cancel that kill it.

Why each piece:
- An argument vector, never a shell string, so nothing a request carries can become shell syntax. (The one
  `/bin/sh -c` in the worker runs a crontab line the user wrote; see `worker/sources/crontab.py`.)
- A new session (`setsid`), so the job and everything it spawns share one process group that a timeout or a
  cancelled task can kill at once: TERM to the group, a short grace, then KILL to the group.
- Output is consumed as it arrives and only the last `tail_chars` characters are kept, so a job that prints
  gigabytes costs the worker a read buffer and two small strings, not the gigabytes.
- `on_started` fires right after the spawn (the executor heartbeats from it; the benchmark times it).
A job that exits while a background child still holds its stdout gets `drain_timeout` seconds for the rest
of its output; that child is left running (a job may start a daemon on purpose) but stops being read.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cronmirror_desktop.core.errors import CronMirrorError
from worker.job_env import job_environment

log = logging.getLogger(__name__)

TAIL_CHARS = 4000
KILL_GRACE_SECONDS = 2.0
DRAIN_SECONDS = 2.0


class SpawnError(CronMirrorError):
    """The program could not be started at all (missing, not executable, bad working directory)."""

    default_hint = "Check the job's command: the program must exist and be executable on the Mac mini."


class OutputTail:
    """The last `limit` characters of a byte stream, decoded as UTF-8 (bad bytes become U+FFFD)."""

    def __init__(self, limit: int = TAIL_CHARS) -> None:
        self.limit = limit
        self.total_bytes = 0
        self.truncated = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._chars = 0

    def feed(self, data: bytes) -> None:
        self.total_bytes += len(data)
        self._append(self._decoder.decode(data))

    def close(self) -> None:
        self._append(self._decoder.decode(b"", final=True))

    @property
    def text(self) -> str:
        joined = "".join(self._parts)
        return joined[-self.limit :] if len(joined) > self.limit else joined

    def _append(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        self._chars += len(text)
        if self._chars > 2 * self.limit:  # trim rarely, so the work stays linear in the output
            self.truncated = True
            kept = "".join(self._parts)[-self.limit :]
            self._parts = [kept]
            self._chars = len(kept)


class LiveOutput:
    """What a running process has printed so far (its bounded tails), for showing it while it runs."""

    def __init__(self, out: OutputTail, err: OutputTail) -> None:
        self._out, self._err = out, err

    @property
    def stdout(self) -> str:
        return self._out.text

    @property
    def stderr(self) -> str:
        return self._err.text

    @property
    def total_bytes(self) -> int:
        """Grows with every byte printed: a cheap "has anything changed" check."""
        return self._out.total_bytes + self._err.total_bytes


@dataclass(frozen=True)
class ProcessStarted:
    """Given to `on_started` the moment the process exists."""

    pid: int
    argv: tuple[str, ...]
    started_at: datetime
    #: Its output so far (None for a run that is not a local process, e.g. one the gateway makes).
    output: LiveOutput | None = None


@dataclass(frozen=True)
class ProcessResult:
    """How a run ended. `exit_code` is negative when a signal ended it (-9 = SIGKILL), as in subprocess."""

    argv: tuple[str, ...]
    pid: int
    exit_code: int | None
    timed_out: bool
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    stdout_tail: str
    stderr_tail: str
    stdout_bytes: int
    stderr_bytes: int
    stdout_truncated: bool = False
    #: The deadline the run was given (seconds), which `timed_out` refers to.
    timeout_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def signal_name(self) -> str | None:
        if self.exit_code is None or self.exit_code >= 0:
            return None
        try:
            return signal.Signals(-self.exit_code).name
        except ValueError:
            return f"signal {-self.exit_code}"


OnStarted = Callable[[ProcessStarted], object]


class _Collector(asyncio.SubprocessProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, out: OutputTail, err: OutputTail) -> None:
        self._tails = {1: out, 2: err}
        self._open = {1, 2}
        self.exited: asyncio.Future[float] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        tail = self._tails.get(fd)
        if tail is not None:
            tail.feed(data if isinstance(data, bytes) else data.encode())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open.discard(fd)
        if not self._open and not self.drained.done():
            self.drained.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(time.monotonic())


async def run_process(
    argv: Sequence[str],
    *,
    timeout: float | None,  # noqa: ASYNC109 - a kill deadline for the process group, reported as timed_out
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin_data: bytes | None = None,
    on_started: OnStarted | None = None,
    tail_chars: int = TAIL_CHARS,
    kill_grace: float = KILL_GRACE_SECONDS,
    drain_timeout: float = DRAIN_SECONDS,
) -> ProcessResult:
    """Run `argv` to the end (or the timeout) and say how it went. Raises SpawnError if it cannot start.

    Without `env` the process gets the worker's environment minus CronMirror's secrets (`worker.job_env`);
    a given `env` is used as it is (callers build it from `job_environment()`).

    Cancelling the awaiting task kills the whole process group before the CancelledError propagates.
    """
    args = _checked_argv(argv)
    loop = asyncio.get_running_loop()
    out, err = OutputTail(tail_chars), OutputTail(tail_chars)
    started_mono = time.monotonic()
    started_at = datetime.now(UTC)
    try:
        transport, proto = await loop.subprocess_exec(
            lambda: _Collector(loop, out, err),
            *args,
            stdin=asyncio.subprocess.PIPE if stdin_data is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else job_environment(),
            cwd=Path(cwd) if cwd is not None else None,
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        raise SpawnError(f"cannot start {args[0]!r}: {getattr(exc, 'strerror', None) or exc}") from exc
    pid = transport.get_pid()
    try:
        _feed_stdin(transport, stdin_data)
        _notify(on_started, ProcessStarted(pid, args, started_at, LiveOutput(out, err)))
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(proto.exited), timeout)
        except TimeoutError:
            timed_out = True
            await kill_group(pid, kill_grace, proto.exited)
        except asyncio.CancelledError:
            await asyncio.shield(kill_group(pid, kill_grace, proto.exited))
            raise
        try:
            await asyncio.wait_for(asyncio.shield(proto.drained), drain_timeout)
        except TimeoutError:
            log.info("pid %s exited but a child still holds its output; no longer reading it", pid)
    finally:
        transport.close()
    out.close()
    err.close()
    ended = proto.exited.result() if proto.exited.done() else time.monotonic()
    duration = timedelta(seconds=max(0.0, ended - started_mono))
    return ProcessResult(
        argv=args,
        pid=pid,
        exit_code=transport.get_returncode(),
        timed_out=timed_out,
        started_at=started_at,
        finished_at=started_at + duration,
        duration_ms=int(duration.total_seconds() * 1000),
        stdout_tail=out.text,
        stderr_tail=err.text,
        stdout_bytes=out.total_bytes,
        stderr_bytes=err.total_bytes,
        stdout_truncated=out.truncated,
        timeout_s=timeout,
    )


def _checked_argv(argv: Sequence[str]) -> tuple[str, ...]:
    if isinstance(argv, str | bytes):
        raise TypeError("argv must be a sequence of arguments, not one string")
    args = tuple(argv)
    if not args or not all(isinstance(a, str) for a in args):
        raise SpawnError("the command must be a non-empty list of strings")
    if any("\x00" in a for a in args):
        raise SpawnError("the command contains a NUL character")
    return args


def _feed_stdin(transport: asyncio.SubprocessTransport, data: bytes | None) -> None:
    if data is None:
        return
    pipe = transport.get_pipe_transport(0)
    if isinstance(pipe, asyncio.WriteTransport):
        pipe.write(data)
        pipe.close()  # flushes what is buffered, then closes: the job sees end-of-file


def _notify(on_started: OnStarted | None, started: ProcessStarted) -> None:
    if on_started is None:
        return
    try:
        on_started(started)
    except Exception:  # a broken hook must not leave an unsupervised process behind
        log.exception("on_started hook failed for pid %s", started.pid)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # ProcessLookupError: the whole group is gone already; PermissionError: never ours to signal.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def kill_group(pgid: int, grace: float, exited: asyncio.Future[float] | None = None) -> None:
    """TERM to the group; up to `grace` seconds for all of it to go; then KILL to whatever is left.
    With `exited` (the leader's exit, for a process we started), also wait for that after the KILL."""
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    # Nothing signals "the last member of a group exited", so poll for it.
    while time.monotonic() < deadline and (  # noqa: ASYNC110
        (exited is not None and not exited.done()) or group_alive(pgid)
    ):
        await asyncio.sleep(0.02)
    _signal_group(pgid, signal.SIGKILL)
    if exited is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(exited), 5.0)
    except TimeoutError:  # pragma: no cover - only a process stuck in the kernel survives SIGKILL
        log.error("process group %s did not die after SIGKILL", pgid)


def group_alive(pgid: int) -> bool:
    """True while any process of the group lives (signal 0 asks without sending anything)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or a group of another user: never ours
        return False
    return True
