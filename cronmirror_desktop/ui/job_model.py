"""The job table's model: one row per mirrored job, updated in place by live events.

Why the model sorts itself: a `QSortFilterProxyModel` sorting a Python model calls back into Python
twice per comparison (`data(SortRole)` or `lessThan`), which costs over a second for 10,000 rows and
hundreds of milliseconds each time a filter widens. So the rows live in one list kept in ascending order
of a precomputed native key (ending with the row id, so keys are unique), the proxy in front of it only
filters, and the proxy forwards `sort()` here. Descending order is the same list read backwards.

Live changes touch one row: `_by_id` finds the entry in O(1), `bisect` finds its position in O(log n),
and the change is announced with `dataChanged`, `beginInsertRows`/`beginRemoveRows` or `beginMoveRows`
(which keeps the selection on a job that moves). Only `set_jobs` (a Snapshot) resets the model.

Next runs and Late come from `schedule_info` (core's rules) in the Mac mini's zone: each host's published
zone (`set_host_zones`) for jobs without one of their own. Both depend on the time, so an entry keeps them
only for one "generation" of the model's time context, which follows the app's one `ViewClock`.

Relative times ("in 5 min", "3 h ago") are rendered against that clock. Each one rendered notes when its
words change next; at that tick only those cells are announced as changed (see clock.py), never the whole
table. Late, which any row can become as time passes, is judged again every `JUDGE_EVERY` seconds: then
the Status column alone is announced (the filter judges "Late" again). `set_now` (tests, screenshots)
judges everything at a given instant at once.

Long because it is one thing: the job table's rows, their sort keys and their roles.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, tzinfo
from operator import attrgetter
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QGuiApplication

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.lateness import Lateness
from cronmirror_desktop.core.presence import HostZones
from cronmirror_desktop.core.rows import CronMirrorJob, zone_or_none
from cronmirror_desktop.core.store import ChangeType, JobChange
from cronmirror_desktop.core.timeutil import now_utc
from cronmirror_desktop.ui import icons, schedule_info
from cronmirror_desktop.ui.clock import DueTimes, ViewClock
from cronmirror_desktop.ui.table_model import Index, RowTableModel
from cronmirror_desktop.ui.theme import is_dark, secondary_text, signal_color

COL_NAME = 0
COL_SCHEDULE = 1
COL_NEXT = 2
COL_LAST = 3
COL_STATUS = 4
COL_DURATION = 5
COL_ENABLED = 6
#: Shown only when the project's jobs live on more than one host (the window hides it otherwise).
COL_HOST = 7
COLUMN_COUNT = 8

HEADERS = {
    COL_NAME: "Name",
    COL_SCHEDULE: "Schedule",
    COL_NEXT: "Next run",
    COL_LAST: "Last run",
    COL_STATUS: "Status",
    COL_DURATION: "Duration",
    COL_ENABLED: "Enabled",
    COL_HOST: "Host",
}

SortRole = Qt.ItemDataRole.UserRole + 1
ObjectRole = Qt.ItemDataRole.UserRole + 2
#: The row's `Lateness` (core.lateness): the status delegate paints a "Late" chip from it.
LateRole = Qt.ItemDataRole.UserRole + 3

#: Statuses in the order "worst first" (ascending sort puts Late and failures on top).
_STATUS_RANK = {"late": -1, "error": 0, "skipped": 1, "ok": 2, None: 4}
STATUS_WORDS = {"ok": "Succeeded", "error": "Failed", "skipped": "Skipped", None: "Never run"}
LATE_WORD = "Late"

_MISSING = (1, 0.0)
#: How often Late is judged again for every row (seconds); relative times follow their own words.
JUDGE_EVERY = 30.0
#: What a Status cell shows differently when Late starts or ends.
_LATE_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.DecorationRole,
    LateRole,
]
#: What a cell whose relative time aged shows differently.
_TIME_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.AccessibleTextRole,
]


def row_key(job: CronMirrorJob) -> str:
    """The identity live events use (`cron_mirror.id`), falling back to the job id for odd rows."""
    return job.id or f"job:{job.job_id}"


def _ts(value: datetime | None) -> tuple[int, float]:
    return _MISSING if value is None else (0, value.timestamp())


class TimeContext:
    """What every entry's time-dependent values are computed against: the instant relative times are
    measured from, each host's zone, and a generation number that invalidates what entries cached
    (`zones_generation` changes only with the zones: what depends on them but not on the time survives a
    tick)."""

    __slots__ = ("generation", "now", "zones", "zones_generation")

    def __init__(self) -> None:
        self.now = now_utc()
        self.zones = HostZones()
        self.generation = 0
        self.zones_generation = 0

    def advance(self, now: datetime) -> None:
        self.now = now
        self.generation += 1

    def set_zones(self, zones: HostZones) -> None:
        self.zones = zones
        self.zones_generation += 1
        self.advance(self.now)


class JobEntry:
    """A job plus everything precomputed that filtering and sorting read per row."""

    __slots__ = (
        "_late",
        "_next",
        "_schedule_text",
        "context",
        "enabled",
        "job",
        "name_key",
        "row_id",
        "search_key",
        "sort_key",
        "status",
    )

    def __init__(self, job: CronMirrorJob, context: TimeContext | None = None) -> None:
        self.row_id = row_key(job)
        self.sort_key: tuple[Any, ...] = ()
        self.context = context or TimeContext()
        self.set_job(job)

    def set_job(self, job: CronMirrorJob) -> None:
        self.job = job
        name = job.display_name
        self.name_key = name.casefold()
        extra = f" {job.name}" if job.ui_label and job.name != job.ui_label else ""
        host = f" {job.host.casefold()}" if job.host else ""
        self.search_key = f"{self.name_key}{extra.casefold()} {job.job_id.casefold()}{host}"
        self.enabled = job.enabled
        status = job.last_status
        self.status = status if status in _STATUS_RANK else ("unknown" if status else None)
        self._schedule_text: tuple[str | None, str] | None = None
        self._next: tuple[int, datetime | None] | None = None
        #: The last judgement: (generation, zones generation, verdict, whether its reason is of that time).
        self._late: tuple[int, int, Lateness, bool] | None = None

    @property
    def mac_zone(self) -> str | None:
        """The zone this job's host runs jobs without a zone in (None: not published)."""
        return self.context.zones.for_host(self.job.host)

    @property
    def schedule_text(self) -> str:
        zone = self.mac_zone
        if self._schedule_text is None or self._schedule_text[0] != zone:
            self._schedule_text = (zone, schedule_info.describe(self.job, zone))
        return self._schedule_text[1]

    @property
    def next_run(self) -> datetime | None:
        """The next run, as the details pane's first one: the source's own while it lies ahead, else the
        schedule's next (None for a disabled or unreadable job, or one started by hand only)."""
        ctx = self.context
        cached = self._next
        if cached is None or cached[0] != ctx.generation or (cached[1] is not None and cached[1] <= ctx.now):
            job = self.job
            if not job.enabled or job.problems:
                value = job.next_run_at
            else:
                value = schedule_info.next_run(job, after=ctx.now, mac_zone=self.mac_zone)
            self._next = cached = (ctx.generation, value)
        return cached[1]

    @property
    def lateness(self) -> Lateness:
        """The verdict at the context's now, its reason ("… ago") rendered for that now."""
        verdict = self._verdict()
        cached = self._late
        if verdict.late and cached is not None and not cached[3]:
            verdict = schedule_info.late_again(self.job, verdict, self.context.now, self.mac_zone)
            self._late = (cached[0], cached[1], verdict, True)
        return verdict

    @property
    def is_late(self) -> bool:
        return self._verdict().late

    def _verdict(self) -> Lateness:
        """Judged again only as far as time can change the verdict, unless the row or the zones change: a
        job that is not Late stays so until its grace ends (`late_since`), or for good when nothing is
        expected of it; a Late job stays Late and only its reason ages (rendered when someone reads it).
        The app judges every job every 30 s (the notifier wants the Late ones): at 10,000 jobs computing
        every schedule again took 0.4 s each time."""
        ctx = self.context
        cached = self._late
        if cached is not None and cached[0] != ctx.generation:
            verdict = cached[2]
            if cached[1] != ctx.zones_generation:
                cached = None
            elif not verdict.late and (verdict.late_since is None or ctx.now <= verdict.late_since):
                self._late = cached = (ctx.generation, cached[1], verdict, True)
            elif verdict.late and verdict.late_since is not None and ctx.now > verdict.late_since:
                self._late = cached = (ctx.generation, cached[1], verdict, False)
            else:  # the clock went back before the verdict (tests, screenshots)
                cached = None
        if cached is None:
            verdict = schedule_info.late(self.job, ctx.now, self.mac_zone)
            self._late = cached = (ctx.generation, ctx.zones_generation, verdict, True)
        return cached[2]

    @property
    def shown_status(self) -> str | None:
        """What the Status column says: "late" before the last run's status."""
        return "late" if self.is_late else self.status

    def key_for(self, column: int) -> tuple[Any, ...]:
        job = self.job
        tail = (self.name_key, self.row_id)
        if column == COL_SCHEDULE:
            return (self.schedule_text.casefold(), *tail)
        if column == COL_NEXT:
            return (*_ts(self.next_run if self.enabled else None), *tail)
        if column == COL_LAST:
            return (*_ts(job.last_run_at), *tail)
        if column == COL_STATUS:
            return (_STATUS_RANK.get(self.shown_status, 3), *tail)
        if column == COL_DURATION:
            ms = job.last_duration_ms
            return (1 if ms is None else 0, ms or 0, *tail)
        if column == COL_ENABLED:
            return (0 if self.enabled else 1, *tail)
        if column == COL_HOST:
            return ((job.host or "").casefold(), *tail)
        return tail


