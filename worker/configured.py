"""The worker as the configuration describes it: its sources, options, store and files.

Shared by `cronmirror-worker` (worker/cli.py) and the worker hosted in the app (worker/hosted.py), so the
runtime never depends on the command line, and both run exactly the same worker for the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cronmirror_desktop.core.config import EffectiveConfig
from cronmirror_desktop.core.store import Store
from cronmirror_desktop.core.stores import open_store
from worker.service import WorkerOptions, WorkerService
from worker.sources.defaults import ALL_SOURCES, default_source_set
from worker.sources.registry import SourceSet

STATUS_FILE_NAME = "worker-status.json"
HISTORY_FILE_NAME = "run-history.json"


def jobs_file_path(config: EffectiveConfig) -> Path:
    """Where this computer's jobs.toml is: `worker.jobs_file`, else jobs.toml in the settings folder."""
    worker = config.worker
    return Path(worker.jobs_file).expanduser() if worker.jobs_file else config.paths.config_dir / "jobs.toml"


def build_sources(config: EffectiveConfig) -> SourceSet:
    """The sources the settings enable, with the jobs file and run history in their standard places."""
    worker = config.worker
    jobs_file = jobs_file_path(config)
    enabled = [name for name in ALL_SOURCES if worker.source_enabled(name)]
    return default_source_set(
        jobs_file=jobs_file,
        history_file=config.paths.state_dir / HISTORY_FILE_NAME,
        enabled=enabled,
        gateway_binary=config.gateway_bin.value,
        host=worker.host,
        new_job_programs=worker.new_job_programs,
    )


def worker_options(config: EffectiveConfig, project: str | None) -> WorkerOptions:
    w = config.worker
    return WorkerOptions(
        project_id=project or config.project_id,
        sync_interval=float(w.sync_interval_s),
        concurrency=w.concurrency,
        job_timeout=float(w.job_timeout_s),
        grace=float(w.grace_period_s),
    )


def worker_store(config: EffectiveConfig, local: bool) -> Store:
    """The service-role store (falls back to the anon key only in the seed's anon-worker mode)."""
    return open_store(config, role="service_role", local=local)


@dataclass(frozen=True)
class WorkerParts:
    """What one run of a worker needs. Built from the configuration (`from_config`), or by hand (the demo,
    tests)."""

    store: Store
    sources: SourceSet
    options: WorkerOptions
    #: Where the outbox and the record of running jobs live (None: memory only).
    state_dir: Path | None = None
    #: Values redacted from what jobs print.
    secrets: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls,
        config: EffectiveConfig,
        store: Store,
        project: str | None = None,
        *,
        sources: SourceSet | None = None,
    ) -> WorkerParts:
        return cls(
            store,
            sources if sources is not None else build_sources(config),
            worker_options(config, project),
            state_dir=config.paths.state_dir,
            secrets=config.secret_values(),
        )

    def service(self, **hooks: Any) -> WorkerService:
        """The service on these parts; `hooks` are WorkerService's other keyword arguments."""
        return WorkerService(
            self.store, self.sources, self.options, state_dir=self.state_dir, secrets=self.secrets, **hooks
        )
