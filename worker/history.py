"""The last run of each job, for sources that keep no history of their own (crontab, launchd, jobs file).

Without it a run's `last_run_at`/`last_status` would vanish at the next sync, because `crontab -l` knows
nothing about runs. The gateway keeps its own (`state.lastRunAtMs`), so it is not overlaid there.
Optionally persisted as a small JSON file (atomic replace, 0600) so a restarted worker still knows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cronmirror_desktop.core.fileio import atomic_write_text
from cronmirror_desktop.core.rows import LAST_STATUSES
from cronmirror_desktop.core.timeutil import iso_z, parse_iso
from worker.jobs import LastStatus, LocalJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LastRun:
    started_at: datetime
    status: LastStatus
    duration_ms: int


class RunHistory:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._runs: dict[str, LastRun] = {}
        self._seen: tuple[int, int] | None = None
        if path is not None:
            self._load(path)

    def refresh(self) -> None:
        """Take in what another worker process on this Mac recorded since (the app's hosted worker beside
        the daemon share the file): newer runs win. Cheap when the file did not change (one stat)."""
        if self._path is None:
            return
        try:
            stat = self._path.stat()
        except OSError:
            return
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            self._load(self._path)

    def record(self, job_id: str, run: LastRun) -> None:
        """Keep `run` as the job's last run unless a newer one is known (a run that started before a
        skipped scheduled time and ends after it leaves the skip as the last run)."""
        self.refresh()  # another process's newer runs are kept when this one saves
        current = self._runs.get(job_id)
        if current is not None and current.started_at > run.started_at:
            return
        self._runs[job_id] = run
        if self._path is not None:
            self._save(self._path)

    def get(self, job_id: str) -> LastRun | None:
        return self._runs.get(job_id)

    def overlay(self, job: LocalJob) -> LocalJob:
        """The job with our remembered last run, when that is newer than what the source reported."""
        run = self._runs.get(job.job_id)
        if run is None or (job.last_run_at is not None and job.last_run_at >= run.started_at):
            return job
        return job.with_last_run(run.started_at, run.status, run.duration_ms)

    def _load(self, path: Path) -> None:
        try:
            stat = path.stat()
            self._seen = (stat.st_mtime_ns, stat.st_size)
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable run history %s: %s", path, exc)
            return
        for job_id, item in data.items() if isinstance(data, dict) else ():
            try:
                status = item["status"]
                if status not in LAST_STATUSES:
                    continue
                run = LastRun(parse_iso(item["started_at"]), status, int(item["duration_ms"]))
                known = self._runs.get(job_id)
                if known is None or run.started_at > known.started_at:
                    self._runs[job_id] = run
            except (KeyError, TypeError, ValueError):
                continue

    def _save(self, path: Path) -> None:
        data = {
            job_id: {
                "started_at": iso_z(run.started_at),
                "status": run.status,
                "duration_ms": run.duration_ms,
            }
            for job_id, run in self._runs.items()
        }
        try:
            atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))
            stat = path.stat()
            self._seen = (stat.st_mtime_ns, stat.st_size)
        except OSError as exc:  # losing the history is not worth failing a run over
            log.warning("could not save run history to %s: %s", path, exc)