_sort_key = attrgetter("sort_key")


class LateJobs(Mapping[str, tuple[str, str]]):
    """Late jobs by job id -> (name, why). The notifier only reads the reasons of jobs that just became
    Late; rendering every one's "… ago" every 30 s was most of an idle app's CPU at 10,000 jobs."""

    def __init__(self, entries: dict[str, JobEntry]) -> None:
        self._entries = entries

    def __getitem__(self, job_id: str) -> tuple[str, str]:
        entry = self._entries[job_id]
        return entry.job.display_name, entry.lateness.reason or "its expected run has passed"

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class JobTableModel(RowTableModel):
    """Rows are `JobEntry`s; `ObjectRole` gives the `CronMirrorJob`, `SortRole` a native sort value."""

    headers = HEADERS
    right_aligned = frozenset({COL_DURATION})

    #: The newest `updated_at` of any row changed (the worker's last sign of life), or None.
    lastSeenChanged = Signal(object)
    #: Emitted after any change in the number of rows (for empty states and counts).
    countChanged = Signal(int)
    #: Late was judged again for every row (every JUDGE_EVERY seconds): `late_jobs()` says which are.
    lateJudged = Signal()
    #: The hosts the jobs live on changed (a sorted list of names; rows without a host count for none).
    hostsChanged = Signal(list)

    def __init__(self, parent: QObject | None = None, *, clock: ViewClock | None = None) -> None:
        super().__init__(parent)
        self._entries: list[JobEntry] = []
        self._by_id: dict[str, JobEntry] = {}
        self._sort_column = COL_NAME
        self._descending = False
        self._last_seen: datetime | None = None
        self._ctx = TimeContext()
        self._italic_font: QFont | None = None
        self._hosts: Counter[str] = Counter()
        self.clock = clock if clock is not None else ViewClock(parent=self)
        self._ctx.advance(self.clock.now)
        #: When Late was last judged for every row (see the module docstring).
        self._judged = self.clock.now
        #: (row id, column) of every relative time rendered, by when its words change next.
        self._due: DueTimes[tuple[str, int]] = DueTimes()
        self.clock.ticked.connect(self._times_due)

    @property
    def _now(self) -> datetime:
        return self._ctx.now

    # -- Qt model interface -------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self.entry_data(self.entry_at(index.row()), index.column(), role)

    def entry_data(self, entry: JobEntry, column: int, role: int) -> Any:
        """What `data()` gives for this entry's cell (the filter proxy asks it directly: its rows are
        entries, and a source index would cost two more calls into Python per cell)."""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column)
        if role == ObjectRole:
            return entry.job
        if role == LateRole:
            return entry.lateness
        if role == SortRole:
            return self._sort_value(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(entry, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(entry, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and column == COL_NAME and entry.job.problems:
            return self._italic()
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._display(entry, column) or self._tooltip(entry, column)
        return None

    def _display(self, entry: JobEntry, column: int) -> str | None:
        job = entry.job
        if column == COL_NAME:
            return job.display_name or "(unnamed)"
        if column == COL_SCHEDULE:
            return entry.schedule_text
        if column == COL_NEXT:
            if not entry.enabled:
                return "—"
            if job.schedule_kind == "at" and entry.next_run is None and job.last_run_at is not None:
                return "done"
            if schedule_info.by_hand_only(job):
                return schedule_info.BY_HAND
            return self._relative(entry, COL_NEXT, entry.next_run)
        if column == COL_LAST:
            return self._relative(entry, COL_LAST, job.last_run_at, past=True, empty="never")
        if column == COL_STATUS:
            if entry.is_late:
                return LATE_WORD
            return STATUS_WORDS.get(entry.status, job.last_status or "")
        if column == COL_DURATION:
            return timetext.duration(job.last_duration_ms, empty="")
        if column == COL_ENABLED:
            return "Yes" if entry.enabled else "No"
        if column == COL_HOST:
            return job.host or "—"
        return None

    def _relative(
        self, entry: JobEntry, column: int, when: datetime | None, *, past: bool = False, empty: str = "—"
    ) -> str:
        """The words for `when` at the clock's now; notes when they change, so that cell alone is
        re-rendered then."""
        now = self.clock.now
        changes = timetext.changes_at(when, now, past=past)
        if self._due.note((entry.row_id, column), changes):
            self.clock.wake_at(changes)
        return timetext.relative(when, now, empty=empty, past=past)

    def _sort_value(self, entry: JobEntry, column: int) -> Any:
        job = entry.job
        if column == COL_NAME:
            return entry.name_key
        if column == COL_SCHEDULE:
            return entry.schedule_text
        if column == COL_NEXT:
            return entry.next_run.timestamp() if entry.next_run and entry.enabled else None
        if column == COL_LAST:
            return job.last_run_at.timestamp() if job.last_run_at else None
        if column == COL_STATUS:
            return _STATUS_RANK.get(entry.shown_status, 3)
        if column == COL_DURATION:
            return job.last_duration_ms
        if column == COL_ENABLED:
            return entry.enabled
        if column == COL_HOST:
            return job.host or ""
        return None

    def _tooltip(self, entry: JobEntry, column: int) -> str | None:
        job = entry.job
        if column == COL_NAME:
            lines = [job.display_name, f"Job id: {job.job_id}"]
            if job.problems:
                lines.append("This row could not be fully read:")
                lines.extend(f"• {problem}" for problem in job.problems)
            return "\n".join(lines)
        if column == COL_SCHEDULE:
            return f"{entry.schedule_text}\n{schedule_info.expression(job)}" + (
                f" ({job.tz})" if job.tz else ""
            )
        if column == COL_NEXT:
            if not entry.enabled:
                return "Disabled: this job does not run on its schedule."
            if entry.next_run is None:
                return "No next run known."
            if schedule_info.by_hand_only(job):
                return "Runs only when started: no clock starts this job."
            if entry.next_run is None:
                return "No next run known."
            own = job.next_run_at is not None and job.next_run_at == entry.next_run
            source = "" if own else "\n(computed from the schedule)"
            return f"Next run: {timetext.absolute(entry.next_run)}{source}"  # the viewer's zone
        if column == COL_LAST:
            if job.last_run_at is None:
                return "This job has not run yet."
            return f"Last run: {timetext.absolute(job.last_run_at)}"
        if column == COL_STATUS:
            last = (
                f"Unknown status {job.last_status!r}"
                if entry.status == "unknown"
                else STATUS_WORDS.get(entry.status, "")
            )
            if entry.is_late:
                return f"Late: {entry.lateness.reason}\nLast run: {last}"
            return last
        if column == COL_HOST:
            return f"Runs on {job.host}" if job.host else "The row does not say which machine runs it."
        return None

    def _zone_of(self, entry: JobEntry) -> tzinfo | None:
        """The zone a job's times are shown in: its own, else its Mac mini's (None: this computer's)."""
        if entry.job.zone is not None:
            return entry.job.zone
        mac = entry.mac_zone
        return zone_or_none(mac) if mac else None

    def _decoration(self, entry: JobEntry, column: int) -> Any:
        if column == COL_NAME and entry.job.problems:
            return icons.icon("warning", is_dark())
        if column == COL_STATUS:
            if entry.is_late:
                return None  # the delegate paints the "Late" chip
            name = {"ok": "ok", "error": "error", "skipped": "skipped"}.get(entry.status or "", "never")
            if entry.status == "unknown":
                name = "warning"
            return icons.icon(name, is_dark())
        return None

    def _foreground(self, entry: JobEntry, column: int) -> QColor | None:
        palette = QGuiApplication.palette()
        if column == COL_NEXT and entry.enabled and entry.next_run is not None and entry.next_run < self._now:
            return signal_color("warning", is_dark(palette))  # overdue: the mirror or the gateway is behind
        if not entry.enabled or column == COL_DURATION:
            return secondary_text(palette)
        return None

    def _italic(self) -> QFont:
        if self._italic_font is None:
            self._italic_font = QFont()
            self._italic_font.setItalic(True)
        return self._italic_font

    # -- row access ---------------------------------------------------------------------------

    def entry_at(self, row: int) -> JobEntry:
        """The entry shown at `row` (the list is stored ascending; descending reads it backwards)."""
        return self._entries[len(self._entries) - 1 - row] if self._descending else self._entries[row]

    def ascending_entries(self) -> list[JobEntry]:
        """Every entry in ascending order of `sort_key` (the model's rows read forwards, or backwards when
        it sorts descending). The model's own list, for filtering all rows in one pass: read, never change."""
        return self._entries

    @property
    def descending(self) -> bool:
        return self._descending

    def row_of_entry(self, entry: JobEntry) -> int:
        """The row showing `entry` (which must be one of this model's)."""
        return self._view_row(self._position(entry))

    def job_at(self, row: int) -> CronMirrorJob:
        return self.entry_at(row).job

    def jobs(self) -> list[CronMirrorJob]:
        return [e.job for e in self._entries]

    def find_job(self, job_id: str) -> CronMirrorJob | None:
        """The job with this gateway job id (linear: used on clicks, not per frame)."""
        for entry in self._entries:
            if entry.job.job_id == job_id:
                return entry.job
        return None

    def job_names(self) -> dict[str, str]:
        return {e.job.job_id: e.job.display_name for e in self._entries}

    def row_of(self, row_id: str) -> int | None:
        entry = self._by_id.get(row_id)
        return None if entry is None else self._view_row(self._position(entry))

    def row_of_job(self, job_id: str) -> int | None:
        for entry in self._entries:
            if entry.job.job_id == job_id:
                return self._view_row(self._position(entry))
        return None

    @property
    def last_seen(self) -> datetime | None:
        return self._last_seen

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    def _view_row(self, position: int, count: int | None = None) -> int:
        n = len(self._entries) if count is None else count
        return n - 1 - position if self._descending else position

    def _position(self, entry: JobEntry) -> int:
        pos = bisect.bisect_left(self._entries, entry.sort_key, key=_sort_key)
        if pos < len(self._entries) and self._entries[pos] is entry:
            return pos
        return self._entries.index(entry)  # pragma: no cover - keys are unique; kept as a safety net

    # -- changes ------------------------------------------------------------------------------

    def set_jobs(self, jobs: list[CronMirrorJob]) -> None:
        """Replace every row (a Snapshot): the one place the model resets. The rows are prepared before
        the reset begins, so a failure there leaves the model as it was, never half-reset."""
        by_id: dict[str, JobEntry] = {}
        for job in jobs:
            if not job.is_job:
                continue
            entry = JobEntry(job, self._ctx)
            entry.sort_key = entry.key_for(self._sort_column)
            by_id[entry.row_id] = entry  # a duplicate id keeps the later row, as an upsert would
        self.beginResetModel()
        self._by_id = by_id
        self._entries = sorted(by_id.values(), key=_sort_key)
        self._due.clear()
        self._ctx.advance(self.clock.now)
        self.endResetModel()
        self._count_hosts(Counter(e.job.host for e in self._entries if e.job.host))
        self.note_seen([e.job.updated_at for e in self._entries])
        self.countChanged.emit(len(self._entries))

    def clear(self) -> None:
        self.set_jobs([])
        self._last_seen = None
        self.lastSeenChanged.emit(None)

    def apply(self, change: JobChange) -> None:
        """One live change, in place. A delete or a non-job row (bookkeeping) removes the row."""
        if change.type is ChangeType.DELETE or change.job is None or not change.job.is_job:
            self.remove(change.row_id)
        else:
            self.upsert(change.job, row_id=change.row_id)

    def upsert(self, job: CronMirrorJob, *, row_id: str | None = None) -> None:
        key = row_id or row_key(job)
        entry = self._by_id.get(key)
        if entry is None:
            self._insert(job, key)
        else:
            self._update(entry, job)
        self.note_seen([job.updated_at])

    def remove(self, row_id: str) -> None:
        entry = self._by_id.pop(row_id, None)
        if entry is None:
            return
        pos = self._position(entry)
        row = self._view_row(pos)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._entries[pos]
        self.endRemoveRows()
        self._host_moved(entry.job.host, None)
        self.countChanged.emit(len(self._entries))

    def _insert(self, job: CronMirrorJob, key: str) -> None:
        entry = JobEntry(job, self._ctx)
        entry.row_id = key
        entry.sort_key = entry.key_for(self._sort_column)
        pos = bisect.bisect_left(self._entries, entry.sort_key, key=_sort_key)
        row = self._view_row(pos, len(self._entries) + 1)
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.insert(pos, entry)
        self._by_id[key] = entry
        self.endInsertRows()
        self._host_moved(None, job.host)
        self.countChanged.emit(len(self._entries))

    def _update(self, entry: JobEntry, job: CronMirrorJob) -> None:
        old_pos = self._position(entry)
        old_host = entry.job.host
        entry.set_job(job)
        new_key = entry.key_for(self._sort_column)
        if new_key != entry.sort_key:
            n = len(self._entries)
            del self._entries[old_pos]
            new_pos = bisect.bisect_left(self._entries, new_key, key=_sort_key)
            self._entries.insert(old_pos, entry)  # put back until Qt has been told about the move
            old_row, new_row = self._view_row(old_pos, n), self._view_row(new_pos, n)
            if old_row != new_row:
                dest = new_row + 1 if new_row > old_row else new_row
                self.beginMoveRows(QModelIndex(), old_row, old_row, QModelIndex(), dest)
                del self._entries[old_pos]
                entry.sort_key = new_key
                self._entries.insert(new_pos, entry)
                self.endMoveRows()
                old_row = new_row
            entry.sort_key = new_key
        else:
            old_row = self._view_row(old_pos)
        # createIndex: the row is known to exist (index() would ask rowCount and columnCount in Python)
        self.dataChanged.emit(self.createIndex(old_row, 0), self.createIndex(old_row, COLUMN_COUNT - 1))
        self._host_moved(old_host, job.host)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Re-sort by `column` (the proxy forwards its `sort()` here); keeps persistent indexes."""
        if column < 0 or column >= COLUMN_COUNT:
            column = COL_NAME
        descending = order == Qt.SortOrder.DescendingOrder
        if column == self._sort_column and descending == self._descending:
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        tracked = [(idx, self.entry_at(idx.row()), idx.column()) for idx in persistent]
        if column != self._sort_column:
            for entry in self._entries:
                entry.sort_key = entry.key_for(column)
            self._entries.sort(key=_sort_key)
        self._sort_column = column
        self._descending = descending
        new_positions = {id(e): i for i, e in enumerate(self._entries)}
        self.changePersistentIndexList(
            [idx for idx, _, _ in tracked],
            [self.index(self._view_row(new_positions[id(entry)]), col) for _, entry, col in tracked],
        )
        self.layoutChanged.emit()

    def _times_due(self) -> None:
        """The clock ticked: judge next runs and Late at its now, announce the time cells whose words
        changed (rows that were painted and whose text aged), and every `JUDGE_EVERY` seconds the Status
        column (a row may have become Late); nothing else."""
        now = self.clock.now
        if now != self._ctx.now:
            self._ctx.advance(now)
        for row_id, column in self._due.due(now):
            entry = self._by_id.get(row_id)
            if entry is None:
                continue
            index = self.createIndex(self._view_row(self._position(entry)), column)
            self.dataChanged.emit(index, index, _TIME_ROLES)
        if (now - self._judged).total_seconds() >= JUDGE_EVERY:
            self._judged = now
            if self._entries:
                last = len(self._entries) - 1
                self.dataChanged.emit(self.index(0, COL_STATUS), self.index(last, COL_STATUS), _LATE_ROLES)
            self.lateJudged.emit()
        judge_at = self._judged + timedelta(seconds=JUDGE_EVERY)
        due = self._due.next_at
        self.clock.wake_at(judge_at if due is None else min(due, judge_at))

    def late_jobs(self) -> LateJobs:
        """The jobs that are Late now: job id -> (its name, why), each reason rendered only when read."""
        return LateJobs({entry.job.job_id: entry for entry in self._entries if entry.is_late})

    @property
    def pending_times(self) -> int:
        """How many rendered relative times wait for their words to change (tests and the bench)."""
        return len(self._due)

    def set_now(self, now: datetime) -> None:
        """Judge everything at `now` at once (tests and screenshots): next runs, Late, relative times."""
        self._ctx.advance(now)
        self._judged = now
        self._times_changed()

    def set_host_zones(self, zones: HostZones) -> None:
        """The zones the hosts published (their presence rows): jobs without a zone run in these."""
        if zones == self._ctx.zones:
            return
        self._ctx.set_zones(zones)
        if self._entries:
            last = len(self._entries) - 1
            self.dataChanged.emit(self.index(0, 0), self.index(last, COLUMN_COUNT - 1))

    @property
    def host_zones(self) -> HostZones:
        return self._ctx.zones

    @property
    def now(self) -> datetime:
        """The instant the rows' relative times, next runs and Late were judged at."""
        return self._ctx.now

    @property
    def generation(self) -> int:
        """Changes whenever the time or the zones the rows were judged at change."""
        return self._ctx.generation

    def entry_of(self, row_id: str) -> JobEntry | None:
        return self._by_id.get(row_id)

    def _times_changed(self) -> None:
        if self._entries:
            roles = [
                Qt.ItemDataRole.DisplayRole,
                Qt.ItemDataRole.ToolTipRole,
                Qt.ItemDataRole.ForegroundRole,
                Qt.ItemDataRole.DecorationRole,
                LateRole,
            ]
            last = len(self._entries) - 1
            self.dataChanged.emit(self.index(0, COL_NEXT), self.index(last, COL_STATUS), roles)

    # -- hosts ----------------------------------------------------------------------------------

    def hosts(self) -> list[str]:
        """The hosts the jobs live on, sorted (rows without a host count for none)."""
        return sorted(self._hosts)

    def _count_hosts(self, counts: Counter[str]) -> None:
        before = set(self._hosts)
        self._hosts = counts
        if set(counts) != before:
            self.hostsChanged.emit(self.hosts())

    def _host_moved(self, old: str | None, new: str | None) -> None:
        if old == new:
            return
        counts = Counter(self._hosts)
        if old:
            counts[old] -= 1
            if counts[old] <= 0:
                del counts[old]
        if new:
            counts[new] += 1
        self._count_hosts(counts)

    def note_seen(self, stamps: list[datetime | None]) -> None:
        """A worker was heard of at these instants (job rows, or its presence row): keep the newest."""
        newest = max((s for s in stamps if s is not None), default=None)
        if newest is not None and (self._last_seen is None or newest > self._last_seen):
            self._last_seen = newest
            self.lastSeenChanged.emit(newest)
