"""Results not yet reported, kept on disk until the store has taken them.

Why: a job that ended while the store was unreachable (Supabase or PostgreSQL down, the Mac mini offline,
a crash or power loss right after the job) must still end as what it really did. Every result is written
here before it is reported and removed once the store answered — recorded, or refused because the request
was ended meanwhile (rescued, by another worker). A worker started later reports what it finds, under the
worker id that held the request (`complete_run_request` accepts the holder's result until the request is
rescued, and refuses everything after, so nothing can be overwritten).

One small JSON file per request, written atomically with fsync, mode 0600 (results may hold output).
`Outbox(None)` keeps entries in memory only (one-shot commands, tests).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from cronmirror_desktop.core.fileio import atomic_write_text

log = logging.getLogger(__name__)

OUTBOX_DIR_NAME = "outbox"


@dataclass(frozen=True)
class OutboxEntry:
    request_id: str
    job_id: str
    #: The worker id that claimed the request: only it may complete it.
    worker_id: str
    status: Literal["done", "error", "cancelled"]
    result: dict[str, Any]
    finished_at: str

    @classmethod
    def from_json(cls, data: object) -> OutboxEntry | None:
        if not isinstance(data, dict):
            return None
        try:
            entry = cls(
                request_id=str(data["request_id"]),
                job_id=str(data["job_id"]),
                worker_id=str(data["worker_id"]),
                status=data["status"],
                result=dict(data["result"]),
                finished_at=str(data["finished_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return (
            entry
            if entry.status in ("done", "error", "cancelled") and _plain_uuid(entry.request_id)
            else None
        )


def _plain_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


class Outbox:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._memory: dict[str, OutboxEntry] = {}

    def put(self, entry: OutboxEntry) -> None:
        """Keep `entry` until `remove`; on disk when the outbox has a directory (a failure is logged and
        the entry kept in memory: the report is still attempted)."""
        self._memory[entry.request_id] = entry
        if self.directory is None:
            return
        try:
            atomic_write_text(
                self._path(entry.request_id), json.dumps(asdict(entry), sort_keys=True), mode=0o600
            )
        except OSError as exc:
            log.warning("could not keep the result of %s on disk: %s", entry.request_id, exc)

    def remove(self, request_id: str) -> None:
        self._memory.pop(request_id, None)
        if self.directory is None:
            return
        try:
            self._path(request_id).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s from the outbox: %s", request_id, exc)

    def entries(self) -> list[OutboxEntry]:
        """Everything not yet reported: this life's entries and what an earlier one left on disk."""
        found = dict(self._memory)
        if self.directory is not None and self.directory.is_dir():
            for path in sorted(self.directory.glob("*.json")):
                try:
                    entry = OutboxEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError) as exc:
                    log.warning("ignoring unreadable outbox file %s: %s", path, exc)
                    continue
                if entry is None:
                    log.warning("ignoring malformed outbox file %s", path)
                    continue
                found.setdefault(entry.request_id, entry)
        return sorted(found.values(), key=lambda e: e.finished_at)

    def __len__(self) -> int:
        return len(self.entries())

    def _path(self, request_id: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{uuid.UUID(request_id)}.json"
