"""Test session wiring: offscreen Qt, one qasync loop for the whole session, the PostgreSQL cluster.

One loop per session is deliberate: closing a `qasync.QEventLoop` leaves cycles whose later collection
crashes Qt (qasync #73; see docs/testing.md). `async def` tests run on that loop through the small hook
below, which also processes Qt events, timers and queued signals while they await. Cycles are collected on
the GUI thread only, as in the app (`GuiThreadCollector`): collected in one of the many threads the tests
run, a cycle holding a Qt object crashed the suite at random once every few runs.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import itertools
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import psycopg
import pytest

from cronmirror_desktop.core.config import ENV_NAMES
from cronmirror_desktop.core.paths import ENV_CONFIG_DIR, ENV_DEV_DIR
from cronmirror_desktop.core.secrets import ENV_ALLOW_INSECURE
from cronmirror_desktop.ui.collector import GuiThreadCollector
from tests.keyring_memory import MemoryKeyring
from tests.pgcluster import INSTALL_HINT, TEMPLATE_DB, PgCluster, PgUnavailable, running_cluster

ASYNC_TEST_TIMEOUT = 60.0

#: Fixtures shared by many modules: the stand-in (`supastack`, `supabase_env`), `backend` (each store) and
#: the real gateways (`tests/realgateway`).
pytest_plugins = ["tests.supastack.fixtures", "tests.store_harness", "tests.realgateway.fixtures"]


# -- one asyncio loop (qasync) for the session ----------------------------------------------------


#: Collections that ran outside the GUI thread during the current test ("thread (generation n)").
_OFF_THREAD: list[str] = []


def _note_off_thread(phase: str, info: dict[str, int]) -> None:
    thread = threading.current_thread()
    if phase == "start" and thread is not threading.main_thread():
        _OFF_THREAD.append(f"{thread.name} (generation {info['generation']})")


@pytest.fixture(scope="session")
def gui_collector(qapp: Any) -> Iterator[GuiThreadCollector]:
    """The app's own rule for the whole session: no automatic cycle collection in whatever thread
    allocates; the GUI thread collects, between events and after each test. A collection in another
    thread fails the test it happened in, instead of crashing a later one at random."""
    collector = GuiThreadCollector(qapp)
    collector.start()
    gc.callbacks.append(_note_off_thread)
    yield collector
    gc.callbacks.remove(_note_off_thread)
    collector.stop()


@pytest.fixture(autouse=True)
def _collect_after_each_test(gui_collector: GuiThreadCollector) -> Iterator[None]:
    _OFF_THREAD.clear()
    yield
    gui_collector.collect_due()
    if _OFF_THREAD:
        where = ", ".join(_OFF_THREAD)
        _OFF_THREAD.clear()
        pytest.fail(f"cycles were collected outside the GUI thread: {where} (see ui/collector.py)")


@pytest.fixture
def automatic_gc(gui_collector: GuiThreadCollector) -> Iterator[None]:
    """CPython's own collection, as without the app's rule, for a test about that rule (collections in
    other threads are then expected, not a failure)."""
    gui_collector.stop()
    gc.enable()
    try:
        yield
    finally:
        gui_collector.start()
        _OFF_THREAD.clear()


@pytest.fixture(scope="session")
def event_loop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """Never closed, on purpose: see the module docstring.

    Its executor (which `getaddrinfo` for a host name runs in) is shut down at the end instead: closing the
    loop would do that, and QThreads still running when the process exits make Qt abort it (exit 134).
    """
    import qasync

    loop = qasync.QEventLoop(qapp)
    executor = qasync.QThreadExecutor(4)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    executor.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every `async def` test gets the session loop among its fixtures, so the hook below finds it in the
    public `item.funcargs`. (Adding to `fixturenames` at collection is how plugins such as pytest-asyncio
    request a fixture for a test; a `usefixtures` mark added now would come too late.)"""
    for item in items:
        is_async = isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj)
        if is_async and "event_loop" not in item.fixturenames:
            item.fixturenames.append("event_loop")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests to completion on the session loop (public API only: `funcargs` and the
    test function's own signature)."""
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    loop: asyncio.AbstractEventLoop = pyfuncitem.funcargs["event_loop"]
    kwargs = {name: pyfuncitem.funcargs[name] for name in inspect.signature(func).parameters}
    marker = pyfuncitem.get_closest_marker("async_timeout")
    timeout = float(marker.args[0]) if marker else ASYNC_TEST_TIMEOUT
    try:
        loop.run_until_complete(asyncio.wait_for(func(**kwargs), timeout))
    finally:
        _cancel_leftover_tasks(loop)
    return True


def _cancel_leftover_tasks(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


# -- no real keychain, settings or environment overrides --------------------------------------------


@pytest.fixture(autouse=True)
def memory_keyring(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> MemoryKeyring:
    """Each test gets an empty in-memory keychain, its own dev dir for every CronMirror file, and none of
    the developer's CronMirror/ClawdOS environment variables (a real SUPABASE_URL must not leak in)."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    for name in (*ENV_NAMES, ENV_CONFIG_DIR, ENV_ALLOW_INSECURE, "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_DEV_DIR, str(tmp_path_factory.mktemp("devdir")))
    return backend


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A session-wide cluster with a migrated template database (skips, or fails under CI)."""
    try:
        with running_cluster() as cluster:
            yield cluster
    except PgUnavailable:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but PostgreSQL is missing. {INSTALL_HINT}", pytrace=False)
        pytest.skip(INSTALL_HINT)


@dataclass
class PgDatabase:
    """A fresh database cloned from the migrated template, for one test."""

    cluster: PgCluster
    name: str

    @property
    def dsn(self) -> str:
        return self.cluster.dsn(self.name)

    def connect(self) -> psycopg.Connection:
        """A superuser connection (autocommit): for arranging and inspecting."""
        return psycopg.connect(self.dsn, autocommit=True)

    def connect_as(
        self, role: str, claims: dict[str, Any] | None = None, *, autocommit: bool = True
    ) -> psycopg.Connection:
        """Connect as PostgREST does: log in as `authenticator`, switch to `role`, set the JWT claims."""
        conn = psycopg.connect(self.cluster.dsn(self.name, user="authenticator"), autocommit=True)
        conn.execute(
            "select set_config('role', %s, false), set_config('request.jwt.claims', %s, false)",
            (role, json.dumps({"role": role, **(claims or {})})),
        )
        conn.autocommit = autocommit
        return conn


_db_numbers = itertools.count(1)


@pytest.fixture
def pg_db(pg_cluster: PgCluster) -> Iterator[PgDatabase]:
    name = f"test_{os.getpid()}_{next(_db_numbers)}"
    pg_cluster.create_database(name, template=TEMPLATE_DB)
    try:
        yield PgDatabase(pg_cluster, name)
    finally:
        pg_cluster.drop_database(name)
