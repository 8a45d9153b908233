"""An ephemeral PostgreSQL cluster for tests and the Supabase stand-in.

`initdb` into a temp dir, started on loopback with durability off (tests never need it), then Supabase's
bootstrap (roles, `auth.*`, the realtime publication) and the project's `migrations/` in order. As root,
PostgreSQL refuses to run, so every server command goes through `runuser -u postgres` on a directory that
user owns. Only the standard library and psycopg are used, so `python -m tests.supastack` can share it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO / "migrations"
BOOTSTRAP_SQL = Path(__file__).resolve().parent / "sql" / "supabase_bootstrap.sql"
TEMPLATE_DB = "cronmirror_template"

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
    "(macOS: `brew install postgresql@16`; Debian/Ubuntu: `sudo apt-get install postgresql`) "
    "or point CRONMIRROR_PG_BINDIR at the directory that holds initdb."
)


class PgUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries on this machine."""


def find_bindir() -> Path | None:
    """Locate a directory holding `initdb` and `pg_ctl`, newest version first."""
    candidates: list[str] = []
    if env := os.environ.get("CRONMIRROR_PG_BINDIR"):
        candidates.append(env)
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(out.stdout.strip())
    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/usr/pgsql-*/bin",
        "/opt/homebrew/opt/postgresql@*/bin",
        "/usr/local/opt/postgresql@*/bin",
        "/Applications/Postgres.app/Contents/Versions/*/bin",
    ):
        candidates.extend(sorted(glob.glob(pattern), key=_version_key, reverse=True))
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _version_key(path: str) -> tuple[int, ...]:
    digits = "".join(ch if ch.isdigit() else " " for ch in path).split()
    return tuple(int(d) for d in digits)


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The project's migrations in the order `supabase db push` applies them (by file name)."""
    return sorted(directory.glob("*.sql"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """One throwaway cluster: `start()`, use `dsn()`, `stop()`/`start()` again, `destroy()`."""

    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cronmirror-pg-")))
    port: int = field(default_factory=free_port)
    superuser: str = "postgres"

    @classmethod
    def create(cls, bindir: Path | None = None) -> PgCluster:
        found = bindir or find_bindir()
        if found is None:
            raise PgUnavailable(INSTALL_HINT)
        cluster = cls(bindir=found)
        cluster._initdb()
        return cluster

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def _as_owner(self, argv: Sequence[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def _run(self, argv: Sequence[str], timeout: float = 60) -> None:
        proc = subprocess.run(
            self._as_owner(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{Path(argv[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}\n{log}"
            )

    def _initdb(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.superuser,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c log_min_messages=warning",
                "-c timezone=UTC",
            ]
        )
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"],
            timeout=60,
        )

    def is_running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server (if running) and remove every file the cluster made."""
        if self.is_running():
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres", user: str | None = None) -> str:
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.dsn(dbname), autocommit=True)

    # -- databases -------------------------------------------------------------------------------

    def create_database(self, name: str, template: str | None = None) -> None:
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        with self.connect() as conn:
            conn.execute(stmt)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def apply_sql(self, dbname: str, path: Path) -> None:
        """Run one SQL file in its own transaction, as `supabase db push` does per migration."""
        with psycopg.connect(self.dsn(dbname)) as conn:
            try:
                conn.execute(path.read_text())  # type: ignore[arg-type]
            except psycopg.Error as exc:
                raise RuntimeError(f"{path.name} failed: {exc}") from exc

    def prepare_database(
        self,
        name: str,
        *,
        migrations: Sequence[Path] | None = None,
        extra_sql: Sequence[Path] = (),
    ) -> None:
        """Create `name` with Supabase's bootstrap, then `migrations` (all by default), then extras."""
        self.create_database(name)
        self.apply_sql(name, BOOTSTRAP_SQL)
        for path in migration_files() if migrations is None else migrations:
            self.apply_sql(name, path)
        for path in extra_sql:
            self.apply_sql(name, path)


@contextlib.contextmanager
def running_cluster(bindir: Path | None = None) -> Iterator[PgCluster]:
    """A started cluster with the migrated template database; everything is removed afterwards."""
    cluster = PgCluster.create(bindir)
    try:
        cluster.start()
        cluster.prepare_database(TEMPLATE_DB)
        yield cluster
    finally:
        cluster.destroy()
