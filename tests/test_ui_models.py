"""The item models and the filter proxy, without views: Qt's model tester watches every change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtTest import QSignalSpy

from cronmirror_desktop.core.store import ChangeType, JobChange, RequestChange
from cronmirror_desktop.ui.job_filter import EnabledFilter, JobFilterProxy, StatusFilter
from cronmirror_desktop.ui.job_model import (
    COL_DURATION,
    COL_LAST,
    COL_NAME,
    COL_NEXT,
    COL_STATUS,
    JobTableModel,
    ObjectRole,
    SortRole,
)
from cronmirror_desktop.ui.request_model import (
    COL_DURATION as REQ_COL_DURATION,
)
from cronmirror_desktop.ui.request_model import (
    COL_RESULT,
    RequestTableModel,
    StatusRole,
)
from cronmirror_desktop.ui.request_model import (
    COL_STATUS as REQ_COL_STATUS,
)
from tests.ui_support import NOW, checked_proxy, job, request

# The Qt model tester reports through qWarning: make any warning fail the test.
pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.usefixtures("qapp")]


def names(model: Any) -> list[str]:
    return [model.data(model.index(r, COL_NAME)) for r in range(model.rowCount())]


def sample_jobs() -> list[Any]:
    return [
        job("b", "Backup", last_status="ok", last_run_at=NOW - timedelta(hours=2), last_duration_ms=5000),
        job("a", "Alpha", last_status="error", last_run_at=NOW - timedelta(minutes=5), last_duration_ms=100),
        job("c", "Calendar", enabled=False),
        job("d", "Digest", schedule_kind="cron", schedule_expr="61 * * * *", last_status="skipped"),
    ]


@pytest.fixture
def model(qtmodeltester: Any) -> JobTableModel:
    m = JobTableModel()
    qtmodeltester.check(m)
    m.set_jobs(sample_jobs())
    return m


def test_rows_are_sorted_by_name_and_carry_their_job(model: JobTableModel) -> None:
    assert names(model) == ["Alpha", "Backup", "Calendar", "Digest"]
    assert model.data(model.index(0, 0), ObjectRole).job_id == "a"


def test_invalid_rows_are_shown_with_their_problems_not_dropped(model: JobTableModel) -> None:
    row = names(model).index("Digest")
    tooltip = model.data(model.index(row, COL_NAME), Qt.ItemDataRole.ToolTipRole)
    assert "could not be fully read" in tooltip
    assert "invalid cron expression" in tooltip
    assert model.data(model.index(row, COL_NAME), Qt.ItemDataRole.DecorationRole) is not None
    # A valid row has no warning icon.
    assert model.data(model.index(0, COL_NAME), Qt.ItemDataRole.DecorationRole) is None


def test_garbage_rows_never_crash_the_model(qtmodeltester: Any) -> None:
    from cronmirror_desktop.core.rows import CronMirrorJob

    m = JobTableModel()
    qtmodeltester.check(m)
    garbage = [
        CronMirrorJob.from_row("not a row"),  # type: ignore[arg-type]
        CronMirrorJob.from_row(
            {"id": "x1", "job_id": 5, "name": None, "enabled": "maybe", "next_run_at": "soon"}
        ),
        CronMirrorJob.from_row({"id": "x2", "job_id": "j", "last_duration_ms": -3, "tz": "Mars/Base"}),
    ]
    m.set_jobs(garbage)
    assert m.rowCount() == 3
    for row in range(m.rowCount()):
        for column in range(m.columnCount()):
            for role in (0, 1, 3, 7, 9, SortRole, ObjectRole):
                m.data(m.index(row, column), role)


def test_live_changes_update_in_place_and_never_reset(model: JobTableModel) -> None:
    resets = QSignalSpy(model.modelReset)
    inserted = QSignalSpy(model.rowsInserted)
    removed = QSignalSpy(model.rowsRemoved)
    changed = QSignalSpy(model.dataChanged)

    model.apply(JobChange(ChangeType.INSERT, "front-office", "row-e", job("e", "Echo")))
    model.apply(JobChange(ChangeType.UPDATE, "front-office", "row-a", job("a", "Alpha", last_status="ok")))
    model.apply(JobChange(ChangeType.DELETE, "front-office", "row-b", None))

    assert resets.count() == 0
    assert inserted.count() == 1
    assert removed.count() == 1
    assert changed.count() == 1
    assert names(model) == ["Alpha", "Calendar", "Digest", "Echo"]
    assert model.data(model.index(0, COL_STATUS)) == "Succeeded"


def test_an_update_that_changes_the_sort_key_moves_the_row_and_keeps_the_selection(
    model: JobTableModel,
) -> None:
    model.sort(COL_NAME, Qt.SortOrder.AscendingOrder)
    kept = QPersistentModelIndex(model.index(0, COL_NAME))  # Alpha
    moved = QSignalSpy(model.rowsMoved)
    model.apply(JobChange(ChangeType.UPDATE, "front-office", "row-a", job("a", "Zulu")))
    assert moved.count() == 1
    assert names(model)[-1] == "Zulu"
    assert kept.isValid()
    assert kept.row() == model.rowCount() - 1


def test_bookkeeping_rows_are_never_shown(model: JobTableModel) -> None:
    state = job(
        "__mirror_state__", "mirror state (do not delete)", schedule_kind="state", schedule_expr="ab12"
    )
    model.apply(JobChange(ChangeType.INSERT, "front-office", "row-state", state))
    assert "mirror state (do not delete)" not in names(model)
    model.set_jobs([*sample_jobs(), state])
    assert model.rowCount() == 4


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("column", [COL_NAME, COL_LAST, COL_STATUS, COL_DURATION, COL_NEXT])
def test_sorting_uses_native_values_and_live_inserts_land_in_place(
    model: JobTableModel, column: int, descending: bool
) -> None:
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    model.sort(column, order)
    model.apply(
        JobChange(
            ChangeType.INSERT,
            "front-office",
            "row-m",
            job(
                "m", "Middle", last_status="ok", last_run_at=NOW - timedelta(minutes=30), last_duration_ms=700
            ),
        )
    )
    keys = [model.entry_at(r).key_for(column) for r in range(model.rowCount())]
    assert keys == sorted(keys, reverse=descending)


def test_sort_role_gives_native_values(model: JobTableModel) -> None:
    row = names(model).index("Backup")
    assert model.data(model.index(row, COL_DURATION), SortRole) == 5000
    assert isinstance(model.data(model.index(row, COL_LAST), SortRole), float)


def test_worker_last_seen_is_the_newest_updated_at(model: JobTableModel) -> None:
    assert model.last_seen == NOW
    later = job("a", "Alpha", row_id="row-a")
    later = later.model_copy(update={"updated_at": NOW + timedelta(minutes=3)})
    model.apply(JobChange(ChangeType.UPDATE, "front-office", "row-a", later))
    assert model.last_seen == NOW + timedelta(minutes=3)


# -- the filter proxy -------------------------------------------------------------------------------


@pytest.fixture
def proxy(model: JobTableModel, qtmodeltester: Any) -> JobFilterProxy:
    return checked_proxy(model, qtmodeltester)


def test_search_filters_by_name_as_you_type(proxy: JobFilterProxy) -> None:
    proxy.set_search_text("a")
    assert names(proxy) == ["Alpha", "Backup", "Calendar"]
    proxy.set_search_text("al")
    assert names(proxy) == ["Alpha", "Calendar"]
    proxy.set_search_text("ALP")
    assert names(proxy) == ["Alpha"]
    proxy.set_search_text("")
    assert proxy.rowCount() == 4


def test_search_matches_every_word_and_the_job_id(proxy: JobFilterProxy) -> None:
    proxy.set_search_text("cal c")
    assert names(proxy) == ["Calendar"]
    proxy.set_search_text("nomatch")
    assert proxy.rowCount() == 0


def test_enabled_and_status_filters_combine_with_search(proxy: JobFilterProxy) -> None:
    proxy.set_enabled_filter(EnabledFilter.DISABLED)
    assert names(proxy) == ["Calendar"]
    proxy.set_enabled_filter(EnabledFilter.ENABLED)
    assert names(proxy) == ["Alpha", "Backup", "Digest"]
    proxy.set_status_filter(StatusFilter.FAILED)
    assert names(proxy) == ["Alpha"]
    proxy.set_enabled_filter(EnabledFilter.ALL)
    proxy.set_status_filter(StatusFilter.NEVER)
    assert names(proxy) == ["Calendar"]
    proxy.set_status_filter(StatusFilter.INVALID)
    assert names(proxy) == ["Digest"]
    proxy.set_search_text("x")
    assert names(proxy) == []


def test_live_change_refilters_just_that_row(model: JobTableModel, proxy: JobFilterProxy) -> None:
    proxy.set_status_filter(StatusFilter.FAILED)
    assert names(proxy) == ["Alpha"]
    resets = QSignalSpy(proxy.modelReset)
    model.apply(
        JobChange(ChangeType.UPDATE, "front-office", "row-b", job("b", "Backup", last_status="error"))
    )
    assert names(proxy) == ["Alpha", "Backup"]
    model.apply(JobChange(ChangeType.UPDATE, "front-office", "row-a", job("a", "Alpha", last_status="ok")))
    assert names(proxy) == ["Backup"]
    assert resets.count() == 0


def test_proxy_sort_is_the_models(model: JobTableModel, proxy: JobFilterProxy) -> None:
    proxy.sort(COL_NAME, Qt.SortOrder.DescendingOrder)
    assert names(proxy) == ["Digest", "Calendar", "Backup", "Alpha"]
    assert model.sort_order == Qt.SortOrder.DescendingOrder
    proxy.set_search_text("a")
    assert names(proxy) == ["Calendar", "Backup", "Alpha"]


# -- the request model ------------------------------------------------------------------------------


@pytest.fixture
def requests(qtmodeltester: Any) -> RequestTableModel:
    m = RequestTableModel(limit=3)
    qtmodeltester.check(m)
    m.set_name_lookup({"a": "Alpha"}.get)
    return m


def test_requests_are_newest_first_and_named_by_job(requests: RequestTableModel) -> None:
    old = request("a", "done", age=timedelta(hours=1), result={"durationMs": 1200, "stdoutTail": "fine\n"})
    new = request("zz", "queued", age=timedelta(seconds=5))
    requests.set_requests([old, new])
    assert [requests.request_at(r).id for r in range(2)] == [new.id, old.id]
    assert requests.data(requests.index(1, 0)) == "Alpha"
    assert requests.data(requests.index(0, 0)) == "zz"  # unknown job: its id
    assert requests.data(requests.index(1, REQ_COL_DURATION)) == "1.2 s"
    assert requests.data(requests.index(1, REQ_COL_STATUS), StatusRole) == "done"


def test_request_updates_are_in_place_and_idempotent(requests: RequestTableModel) -> None:
    queued = request("a", "queued", request_id="r1")
    requests.set_requests([])
    resets = QSignalSpy(requests.modelReset)
    inserted = QSignalSpy(requests.rowsInserted)
    requests.upsert(queued)
    requests.apply(RequestChange(ChangeType.INSERT, "front-office", "r1", queued))  # the realtime echo
    running = request("a", "running", request_id="r1", worker_id="w1")
    requests.apply(RequestChange(ChangeType.UPDATE, "front-office", "r1", running))
    assert requests.rowCount() == 1
    assert inserted.count() == 1
    assert resets.count() == 0
    assert requests.data(requests.index(0, REQ_COL_STATUS)) == "Running"
    requests.apply(RequestChange(ChangeType.DELETE, "front-office", "r1", None))
    assert requests.rowCount() == 0


def test_old_finished_requests_fall_off_but_active_ones_stay(requests: RequestTableModel) -> None:
    active = request("a", "queued", age=timedelta(hours=5))
    finished = [request("a", "done", age=timedelta(minutes=m)) for m in (1, 2, 3)]
    requests.set_requests([active])
    for r in finished:
        requests.upsert(r)
    ids = [requests.request_at(i).id for i in range(requests.rowCount())]
    assert active.id in ids
    assert requests.rowCount() == 3


def test_result_shows_reason_and_output_like_clawdos_rows(requests: RequestTableModel) -> None:
    # ClawdOS's worker: no picked_up_at/completed_at; result {jobId, exitCode, durationMs, stdout/stderrTail}
    theirs = request(
        "a",
        "error",
        result={
            "jobId": "a",
            "exitCode": 1,
            "durationMs": 2140,
            "stdoutTail": "",
            "stderrTail": "error: unknown option '--force'\n",
        },
    )
    requests.set_requests([theirs])
    assert requests.data(requests.index(0, COL_RESULT)) == "error: unknown option '--force'"
    assert requests.data(requests.index(0, REQ_COL_DURATION)) == "2.1 s"
    tip = requests.data(requests.index(0, COL_RESULT), Qt.ItemDataRole.ToolTipRole)
    assert "Exit code 1" in tip
    assert "unknown option '--force'" in tip


def test_stale_requests_say_so(requests: RequestTableModel) -> None:
    requests.set_requests([request("a", "running")])
    changed = QSignalSpy(requests.dataChanged)
    requests.set_stale(True)
    assert changed.count() == 1
    assert "Not live" in requests.data(requests.index(0, COL_RESULT), Qt.ItemDataRole.ToolTipRole)
    assert requests.data(requests.index(0, 0), Qt.ItemDataRole.ForegroundRole) is not None


def test_job_filtered_request_model_ignores_other_jobs(qtmodeltester: Any) -> None:
    m = RequestTableModel(limit=10, job_id="a")
    qtmodeltester.check(m)
    m.set_requests([request("a"), request("b")])
    assert m.rowCount() == 1
    m.upsert(request("b", "running"))
    assert m.rowCount() == 1


def test_unknown_parent_has_no_rows(model: JobTableModel) -> None:
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
