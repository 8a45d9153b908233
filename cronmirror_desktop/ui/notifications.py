"""Native notifications while CronMirror runs (window or menu bar): a job that fails, becomes Late, or
recovers after failing raises one notification; clicking it opens the job.

What counts: a *new* run (its `last_run_at` moved) that failed, or succeeded after a failure; and a job whose
expected run has passed (core.lateness, judged by the job table every 30 s). Nothing already true when the
project was loaded notifies (a Snapshot only sets the baseline), and nothing repeats for the same state.

No storm: at most one notification per job per `PER_JOB_QUIET` (10 minutes); what arrives within
`BATCH_MS` is sent together, and more than `SUMMARY_OVER` of them become one summary ("4 jobs failed: …").
Each kind can be turned off in Settings and a job can be muted (its context menu); both are kept in the
settings file (`ui.notifications`). The notification itself goes to the menu-bar icon (Notification Center
on macOS) through `notified`; the app connects it (see app.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from PySide6.QtCore import QObject, QTimer, Signal

from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.settings import load_settings, save_settings
from cronmirror_desktop.ui.clock import ViewClock

Kind = Literal["failure", "late", "recovery"]
KINDS: tuple[Kind, ...] = ("failure", "late", "recovery")
PREFS_KEY = "notifications"
PER_JOB_QUIET = timedelta(minutes=10)
BATCH_MS = 800
SUMMARY_OVER = 3

_TITLES = {"failure": "failed", "late": "is late", "recovery": "works again"}
_SUMMARY_WORDS = {"failure": "failed", "late": "late", "recovery": "working again"}


@dataclass
class NotificationPrefs:
    """Which kinds are on, and which jobs are muted (job ids)."""

    kinds: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, True))
    muted: set[str] = field(default_factory=set)

    @classmethod
    def load(cls) -> NotificationPrefs:
        raw = load_settings().settings.ui.get(PREFS_KEY)
        prefs = cls()
        if isinstance(raw, dict):
            kinds = raw.get("kinds")
            if isinstance(kinds, dict):
                for kind in KINDS:
                    if isinstance(kinds.get(kind), bool):
                        prefs.kinds[kind] = kinds[kind]
            muted = raw.get("muted")
            if isinstance(muted, list):
                prefs.muted = {m for m in muted if isinstance(m, str)}
        return prefs

    def save(self) -> None:
        loaded = load_settings()
        settings = loaded.settings
        settings.ui = {
            **settings.ui,
            PREFS_KEY: {"kinds": dict(self.kinds), "muted": sorted(self.muted)},
        }
        save_settings(settings, loaded.path)


class Sent(NamedTuple):
    """One notification as shown: `kind` is a Kind, or "summary" for several at once."""

    kind: str
    title: str
    text: str
    job_ids: list[str]


@dataclass(frozen=True)
class Notice:
    kind: Kind
    job_id: str
    name: str
    detail: str


class Notifier(QObject):
    """Feed it the project's jobs as they change (`reset`, `job_changed`, `judge_late`); it emits
    `notified(Sent)` for what deserves a notification."""

    notified = Signal(object)

    def __init__(
        self,
        clock: ViewClock,
        prefs: NotificationPrefs | None = None,
        *,
        save_prefs: Callable[[NotificationPrefs], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.clock = clock
        self.prefs = prefs if prefs is not None else NotificationPrefs()
        self._save = save_prefs
        self._late: set[str] = set()
        self._late_known = False
        self._last_sent: dict[str, datetime] = {}
        self._pending: list[Notice] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BATCH_MS)
        self._timer.timeout.connect(self.flush)
        #: Everything sent (tests and the "what happened" log read it).
        self.sent: list[Sent] = []

    @property
    def pending(self) -> list[Notice]:
        """What waits for the batch to close (sent at the next `flush`)."""
        return list(self._pending)

    # -- preferences ----------------------------------------------------------------------------------

    def set_kind(self, kind: Kind, enabled: bool) -> None:
        self.set_kinds({kind: enabled})

    def set_kinds(self, kinds: dict[Kind, bool]) -> None:
        """Turn kinds on or off (kept at once; one write for several)."""
        changed = {k: v for k, v in kinds.items() if self.prefs.kinds.get(k, True) != v}
        if changed:
            for kind, enabled in changed.items():
                self.prefs.kinds[kind] = enabled
            self._persist()

    def mute(self, job_id: str, muted: bool = True) -> None:
        if muted:
            self.prefs.muted.add(job_id)
        else:
            self.prefs.muted.discard(job_id)
        self._persist()

    def is_muted(self, job_id: str) -> bool:
        return job_id in self.prefs.muted

    def _persist(self) -> None:
        if self._save is not None:
            self._save(self.prefs)

    # -- what happened --------------------------------------------------------------------------------

    def reset(self, late_job_ids: Iterable[str] | None = None) -> None:
        """A (new) project was loaded: what is true now is the baseline, not news."""
        self._pending.clear()
        self._timer.stop()
        self._late = set(late_job_ids or ())
        self._late_known = late_job_ids is not None

    def job_changed(self, old: CronMirrorJob | None, new: CronMirrorJob) -> None:
        """A mirror row changed: a new run that failed, or that worked after a failure, is news."""
        if old is None or new.last_run_at is None:
            return
        if old.last_run_at is not None and new.last_run_at <= old.last_run_at:
            return
        if new.last_status == "error":
            self._add(Notice("failure", new.job_id, new.display_name, "its last run failed"))
        elif new.last_status == "ok" and old.last_status == "error":
            self._add(Notice("recovery", new.job_id, new.display_name, "its last run worked again"))
        if new.job_id in self._late and new.last_status is not None:
            self._late.discard(new.job_id)  # it ran: Late is over

    def judge_late(self, late: Mapping[str, tuple[str, str]]) -> None:
        """The jobs that are Late now (job id -> (name, reason)); those that just became Late are news.
        The first judgment after a reset is the baseline."""
        now_late = set(late)
        if not self._late_known:
            self._late, self._late_known = now_late, True
            return
        for job_id in sorted(now_late - self._late):
            name, reason = late[job_id]
            self._add(Notice("late", job_id, name, reason))
        self._late = now_late

    def _add(self, notice: Notice) -> None:
        if not self.prefs.kinds.get(notice.kind, True) or notice.job_id in self.prefs.muted:
            return
        sent = self._last_sent.get(notice.job_id)
        if sent is not None and self.clock.now - sent < PER_JOB_QUIET:
            return
        if any(p.job_id == notice.job_id for p in self._pending):
            return
        self._pending.append(notice)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Send what is pending: each alone, or one summary when many arrived at once."""
        pending, self._pending = self._pending, []
        self._timer.stop()
        if not pending:
            return
        now = self.clock.now
        for notice in pending:
            self._last_sent[notice.job_id] = now
        if len(pending) > SUMMARY_OVER:
            self._send(Sent("summary", *summary(pending), [n.job_id for n in pending]))
            return
        for notice in pending:
            self._send(
                Sent(notice.kind, f"“{notice.name}” {_TITLES[notice.kind]}", notice.detail, [notice.job_id])
            )

    def _send(self, sent: Sent) -> None:
        self.sent.append(sent)
        self.notified.emit(sent)


def summary(notices: list[Notice]) -> tuple[str, str]:
    """ "4 jobs need a look" and a line per kind, naming the first few."""
    lines: list[str] = []
    for kind in KINDS:
        names = [n.name for n in notices if n.kind == kind]
        if not names:
            continue
        shown = ", ".join(f"“{n}”" for n in names[:3]) + (
            f" and {len(names) - 3} more" if len(names) > 3 else ""
        )
        lines.append(f"{_SUMMARY_WORDS[kind].capitalize()}: {shown}")
    return f"{len(notices)} jobs need a look", "\n".join(lines)
