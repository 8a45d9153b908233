"""`python -m tests.supastack`: one JSON line when ready, a working stand-in, nothing left after SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.pgcluster import REPO, PgCluster, free_port


def test_launch_prints_one_json_line_serves_and_cleans_up(pg_cluster: PgCluster) -> None:
    """`pg_cluster` only gates the test like every database test (the launch makes its own cluster)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.supastack", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"url", "anon_key", "service_role_key", "jwt_secret", "db_url"}
        assert info["url"] == f"http://127.0.0.1:{port}"
        r = httpx.get(
            f"{info['url']}/rest/v1/cron_mirror",
            headers={"apikey": info["anon_key"], "Authorization": f"Bearer {info['anon_key']}"},
        )
        assert (r.status_code, r.json()) == (200, [])
        with psycopg.connect(info["db_url"]) as conn:
            superuser, datadir = conn.execute(
                "select rolsuper, current_setting('data_directory')"
                " from pg_roles where rolname = current_user"
            ).fetchone()  # type: ignore[misc]
        assert superuser is True
        assert Path(datadir).exists()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line in all
    assert not Path(datadir).exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(info["url"], timeout=2)
