"""Jobs from the user's LaunchAgents, started with `launchctl kickstart`.

launchd is macOS-only: where `launchctl` does not exist the source says so (state `unavailable`) and lists
nothing. Whether a job is disabled comes from its plist's `Disabled` key, overridden by launchd's own
database (`launchctl print-disabled gui/<uid>`) when that answers.
A kickstart only starts the job: launchd reports no exit status to us, so a run is `done` when launchd
accepted it, and the reason says that this is all we know.
Actions: enable and disable with `launchctl enable|disable gui/<uid>/<label>` (launchd's own override,
what `print-disabled` lists, so the next listing shows it). A schedule lives in the job's property list,
which CronMirror does not edit: such a request is refused with that reason (core.actions.why_not).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.actions import CAPABILITIES, DISABLE, ENABLE
from worker.jobs import LocalJob
from worker.outcome import RunOutcome, Verdict, last_line
from worker.process import OnStarted, SpawnError, run_process
from worker.sources.base import JobSource, SourceListing
from worker.sources.launchd_parse import SOURCE, parse_agents_dir, parse_print_disabled

KICKSTART_TIMEOUT = 30.0


def default_agents_dir() -> Path:
    return Path.home() / "Library" / "LaunchAgents"


class LaunchdSource(JobSource):
    name = SOURCE
    actions = CAPABILITIES[SOURCE]

    def __init__(
        self, agents_dir: Path | None = None, *, launchctl: str = "launchctl", uid: int | None = None
    ) -> None:
        self.agents_dir = agents_dir if agents_dir is not None else default_agents_dir()
        self.launchctl = launchctl
        self.uid = os.getuid() if uid is None else uid

    def _launchctl_path(self) -> str | None:
        return shutil.which(self.launchctl)

    async def list_jobs(self) -> SourceListing:
        launchctl = self._launchctl_path()
        if launchctl is None:
            return SourceListing(
                SOURCE, state="unavailable", message="launchctl not found (launchd is macOS only)"
            )
        parsed = parse_agents_dir(self.agents_dir)
        warnings = list(parsed.warnings)
        overrides, problem = await self._disabled_overrides(launchctl)
        if problem:
            warnings.append(problem)
        jobs = tuple(
            dataclasses.replace(job, enabled=not overrides[job.native_id])
            if job.native_id in overrides
            else job
            for job in parsed.jobs
        )
        return SourceListing(SOURCE, jobs, warnings=tuple(warnings))

    async def _disabled_overrides(self, launchctl: str) -> tuple[dict[str, bool], str | None]:
        try:
            result = await run_process(
                [launchctl, "print-disabled", f"gui/{self.uid}"], timeout=15, tail_chars=1_000_000
            )
        except SpawnError as exc:
            return {}, f"could not ask launchd which agents are disabled: {exc.message}"
        if result.exit_code != 0:
            detail = last_line(result.stderr_tail) or f"exit code {result.exit_code}"
            return {}, f"could not ask launchd which agents are disabled: {detail}"
        return parse_print_disabled(result.stdout_tail), None

    async def run(self, job: LocalJob, *, timeout: float, on_started: OnStarted | None = None) -> RunOutcome:  # noqa: ASYNC109 - the run's kill deadline
        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        launchctl = self._launchctl_path()
        if launchctl is None:
            return RunOutcome.refused(
                "launchctl not found (launchd is macOS only)", source=SOURCE, job_id=job.job_id
            )
        target = f"gui/{self.uid}/{job.native_id}"
        try:
            result = await run_process(
                [launchctl, "kickstart", "-p", target],
                timeout=min(timeout, KICKSTART_TIMEOUT),
                on_started=on_started,
            )
        except SpawnError as exc:
            return RunOutcome.refused(exc.message, source=SOURCE, job_id=job.job_id)
        if result.ok:
            pid = last_line(result.stdout_tail)
            reason = f"launchd started {job.native_id}" + (f" (pid {pid})" if pid.isdigit() else "")
            reason += "; launchd reports no exit status, so this only confirms the start"
            verdict: Verdict = "done"
        else:
            detail = last_line(result.stderr_tail) or last_line(result.stdout_tail)
            code = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            reason = f"launchctl kickstart {target} failed ({code})" + (f": {detail}" if detail else "")
            verdict = "error"
        return RunOutcome.from_process(
            result, verdict=verdict, reason=reason, source=SOURCE, job_id=job.job_id
        )

    async def apply(self, job: LocalJob, action: str, args: Mapping[str, Any]) -> RunOutcome:
        if action not in (ENABLE, DISABLE):
            return await super().apply(job, action, args)
        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        launchctl = self._launchctl_path()
        if launchctl is None:
            return RunOutcome.refused(
                "launchctl not found (launchd is macOS only); nothing was changed",
                source=SOURCE,
                job_id=job.job_id,
                action=action,
            )
        wanted = action == ENABLE
        if job.enabled == wanted:
            return RunOutcome.applied(
                action, f"{job.job_id} was already {action}d", source=SOURCE, job_id=job.job_id, changes={}
            )
        target = f"gui/{self.uid}/{job.native_id}"
        try:
            result = await run_process([launchctl, action, target], timeout=KICKSTART_TIMEOUT)
        except SpawnError as exc:
            return RunOutcome.refused(exc.message, source=SOURCE, job_id=job.job_id, action=action)
        if not result.ok:
            detail = last_line(result.stderr_tail) or last_line(result.stdout_tail)
            code = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            return RunOutcome.refused(
                f"launchctl {action} {target} failed ({code})" + (f": {detail}" if detail else ""),
                source=SOURCE,
                job_id=job.job_id,
                action=action,
            )
        return RunOutcome.applied(
            action,
            f"{job.job_id}: launchctl {action} {target}",
            source=SOURCE,
            job_id=job.job_id,
            changes={"enabled": {"from": job.enabled, "to": wanted}},
            duration_ms=result.duration_ms,
        )
