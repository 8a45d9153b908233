"""pytest fixtures for the stand-in; `tests/conftest.py` registers them with `pytest_plugins`.

* `supastack` (session): a stand-in on the session's PostgreSQL cluster, in a database of its own
  (bootstrap + migrations + the stand-in's SQL).
* `supabase_env` (function): the same object after `reset()` — PostgreSQL and the server up, the app's
  tables empty, no realtime socket left over from an earlier test; PostgreSQL is started again
  afterwards if the test left it stopped.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.pgcluster import PgCluster
from tests.supastack.stack import Supastack, start_supastack


@pytest.fixture(scope="session")
def supastack(pg_cluster: PgCluster) -> Iterator[Supastack]:
    stack = start_supastack(pg_cluster, dbname=f"supastack_{os.getpid()}")
    try:
        yield stack
    finally:
        stack.close()
        if not pg_cluster.is_running():
            pg_cluster.start()
        pg_cluster.drop_database(stack.dbname)


@pytest.fixture
def supabase_env(supastack: Supastack) -> Iterator[Supastack]:
    supastack.reset()
    yield supastack
    # A fault-injection test that failed half-way must not leave the session's cluster stopped for the
    # database tests that follow (they share it).
    if not supastack.postgres_running:
        supastack.start_postgres()


@contextlib.contextmanager
def scratch_objects(stack: Supastack, create_sql: str, drop_sql: str) -> Iterator[None]:
    """Tables or functions a test module makes in the shared stand-in database, dropped afterwards."""
    with stack.connect() as conn:
        conn.execute(drop_sql)
        conn.execute(create_sql)
    try:
        yield
    finally:
        with stack.connect() as conn:
            conn.execute(drop_sql)
