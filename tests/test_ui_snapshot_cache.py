"""The last known jobs (core/snapshot_cache.py): a start on Supabase shows the jobs kept at the last run
at once, says so, and the store's snapshot replaces them when it comes.

Real parts: the Supabase stand-in over PostgreSQL with the anon key, a real controller and window, real
files. The one stand-in at the edge: a store whose subscription waits for a signal (`HeldBackStore`: a
network that has not answered yet).
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest

from cronmirror_desktop.core.snapshot_cache import SnapshotCache
from cronmirror_desktop.core.store import LiveState, Store
from cronmirror_desktop.core.supabasestore import SupabaseStore
from cronmirror_desktop.ui.banner import BannerKind
from cronmirror_desktop.ui.main_window import MainWindow
from tests.supastack import Supastack
from tests.ui_support import PROJECT, HeldBackStore, UiEnv, env, mirror_row, ui_settings, wait_until

__all__ = ["env", "ui_settings"]  # fixtures, used by name

pytestmark = pytest.mark.pg


async def open_window(env: UiEnv, store: Store, cache: SnapshotCache) -> MainWindow:
    controller = env.controller(store, supabase_configured=True, snapshot_cache=cache)
    await controller.start()
    window = env.window(controller)
    window.show()
    return window


def names(window: MainWindow) -> list[str]:
    return sorted(job.display_name for job in window.controller.job_model.jobs())


async def a_first_run(
    env: UiEnv,
    supabase_env: Supastack,
    cache: SnapshotCache,
    worker: SupabaseStore,
    *,
    then: dict[str, Any] | None = None,
) -> None:
    """The app sees the project live (and, with `then`, a row written while it runs), then ends: what it
    showed is kept."""
    first = await open_window(env, SupabaseStore(supabase_env.url, supabase_env.anon_key), cache)
    await wait_until(lambda: first.controller.live_state is LiveState.LIVE, within=15, what="live")
    shown = len(names(first))
    if then is not None:
        await worker.upsert_mirror(PROJECT, [then])
        await wait_until(lambda: len(names(first)) == shown + 1, within=10, what="the live insert")
    await first.controller.stop()  # keeps what it shows, the live change included
    assert cache.load(supabase_env.url, PROJECT) is not None


async def test_the_next_start_shows_the_last_jobs_seen_until_supabase_answers(
    env: UiEnv, supabase_env: Supastack, tmp_path: Path
) -> None:
    cache = SnapshotCache(tmp_path / "snapshots")
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    async with env, worker:
        await worker.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        with supabase_env.connect() as conn:  # a value readers refuse stays a row problem, cached too
            conn.execute(
                "insert into cron_mirror (project_id, job_id, name, schedule_kind, schedule_expr, "
                "next_run_at) values (%s, 'odd', 'Odd one', 'every', '60000', 'infinity')",
                (PROJECT,),
            )
        await a_first_run(env, supabase_env, cache, worker, then=mirror_row("backup", "Nightly backup"))
        kept = cache.path_for(supabase_env.url, PROJECT)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert "service" not in kept.read_text()
        assert supabase_env.anon_key not in kept.read_text()

        # Next start: the network has not answered yet.
        answer = asyncio.Event()
        store = HeldBackStore(SupabaseStore(supabase_env.url, supabase_env.anon_key), answer)
        window = await open_window(env, store, cache)
        controller = window.controller
        await wait_until(lambda: not controller.loading, within=10, what="the cached jobs")
        assert names(window) == ["Inbox check", "Nightly backup", "Odd one"]
        assert controller.cached_at is not None
        assert controller.live_state is LiveState.CONNECTING
        message = window.banner.message
        assert message is not None
        assert message.kind is BannerKind.CACHED
        assert message.title.startswith("Showing the jobs as of ")
        assert window.banner.isVisible()
        odd = controller.job_model.find_job("odd")
        assert odd is not None
        assert odd.next_run_at is None
        assert any("next_run_at" in problem for problem in odd.problems)
        assert window.dock.model.rowCount() == 0  # requests are never kept
        assert window.dock.empty_label.text() == "Run requests show once Supabase answers."

        await worker.delete_mirror(PROJECT, ["backup"])  # changed while this app was away
        answer.set()
        await wait_until(lambda: controller.live_state is LiveState.LIVE, within=15, what="live")
        await wait_until(lambda: controller.cached_at is None, within=10, what="the store's snapshot")
        assert names(window) == ["Inbox check", "Odd one"]
        assert window.dock.empty_label.text().startswith("No run requests yet.")
        assert window.banner.message is None or window.banner.message.kind is not BannerKind.CACHED
        assert not window.banner.isVisible()


async def test_a_supabase_that_cannot_be_reached_still_shows_the_last_jobs_seen(
    env: UiEnv, supabase_env: Supastack, tmp_path: Path
) -> None:
    cache = SnapshotCache(tmp_path / "snapshots")
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    async with env, worker:
        await worker.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        await a_first_run(env, supabase_env, cache, worker)

        supabase_env.stop_server()
        try:
            window = await open_window(env, SupabaseStore(supabase_env.url, supabase_env.anon_key), cache)
            controller = window.controller
            await wait_until(
                lambda: controller.live_state is LiveState.DISCONNECTED, within=20, what="disconnected"
            )
            await wait_until(lambda: names(window) == ["Inbox check"], within=10, what="the cached jobs")
            message = window.banner.message
            assert message is not None
            assert message.kind is BannerKind.UNREACHABLE
            assert "as they were at" in message.text
            assert not window.empty_state.isVisible()
        finally:
            supabase_env.start_server()
        await wait_until(lambda: controller.live_state is LiveState.LIVE, within=30, what="reconnected")
        await wait_until(lambda: controller.cached_at is None, within=10, what="the store's snapshot")
        assert not window.banner.isVisible()
