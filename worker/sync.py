"""Mirror the local jobs into `cron_mirror`, writing only what changed.

The first pass compares with what the store holds; later passes with what this worker last wrote. A pass
where nothing changed writes nothing; one changed job is one row upserted. A job is deleted from the
mirror only when its source answered and no longer lists it: a source that failed to list (the gateway
timing out, an unreadable crontab) keeps its jobs as they were, instead of making them vanish.
Rows that are not jobs (ClawdOS's `__mirror_state__`, our worker presence row) are never touched here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from cronmirror_desktop.core.mirror_rows import normalize_mirror_row
from cronmirror_desktop.core.rows import MIRROR_COLUMNS, CronMirrorJob
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.timeutil import now_utc
from worker.sources.registry import Inventory, SourceSet

log = logging.getLogger(__name__)

#: Job-id prefixes of the sources other than the gateway (whose ids are the gateway's own uuids).
_ID_PREFIXES = {"crontab:": "crontab", "launchd:": "launchd", "jobs:": "jobs"}


def owner_of(job_id: str) -> str:
    """Which source a mirror row came from, judged by its id (used before this worker listed it)."""
    for prefix, source in _ID_PREFIXES.items():
        if job_id.startswith(prefix):
            return source
    return "gateway"


def comparable(job: CronMirrorJob) -> dict[str, Any]:
    """A stored row in the normal form the worker writes, so equal jobs compare equal."""
    return normalize_mirror_row({column: getattr(job, column) for column in MIRROR_COLUMNS})


@dataclass(frozen=True)
class SyncReport:
    upserted: int
    deleted: int
    unchanged: int
    #: Sources that did not answer; their jobs were left as they were.
    kept_from: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    skipped_rows: tuple[str, ...] = field(default=())

    @property
    def writes(self) -> int:
        return self.upserted + self.deleted


class MirrorSync:
    def __init__(self, store: Store, project_id: str, sources: SourceSet) -> None:
        self.store = store
        self.project_id = project_id
        self.sources = sources
        #: job_id -> the normal row the mirror holds (as far as this worker knows); None until first pass.
        self._mirrored: dict[str, dict[str, Any]] | None = None
        self._owner: dict[str, str] = {}
        #: The bookkeeping rows (presence, details) the last pass read from the store, by job id; None
        #: when it compared with memory only.
        self.stored_bookkeeping: dict[str, CronMirrorJob] | None = None

    def forget(self) -> None:
        """Compare with the store again on the next pass (after a reconnect, someone may have written)."""
        self._mirrored = None

    async def sync_once(self) -> SyncReport:
        inventory = await self.sources.list_jobs(now=now_utc())
        return await self.apply(inventory)

    async def apply(self, inventory: Inventory) -> SyncReport:
        local: dict[str, dict[str, Any]] = {}
        skipped: list[str] = []
        for job in inventory.jobs:
            try:
                local[job.job_id] = normalize_mirror_row(job.mirror_fields())
            except Exception as exc:  # one odd job must not stop the mirror of all others
                skipped.append(f"{job.job_id}: {exc}")
            self._owner[job.job_id] = job.source
        self.stored_bookkeeping = None
        if self._mirrored is None:
            rows = await self.store.mirror_rows(self.project_id)
            self.stored_bookkeeping = {row.job_id: row for row in rows if not row.is_job}
            self._mirrored = {row.job_id: comparable(row) for row in rows if row.is_job and row.valid}
            for row in rows:
                if row.is_job and not row.valid:
                    self._mirrored[row.job_id] = {}  # never equal: rewrite it with good data
        mirrored = self._mirrored

        answered = {lst.source for lst in inventory.listings if lst.state != "error"}
        failed = tuple(sorted(lst.source for lst in inventory.listings if lst.state == "error"))
        changed = [row for job_id, row in local.items() if mirrored.get(job_id) != row]
        gone = [
            job_id
            for job_id in mirrored
            if job_id not in local and self._owner.get(job_id, owner_of(job_id)) in answered
        ]
        if changed:
            await self.store.upsert_mirror(self.project_id, changed)
            for written in changed:
                mirrored[written["job_id"]] = written
        if gone:
            await self.store.delete_mirror(self.project_id, gone)
            for job_id in gone:
                mirrored.pop(job_id, None)
                self._owner.pop(job_id, None)
        report = SyncReport(
            upserted=len(changed),
            deleted=len(gone),
            unchanged=len(local) - len(changed),
            kept_from=failed,
            warnings=tuple(inventory.all_warnings()),
            skipped_rows=tuple(skipped),
        )
        if report.writes:
            log.info(
                "mirrored %s: %d upserted, %d deleted, %d unchanged",
                self.project_id,
                report.upserted,
                report.deleted,
                report.unchanged,
            )
        return report
