"""`cronmirror doctor`: check each thing CronMirror depends on, in order, and say what to fix.

Besides the settings, keychain, store, Realtime and Control API, it reports the project's worker as its
presence row says (host, state, when it was seen) and what each of its sources found (the same words as
the app's Sources badge: core/worker_report.py), so a jobs.toml mistake shows here too.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.config import EffectiveConfig
from cronmirror_desktop.core.errors import CronMirrorError
from cronmirror_desktop.core.secrets import SecretStore
from cronmirror_desktop.core.store import LiveState, StateChange, Store
from cronmirror_desktop.core.stores import open_store
from cronmirror_desktop.core.timeutil import now_utc
from cronmirror_desktop.core.worker_report import WorkerReport

if TYPE_CHECKING:
    from cronmirror_desktop.cli import Output

REALTIME_CHECK_TIMEOUT = 8.0
#: The worker syncs every 30-60 s; this much silence deserves a look.
STALE_SYNC_MINUTES = 10


@dataclass
class Check:
    name: str
    ok: bool | None  # None: informational
    message: str
    hint: str = ""


async def run_doctor(config: EffectiveConfig, out: Output, *, local: bool, project: str) -> int:
    checks: list[Check] = []
    checks.append(_settings(config))
    checks.append(_keychain())
    checks.extend(await _store(config, local=local, project=project))
    checks.append(await _control_api(config, project))

    out.data({"checks": [asdict(c) for c in checks], "ok": all(c.ok is not False for c in checks)})
    for check in checks:
        mark = {True: "✓", False: "✗", None: "•"}[check.ok]
        out.line(f"{mark} {check.name}: {check.message}")
        if check.hint and check.ok is not True:
            out.line(f"    → {check.hint}")
    failed = [c for c in checks if c.ok is False]
    out.line("" if not failed else f"\n{len(failed)} problem(s) to fix.")
    return 1 if failed else 0


def _settings(config: EffectiveConfig) -> Check:
    path = config.paths.settings_file
    if config.settings_warnings:
        return Check("Settings", False, "; ".join(config.settings_warnings), f"Check or re-save {path}.")
    state = "found" if path.exists() else "not created yet (defaults in use)"
    return Check("Settings", True, f"{path} {state}")


def _keychain() -> Check:
    status = SecretStore().status()
    if status.usable:
        return Check("Keychain", True, f"usable ({status.backend})")
    return Check("Keychain", None, status.message or "not usable", status.hint or "")


async def _store(config: EffectiveConfig, *, local: bool, project: str) -> list[Check]:
    checks: list[Check] = []
    try:
        store = open_store(config, local=local)
    except CronMirrorError as exc:
        return [Check("Store", False, exc.message, exc.hint)]
    async with store:
        label = "Supabase" if store.kind == "supabase" else "Local store"
        try:
            projects = await store.list_projects(configured=config.project_ids)
        except CronMirrorError as exc:
            return [Check(label, False, exc.message, exc.hint)]
        checks.append(Check(label, True, f"{store.location} answers ({len(projects)} project(s))"))
        if store.kind == "supabase":
            checks.append(await _realtime(store, project))
        checks.extend(await _workers(store, project))
        info = next((p for p in projects if p.project_id == project), None)
        if info is None or info.job_count == 0:
            checks.append(
                Check(
                    f"Project {project}",
                    None,
                    "no jobs mirrored yet",
                    "Start the worker on the Mac mini (`cronmirror-worker run`) with the same project id.",
                )
            )
        else:
            checks.append(_freshness(project, info.job_count, info.last_sync_at))
    return checks


async def _workers(store: Store, project: str) -> list[Check]:
    """The project's newest worker presence and each of its sources (one line each)."""
    try:
        rows = await store.mirror_rows(project)
    except CronMirrorError as exc:
        return [Check("Worker", None, f"its presence could not be read: {exc.message}")]
    reports = [r for r in map(WorkerReport.from_row, rows) if r is not None]
    if not reports:
        return [
            Check(
                "Worker",
                None,
                "no CronMirror worker has announced itself in this project",
                "Start `cronmirror-worker run` on the Mac mini (or the app's worker) with this project id.",
            )
        ]
    now = now_utc()
    newest = max(reports, key=lambda r: r.seen_at or now)
    seen = timetext.relative(newest.seen_at, now, past=True, empty="at an unknown time")
    state = f"{newest.state}, " if newest.state else ""
    checks = [Check("Worker", None if newest.stopped else True, f"{newest.name}: {state}seen {seen}")]
    for source in newest.sources:
        ok: bool | None = True if source.state == "ok" and not source.warnings else None
        if source.state == "error" or source.left_out:
            ok = False
        hint = "; ".join(source.warnings)
        checks.append(Check(f"Source {source.name}", ok, source.summary().split(": ", 1)[1], hint))
    return checks


def _freshness(project: str, count: int, last_sync: datetime | None) -> Check:
    if last_sync is None:
        return Check(f"Project {project}", None, f"{count} job(s); last sync unknown")
    minutes = (datetime.now(UTC) - last_sync).total_seconds() / 60
    message = f"{count} job(s); the worker last changed the mirror {minutes:.0f} min ago"
    if minutes > STALE_SYNC_MINUTES:
        return Check(
            f"Project {project}",
            None,
            message,
            "A quiet mirror can simply mean nothing changed; check `cronmirror-worker status` on the "
            "Mac mini if jobs look out of date.",
        )
    return Check(f"Project {project}", True, message)


async def _realtime(store: Any, project: str) -> Check:
    """A real round trip: subscribe and wait for the server to confirm it streams changes."""
    states: asyncio.Queue[StateChange] = asyncio.Queue()

    def on_event(event: object) -> None:
        if isinstance(event, StateChange):
            states.put_nowait(event)

    subscription = await store.subscribe(project, on_event)
    try:
        async with asyncio.timeout(REALTIME_CHECK_TIMEOUT):
            while True:
                change = await states.get()
                if change.state is LiveState.LIVE:
                    return Check("Realtime", True, "subscribed; live changes flow")
                if change.state in (LiveState.AUTH_FAILED, LiveState.DISCONNECTED):
                    return Check(
                        "Realtime",
                        False,
                        change.detail or change.state.value,
                        "Check that the tables are in the supabase_realtime publication "
                        "(migrations/) and that the key is right.",
                    )
    except TimeoutError:
        return Check("Realtime", False, f"no confirmation within {REALTIME_CHECK_TIMEOUT:g} s")
    finally:
        await subscription.close()


async def _control_api(config: EffectiveConfig, project: str) -> Check:
    if not config.control_api_url.usable:
        if config.control_api_url.problem:
            return Check(
                "Control API", False, config.control_api_url.problem, config.control_api_url.hint or ""
            )
        return Check("Control API", None, "not configured (optional: runs go through the queue)")
    from cronmirror_desktop.core.controlapi import ControlApiClient

    async with ControlApiClient.from_config(config) as api:
        health = await api.for_project(project).health()
    if health.reachable:
        return Check("Control API", True, f"{api.shown_url} reachable ({health.elapsed_s * 1000:.0f} ms)")
    return Check(
        "Control API",
        None,
        f"{api.shown_url} unreachable: {health.reason}",
        "Optional: without it, runs are queued for the worker. Check the URL and that the Mac mini "
        "is on this network.",
    )
