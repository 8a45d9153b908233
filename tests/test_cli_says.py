"""What `cronmirror` and `cronmirror-worker` say, run for real as a person runs them (issue 19, points 6, 7,
10, 14-17): which store is read, an unknown project or job, tables that fit the terminal, each source's
problem once, "every 30 min" for an `every` schedule, and what `doctor` knows about the worker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cronmirror_desktop.core.config import resolve_config
from cronmirror_desktop.core.localstore import LocalStore
from tests.worker_harness import PROJECT, service, sources_for, toml_job, write_jobs

TYPO = '\n[jobs.typo]\nname = "Typo"\ncron = "0 3 * * *"\ncommand = "echo not a list"\n'
#: A name with ESC and BEL in it (TOML escapes), as a job someone else wrote could have.
SNEAKY = (
    '[jobs.sneaky]\nname = "Sneaky \\u001b]0;pwned\\u0007 name"\ncron = "0 7 * * 1-5"\ncommand = ["true"]\n'
)
LONG_NAME = "Summarise the whole week's merged pull requests " * 4


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def run(program: str, *argv: str, columns: int | None = None, home: Path | None = None) -> Ran:
    """`cronmirror ARGV` (or `cronmirror-worker`) in its own process, output piped as in a script."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    if home is not None:
        env["HOME"] = str(home)
        env["PATH"] = "/usr/bin:/bin"
    module = {"cronmirror": "cronmirror_desktop.cli", "cronmirror-worker": "worker"}[program]
    done = subprocess.run(
        [sys.executable, "-m", module, *argv], capture_output=True, text=True, env=env, timeout=120
    )
    return Ran(done.returncode, done.stdout, done.stderr)


