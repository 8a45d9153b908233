"""The app against the Supabase stand-in (tests/supastack): real PostgREST + Realtime wire, real RLS.

A worker with the service-role key writes; the app holds the anon key, as on a real laptop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.core.supabasestore import SupabaseStore
from cronmirror_desktop.ui.banner import BannerKind
from cronmirror_desktop.ui.controller import QUEUED_TOAST
from cronmirror_desktop.ui.main_window import MainWindow
from tests.supastack import Supastack
from tests.ui_support import PROJECT, UiEnv, env, mirror_row, ui_settings, wait_until

__all__ = ["env", "ui_settings"]  # fixtures, used by name

pytestmark = pytest.mark.pg


async def open_window(env: UiEnv, store: SupabaseStore) -> MainWindow:
    controller = env.controller(store, supabase_configured=True)
    await controller.start()
    window = env.window(controller)
    window.show()
    return window


async def test_jobs_and_requests_live_through_realtime(env: UiEnv, supabase_env: Supastack) -> None:
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    async with env, worker:
        await worker.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        window = await open_window(env, SupabaseStore(supabase_env.url, supabase_env.anon_key))
        controller = window.controller
        await wait_until(lambda: controller.live_state is LiveState.LIVE, within=15, what="live")
        assert window.proxy.rowCount() == 1
        assert window.connection_panel.supabase.text() == "Live"
        assert not window.banner.isVisible()
        resets: list[str] = []
        controller.job_model.modelReset.connect(lambda: resets.append("jobs"))
        controller.request_model.modelReset.connect(lambda: resets.append("requests"))

        await worker.upsert_mirror(PROJECT, [mirror_row("backup", "Nightly backup")])
        await wait_until(lambda: window.proxy.rowCount() == 2, within=10, what="the realtime insert")
        outcome = await controller.run_job("inbox")
        assert outcome.created
        assert window.toast.text() == QUEUED_TOAST
        claimed = await worker.claim_next(PROJECT, "mac-mini")
        assert claimed is not None
        await wait_until(lambda: window.dock.model.request_at(0).status == "running", within=10)
        await worker.complete(claimed.id, "mac-mini", "done", {"exitCode": 0, "stdoutTail": "fine\n"})
        await wait_until(lambda: window.dock.model.request_at(0).status == "done", within=10)
        assert resets == []
        assert controller.job_model.last_seen is not None  # "worker last seen" from updated_at
        assert window.connection_panel.worker.text().startswith("Worker last wrote")


async def test_a_wrong_key_shows_the_auth_banner_and_the_app_stays_usable(
    env: UiEnv, supabase_env: Supastack
) -> None:
    wrong = supabase_env.make_jwt("anon").rsplit(".", 1)[0] + ".not-the-signature"
    async with env:
        window = await open_window(env, SupabaseStore(supabase_env.url, wrong))
        await wait_until(
            lambda: (
                window.banner.message is not None and window.banner.message.kind is BannerKind.AUTH_FAILED
            ),
            within=15,
            what="the auth banner",
        )
        assert window.banner.isVisible()
        assert window.connection_panel.supabase.text() == "Auth error"
        assert window.empty_label.isVisible()  # not stuck on "Loading…"
        notices: list[Any] = []
        window.controller.notice.connect(lambda level, text: notices.append((level, text)))
        window.search.setText("x")  # still responsive
        outcome = await window.controller.run_job("inbox")
        assert outcome.mode == "failed"
        assert notices[-1][0] == "error"
        assert notices[-1][1].startswith("Could not queue the run:")


async def test_server_gone_marks_everything_stale_and_recovers(env: UiEnv, supabase_env: Supastack) -> None:
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    async with env, worker:
        await worker.upsert_mirror(PROJECT, [mirror_row("inbox", "Inbox check")])
        await worker.queue_run(PROJECT, "inbox", "ui")
        window = await open_window(env, SupabaseStore(supabase_env.url, supabase_env.anon_key))
        await wait_until(lambda: window.controller.live_state is LiveState.LIVE, within=15, what="live")
        supabase_env.stop_server()
        try:
            await wait_until(
                lambda: window.controller.live_state is LiveState.DISCONNECTED, within=15, what="disconnected"
            )
            assert window.banner.message is not None
            assert window.banner.message.kind is BannerKind.DISCONNECTED
            assert window.dock.stale_label.isVisible()
            assert window.dock.model.stale
            assert window.proxy.rowCount() == 1  # what we had stays on screen
            assert window.dock.model.rowCount() == 1
        finally:
            supabase_env.start_server()
        await wait_until(
            lambda: window.controller.live_state is LiveState.LIVE, within=30, what="reconnected"
        )
        assert not window.banner.isVisible()
        assert not window.dock.model.stale
        await worker.upsert_mirror(PROJECT, [mirror_row("later", "Written after the outage")])
        await wait_until(lambda: window.proxy.rowCount() == 2, within=10, what="changes after reconnecting")


async def test_clawdos_fingerprint_row_is_never_a_job(env: UiEnv, supabase_env: Supastack) -> None:
    worker = SupabaseStore(supabase_env.url, supabase_env.service_role_key)
    async with env, worker:
        await worker.upsert_mirror(
            PROJECT,
            [
                mirror_row("inbox", "Inbox check"),
                mirror_row(
                    "__mirror_state__",
                    "mirror state (do not delete)",
                    schedule_kind="state",
                    schedule_expr="a1b2c3",
                    enabled=False,
                ),
            ],
        )
        window = await open_window(env, SupabaseStore(supabase_env.url, supabase_env.anon_key))
        await wait_until(lambda: not window.controller.loading, within=15)
        await asyncio.sleep(0.1)
        assert window.proxy.rowCount() == 1
        assert window.count_label.text() == "1 job"
