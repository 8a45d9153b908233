"""The last jobs the app saw of a remote project, kept on this computer so the next start shows them at once.

A start on Supabase used to show "Loading jobs…" until the network answered (a second or more; forever
when it cannot be reached). Now the window shows the jobs as they were when the app last saw them, marked
as such, and the live snapshot replaces them when it comes. Only the mirror's rows are kept (the jobs and
the workers' presence and details rows): run requests change too fast for an old copy to help, and their
output tails are more than the window needs before it connects.

What is kept is what anyone with the project's anon key can read (nothing from the keychain), in the
user's cache directory, readable by the user only. One file per store location and project; a file that
cannot be read or parsed is ignored (and replaced at the next save), never an error of the app. Rows are
read back through `CronMirrorJob.from_row`, the same reader as the stores', so a hostile row stays a row
problem.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.store import Snapshot, make_snapshot
from cronmirror_desktop.core.timeutil import format_timestamp, now_utc, parse_timestamp

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: A file larger than this is not read (the app's own, at 10,000 jobs, is ~6 MB).
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CachedSnapshot:
    """A project's mirror as it was at `saved_at`, as a Snapshot without requests."""

    snapshot: Snapshot
    saved_at: datetime


class SnapshotCache:
    """Files under `directory`, one per (store location, project)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, location: str, project_id: str) -> Path:
        digest = hashlib.sha256(f"{location}\0{project_id}".encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def save(
        self, location: str, project_id: str, rows: Sequence[CronMirrorJob], *, at: datetime | None = None
    ) -> None:
        """Keep `rows` (jobs and bookkeeping rows) as the project's last known mirror. Raises OSError."""
        document = {
            "version": FORMAT_VERSION,
            "location": location,
            "project_id": project_id,
            "saved_at": format_timestamp(at or now_utc()),
            "rows": [_stored(row) for row in rows],
        }
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        atomic_write_text(self.path_for(location, project_id), text)

    def load(self, location: str, project_id: str) -> CachedSnapshot | None:
        """The project's last known mirror, or None (none kept, or a file that is not ours)."""
        path = self.path_for(location, project_id)
        try:
            if path.stat().st_size > MAX_BYTES:
                log.warning("ignoring the cached jobs in %s: larger than %d bytes", path, MAX_BYTES)
                return None
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("ignoring the cached jobs in %s: %s", path, exc)
            return None
        return _parsed(document, location, project_id, path)


def _stored(row: CronMirrorJob) -> dict[str, Any]:
    """The row as the store gave it (snake_case columns, ISO times), and what was wrong with it."""
    return row.model_dump(mode="json")


def _parsed(document: Any, location: str, project_id: str, path: Path) -> CachedSnapshot | None:
    if (
        not isinstance(document, dict)
        or document.get("version") != FORMAT_VERSION
        or document.get("location") != location
        or document.get("project_id") != project_id
        or not isinstance(document.get("rows"), list)
    ):
        log.warning("ignoring the cached jobs in %s: not a snapshot of %s", path, project_id)
        return None
    try:
        saved_at = parse_timestamp(document.get("saved_at"))
    except (ValueError, OverflowError, OSError):
        saved_at = None
    if saved_at is None:
        log.warning("ignoring the cached jobs in %s: no valid saved_at", path)
        return None
    rows = []
    for raw in document["rows"]:
        if not isinstance(raw, dict):
            continue
        row = CronMirrorJob.from_row({**raw, "project_id": project_id})
        kept = raw.get("problems")
        if isinstance(kept, list):  # a value the store refused is None now; its problem still says why
            extra = tuple(p for p in kept if isinstance(p, str) and p not in row.problems)
            if extra:
                row = row.model_copy(update={"problems": row.problems + extra})
        rows.append(row)
    return CachedSnapshot(make_snapshot(project_id, rows, []), saved_at)
