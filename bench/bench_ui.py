"""The desktop app's job table at 10,000 jobs, each figure beside a plain `QStandardItemModel` baseline
measured in the same run, and commit → row updated through the Supabase stand-in.

load_10k_ms: a Snapshot of 10,000 parsed jobs into the model, through the filter proxy, into a shown
  1280×800 table (one layout pass included). Baseline: the same rows as QStandardItems (7 text cells)
  behind a QSortFilterProxyModel. Goal ≤ 500 ms.
keystroke_10k_ms: one keystroke in the search field (typing "nightly backup" and deleting it again), the
  filter applied and the view told, without the window's one-frame coalescing. Baseline:
  QSortFilterProxyModel's own `setFilterFixedString` on the name column (C++ only). Goal (issue 20): median
  ≤ 1.2 × the baseline's median in the same run, and p95 ≤ 16 ms (one frame).
live_update_10k_ms: one realtime UPDATE (last status and run of one job) applied to the model, through
  the proxy and the view. Baseline: setting the same three cells' text on the QStandardItems. Goal ≤ 1 ms.
tick_10k_ms: one second of the app's clock passing at 10,000 jobs in a shown table: the tick and the repaint
  of the cells whose relative times read differently ("12 s ago" → "13 s ago"), 600 seconds in a row (120
  quick), the time cells as the bench's rows have them (minutes to days old). Baseline: the whole Next/Last
  columns announced and repainted, as the app did every 30 s before issue 19. Goal ≤ 16 ms.
commit_to_row_ms: a worker's commit on the stand-in's PostgreSQL → the row changed in the app's model
  (Realtime → SupabaseStore → controller → model, on the qasync loop). Goal: median ≤ 20 ms.
commit_to_row_local_ms: the same through the embedded store in one process (no goal; informative).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import Figure, summarize

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PySide6.QtCore import QSortFilterProxyModel, Qt  # noqa: E402
from PySide6.QtGui import QStandardItem, QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from cronmirror_desktop.core.rows import CronMirrorJob  # noqa: E402
from cronmirror_desktop.core.store import ChangeType, JobChange  # noqa: E402
from cronmirror_desktop.core.timeutil import format_timestamp  # noqa: E402
from cronmirror_desktop.ui.job_filter import JobFilterProxy  # noqa: E402
from cronmirror_desktop.ui.job_model import JobTableModel  # noqa: E402

JOBS = 10_000
PROJECT = "bench"
WORDS = [
    *("inbox", "nightly", "backup", "calendar", "sync", "report", "weekly", "digest", "heartbeat"),
    *("standup", "review", "invoices", "metrics", "cleanup", "rotate", "logs", "photos", "mail"),
    *("crawl", "index", "deploy", "notes", "briefing", "plants", "scrub"),
]
CRONS = [
    f"{m} {h} * * {d}" for m in (0, 15, 30, 45) for h in (2, 7, 9, 17, 22) for d in ("*", "1-5", "0", "5")
]
TYPING = "nightly backup"
#: A keystroke's median may cost at most this many times the C++ filter's in the same run (issue 20).
KEYSTROKE_VS_BASELINE = 1.2


def _app() -> QApplication:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    return app


def make_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """`n` varied jobs around this minute. Around the real time, not a fixed date: with a
    fixed one, every next run slid into the past within a week and the figures measured a store of
    overdue jobs instead."""
    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = []
    for i in range(n):
        every = rnd.random() < 0.3
        rows.append(
            {
                "id": f"row-{i}",
                "project_id": PROJECT,
                "job_id": f"job-{i}",
                "name": f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)} {i}",
                "schedule_kind": "every" if every else "cron",
                "schedule_expr": str(rnd.choice((300_000, 1_800_000, 3_600_000, 86_400_000)))
                if every
                else rnd.choice(CRONS),
                "tz": rnd.choice((None, "Europe/Berlin", "America/New_York", "Asia/Tokyo")),
                "enabled": rnd.random() < 0.9,
                "next_run_at": format_timestamp(now + timedelta(minutes=rnd.randint(1, 10_000))),
                "last_run_at": format_timestamp(now - timedelta(minutes=rnd.randint(1, 10_000))),
                "last_status": rnd.choice(("ok", "ok", "ok", "error", "skipped", None)),
                "last_duration_ms": rnd.randint(50, 600_000),
                "instructions": "Do the thing.",
                "updated_at": format_timestamp(now),
            }
        )
    return rows


_LOOP: list[Any] = []


def _qasync_loop() -> Any:
    """One qasync loop for the whole run, never closed (a second or a closed one crashes: qasync #73)."""
    import qasync

    if not _LOOP:
        _LOOP.append(qasync.QEventLoop(_app()))
        asyncio.set_event_loop(_LOOP[0])
    return _LOOP[0]


def _view(model: Any) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.resize(1280, 800)
    view.show()
    return view


def _standard_items(jobs: list[CronMirrorJob]) -> QStandardItemModel:
    model = QStandardItemModel(0, 7)
    for job in jobs:
        model.appendRow(
            [
                QStandardItem(job.display_name),
                QStandardItem(f"{job.schedule_kind} {job.schedule_expr}"),
                QStandardItem(str(job.next_run_at)),
                QStandardItem(str(job.last_run_at)),
                QStandardItem(job.last_status or ""),
                QStandardItem(str(job.last_duration_ms)),
                QStandardItem("Yes" if job.enabled else "No"),
            ]
        )
    return model


def measure_load(jobs: list[CronMirrorJob], repeats: int) -> tuple[list[float], list[float]]:
    app = _app()
    ours, base = [], []
    for _ in range(repeats):
        model, proxy = JobTableModel(), JobFilterProxy()
        proxy.setSourceModel(model)
        view = _view(proxy)
        app.processEvents()
        started = time.perf_counter()
        model.set_jobs(jobs)
        app.processEvents()
        ours.append((time.perf_counter() - started) * 1000)
        view.close()

        started = time.perf_counter()
        items = _standard_items(jobs)
        plain = QSortFilterProxyModel()
        plain.setSourceModel(items)
        view = _view(plain)
        app.processEvents()
        base.append((time.perf_counter() - started) * 1000)
        view.close()
    return ours, base


def _keystrokes() -> list[str]:
    typed = [TYPING[: i + 1] for i in range(len(TYPING))]
    return typed + typed[-2::-1] + [""]


def measure_keystrokes(jobs: list[CronMirrorJob], rounds: int) -> tuple[list[float], list[float]]:
    app = _app()
    model, proxy = JobTableModel(), JobFilterProxy()
    proxy.setSourceModel(model)
    model.set_jobs(jobs)
    view = _view(proxy)
    app.processEvents()
    ours: list[float] = []
    for _ in range(rounds):
        for text in _keystrokes():
            started = time.perf_counter()
            proxy.set_search_text(text)
            ours.append((time.perf_counter() - started) * 1000)
            app.processEvents()
    view.close()

    items = _standard_items(jobs)
    plain = QSortFilterProxyModel()
    plain.setSourceModel(items)
    plain.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    plain.setFilterKeyColumn(0)
    view = _view(plain)
    app.processEvents()
    base: list[float] = []
    for _ in range(rounds):
        for text in _keystrokes():
            started = time.perf_counter()
            plain.setFilterFixedString(text)
            base.append((time.perf_counter() - started) * 1000)
            app.processEvents()
    view.close()
    return ours, base


def measure_live_update(jobs: list[CronMirrorJob], n: int) -> tuple[list[float], list[float]]:
    app = _app()
    rnd = random.Random(11)
    model, proxy = JobTableModel(), JobFilterProxy()
    proxy.setSourceModel(model)
    model.set_jobs(jobs)
    view = _view(proxy)
    app.processEvents()
    now = datetime(2026, 11, 30, tzinfo=UTC)
    ours: list[float] = []
    for i in range(n):
        job = jobs[rnd.randrange(len(jobs))]
        changed = job.model_copy(
            update={"last_status": "error" if i % 2 else "ok", "last_run_at": now + timedelta(seconds=i)}
        )
        change = JobChange(ChangeType.UPDATE, PROJECT, job.id or "", changed)
        started = time.perf_counter()
        model.apply(change)
        ours.append((time.perf_counter() - started) * 1000)
        if i % 50 == 0:
            app.processEvents()
    view.close()

    items = _standard_items(jobs)
    plain = QSortFilterProxyModel()
    plain.setSourceModel(items)
    view = _view(plain)
    app.processEvents()
    rows = {job.id: row for row, job in enumerate(jobs)}
    base: list[float] = []
    for i in range(n):
        job = jobs[rnd.randrange(len(jobs))]
        started = time.perf_counter()
        row = rows[job.id]
        items.item(row, 3).setText(str(now + timedelta(seconds=i)))
        items.item(row, 4).setText("error" if i % 2 else "ok")
        items.item(row, 5).setText("1234")
        base.append((time.perf_counter() - started) * 1000)
        if i % 50 == 0:
            app.processEvents()
    view.close()
    return ours, base


def measure_tick(jobs: list[CronMirrorJob], seconds: int) -> tuple[list[float], list[float]]:
    from cronmirror_desktop.ui.clock import ViewClock
    from cronmirror_desktop.ui.job_model import COL_LAST, COL_NEXT

    app = _app()
    times = [datetime(2026, 11, 29, 12, tzinfo=UTC)]
    clock = ViewClock(lambda: times[0])
    model, proxy = JobTableModel(clock=clock), JobFilterProxy()
    proxy.setSourceModel(model)
    model.set_jobs(jobs)
    view = _view(proxy)
    app.processEvents()
    ours: list[float] = []
    for _ in range(seconds):
        times[0] += timedelta(seconds=1)
        started = time.perf_counter()
        clock.tick()
        app.processEvents()
        ours.append((time.perf_counter() - started) * 1000)
    base: list[float] = []
    roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole]
    for _ in range(max(10, seconds // 10)):
        started = time.perf_counter()
        model.dataChanged.emit(model.index(0, COL_NEXT), model.index(len(jobs) - 1, COL_LAST), roles)
        app.processEvents()
        base.append((time.perf_counter() - started) * 1000)
    view.close()
    return ours, base


# -- commit → row ---------------------------------------------------------------------------------


async def _commit_to_row(store: Any, writer: Any, n: int) -> list[float]:
    """`writer(i)` commits a change to job-{i % 20} on another thread and returns the commit time."""
    from cronmirror_desktop.ui.controller import AppController

    controller = AppController(store, project_id=PROJECT)
    await controller.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while controller.live_state.value != "live" or controller.loading:
        if loop.time() > deadline:
            raise RuntimeError("the subscription never became live")
        await asyncio.sleep(0.02)
    seen: dict[str, float] = {}
    arrived = asyncio.Event()
    model = controller.job_model

    def changed(top: Any, _bottom: Any, *_roles: Any) -> None:
        job = model.job_at(top.row())
        if job.last_status and job.last_status.startswith("mark-"):
            seen.setdefault(job.last_status, time.perf_counter())
            arrived.set()

    model.dataChanged.connect(changed)
    latencies = []
    pool = ThreadPoolExecutor(1, thread_name_prefix="bench-writer")  # not qasync's QThread executor
    try:
        for i in range(n):
            arrived.clear()
            committed = await loop.run_in_executor(pool, writer, i)
            mark = f"mark-{i}"
            while mark not in seen:
                await asyncio.wait_for(arrived.wait(), 10)
                arrived.clear()
            latencies.append((seen[mark] - committed) * 1000)
    finally:
        pool.shutdown()
        await controller.stop()
    return latencies[3:]


def measure_commit_to_row_supabase(n: int) -> list[float]:
    import psycopg

    from cronmirror_desktop.core.supabasestore import SupabaseStore
    from tests.supastack import start_supastack

    stack = start_supastack()
    try:
        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            for i in range(20):
                conn.execute(
                    "insert into cron_mirror (project_id, job_id, name, schedule_kind, schedule_expr) "
                    "values (%s, %s, %s, 'every', '1800000')",
                    (PROJECT, f"job-{i}", f"Job {i}"),
                )
        local = threading.local()

        def write(i: int) -> float:
            if not hasattr(local, "conn"):
                local.conn = psycopg.connect(stack.db_url, autocommit=True)
            local.conn.execute(
                "update cron_mirror set last_status = %s, updated_at = now() "
                "where project_id = %s and job_id = %s",
                (f"mark-{i}", PROJECT, f"job-{i % 20}"),
            )
            return time.perf_counter()

        loop = _qasync_loop()
        store = SupabaseStore(stack.url, stack.anon_key)
        try:
            return loop.run_until_complete(_commit_to_row(store, write, n))
        finally:
            if hasattr(local, "conn"):
                local.conn.close()
    finally:
        stack.close()


def measure_commit_to_row_local(n: int, directory: Path) -> list[float]:

    from cronmirror_desktop.core.localstore import LocalStore

    loop = _qasync_loop()
    path = directory / "bench.sqlite3"
    writer_store = LocalStore(path)
    rows = [
        {"job_id": f"job-{i}", "name": f"Job {i}", "schedule_kind": "every", "schedule_expr": "1800000"}
        for i in range(20)
    ]
    loop.run_until_complete(writer_store.upsert_mirror(PROJECT, rows))
    writer_loop = asyncio.new_event_loop()

    def write(i: int) -> float:
        row = {**rows[i % 20], "last_status": f"mark-{i}"}
        writer_loop.run_until_complete(writer_store.upsert_mirror(PROJECT, [row]))
        return time.perf_counter()

    store = LocalStore(path, poll_interval=0.25)
    try:
        return loop.run_until_complete(_commit_to_row(store, write, n))
    finally:
        writer_loop.run_until_complete(writer_store.close())
        writer_loop.close()


def run(quick: bool) -> dict[str, Figure]:
    import tempfile

    _app()
    jobs = [CronMirrorJob.from_row(row) for row in make_rows(JOBS)]
    load, load_base = measure_load(jobs, 3 if quick else 7)
    keys, keys_base = measure_keystrokes(jobs, 2 if quick else 5)
    live, live_base = measure_live_update(jobs, 300 if quick else 2000)
    tick, tick_base = measure_tick(jobs, 120 if quick else 600)
    figures = {
        "load_10k_ms": summarize(load, "ms", goal=500.0, baseline=_median(load_base)),
        "keystroke_10k_ms": summarize(
            keys,
            "ms",
            goal=round(KEYSTROKE_VS_BASELINE * _median(keys_base), 2),
            baseline=_median(keys_base),
            p95_goal=16.0,
        ),
        "live_update_10k_ms": summarize(live, "ms", goal=1.0, baseline=_median(live_base)),
        "tick_10k_ms": summarize(tick, "ms", goal=16.0, baseline=_median(tick_base)),
    }
    n = 40 if quick else 200
    figures["commit_to_row_ms"] = summarize(measure_commit_to_row_supabase(n), "ms", goal=20.0)
    with tempfile.TemporaryDirectory() as tmp:
        figures["commit_to_row_local_ms"] = summarize(
            measure_commit_to_row_local(n // 2, Path(tmp)), "ms", None
        )
    return figures


def _median(samples: list[float]) -> float:
    import statistics

    return statistics.median(samples)
