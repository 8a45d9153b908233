"""`--screenshot` waits for what it shows (ui/screenshot.py): the selected job's requests and run history
are in the details pane when the PNG is saved, however long the store takes to answer, and no fade is
caught half-way.

Real widgets and a real SQLite store; the stand-in at the outer edge is a store whose answers about one
job arrive late, as a slow network's would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from PySide6.QtGui import QImage

from cronmirror_desktop.core.rows import CronRunRequest
from cronmirror_desktop.core.run_log import RunLogEntry, run_entry
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.ui.screenshot import take_screenshot
from tests.ui_support import NOW, PROJECT, UiEnv, WrappingStore, env, mirror_row, started, ui_settings

__all__ = ["env", "ui_settings"]  # fixtures, used by name

#: Longer than the fixed pause the screenshot used to take after the data arrived (0.4 s).
LATE_S = 1.0


class LateDetailsStore(WrappingStore):
    """Answers a job's requests and run history `LATE_S` late, and notes whether the PNG existed by then."""

    def __init__(self, inner: Store, png: Path) -> None:
        super().__init__(inner)
        self.png = png
        self.png_existed_when_answered: list[bool] = []

    async def list_requests(
        self, project_id: str, limit: int = 20, job_id: str | None = None
    ) -> list[CronRunRequest]:
        if job_id is not None:
            await asyncio.sleep(LATE_S)
            self.png_existed_when_answered.append(self.png.exists())
        return await self.inner.list_requests(project_id, limit, job_id)

    async def run_history(
        self, project_id: str, job_id: str | None = None, limit: int = 50
    ) -> list[RunLogEntry]:
        await asyncio.sleep(LATE_S)
        self.png_existed_when_answered.append(self.png.exists())
        return await self.inner.run_history(project_id, job_id, limit)


async def test_the_screenshot_waits_for_the_details_a_slow_store_sends(env: UiEnv, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    async with env:
        await env.writer.upsert_mirror(PROJECT, [mirror_row("backup", "Nightly backup")])
        runs = [
            run_entry(
                job_id="backup",
                run_key=f"backup:{age}",
                run_at=NOW - timedelta(days=age),
                status="ok",
                duration_ms=52_000,
            )
            for age in range(3)
        ]
        await env.writer.record_runs(PROJECT, runs)
        store = LateDetailsStore(env.store, png)
        controller = await started(env.controller(store))
        window = env.window(controller)
        window.resize(1280, 800)
        window.show()

        assert await take_screenshot(window, controller, png, job_id="backup")

        assert store.png_existed_when_answered == [False, False]  # both answers came before the PNG
        assert controller.job_history.rowCount() == 3
        assert not QImage(str(png)).isNull()
