"""What the window says about its state, decided in one place: the banner across the top and the text over
an empty job table. Both follow from the controller's state, so they cannot contradict each other.

The banner names one condition that needs a person, the most pressing first: the key refused, the local
store unreadable, Supabase unreachable — "Can't reach Supabase" when it was never reached since it was
opened, "Connection to Supabase lost since 03:04" when it was live before —, requests waiting with no
worker seen for over two sync intervals, Supabase configured but unusable, Supabase not configured.

The empty table says why it is empty (issue 19): still loading, Supabase not reached, the project failed,
or no jobs — then what the worker checked (each source and its state) and what to do next.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from cronmirror_desktop.core import timetext
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.ui.banner import BannerKind, BannerMessage
from cronmirror_desktop.ui.controller import AppController

LOADING_TEXT = "Loading jobs…"
FILTERED_TEXT = "No jobs match the search and filters."
#: Next steps the empty state offers (its buttons).
START_WORKER = "start_worker"
OPEN_JOBS_FILE = "open_jobs_file"
SHOW_DEMO = "show_demo"


def not_configured_banner() -> BannerMessage:
    return BannerMessage(
        BannerKind.NOT_CONFIGURED,
        "Supabase is not configured",
        "CronMirror is running on the local store on this computer, so you only see jobs kept here. "
        "To see and run your Mac mini's jobs from anywhere, add your Supabase project's URL and anon key "
        "(Settings, or <code>SUPABASE_URL</code> / <code>SUPABASE_ANON_KEY</code>, or import your web "
        "app's <code>.env</code>).",
        severity="info",
    )


def _saved(c: AppController) -> str:
    """When the cached jobs shown were saved, for a sentence."""
    assert c.cached_at is not None
    return timetext.absolute(c.cached_at)


def _small(detail: str) -> str:
    return f"<br><small>{html.escape(detail)}</small>" if detail else ""


def banner_message(c: AppController, *, can_start_worker: bool = False) -> BannerMessage | None:
    """The one message the banner shows now (None: nothing needs a person)."""
    state, detail = c.live_state, c.live_detail
    if c.store.kind == "supabase":
        if state is LiveState.AUTH_FAILED:
            return BannerMessage(
                BannerKind.AUTH_FAILED,
                "Supabase refused the key",
                "The anon key was not accepted, so nothing can be read or queued. "
                "Copy it again from your Supabase project's API settings." + _small(detail),
                severity="error",
                dismissible=False,
            )
        if state is LiveState.DISCONNECTED and not c.ever_live:
            shown = (
                f"so the jobs shown are as they were at {_saved(c)}, kept on this computer"
                if c.cached_at is not None
                else "so there is nothing to show yet"
            )
            return BannerMessage(
                BannerKind.UNREACHABLE,
                "Can't reach Supabase",
                f"CronMirror has not reached your Supabase project since it started, {shown}. It keeps "
                "trying; check the URL in Settings and this computer's network." + _small(detail),
                severity="warning",
            )
        if state is LiveState.CONNECTING and c.cached_at is not None:
            return BannerMessage(
                BannerKind.CACHED,
                f"Showing the jobs as of {_saved(c)}",
                "These are the jobs as CronMirror last saw them, kept on this computer; they are replaced "
                "as soon as Supabase answers.",
                action=None,
                severity="info",
            )
        if state is LiveState.DISCONNECTED:
            since = f" since {c.stale_since.astimezone():%H:%M}" if c.stale_since else ""
            return BannerMessage(
                BannerKind.DISCONNECTED,
                f"Connection to Supabase lost{since}",
                "Showing the jobs and requests as they were; the app keeps retrying and refreshes "
                "everything when it is back." + _small(detail),
                action=None,
                severity="warning",
            )
    if state is LiveState.DISCONNECTED and c.store.kind == "local":
        return BannerMessage(
            BannerKind.STORE_ERROR,
            "The local store cannot be read",
            f"{html.escape(detail or 'It failed.')} The app keeps retrying.",
            action=None,
            severity="error",
        )
    waiting, _ = c.waiting_for_a_worker()
    if waiting:
        return no_worker_banner(c, can_start_worker=can_start_worker)
    if c.store.kind != "supabase" and c.supabase_problem and not c.demo:
        return BannerMessage(
            BannerKind.SUPABASE_UNUSABLE,
            "Supabase is configured but cannot be used",
            f"{html.escape(c.supabase_problem)}<br>Meanwhile CronMirror runs on the local store on this "
            "computer.",
            severity="warning",
        )
    if c.store.kind != "supabase" and not c.supabase_configured and not c.demo:
        return not_configured_banner()
    return None


def no_worker_banner(c: AppController, *, can_start_worker: bool) -> BannerMessage:
    queued = [r for r in c.request_model.requests() if r.status == "queued"]
    seen = c.last_worker_activity()
    interval = timetext.interval(int(c.sync_interval_s() * 1000))
    last = (
        f"No worker has been seen since {timetext.absolute(seen)}"
        if seen is not None
        else "No worker has been seen for this project"
    )
    noun = "request is" if len(queued) == 1 else "requests are"
    return BannerMessage(
        BannerKind.NO_WORKER,
        "No worker is picking up run requests",
        f"{len(queued)} run {noun} waiting. {html.escape(last)} (a worker syncs every {interval}). "
        "Start <code>cronmirror-worker run</code> on the Mac mini"
        + (", or the worker in this app." if can_start_worker else "."),
        action="Start in-app worker" if can_start_worker else None,
        severity="warning",
    )


@dataclass(frozen=True)
class EmptyText:
    """What an empty job table says, and which next steps it offers (START_WORKER, ...)."""

    text: str
    actions: tuple[str, ...] = ()


def empty_text(c: AppController, *, total: int, shown: int, can_start_worker: bool) -> EmptyText | None:
    """None when rows are shown."""
    if total and not shown:
        return EmptyText(FILTERED_TEXT)
    if total:
        return None
    if c.project_error:
        return EmptyText(f"{c.project_error}. Details are in the log; Refresh tries again.")
    if c.store.kind == "supabase" and c.live_state is LiveState.AUTH_FAILED:
        return EmptyText("Supabase refused the key, so no jobs can be shown. Check the anon key in Settings.")
    if c.store.kind == "supabase" and c.live_state is LiveState.DISCONNECTED and not c.ever_live:
        return EmptyText("Can't reach Supabase, so no jobs can be shown yet. CronMirror keeps trying.")
    if c.loading:
        return EmptyText(LOADING_TEXT)
    if c.demo:
        return EmptyText(f"No jobs in {c.project_id}.")
    actions = (*((START_WORKER,) if can_start_worker else ()), OPEN_JOBS_FILE, SHOW_DEMO)
    reports = sorted(c.workers.values(), key=lambda w: w.seen_at or c.clock.now, reverse=True)
    checked = next((w for w in reports if w.sources), None)
    if checked is None:
        head = f"No cron jobs in {c.project_id} yet: no worker has mirrored this project."
        return EmptyText(
            f"{head}\nThe Mac mini sync worker (or the one in this app) publishes its jobs here: "
            "gateway cron jobs, crontab, launchd agents and jobs.toml.",
            actions,
        )
    found = "\n".join(f"• {s.summary()}" for s in checked.sources)
    return EmptyText(
        f"No cron jobs in {c.project_id} yet. The worker on {checked.name} checked:\n{found}",
        actions,
    )
