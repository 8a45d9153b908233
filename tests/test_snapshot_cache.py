"""core/snapshot_cache.py: the last jobs seen of a remote project, kept in a file. What it reads back is
read like a store's rows; whatever else is in the file is ignored, never an error."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cronmirror_desktop.core import snapshot_cache
from cronmirror_desktop.core.presence import presence_row
from cronmirror_desktop.core.rows import CronMirrorJob
from cronmirror_desktop.core.snapshot_cache import SnapshotCache
from tests.ui_support import mirror_row

URL = "https://abc.supabase.co"
PROJECT = "front-office"
AT = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


def row(job_id: str, **fields: object) -> CronMirrorJob:
    raw = mirror_row(job_id, **fields)
    return CronMirrorJob.from_row({"id": f"row-{job_id}", "project_id": PROJECT, **raw})


def test_rows_come_back_as_they_were_with_their_problems(tmp_path: Path) -> None:
    cache = SnapshotCache(tmp_path)
    presence = CronMirrorJob.from_row(
        {
            "id": "row-presence",
            "project_id": PROJECT,
            **presence_row(
                host="mini", worker_id="w1", version="1", started_at=None, time_zone="Europe/Paris"
            ),
        }
    )
    assert not presence.is_job
    odd = row("odd", next_run_at="infinity")
    assert odd.problems
    jobs = [row("inbox", next_run_at=AT), odd]
    cache.save(URL, PROJECT, [*jobs, presence], at=AT)
    loaded = cache.load(URL, PROJECT)
    assert loaded is not None
    assert loaded.saved_at == AT
    assert loaded.snapshot.project_id == PROJECT
    assert [j.model_dump() for j in loaded.snapshot.jobs] == [j.model_dump() for j in jobs]
    assert [b.model_dump() for b in loaded.snapshot.bookkeeping] == [presence.model_dump()]
    assert [p.time_zone for p in loaded.snapshot.presences] == ["Europe/Paris"]
    assert loaded.snapshot.requests == []
    path = cache.path_for(URL, PROJECT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert URL not in path.name
    assert PROJECT not in path.name


def test_each_server_and_project_has_its_own(tmp_path: Path) -> None:
    cache = SnapshotCache(tmp_path)
    cache.save(URL, PROJECT, [row("inbox")])
    assert cache.load(URL, "home-lab") is None
    assert cache.load("https://other.supabase.co", PROJECT) is None
    # A file copied over another project's name is not taken for it.
    cache.path_for(URL, PROJECT).rename(cache.path_for(URL, "home-lab"))
    assert cache.load(URL, "home-lab") is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\x00\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b"[]",
        json.dumps({"version": 99, "location": URL, "project_id": PROJECT, "rows": []}).encode(),
        json.dumps({"version": 1, "location": URL, "project_id": PROJECT, "rows": {}}).encode(),
        json.dumps(
            {"version": 1, "location": URL, "project_id": PROJECT, "saved_at": "infinity", "rows": []}
        ).encode(),
    ],
    ids=["empty", "text", "bytes", "deep", "list", "version", "rows", "saved_at"],
)
def test_a_file_that_is_not_a_snapshot_is_ignored(tmp_path: Path, content: bytes) -> None:
    cache = SnapshotCache(tmp_path)
    path = cache.path_for(URL, PROJECT)
    path.write_bytes(content)
    assert cache.load(URL, PROJECT) is None
    cache.save(URL, PROJECT, [row("inbox")])  # and the next save replaces it
    assert cache.load(URL, PROJECT) is not None


def test_hostile_rows_in_the_file_stay_row_problems(tmp_path: Path) -> None:
    cache = SnapshotCache(tmp_path)
    document = {
        "version": 1,
        "location": URL,
        "project_id": PROJECT,
        "saved_at": "2026-12-07T08:30:00Z",
        "rows": [
            "not a row",
            {"id": "r1", "job_id": "esc\x1b[2J", "name": "Esc", "enabled": True, "last_run_at": "-infinity"},
            {
                "id": "r2",
                "job_id": "ok",
                "name": "Fine",
                "enabled": True,
                "project_id": "someone-else",
                "problems": [7],
            },
        ],
    }
    cache.path_for(URL, PROJECT).write_text(json.dumps(document))
    loaded = cache.load(URL, PROJECT)
    assert loaded is not None
    esc, fine = sorted(loaded.snapshot.jobs, key=lambda j: j.name)
    assert esc.last_run_at is None
    assert any("control characters" in p for p in esc.problems)
    assert fine.project_id == PROJECT
    assert fine.problems == ()


def test_a_file_too_large_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = SnapshotCache(tmp_path)
    cache.save(URL, PROJECT, [row("inbox")])
    monkeypatch.setattr(snapshot_cache, "MAX_BYTES", 10)
    assert cache.load(URL, PROJECT) is None
