"""The job context menu, the Edit and Add job dialogs and pending actions on a job's row: real widgets,
a real store, the worker's side played by a second store on the same file."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox

from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.ui.add_job_dialog import AddJobDialog
from cronmirror_desktop.ui.edit_schedule_dialog import EditScheduleDialog
from cronmirror_desktop.ui.job_model import COL_NAME
from cronmirror_desktop.ui.main_window import MainWindow
from tests.fake_controlapi import FakeControlApi, FakeJob
from tests.ui_support import PROJECT, UiEnv, env, mirror_row, started, ui_settings, wait_until

__all__ = ["env", "ui_settings"]  # fixtures, used by name

GATEWAY_ID = "9b0d0000-1111-2222-3333-444455556666"


async def jobs_of_every_source(store: LocalStore) -> None:
    await store.upsert_mirror(
        PROJECT,
        [
            mirror_row("jobs:backup", "Backup", source="jobs", host="mini", schedule_kind="cron",
                       schedule_expr="0 3 * * *", tz="Europe/Berlin"),
            mirror_row("crontab:abc", "Rotate logs", source="crontab", host="mini", schedule_kind="cron",
                       schedule_expr="*/15 * * * *"),
            mirror_row("launchd:com.example.sync", "Sync", source="launchd", host="mini", enabled=False),
            mirror_row(GATEWAY_ID, "Inbox check", source="gateway", host="mini", schedule_kind="cron",
                       schedule_expr="0 9 * * 1-5"),
        ],
    )  # fmt: skip


async def open_window(env: UiEnv, **kwargs: Any) -> MainWindow:
    await jobs_of_every_source(env.writer)
    controller = await started(env.controller(**kwargs))
    window = env.window(controller)
    window.show()
    await wait_until(lambda: window.proxy.rowCount() == 4, what="the jobs")
    return window


def name_index(window: MainWindow, job_id: str) -> QModelIndex:
    assert window.select_job(job_id)
    row = window.table.selectionModel().selectedRows()[0].row()
    return window.proxy.index(row, COL_NAME)


def point_of(window: MainWindow, job_id: str) -> QPoint:
    return window.table.visualRect(name_index(window, job_id)).center()


def items(window: MainWindow, job_id: str | None) -> dict[str, tuple[str, bool, str]]:
    job = window.controller.job_model.find_job(job_id) if job_id else None
    menu = window.job_actions.menu_for(job)
    return {a.objectName(): (a.text(), a.isEnabled(), a.toolTip()) for a in menu.actions() if a.objectName()}


async def test_the_menu_offers_what_each_source_can_do(env: UiEnv) -> None:
    async with env:
        window = await open_window(env)
        jobs = items(window, "jobs:backup")
        assert {k: v[:2] for k, v in jobs.items()} == {
            "action_run": ("Run now", True),
            "action_disable": ("Disable", True),
            "action_set_schedule": ("Edit schedule…", True),
            "action_delete": ("Remove job…", True),
            "muteNotifications": ("Mute notifications", True),
            "copyJobId": ("Copy job id", True),
            "addJob": ("Add job…", True),
        }
        launchd = items(window, "launchd:com.example.sync")
        assert launchd["action_enable"][:2] == ("Enable", True)  # it is disabled: the menu offers Enable
        assert launchd["action_set_schedule"][1] is False
        assert "property list" in launchd["action_set_schedule"][2]
        assert launchd["action_delete"][1] is False
        assert launchd["action_delete"][2].startswith("Only jobs.toml jobs are added and removed")
        crontab = items(window, "crontab:abc")
        assert crontab["action_set_schedule"][1] is True
        assert crontab["action_delete"][1] is False
        assert set(items(window, None)) == {"addJob"}


async def test_disable_from_the_menu_is_queued_and_shown_on_the_row(env: UiEnv, qtbot: Any) -> None:
    async with env:
        window = await open_window(env)
        menu = window.job_actions.menu_for(window.controller.job_model.find_job("jobs:backup"))
        next(a for a in menu.actions() if a.objectName() == "action_disable").trigger()
        await wait_until(lambda: window.controller.active_requests_for("jobs:backup"), what="the request")
        (request,) = window.controller.active_requests_for("jobs:backup")
        assert (request.action, request.status) == ("disable", "queued")
        chip = window.job_actions.delegate.chip_text(name_index(window, "jobs:backup"))
        assert chip.startswith("Disable requested ")
        dock = window.controller.request_model
        assert dock.data(dock.index(0, 0)) == "Backup · Disable"
        # the worker applies it: the row loses its chip, a toast says it is done
        claimed = await env.writer.claim_next(PROJECT, "w", host="mini", actions=("disable",))
        assert claimed is not None
        notices: list[str] = []
        window.controller.notice.connect(lambda _level, text: notices.append(text))
        window.controller._mine.add(claimed.id)
        await env.writer.complete(
            claimed.id, "w", "done", {"reason": "jobs:backup: disabled", "action": "disable"}
        )
        await wait_until(lambda: not window.controller.active_requests_for("jobs:backup"), what="the end")
        await wait_until(lambda: notices, what="the toast")
        assert notices == ["“Backup”: Disable done on the Mac mini."]


async def test_copy_job_id_and_mute_its_notifications(env: UiEnv) -> None:
    async with env:
        window = await open_window(env)
        job = window.controller.job_model.find_job(GATEWAY_ID)
        menu = window.job_actions.menu_for(job)
        next(a for a in menu.actions() if a.objectName() == "copyJobId").trigger()
        assert QGuiApplication.clipboard().text() == GATEWAY_ID
        mute = next(a for a in menu.actions() if a.objectName() == "muteNotifications")
        assert mute.isCheckable()
        assert not mute.isChecked()
        mute.trigger()
        assert window.controller.notifier.is_muted(GATEWAY_ID)
        again = next(
            a for a in window.job_actions.menu_for(job).actions() if a.objectName() == "muteNotifications"
        )
        assert again.isChecked()  # the next menu shows it muted
        again.trigger()
        assert not window.controller.notifier.is_muted(GATEWAY_ID)


async def test_the_edit_dialog_checks_and_previews_in_the_jobs_dialect(env: UiEnv, qtbot: Any) -> None:
    async with env:
        window = await open_window(env)
        where = point_of(window, "jobs:backup")
        qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=where)  # as a person does
        qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
        await wait_until(lambda: isinstance(window.job_actions.dialog, EditScheduleDialog), what="the dialog")
        dialog = window.job_actions.dialog
        assert isinstance(dialog, EditScheduleDialog)
        editor = dialog.editor
        save = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert editor.expr.text() == "0 3 * * *"
        assert editor.zone.currentText() == "Europe/Berlin"
        assert not save.isEnabled()  # nothing changed yet
        assert len(editor.preview.text().splitlines()) == 5
        assert "03:00" in editor.description.text()

        editor.expr.setText("0 0 3 * * *")  # six fields: the gateway's croner reads it, cron(8) does not
        assert "6 fields" in editor.error.text()
        assert not save.isEnabled()
        editor.expr.setText("0 3 * * *; rm -rf ~")
        assert "cron expression" in editor.error.text()
        editor.expr.setText("30 4 * * 1-5")
        assert editor.error.text() == ""
        assert "04:30" in editor.description.text()
        runs = editor.preview.text().splitlines()
        assert len(runs) == 5
        assert all("04:30" in run for run in runs)
        dialog.name.setText("Nightly backup")
        assert save.isEnabled()
        assert dialog.changes() == [
            ("rename", {"name": "Nightly backup"}),
            ("set_schedule", {"kind": "cron", "expr": "30 4 * * 1-5", "tz": "Europe/Berlin"}),
        ]
        save.click()
        await wait_until(
            lambda: len(window.controller.active_requests_for("jobs:backup")) == 2, what="requests"
        )
        assert {r.action for r in window.controller.active_requests_for("jobs:backup")} == {
            "rename",
            "set_schedule",
        }


async def test_a_gateway_job_takes_six_fields_and_a_crontab_entry_no_zone(env: UiEnv) -> None:
    async with env:
        window = await open_window(env)
        gateway = window.job_actions.edit(window.controller.job_model.find_job(GATEWAY_ID))  # type: ignore[arg-type]
        assert gateway is not None
        gateway.editor.expr.setText("30 0 9 * * 1-5")
        assert gateway.editor.error.text() == ""
        gateway.reject()
        crontab = window.job_actions.edit(window.controller.job_model.find_job("crontab:abc"))  # type: ignore[arg-type]
        assert crontab is not None
        assert not crontab.editor.zone.isEnabled()
        assert not crontab.name.isEnabled()
        assert [crontab.editor.kind.itemData(i) for i in range(crontab.editor.kind.count())] == ["cron"]
        crontab.reject()


async def test_add_job_dialog_queues_a_create(env: UiEnv) -> None:
    async with env:
        window = await open_window(env)
        dialog = window.job_actions.add_job()
        assert isinstance(dialog, AddJobDialog)
        add = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert not add.isEnabled()
        dialog.name.setText("Weekly report")
        assert dialog.key.text() == "weekly-report"
        dialog.command.setPlainText("python3\n-c\nprint('hi')")
        assert "absolute path" in dialog.problem.text()
        dialog.command.setPlainText("/usr/bin/env\npython3\n-c\nprint('hi; $(x)')")
        assert (
            dialog.command_preview.text() == "Runs: /usr/bin/env python3 -c 'print('\"'\"'hi; $(x)'\"'\"')'"
        )
        dialog.editor.expr.setText("0 8 * * 1")
        dialog.timeout.setValue(120)
        assert dialog.problem.text() == ""
        assert add.isEnabled()
        add.click()
        await wait_until(
            lambda: window.controller.active_requests_for("jobs:weekly-report"), what="the create"
        )
        (request,) = window.controller.active_requests_for("jobs:weekly-report")
        assert request.action == "create"
        assert request.args == {
            "key": "weekly-report",
            "name": "Weekly report",
            "command": ["/usr/bin/env", "python3", "-c", "print('hi; $(x)')"],
            "schedule": {"kind": "cron", "expr": "0 8 * * 1"},
            "timeout": 120,
        }
        again = window.job_actions.add_job()
        again.name.setText("Backup")
        again.command.setPlainText("/bin/true")
        assert "exists already" in again.problem.text()
        again.reject()


async def test_enable_a_gateway_job_directly_through_the_control_api(env: UiEnv) -> None:
    from cronmirror_desktop.core.controlapi import ControlApiClient

    api = await FakeControlApi(variant="openclaw").start()
    api.add_job(FakeJob(id=GATEWAY_ID, name="Inbox check"))
    try:
        async with env:
            window = await open_window(env, control_api=ControlApiClient(api.url, project=PROJECT))
            controller = window.controller
            await wait_until(lambda: controller.control_state.value == "reachable", what="the Control API")
            notices: list[str] = []
            controller.notice.connect(lambda _level, text: notices.append(text))
            attempt = await controller.request_action(GATEWAY_ID, "disable")
            assert attempt.mode == "direct"
            assert api.jobs[GATEWAY_ID].enabled is False
            assert "“Inbox check”: Disable done on the Mac mini (the gateway says disabled)." in notices
            queued = await controller.request_action("jobs:backup", "disable")  # not a gateway job: queued
            assert queued.mode == "queued"
    finally:
        await api.stop()
