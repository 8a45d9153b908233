"""Which machines a project's jobs live on, and each one's time zone: the workers' presence rows.

Every CronMirror worker keeps one bookkeeping row in `cron_mirror`: job id `__cronmirror_worker__@<host>`,
kind `state` (so no reader lists it as a job), touched every few minutes so readers know when it was last
seen. Its `instructions` hold JSON: worker id, host, version, start time and the host's IANA time zone
(`timeZone`). Why the zone matters: cron, launchd and the gateway run a job without a zone of its own in
the Mac mini's local time, so a reader that computed it in the viewer's zone would show a Berlin job at
05:00Z on a Berlin laptop and at 11:00Z on a New York one. Rows of workers from before the host column
(`__cronmirror_worker__`, no zone) are read too; they just tell nothing about zones.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronmirror_desktop.core.rows import MAX_HOST, CronMirrorJob, zone_or_none

PRESENCE_JOB_ID = "__cronmirror_worker__"
PRESENCE_KIND = "state"


def presence_job_id(host: str) -> str:
    """The presence row of `host`'s worker (one per host, so two Mac minis don't overwrite each other's)."""
    return f"{PRESENCE_JOB_ID}@{host}"


def default_host() -> str:
    """This machine's name as the mirror records it: the host name up to its first dot ("mac-mini" of
    "mac-mini.local"), at most 255 characters. `worker.host` in the settings pins another one."""
    name = socket.gethostname().split(".")[0].strip() or "localhost"
    return name[:MAX_HOST]


@dataclass(frozen=True)
class WorkerPresence:
    """What one presence row says."""

    host: str | None
    #: The IANA zone the host's jobs without a zone run in (None: not published, or not a known zone).
    time_zone: str | None = None
    worker_id: str | None = None
    version: str | None = None
    seen_at: datetime | None = None

    @classmethod
    def from_job(cls, row: CronMirrorJob) -> WorkerPresence | None:
        """The presence a mirror row holds, or None for any other row (jobs, ClawdOS's fingerprint)."""
        if row.schedule_kind != PRESENCE_KIND or not row.job_id.startswith(PRESENCE_JOB_ID):
            return None
        try:
            data: Any = json.loads(row.instructions or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        zone = _text(data.get("timeZone"))
        host = row.host or _text(data.get("host"))
        return cls(
            host=host,
            time_zone=zone if zone is not None and zone_or_none(zone) is not None else None,
            worker_id=_text(data.get("workerId")),
            version=_text(data.get("version")),
            seen_at=row.updated_at,
        )


def presence_row(
    *,
    host: str,
    worker_id: str,
    version: str,
    started_at: str | None,
    time_zone: str | None,
    report: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The mirror row a worker writes about itself (the mirror's columns; `instructions` is JSON).
    `report`: how it is doing (state, runs, queue, sources: core.worker_report.presence_fields)."""
    details = {
        "workerId": worker_id,
        "host": host,
        "version": version,
        "startedAt": started_at,
        "timeZone": time_zone,
        **(report or {}),
    }
    return {
        "job_id": presence_job_id(host),
        "name": "CronMirror worker (do not delete)",
        "schedule_kind": PRESENCE_KIND,
        "schedule_expr": worker_id,
        "enabled": False,
        "instructions": json.dumps(details),
        "host": host,
    }


@dataclass(frozen=True)
class HostZones:
    """The zone each host published, for jobs without a zone of their own."""

    zones: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_presences(cls, presences: Iterable[WorkerPresence]) -> HostZones:
        zones: dict[str, tuple[datetime | None, str]] = {}
        for presence in presences:
            if presence.host is None or presence.time_zone is None:
                continue
            known = zones.get(presence.host)
            if known is None or (
                presence.seen_at is not None and (known[0] is None or presence.seen_at > known[0])
            ):
                zones[presence.host] = (presence.seen_at, presence.time_zone)
        return cls({host: zone for host, (_, zone) in zones.items()})

    def with_presence(self, presence: WorkerPresence) -> HostZones:
        """These zones updated by one (newer) presence row."""
        if presence.host is None or presence.time_zone is None:
            return self
        if self.zones.get(presence.host) == presence.time_zone:
            return self
        return HostZones({**self.zones, presence.host: presence.time_zone})

    def for_host(self, host: str | None) -> str | None:
        """The zone of `host`'s jobs. A row without a host (ClawdOS's worker runs on the Mac mini too) gets
        the zone every publishing host agrees on; None when unknown (then readers use their own zone)."""
        if host is not None:
            return self.zones.get(host)
        distinct = set(self.zones.values())
        return next(iter(distinct)) if len(distinct) == 1 else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
