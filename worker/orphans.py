"""Jobs that outlive their worker: a record of every running job's process group, read back at start.

Why: a job runs in a session of its own (so a timeout can kill all of it), so when the worker dies — SIGKILL,
a crash, launchd restarting it — the job goes on. Without this record the next worker knows nothing about
it: the request is rescued as "stopped reporting" and a new request for the same job starts a second copy
while the first still runs. With it, a starting worker finds the survivors of its previous life, treats
their jobs as running (no second copy from this worker), waits for them and kills them at their deadline.

One JSON file per running request in `<state dir>/running/`, written when the process exists and removed
when the run ends. Each records the process group, the job's deadline and the group leader's start time, so
a process id reused by an unrelated program after a reboot is never taken for the job (or killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import subprocess
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.timeutil import now_utc, parse_timestamp
from worker.process import group_alive, kill_group

log = logging.getLogger(__name__)

RUNNING_DIR_NAME = "running"


def process_start_marker(pid: int) -> str | None:
    """Something that changes when `pid` is reused: the process's start time (None when it is gone).

    Linux: field 22 of /proc/<pid>/stat (clock ticks since boot) plus the boot id; elsewhere `ps -o lstart`.
    """
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except (OSError, IndexError):
            return None
        return f"{boot}:{fields[19]}" if len(fields) > 19 else None
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@functools.cache
def own_marker() -> str | None:
    """This process's start marker (it never changes while we run)."""
    return process_start_marker(os.getpid())


@dataclass(frozen=True)
class RunningRecord:
    request_id: str
    job_id: str
    worker_id: str
    pgid: int
    started_at: str
    #: When the job's timeout ends it (ISO); a survivor is killed then.
    deadline: str
    #: `process_start_marker` of the group leader when it started (None if it could not be read).
    marker: str | None = None
    #: The worker process that started it, and its start marker: a job of a worker that still runs (the
    #: app's hosted worker beside a `cronmirror-worker run`, say) is that worker's, never a survivor.
    worker_pid: int | None = None
    worker_marker: str | None = None
    #: What started the job: "request" (then `request_id` is a run request's id), or "schedule" /
    #: "catch-up" for a jobs.toml job the worker ran on its schedule (then it is the run's own id).
    trigger: str = "request"

    @property
    def scheduled(self) -> bool:
        return self.trigger != "request"

    @property
    def deadline_at(self) -> datetime:
        parsed = parse_timestamp(self.deadline)
        return parsed if parsed is not None else now_utc()

    @classmethod
    def from_json(cls, data: object) -> RunningRecord | None:
        if not isinstance(data, dict):
            return None
        try:
            record = cls(
                request_id=str(data["request_id"]),
                job_id=str(data["job_id"]),
                worker_id=str(data["worker_id"]),
                pgid=int(data["pgid"]),
                started_at=str(data["started_at"]),
                deadline=str(data["deadline"]),
                marker=_text_or_none(data.get("marker")),
                worker_pid=int(data["worker_pid"]) if data.get("worker_pid") is not None else None,
                worker_marker=_text_or_none(data.get("worker_marker")),
                trigger=_text_or_none(data.get("trigger")) or "request",
            )
            parse_timestamp(record.deadline)
        except (KeyError, TypeError, ValueError):
            return None
        return record if record.pgid > 1 else None

    def worker_alive(self) -> bool:
        """The worker process that started the job still runs (then the job is not an orphan)."""
        if self.worker_pid is None:
            return False
        current = process_start_marker(self.worker_pid)
        if current is None:
            return False
        return self.worker_marker is None or current == self.worker_marker

    def still_ours(self) -> bool:
        """The group still runs and is the one we started (not a reused process id)."""
        if not group_alive(self.pgid):
            return False
        if self.marker is None:
            return True
        current = process_start_marker(self.pgid)
        # The leader may have exited while its children (same group) go on: then the group is still ours.
        return current is None or current == self.marker


class RunningRegistry:
    """The on-disk record of running jobs (`None` directory: nothing is recorded)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def add(self, record: RunningRecord) -> None:
        if self.directory is None or not _is_uuid(record.request_id):
            return
        try:
            atomic_write_text(self._path(record.request_id), json.dumps(asdict(record), sort_keys=True))
        except OSError as exc:
            log.warning("could not record running job %s: %s", record.job_id, exc)

    def remove(self, request_id: str) -> None:
        if self.directory is None or not _is_uuid(request_id):
            return
        with contextlib.suppress(OSError):
            self._path(request_id).unlink(missing_ok=True)

    def records(self) -> list[RunningRecord]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = RunningRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                record = None
            if record is None:
                log.warning("ignoring unreadable running-job record %s", path)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            found.append(record)
        return found

    def survivors(self) -> list[RunningRecord]:
        """Jobs whose worker is gone but whose process group still runs; the records of finished ones are
        removed. Jobs of a worker process that still runs are left to it."""
        alive = []
        for record in self.records():
            if record.worker_alive():
                continue
            if record.still_ours():
                alive.append(record)
            else:
                self.remove(record.request_id)
        return alive

    def _path(self, request_id: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{uuid.UUID(request_id)}.json"


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def watch_survivor(record: RunningRecord, *, poll: float = 0.5, kill_grace: float = 2.0) -> bool:
    """Wait until the survivor's group ends; at its deadline end it (TERM, `kill_grace`, KILL).

    Returns True when it ended by itself, False when it had to be killed.
    """
    while group_alive(record.pgid):
        remaining = (record.deadline_at - now_utc()).total_seconds()
        if remaining <= 0:
            log.warning(
                "job %s (process group %d) from a previous worker passed its timeout: stopping it",
                record.job_id,
                record.pgid,
            )
            await kill_group(record.pgid, kill_grace)
            return False
        await asyncio.sleep(min(poll, remaining))
    return True
