"""The standard set of sources on a Mac mini, in priority order (the first source wins a clashing id).

The worker CLI and the hosted worker build their `SourceSet` here, from settings, so they agree on it.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from datetime import tzinfo
from pathlib import Path

from worker.history import RunHistory
from worker.sources.base import JobSource
from worker.sources.crontab import CrontabSource
from worker.sources.gateway import GatewaySource
from worker.sources.jobs_file import JobsFileSource
from worker.sources.launchd import LaunchdSource
from worker.sources.registry import SourceSet

ALL_SOURCES = ("gateway", "crontab", "launchd", "jobs")
#: "0" / "false" / "no" / "off": the gateway source uses its CLI only, never the native WebSocket client
#: (an escape hatch, and the CLI-path baseline of the gateway benchmarks).
GATEWAY_NATIVE_ENV = "CRONMIRROR_GATEWAY_NATIVE"


def gateway_native_enabled(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(GATEWAY_NATIVE_ENV, "").strip().lower()
    return value not in {"0", "false", "no", "off"}


def default_sources(
    *,
    jobs_file: Path,
    enabled: Collection[str] = ALL_SOURCES,
    gateway_binary: str | os.PathLike[str] | None = None,
    crontab_command: Sequence[str] = ("crontab", "-l"),
    launch_agents_dir: Path | None = None,
    new_job_programs: Collection[str] = (),
) -> list[JobSource]:
    unknown = set(enabled) - set(ALL_SOURCES)
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(sorted(unknown))}; known: {', '.join(ALL_SOURCES)}")
    sources: list[JobSource] = []
    if "gateway" in enabled:
        sources.append(GatewaySource(binary=gateway_binary, native=gateway_native_enabled()))
    if "crontab" in enabled:
        sources.append(CrontabSource(crontab_command))
    if "launchd" in enabled:
        sources.append(LaunchdSource(launch_agents_dir))
    if "jobs" in enabled:
        sources.append(JobsFileSource(jobs_file, new_job_programs=new_job_programs))
    return sources


def default_source_set(
    *,
    jobs_file: Path,
    history_file: Path | None = None,
    default_tz: tzinfo | str | None = None,
    host: str | None = None,
    **kwargs: object,
) -> SourceSet:
    """`jobs_file`: e.g. `app_paths().config_dir / "jobs.toml"`; `history_file`: e.g. in the state dir;
    `host`: this machine's name in the mirror (None: its host name)."""
    return SourceSet(
        default_sources(jobs_file=jobs_file, **kwargs),  # type: ignore[arg-type]
        default_tz=default_tz,
        history=RunHistory(history_file),
        host=host,
    )
