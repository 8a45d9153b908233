"""The job filter proxy keeps its own list of the rows shown and filters incrementally: after any sequence of
queries, filter changes, sorts and live changes its rows must be exactly what a full refilter gives, in the
model's order, announced through consistent signals (Qt's model tester watches every change) and never
with a reset on a live change."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtTest import QSignalSpy

from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.store import ChangeType, JobChange
from cronmirror_desktop.ui.job_filter import (
    FEW_ROWS,
    EnabledFilter,
    JobFilterProxy,
    StatusFilter,
    narrows,
)
from cronmirror_desktop.ui.job_model import (
    COL_DURATION,
    COL_HOST,
    COL_LAST,
    COL_NAME,
    COL_STATUS,
    COLUMN_COUNT,
    JobTableModel,
    ObjectRole,
)
from tests.ui_support import NOW, PROJECT, checked_proxy, job

pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.usefixtures("qapp")]

WORDS = ["inbox", "nightly", "backup", "night", "calendar", "sync", "report", "weekly", "digest", "Ünïcode"]
HOSTS = [None, "mini-a", "mini-b", "Mini-C"]
STATUSES = [None, "ok", "error", "skipped"]
TYPED = "abcdeghiklnoprstuwy "


def random_job(rnd: random.Random, n: int, **override: Any) -> CronMirrorJob:
    fields: dict[str, Any] = {
        "enabled": rnd.random() < 0.8,
        "last_status": rnd.choice(STATUSES),
        "host": rnd.choice(HOSTS),
        "last_run_at": NOW - timedelta(minutes=rnd.randint(1, 5000)),
        "last_duration_ms": rnd.randint(10, 100_000),
    }
    if rnd.random() < 0.1:
        fields.update(schedule_kind="cron", schedule_expr="61 * * * *")  # an unreadable row
    elif rnd.random() < 0.3:  # a gateway cron job: its next run passed long ago, so it may be Late
        fields.update(schedule_kind="cron", schedule_expr="0 3 * * *", next_run_at=NOW - timedelta(days=2))
    fields.update(override)
    name = f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)} {n}"
    return job(f"job-{n}", name, row_id=f"row-{n}", **fields)


def shown_ids(proxy: JobFilterProxy) -> list[str]:
    return [proxy.data(proxy.index(r, COL_NAME), ObjectRole).job_id for r in range(proxy.rowCount())]


def refiltered_ids(model: JobTableModel, proxy: JobFilterProxy) -> list[str]:
    """A full refilter: every row of the model, in its order, judged on its own."""
    entries = [model.entry_at(r) for r in range(model.rowCount())]
    return [e.job.job_id for e in entries if proxy.accepts(e)]


def oracle_ids(model: JobTableModel, proxy: JobFilterProxy) -> list[str]:
    """The filter's rules written out plainly from the jobs (not from the model's precomputed keys)."""
    terms = proxy.search_text.casefold().split()
    out = []
    for row in range(model.rowCount()):
        entry = model.entry_at(row)
        j = entry.job
        words = f"{j.display_name} {j.name} {j.job_id} {j.host or ''}".casefold()
        if not all(t in words for t in terms):
            continue
        if proxy.enabled_filter is not EnabledFilter.ALL and j.enabled != (
            proxy.enabled_filter is EnabledFilter.ENABLED
        ):
            continue
        if proxy.host_filter is not None and j.host != proxy.host_filter:
            continue
        status = proxy.status_filter
        if status is StatusFilter.LATE and not entry.is_late:
            continue
        if status is StatusFilter.INVALID and not j.problems:
            continue
        if status is StatusFilter.NEVER and j.last_status is not None:
            continue
        if status in (StatusFilter.OK, StatusFilter.FAILED, StatusFilter.SKIPPED) and j.last_status != status:
            continue
        out.append(j.job_id)
    return out


def check(model: JobTableModel, proxy: JobFilterProxy) -> None:
    ids = shown_ids(proxy)
    assert ids == refiltered_ids(model, proxy) == oracle_ids(model, proxy)
    for row in range(proxy.rowCount()):
        index = proxy.index(row, COL_STATUS)
        source = proxy.mapToSource(index)
        assert model.entry_at(source.row()).job.job_id == ids[row]
        assert source.column() == COL_STATUS
        assert proxy.mapFromSource(source) == index
        assert proxy.data(index) == model.data(source)


@pytest.fixture
def rnd() -> random.Random:
    return random.Random(20)


@pytest.fixture
def model(qtmodeltester: Any, rnd: random.Random) -> JobTableModel:
    m = JobTableModel()
    m.set_now(NOW)
    qtmodeltester.check(m)
    m.set_jobs([random_job(rnd, n) for n in range(80)])
    return m


@pytest.fixture
def proxy(model: JobTableModel, qtmodeltester: Any) -> JobFilterProxy:
    return checked_proxy(model, qtmodeltester)


def test_narrows_knows_which_queries_can_only_hide_rows() -> None:
    assert narrows(("nig",), ("nigh",))
    assert narrows(("nightly",), ("nightly", "b"))
    assert narrows((), ("x",))
    assert not narrows(("nigh",), ("nig",))
    assert not narrows(("backup",), ("nightly",))
    assert narrows(("ack", "nig"), ("nightly", "backup"))


@pytest.mark.parametrize("seed", range(6))
def test_typing_and_deleting_give_what_a_full_refilter_gives(seed: int, qtmodeltester: Any) -> None:
    rnd = random.Random(seed)
    model = JobTableModel()
    model.set_now(NOW)
    model.set_jobs([random_job(rnd, n) for n in range(120)])
    proxy = JobFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    resets = QSignalSpy(proxy.modelReset)
    text = ""
    for _ in range(150):
        action = rnd.random()
        if action < 0.45:
            text += rnd.choice(TYPED)
        elif action < 0.8:
            text = text[: -rnd.randint(1, 3)]
        elif action < 0.9:
            text = " ".join(
                rnd.sample(["nig", "back", "1", "ünï", "CAL", "mini-b", "job-1"], rnd.randint(1, 2))
            )
        else:
            text = ""
        proxy.set_search_text(text)
        check(model, proxy)
    assert resets.count() == 0


def test_other_filters_and_sorting_combine_with_an_incremental_search(
    model: JobTableModel, proxy: JobFilterProxy, rnd: random.Random
) -> None:
    resets = QSignalSpy(proxy.modelReset)
    for step in range(120):
        choice = step % 6
        if choice == 0:
            proxy.set_enabled_filter(rnd.choice(list(EnabledFilter)))
        elif choice == 1:
            proxy.set_status_filter(rnd.choice(list(StatusFilter)))
        elif choice == 2:
            proxy.set_host_filter(rnd.choice(HOSTS))
        elif choice == 3:
            order = rnd.choice([Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
            proxy.sort(rnd.choice([COL_NAME, COL_STATUS, COL_LAST, COL_DURATION, COL_HOST]), order)
        else:
            proxy.set_search_text(rnd.choice(["", "n", "ni", "nig", "night", "nightly 1", "nightly", "i 2"]))
        check(model, proxy)
    assert resets.count() == 0


def test_live_changes_keep_the_filtered_rows_right(
    model: JobTableModel, proxy: JobFilterProxy, rnd: random.Random
) -> None:
    """Inserts, updates (a rename, a new status, host or last run that moves the row) and deletes under
    every filter and sort order: each applied in place, the rows always those of a full refilter."""
    resets = QSignalSpy(proxy.modelReset)
    model_resets = QSignalSpy(model.modelReset)
    next_id = 1000
    for step in range(300):
        if step % 25 == 0:
            proxy.set_search_text(rnd.choice(["", "n", "nig", "backup", "1", "a b"]))
            proxy.set_status_filter(rnd.choice([StatusFilter.ALL, StatusFilter.FAILED, StatusFilter.LATE]))
            proxy.set_enabled_filter(rnd.choice(list(EnabledFilter)))
            proxy.set_host_filter(rnd.choice([None, None, "mini-a"]))
            order = rnd.choice([Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
            proxy.sort(rnd.choice([COL_NAME, COL_STATUS, COL_LAST, COL_DURATION]), order)
        existing = [model.entry_at(r).job for r in range(model.rowCount())]
        action = rnd.random()
        if action < 0.25 or not existing:
            change = JobChange(ChangeType.INSERT, PROJECT, f"row-{next_id}", random_job(rnd, next_id))
            next_id += 1
        elif action < 0.4:
            gone = rnd.choice(existing)
            change = JobChange(ChangeType.DELETE, PROJECT, gone.id or "", None)
        else:
            old = rnd.choice(existing)
            n = int(old.job_id.split("-")[1])
            new = random_job(rnd, n)  # a new name, status, host, enabled, last run: often a move
            change = JobChange(ChangeType.UPDATE, PROJECT, old.id or "", new)
        model.apply(change)
        check(model, proxy)
    assert resets.count() == 0
    assert model_resets.count() == 0


def test_a_live_rename_is_found_by_its_new_name(model: JobTableModel, proxy: JobFilterProxy) -> None:
    proxy.set_search_text("zebra")
    assert shown_ids(proxy) == []
    renamed = job("job-7", "Zebra crossing", row_id="row-7")
    model.apply(JobChange(ChangeType.UPDATE, PROJECT, "row-7", renamed))
    assert shown_ids(proxy) == ["job-7"]
    entry = model.entry_of("row-7")
    assert entry is not None
    assert "zebra crossing" in entry.search_key
    proxy.set_search_text("zebra cross")  # narrower: only the rows shown are judged again
    assert shown_ids(proxy) == ["job-7"]
    model.apply(JobChange(ChangeType.UPDATE, PROJECT, "row-7", job("job-7", "Giraffe", row_id="row-7")))
    assert shown_ids(proxy) == []
    proxy.set_search_text("gir")
    assert shown_ids(proxy) == ["job-7"]


def test_a_selected_row_that_is_filtered_out_leaves_the_selection(
    model: JobTableModel, proxy: JobFilterProxy
) -> None:
    """Many rows change in one layout change, but the selected row that goes is removed on its own, so
    the selection (and the details pane following it) notices; a selected row that stays stays selected."""
    selection = QItemSelectionModel(proxy)
    changed = QSignalSpy(selection.selectionChanged)
    kept_row = shown_ids(proxy).index("job-3")
    selection.select(proxy.index(kept_row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    hits = [i for i in shown_ids(proxy) if "3" in i]
    proxy.set_search_text("3")  # hides far more than FEW_ROWS rows: one layout change
    assert len(shown_ids(proxy)) == len(hits)
    assert model.rowCount() - len(hits) > FEW_ROWS
    selected = selection.selectedIndexes()
    assert {proxy.data(i, ObjectRole).job_id for i in selected} == {"job-3"}
    assert len(selected) == 1
    assert selected[0].row() == shown_ids(proxy).index("job-3")
    before = changed.count()
    proxy.set_search_text("7")  # job-3 goes
    assert selection.selectedIndexes() == []
    assert changed.count() > before


def test_few_changed_rows_are_announced_as_rows_many_as_one_layout_change(qtmodeltester: Any) -> None:
    model = JobTableModel()
    model.set_jobs(
        [job(f"x{k}", f"Report x{k}") for k in range(5)] + [job(f"y{k}", f"Report y{k}") for k in range(15)]
    )
    proxy = JobFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    layouts, removed, inserted = (
        QSignalSpy(s) for s in (proxy.layoutChanged, proxy.rowsRemoved, proxy.rowsInserted)
    )
    proxy.set_search_text("report y")  # 5 of 20 rows go: announced one by one
    assert (layouts.count(), removed.count(), proxy.rowCount()) == (0, 5, 15)
    proxy.set_search_text("report")  # and come back
    assert (layouts.count(), inserted.count(), proxy.rowCount()) == (0, 5, 20)
    proxy.set_search_text("report x")  # 15 go: one layout change
    assert (layouts.count(), removed.count(), proxy.rowCount()) == (1, 5, 5)
    proxy.set_search_text("report x")  # the same query: nothing at all
    proxy.set_search_text("Report  X ")
    assert (layouts.count(), removed.count(), inserted.count()) == (1, 5, 5)
    proxy.set_search_text("nothing")  # to no rows, and back from none: one removal, one insertion
    proxy.set_search_text("")
    assert (layouts.count(), removed.count(), inserted.count(), proxy.rowCount()) == (1, 6, 6, 20)


def test_the_proxy_is_a_flat_table_over_the_model(model: JobTableModel, proxy: JobFilterProxy) -> None:
    assert proxy.columnCount() == COLUMN_COUNT
    assert proxy.headerData(COL_NAME, Qt.Orientation.Horizontal) == "Name"
    assert not proxy.index(0, 0).parent().isValid()
    assert not proxy.index(proxy.rowCount(), 0).isValid()
    assert not proxy.index(0, COLUMN_COUNT).isValid()
    assert proxy.rowCount(proxy.index(0, 0)) == 0
    proxy.set_search_text("no such job anywhere")
    assert proxy.rowCount() == 0
    assert not proxy.mapFromSource(model.index(0, 0)).isValid()
    assert not proxy.mapToSource(QModelIndex()).isValid()
