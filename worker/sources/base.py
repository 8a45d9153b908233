"""The `JobSource` interface every source implements, and the listing it returns.

A source lists the jobs it can see, runs one of them, and applies the actions it supports to one of them
(`actions`, `apply`: enable, disable, a new schedule, ... — core.actions; docs/worker-sources.md, "Actions").
Listing never raises for bad data: a broken line, file or CLI answer becomes a warning while the other jobs
still list. Running and applying never raise either: every failure is a `RunOutcome` with verdict `error`
and a reason.
"""

from __future__ import annotations

import abc
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from cronmirror_desktop.core.actions import RUN, why_not
from worker.jobs import LocalJob
from worker.outcome import RunOutcome, judge_process
from worker.process import OnStarted, SpawnError, run_process

#: ok: listed from the real thing · degraded: listed from a fallback (read-only) · unavailable: not on this
#: machine (no launchctl, no jobs file) · error: expected but unreadable.
SourceState = Literal["ok", "degraded", "unavailable", "error"]

MAX_ID_LENGTH = 512

#: Called with a source's name when it learns by itself that its jobs changed (the gateway's events).
ChangeCallback = Callable[[str], None]


@dataclass(frozen=True)
class SourceListing:
    source: str
    jobs: tuple[LocalJob, ...] = ()
    state: SourceState = "ok"
    #: One line for a person about the whole source ("gateway is down — showing jobs.json read-only").
    message: str = ""
    #: Per-job or per-line problems ("crontab line 7: …"); the other jobs still list.
    warnings: tuple[str, ...] = ()


class JobSource(abc.ABC):
    """One place jobs come from. Subclasses set `name` (the `source` of their jobs and outcomes)."""

    name: ClassVar[str]
    #: True when `list_jobs` reports last runs itself (the gateway); otherwise the SourceSet remembers them.
    keeps_history: ClassVar[bool] = False
    #: The actions `apply` carries out for this source's jobs (core.actions.CAPABILITIES says the same for
    #: readers, who grey out the others).
    actions: ClassVar[frozenset[str]] = frozenset({RUN})

    def subscribe_changes(self, callback: ChangeCallback) -> None:
        """Sources that hear of changes themselves call `callback(name)` then; the others never do."""
        del callback

    async def close(self) -> None:  # noqa: B027 - optional: most sources hold nothing open
        """Release what the source holds open (the gateway's connection); it may be used again after."""

    @abc.abstractmethod
    async def list_jobs(self) -> SourceListing:
        """The jobs this source sees now. Must not raise for bad data (warnings instead)."""

    #: True when `run_log` is cheap to ask for many jobs at once (no process per call).
    @property
    def cheap_run_log(self) -> bool:
        return False

    async def run_log(self, job: LocalJob, limit: int) -> list[dict[str, Any]]:
        """The source's own record of `job`'s latest runs (raw entries, newest last), for sources that keep
        one (the gateway). Others run only what the worker starts, and the worker records that itself."""
        return []

    @abc.abstractmethod
    async def run(self, job: LocalJob, *, timeout: float, on_started: OnStarted | None = None) -> RunOutcome:  # noqa: ASYNC109 - the run's own kill deadline
        """Run `job` (one this source listed) once, now. Never raises for a failed run."""

    async def run_command(
        self,
        job: LocalJob,
        *,
        timeout: float,  # noqa: ASYNC109 - the run's kill deadline
        on_started: OnStarted | None,
        base_env: dict[str, str],
        cwd: str | None,
        what: str = "the job",
        missing: str = "job has no command",
    ) -> RunOutcome:
        """Run the argument vector this source listed for `job` and judge it by its exit code."""
        refused = self.refuse_foreign(job)
        if refused is not None:
            return refused
        spec = job.run_spec
        if spec is None:
            return RunOutcome.refused(missing, source=self.name, job_id=job.job_id)
        try:
            result = await run_process(
                spec.argv,
                timeout=timeout,
                env=spec.environment(base_env),
                cwd=cwd,
                stdin_data=spec.stdin_data,
                on_started=on_started,
            )
        except SpawnError as exc:
            return RunOutcome.refused(exc.message, source=self.name, job_id=job.job_id)
        return judge_process(result, source=self.name, job_id=job.job_id, what=what)

    async def apply(self, job: LocalJob, action: str, args: Mapping[str, Any]) -> RunOutcome:
        """Change `job` (one this source listed) as `action` says, with `args` already checked
        (SourceSet.apply). Never raises; a source that cannot do it says why."""
        del args
        reason = why_not(self.name, action) or f"the {self.name} source does not apply {action!r}"
        return RunOutcome.refused(
            f"{reason}; nothing was changed", source=self.name, job_id=job.job_id, action=action
        )

    async def create(self, job_id: str, args: Mapping[str, Any]) -> RunOutcome:
        """Add a job (`create`): only the jobs file can; the others say so."""
        del args
        return RunOutcome.refused(
            f"the {self.name} source cannot add jobs; nothing was changed",
            source=self.name,
            job_id=job_id,
            action="create",
        )

    def refuse_foreign(self, job: LocalJob) -> RunOutcome | None:
        """An outcome refusing a job this source did not list, else None."""
        if job.source != self.name:
            return RunOutcome.refused(
                f"job belongs to source {job.source!r}, not {self.name!r}", source=self.name
            )
        return None


def is_plain_id(value: object) -> bool:
    """A job id a source could have produced: text, bounded, no control or format characters (NUL, RTL...)."""
    if type(value) is not str or not value or len(value) > MAX_ID_LENGTH:
        return False
    return not any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in value)
