"""The bounded process runner, with real subprocesses: tails, 10 MB of output, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from tests.procutil import alive, read_pid, rss_bytes, wait_dead
from worker.process import OutputTail, ProcessStarted, SpawnError, run_process

PY = sys.executable

# A job whose child ignores SIGTERM and records its pid: only a KILL to the whole group ends it.
STUBBORN_TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
print("started", flush=True)
time.sleep(60)
"""


async def test_runs_an_argument_vector_and_reports_everything() -> None:
    started: list[ProcessStarted] = []
    result = await run_process(
        [PY, "-c", "import sys; print('hello; $(rm -rf ~)'); print('oops', file=sys.stderr); sys.exit(3)"],
        timeout=10,
        on_started=started.append,
    )
    assert result.exit_code == 3
    assert not result.ok
    assert not result.timed_out
    assert result.stdout_tail == "hello; $(rm -rf ~)\n"  # an argument, never shell syntax
    assert result.stderr_tail == "oops\n"
    assert len(started) == 1
    assert started[0].pid == result.pid
    assert started[0].started_at == result.started_at
    assert result.started_at.tzinfo is not None
    assert result.finished_at >= result.started_at
    assert 0 <= result.duration_ms < 10_000


async def test_on_started_fires_while_the_process_is_running() -> None:
    seen: list[bool] = []
    await run_process(
        [PY, "-c", "import time; time.sleep(0.3)"], timeout=10, on_started=lambda s: seen.append(alive(s.pid))
    )
    assert seen == [True]


async def test_a_broken_on_started_hook_does_not_orphan_the_job() -> None:
    def broken(_: ProcessStarted) -> None:
        raise RuntimeError("heartbeat failed")

    result = await run_process([PY, "-c", "print('ran')"], timeout=10, on_started=broken)
    assert result.ok
    assert result.stdout_tail == "ran\n"


async def test_stdin_env_and_cwd(tmp_path: Path) -> None:
    code = "import os, sys; print(sys.stdin.read().upper(), os.environ['CM_X'], os.getcwd())"
    expected_cwd = str(tmp_path)  # pytest hands out resolved paths
    result = await run_process(
        [PY, "-c", code], timeout=10, stdin_data=b"abc", env={**os.environ, "CM_X": "x1"}, cwd=tmp_path
    )
    assert result.stdout_tail.split() == ["ABC", "x1", expected_cwd]


async def test_tail_keeps_the_last_4000_characters_and_decodes_split_utf8() -> None:
    code = "import sys; sys.stdout.write('é' * 200_000 + 'END')"
    result = await run_process([PY, "-c", code], timeout=10)
    assert result.stdout_bytes == 400_003
    assert len(result.stdout_tail) == 4000
    assert result.stdout_tail.endswith("éééEND")
    assert "\ufffd" not in result.stdout_tail
    assert result.stdout_truncated


async def test_ten_megabytes_of_output_keep_memory_bounded() -> None:
    # 10 MB on stdout and 1 MB on stderr, in small writes, as a chatty job would print them.
    code = (
        "import sys\n"
        "line = 'x' * 99 + '\\n'\n"
        "for i in range(100_000): sys.stdout.write(line)\n"
        "for i in range(10_000): sys.stderr.write(line)\n"
        "sys.stdout.write('LAST LINE')\n"
    )
    samples: list[int] = []

    async def sample_rss() -> None:
        while True:
            samples.append(rss_bytes())
            await asyncio.sleep(0.005)

    baseline = rss_bytes()
    sampler = asyncio.ensure_future(sample_rss())
    tracemalloc.start()
    try:
        result = await run_process([PY, "-c", code], timeout=30)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sampler.cancel()
    rss_growth = max([*samples, rss_bytes()]) - baseline
    print(f"\n10 MB job: traced peak {traced_peak / 1e6:.2f} MB, RSS growth {rss_growth / 1e6:.2f} MB")
    assert result.ok
    assert result.stdout_bytes == 10_000_009
    assert result.stderr_bytes == 1_000_000
    assert result.stdout_tail.endswith("x\nLAST LINE")
    assert len(result.stdout_tail) == 4000
    assert len(result.stderr_tail) == 4000
    # Python allocations while 11 MB streamed through: a few read buffers, nowhere near the output size.
    assert traced_peak < 2_000_000
    assert rss_growth < 8_000_000


def test_output_tail_memory_stays_bounded_by_construction() -> None:
    tail = OutputTail(limit=100)
    for _ in range(10_000):
        tail.feed(b"y" * 1000)
        assert tail._chars <= 2 * 100 + 1000
    assert tail.text == "y" * 100
    assert tail.total_bytes == 10_000_000


async def test_timeout_kills_the_whole_process_group_including_a_grandchild(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    result = await run_process([PY, "-c", STUBBORN_TREE, str(pid_file)], timeout=1.0, kill_grace=0.3)
    elapsed = time.monotonic() - started
    grandchild = read_pid(pid_file)
    assert result.timed_out
    assert not result.ok
    assert result.exit_code in (-signal.SIGTERM, -signal.SIGKILL)
    assert result.stdout_tail == "started\n"
    assert wait_dead(grandchild), "the grandchild (ignoring SIGTERM) survived the timeout"
    assert not alive(result.pid)
    assert elapsed < 5


async def test_cancelling_the_task_kills_the_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = asyncio.Event()
    task = asyncio.ensure_future(
        run_process(
            [PY, "-c", STUBBORN_TREE, str(pid_file)],
            timeout=60,
            kill_grace=0.3,
            on_started=lambda _: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 5)
    while not pid_file.exists() or not pid_file.read_text().strip():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    grandchild = read_pid(pid_file)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_dead(grandchild)


async def test_a_background_child_holding_stdout_does_not_hang_the_run() -> None:
    started = time.monotonic()
    result = await run_process(
        ["/bin/sh", "-c", "sleep 30 & echo parent-done"], timeout=20, drain_timeout=0.3
    )
    try:
        assert result.ok
        assert result.stdout_tail == "parent-done\n"
        assert time.monotonic() - started < 5
    finally:
        os.killpg(result.pid, signal.SIGKILL)


async def test_spawn_failures_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="cannot start '/nonexistent/prog'"):
        await run_process(["/nonexistent/prog"], timeout=5)
    with pytest.raises(SpawnError, match="cannot start"):
        await run_process([PY, "-c", "pass"], timeout=5, cwd=tmp_path / "missing")
    with pytest.raises(SpawnError, match="NUL"):
        await run_process(["echo", "a\x00b"], timeout=5)
    with pytest.raises(SpawnError, match="non-empty"):
        await run_process([], timeout=5)
    with pytest.raises(TypeError):
        await run_process("echo hi", timeout=5)


async def test_signal_exit_is_reported_by_name() -> None:
    result = await run_process(
        [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], timeout=10
    )
    assert result.exit_code == -signal.SIGKILL
    assert result.signal_name == "SIGKILL"
