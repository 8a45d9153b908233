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
    """One project's mirror, as far as this host's jobs go.

    The worker writes and deletes only rows of its own host (`SourceSet.host`): another host's rows, and
    rows without a host (ClawdOS's worker, rows from before the host column) are never deleted. A row
    without a host whose id this host lists is taken over (its next write carries the host). A job whose
    id another host's row already holds is mirrored as `<id>@<host>` (`SourceSet.qualify`), and keeps that
    id while its row exists, so requests queued for it stay valid.
    """

    def __init__(self, store: Store, project_id: str, sources: SourceSet) -> None:
        self.store = store
        self.project_id = project_id
        self.sources = sources
        #: job_id -> the normal row the mirror holds for this host (as far as this worker knows); None
        #: until the first pass, and after `forget`.
        self._mirrored: dict[str, dict[str, Any]] | None = None
        #: Ids of rows that belong to other hosts, as of the last comparison with the store.
        self._foreign: frozenset[str] = frozenset()
        self._owner: dict[str, str] = {}
        #: The bookkeeping rows (presence, details) the last pass read from the store, by job id; None
        #: when it compared with memory only.
        self.stored_bookkeeping: dict[str, CronMirrorJob] | None = None

    @property
    def host(self) -> str:
        return self.sources.host

    def forget(self) -> None:
        """Compare with the store again on the next pass (after a reconnect, someone may have written)."""
        self._mirrored = None

    async def sync_once(self) -> SyncReport:
        inventory = await self.sources.list_jobs(now=now_utc())
        return await self.apply(inventory)

    async def _read_store(self) -> dict[str, dict[str, Any]]:
        rows = await self.store.mirror_rows(self.project_id)
        self.stored_bookkeeping = {row.job_id: row for row in rows if not row.is_job}
        mirrored: dict[str, dict[str, Any]] = {}
        foreign: set[str] = set()
        for row in rows:
            if not row.is_job:
                continue
            if row.host is not None and row.host != self.host:
                foreign.add(row.job_id)
            elif row.host == self.host:
                # An unreadable row is never equal to what we write: it is rewritten with good data.
                mirrored[row.job_id] = comparable(row) if row.valid else {}
                if row.source is not None:
                    self._owner.setdefault(row.job_id, row.source)
        self._foreign = frozenset(foreign)
        return mirrored

    def _qualified(self, mirrored: dict[str, dict[str, Any]], local_ids: list[str]) -> set[str]:
        """The local jobs to mirror as `<id>@<host>`: the plain id is another host's (or was, and our row
        still has the qualified id), and not ours."""
        return {
            job_id
            for job_id in local_ids
            if job_id not in mirrored and (job_id in self._foreign or f"{job_id}@{self.host}" in mirrored)
        }

    async def apply(self, inventory: Inventory) -> SyncReport:
        self.stored_bookkeeping = None
        if self._mirrored is None:
            self._mirrored = await self._read_store()
        mirrored = self._mirrored
        if self.sources.qualify(self._qualified(mirrored, [job.job_id for job in inventory.jobs])):
            inventory = self.sources.inventory or inventory
        local: dict[str, dict[str, Any]] = {}
        skipped: list[str] = []
        for job in inventory.jobs:
            try:
                local[job.mirror_id] = normalize_mirror_row(job.mirror_fields())
            except Exception as exc:  # one odd job must not stop the mirror of all others
                skipped.append(f"{job.mirror_id}: {exc}")
            self._owner[job.mirror_id] = job.source

        answered = {lst.source for lst in inventory.listings if lst.state != "error"}
        failed = tuple(sorted(lst.source for lst in inventory.listings if lst.state == "error"))
        changed = [row for job_id, row in local.items() if mirrored.get(job_id) != row]
        new_ids = [row["job_id"] for row in changed if row["job_id"] not in mirrored]
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
            await self.store.delete_mirror(self.project_id, gone, host=self.host)
            for job_id in gone:
                mirrored.pop(job_id, None)
                self._owner.pop(job_id, None)
        if new_ids:
            # Another host may have written one of these ids a moment before us (then our write changed
            # nothing), and a row without a host we took over now has ours: the next pass looks at the
            # store again (one read; it writes nothing unless something differs).
            self.forget()
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
                "mirrored %s (host %s): %d upserted, %d deleted, %d unchanged",
                self.project_id,
                self.host,
                report.upserted,
                report.deleted,
                report.unchanged,
            )
        return report
