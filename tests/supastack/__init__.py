"""A Supabase stand-in for tests: PostgREST and Realtime subsets over the ephemeral PostgreSQL.

The real Supabase stack cannot run here (no Docker, no network), yet the app and the worker must be tested
with the unmodified supabase-py client speaking HTTP and WebSocket. The wire contract is
`shared/docs/supabase-wire.md`; `docs/supastack.md` lists what is covered, where the stand-in deviates
and what is left out.

Design, in short:
* **Database**: the harness's cluster (`tests/pgcluster.py`) with Supabase's bootstrap and the app's
  `migrations/`, untouched, plus the stand-in's own SQL (`sql/supastack.sql`, schema `supastack`).
* **REST** (`rest.py`): each request runs in one transaction on an `authenticator` (LOGIN NOINHERIT)
  connection after `set_config('role', …)` and `request.jwt.claims`, exactly as PostgREST does, so grants
  and RLS are PostgreSQL's own; PostgreSQL renders the JSON.
* **Realtime** (`realtime.py`): Phoenix V1 JSON channels; `postgres_changes` from a change-capture trigger.
* **Process model** (`stack.py`): the aiohttp server runs on a plain asyncio loop in a daemon thread, never
  on the test session's qasync loop, so tests that block or drive Qt never stall it; every `Supastack`
  method is synchronous and safe to call from the test's thread.

Change capture: trigger + NOTIFY, not logical decoding. A row trigger (installed on exactly the tables of
the `supabase_realtime` publication, re-synced by an event trigger when the publication changes) sends the
row as JSON with `pg_notify`; payloads over NOTIFY's 8000-byte limit go through `supastack.overflow`. It
needs nothing beyond stock PostgreSQL (no `wal_level=logical`, no wal2json), delivers on commit (about a
millisecond to the callback, where polling a replication slot costs its poll interval and, with
`synchronous_commit=off`, the WAL writer's delay), and keeps the app's migrations exactly as Supabase
applies them. What it gives up: `commit_timestamp` is the time of the row change (a few ms before the
commit), and changes made while the server is not LISTENing are lost — which is what Realtime does too.

Usage:
    supastack / supabase_env          pytest fixtures (tests/supastack/fixtures.py)
    make_client(stack, key)           supabase-py AsyncClient without the 15 s retry trap (client.py)
    rest_client / PhoenixSocket       raw wire helpers (wire.py)
    python -m tests.supastack         a stand-in for manual use; prints one JSON line when ready
"""

from tests.supastack.stack import Supastack, start_supastack

__all__ = ["Supastack", "start_supastack"]