async def cli(*argv: str, **kwargs: object) -> Ran:
    return await asyncio.to_thread(run, "cronmirror", *argv, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def local_file() -> Path:
    return resolve_config().paths.local_store_file


@pytest.fixture
def mirrored(local_file: Path, tmp_path: Path, event_loop: asyncio.AbstractEventLoop) -> Iterator[Path]:
    """A worker mirrored jobs.toml (a long name, an ESC in a name, a typo) into the local store."""
    jobs_file = write_jobs(
        tmp_path / "jobs.toml",
        [
            toml_job("hello", ["echo", "hi"], name="Hello"),
            toml_job("weekly", ["true"], name=LONG_NAME.strip()),
            SNEAKY,
            TYPO,
        ],
    )
    store = LocalStore(local_file)
    worker = service(store, sources_for(jobs_file), presence_debounce=0.0)

    async def mirror() -> None:
        await worker.sync_once()
        await worker._presence()  # what the daemon announces at start

    event_loop.run_until_complete(mirror())
    yield jobs_file
    event_loop.run_until_complete(store.close())


async def test_unconfigured_it_says_on_stderr_which_store_it_reads() -> None:
    """`cronmirror jobs` silently read the embedded store and said "No cron jobs mirrored yet"."""
    ran = await cli("jobs")
    assert ran.code == 0
    assert "No cron jobs mirrored yet" in ran.out
    assert ran.err.startswith("cronmirror: reading the local store at ")
    assert str(resolve_config().paths.local_store_file) in ran.err
    assert "Supabase is not configured: `cronmirror config set supabase_url" in ran.err
    assert "local store" not in ran.out  # stdout stays the data
    ran = await cli("--local", "jobs")
    assert ran.err.strip().endswith("(--local).")


async def test_an_unknown_project_is_exit_6_with_the_known_ones(mirrored: Path) -> None:
    ran = await cli("jobs", "--project", "nosuch")
    assert ran.code == 6
    assert ran.out == ""
    assert "No project 'nosuch'" in ran.err
    assert f"Known projects: {PROJECT}." in ran.err
    ran = await cli("--json", "requests", "--project", "nosuch")
    assert ran.code == 6
    assert json.loads(ran.out)["error"]["kind"] == "NotFound"
    ran = await cli("jobs")  # the configured project is never "unknown"
    assert ran.code == 0


async def test_an_unknown_job_suggests_the_close_ones(mirrored: Path) -> None:
    ran = await cli("run", "hello")
    assert ran.code == 6
    assert "No job 'hello'" in ran.err
    assert "Did you mean jobs:hello?" in ran.err
    ran = await cli("run", "jobs:helo")
    assert "Did you mean jobs:hello?" in ran.err
    ran = await cli("run", "zzzzzz")
    assert "`cronmirror jobs` lists the job ids." in ran.err


async def test_tables_fit_the_terminal_by_cutting_the_widest_column(mirrored: Path) -> None:
    """A long name made `cronmirror jobs` print a table ~230 columns wide."""
    wide = await cli("jobs")  # piped, no COLUMNS: nothing is cut (like ls and gh)
    assert max(len(line) for line in wide.out.splitlines()) > 200
    assert LONG_NAME.strip() in wide.out
    ran = await cli("jobs", columns=120)
    lines = ran.out.splitlines()
    assert lines
    assert all(len(line) <= 120 for line in lines), max(len(line) for line in lines)
    row = next(line for line in lines if line.startswith("jobs:weekly"))
    assert "Summarise the whole week" in row
    assert "…" in row  # the name, the widest column, was cut
    assert "At 07:00, Monday through Friday" in ran.out  # the other columns are whole
    assert "jobs:hello" in ran.out
    assert "\x1b" not in ran.out  # control characters stay escaped when cut
    assert "\\x1b" in ran.out
    narrow = await cli("jobs", columns=80)  # narrower: the widest columns give way in turn
    assert all(len(line) <= 80 for line in narrow.out.splitlines())
    assert "jobs:weekly" in narrow.out
    as_json = await cli("--json", "jobs", columns=40)  # --json is never cut
    names = [job["name"] for job in json.loads(as_json.out)]
    assert LONG_NAME.strip() in names


async def test_every_schedules_read_in_words_everywhere(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    jobs_file = write_jobs(
        tmp_path / "config" / "jobs.toml",
        ['[jobs.inbox]\nname = "Inbox"\nevery = "30m"\ncommand = ["true"]\n'],
    )
    assert jobs_file.exists()
    ran = await asyncio.to_thread(
        run, "cronmirror-worker", "list-jobs", "--dev-dir", str(tmp_path), home=tmp_path
    )
    assert ran.code == 0, ran.err
    assert "(every 30 min)" in ran.out
    assert "1800000" not in ran.out


async def test_each_source_problem_is_said_once(tmp_path: Path) -> None:
    """The gateway's problem was printed twice, in two wordings ("no job store at the gateway's state
    directory", "no ~/.openclaw, ~/.moltbot or ~/.clawdbot state directory"), and every source's message
    again as a warning."""
    (tmp_path / "config").mkdir()
    write_jobs(tmp_path / "config" / "jobs.toml", [toml_job("good", ["true"]), TYPO])
    for command in ("list-jobs", "sync-once"):
        argv = (command, "--dev-dir", str(tmp_path), *(("--local",) if command == "sync-once" else ()))
        ran = await asyncio.to_thread(run, "cronmirror-worker", *argv, home=tmp_path)
        assert ran.code == 0, ran.err
        gateway = [line for line in ran.out.splitlines() if "state directory" in line or "gateway" in line]
        assert len(gateway) == 1, ran.out
        assert gateway[0].startswith("[gateway] unavailable: no openclaw / clawdbot / moltbot CLI found")
        typo = [line for line in ran.out.splitlines() if "[jobs.typo]" in line]
        assert len(typo) == 1, ran.out
        assert typo[0].strip().startswith("! jobs.toml:")


async def test_doctor_shows_the_worker_and_what_its_sources_found(mirrored: Path) -> None:
    ran = await cli("doctor")
    assert ran.code == 1  # a job left out of jobs.toml is a problem to fix
    assert "✓ Worker: " in ran.out
    assert "✗ Source jobs.toml: 1 job left out" in ran.out
    assert "[jobs.typo] command: must be a non-empty list" in ran.out
    data = json.loads((await cli("--json", "doctor")).out)
    assert any(c["name"] == "Source jobs.toml" and c["ok"] is False for c in data["checks"])
