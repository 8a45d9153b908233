"""Every run the worker learns of goes to the run history (`cron_run_log`), and none is lost on the way.

Runs are handed in as rows (`core.run_log.run_entry`) by whoever saw them: the executor (a request's run),
the scheduler (scheduled, catch-up and skipped jobs.toml runs), the gateway's own run log
(`worker.gateway_history`). The recorder writes them in batches; while the store can't be reached it keeps
them — in memory and in a small spool file in the worker's state dir (0600, rewritten atomically), so a
crash or a restart doesn't lose them either — and tries again with backoff. A later row with the same
`run_key` replaces an earlier one still waiting (a run that went from running to finished: one write).

Retention: after new rows were written, and at most every `prune_every` seconds, the project's history is
pruned to the newest `keep` runs per job. Nothing is written when nothing new happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.errors import CronMirrorError, InvalidRow
from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.run_log import DEFAULT_KEEP_PER_JOB
from cronmirror_desktop.core.store import Store

log = logging.getLogger(__name__)

SPOOL_FILE_NAME = "run-log-pending.json"
#: Rows written in one call.
BATCH = 200
#: Backoff between attempts while the store is away: first, and at most.
BACKOFF = (0.5, 30.0)
PRUNE_EVERY_S = 3600.0


class RunRecorder:
    def __init__(
        self,
        store: Store,
        project_id: str,
        *,
        state_dir: Path | None = None,
        keep: int = DEFAULT_KEEP_PER_JOB,
        prune_every: float = PRUNE_EVERY_S,
    ) -> None:
        self.store = store
        self.project_id = project_id
        self.keep = keep
        self.prune_every = prune_every
        self._spool = state_dir / SPOOL_FILE_NAME if state_dir is not None else None
        self._pending: dict[str, dict[str, Any]] = self._load()
        self._wake = asyncio.Event()
        self._written_since_prune = 0
        self._pruned_mono = float("-inf")
        if self._pending:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Rows waiting for the store."""
        return len(self._pending)

    def add(self, entry: Mapping[str, Any]) -> None:
        """Queue one run-log row (see `core.run_log.run_entry`); written by `run()` or `flush()`."""
        key = str(entry.get("run_key") or "")
        if not key:
            log.warning("a run without a key was not recorded: %s", entry.get("job_id"))
            return
        self._pending.pop(key, None)  # re-queued rows go to the end
        self._pending[key] = dict(entry)
        self._save()
        self._wake.set()

    async def run(self) -> None:
        """Write what arrives, with backoff while the store is away; prune now and then. Until cancelled."""
        delay = BACKOFF[0]
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
                await self._maybe_prune()
                delay = BACKOFF[0]
            except CronMirrorError as exc:
                log.warning("could not record %d run(s) yet: %s", len(self._pending), exc.message)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(BACKOFF[1], delay * 2)
                self._wake.set()

    async def flush(self) -> int:
        """Write everything pending now; returns how many rows were written. Raises on store trouble
        (what was not written stays pending). A batch the store refuses as data is written row by row,
        so one bad row (logged, then dropped) cannot hold the others back."""
        written = 0
        while self._pending:
            batch = list(self._pending.items())[:BATCH]
            try:
                await self.store.record_runs(self.project_id, [entry for _, entry in batch])
            except InvalidRow:
                written += await self._one_by_one(batch)
            else:
                written += len(batch)
                for key, entry in batch:
                    if self._pending.get(key) is entry:
                        del self._pending[key]
            self._save()
        self._written_since_prune += written
        return written

    async def _one_by_one(self, batch: list[tuple[str, dict[str, Any]]]) -> int:
        written = 0
        for key, entry in batch:
            try:
                await self.store.record_runs(self.project_id, [entry])
                written += 1
            except InvalidRow as exc:
                log.error("the store refused the run %s of %s: %s", key, entry.get("job_id"), exc.message)
            if self._pending.get(key) is entry:
                del self._pending[key]
        return written

    async def _maybe_prune(self) -> None:
        if not self._written_since_prune or time.monotonic() - self._pruned_mono < self.prune_every:
            return
        deleted = await self.store.prune_run_log(self.project_id, self.keep)
        self._written_since_prune = 0
        self._pruned_mono = time.monotonic()
        if deleted:
            log.info("pruned %d old run(s) from the run history of %s", deleted, self.project_id)

    def _save(self) -> None:
        if self._spool is None:
            return
        try:
            if self._pending:
                atomic_write_text(self._spool, json.dumps(list(self._pending.values())))
            else:
                with contextlib.suppress(FileNotFoundError):
                    self._spool.unlink()
        except OSError as exc:
            log.warning("could not keep the unrecorded runs in %s: %s", self._spool, exc)

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._spool is None:
            return {}
        try:
            data = json.loads(self._spool.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable run spool %s: %s", self._spool, exc)
            return {}
        pending: dict[str, dict[str, Any]] = {}
        for entry in data if isinstance(data, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("run_key"), str) and entry["run_key"]:
                pending[entry["run_key"]] = entry
        return pending
