"""The frozen app against real services on loopback, on a real X server with a system tray: the part of
check-bundle that proves what a bundle can lose and still start (scripts/check_bundle.py runs it).

One run of `CronMirror --tray-only --worker` under Xvfb with `trayer` as the tray, configured for Supabase
over https: the Supabase stand-in (tests/supastack, real PostgreSQL) behind a local TLS terminator whose
certificate authority reaches the app only through SSL_CERT_FILE. The hosted worker's sources are a
jobs.toml command job and the real OpenClaw gateway, offline (tests/realgateway); the gateway's CLI is not
on PATH, so only its WebSocket protocol can list and run its jobs. It passes when

- the menu-bar icon is embedded in the tray: the xcb platform plugin, its X libraries, QSystemTrayIcon;
- both jobs reach `cron_mirror`: supabase-py and PostgREST over httpx (created with http2=True, which
  needs `h2`) through TLS with the bundled OpenSSL; the gateway's jobs through its WebSocket client and
  the Ed25519 device identity (`cryptography`);
- a run request for each ends `done`, the command job's output in its result: Realtime over wss
  (websockets) delivers them, the worker runs a real subprocess, and `cron.run` goes over the gateway's
  WebSocket;
- every connection to Supabase was TLS (the terminator counts them) and the app's log has no traceback.

Needs what the test suite needs: PostgreSQL's server binaries, Xvfb and trayer, the gateways
(scripts/install-gateways), and the dev extras (psycopg, cryptography).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROJECT = "bundle-check"
COMMAND_OUTPUT = "frozen bundle ran this"
WAIT_S = 90.0
TOOLS = ("Xvfb", "trayer", "xwininfo")


class LiveCheckError(Exception):
    """What the live run found wrong, in one sentence (with the app's log tail where it helps)."""


def missing_prerequisites() -> list[str]:
    """What this machine lacks for the live run (empty: it can run), each with how to get it."""
    missing = [
        f"{tool} (sudo apt-get install xvfb trayer x11-utils)" for tool in TOOLS if not shutil.which(tool)
    ]
    try:
        import psycopg  # noqa: F401
        from cryptography import x509  # noqa: F401

        from tests.pgcluster import find_bindir
        from tests.realgateway.harness import INSTALL_HINT, missing_parts
    except ImportError as exc:
        return [*missing, f"the dev extras ({exc.name}): .venv/bin/pip install -e '.[dev,package]'"]
    if find_bindir() is None:
        missing.append("PostgreSQL's server binaries (sudo apt-get install postgresql)")
    if missing_parts():
        missing.append(INSTALL_HINT)
    return missing


# -- a certificate authority and a TLS terminator -------------------------------------------------------


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    signs_certificates = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CronMirror bundle check CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(signs_certificates, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class TlsTerminator:
    """https://127.0.0.1:PORT in front of a plain-HTTP server (REST and WebSockets pass through as bytes);
    counts the TLS handshakes that completed."""

    def __init__(self, backend_port: int, cert: Path, key: Path) -> None:
        self.backend_port = backend_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.handshakes = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-terminator", daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> int:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1  # the server hands over a stream only after the handshake
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


# -- an X server with a system tray ----------------------------------------------------------------------


def icon_in_tray(display: str) -> bool:
    """Whether a CronMirror window sits inside trayer's panel (the tray embedded the icon)."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"],
        capture_output=True,
        text=True,
        env={**os.environ, "DISPLAY": display},
        timeout=10,
        check=False,
    ).stdout.splitlines()
    for i, line in enumerate(tree):
        if '("panel" "trayer")' in line:
            depth = len(line) - len(line.lstrip())
            for inner in tree[i + 1 :]:
                if inner.strip() and len(inner) - len(inner.lstrip()) <= depth:
                    break
                if '"CronMirror": ("CronMirror" "CronMirror")' in inner:
                    return True
    return False


# -- the run ---------------------------------------------------------------------------------------------


def wait_for(what: str, predicate: Callable[[], Any], within: float = WAIT_S) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.25)
    raise LiveCheckError(f"{what}: not within {within:.0f} s")


def configure(dev_dir: Path) -> None:
    """The app's settings and jobs.toml in its dev dir: only the jobs file and the gateway as sources."""
    from cronmirror_desktop.core.config_write import set_value
    from cronmirror_desktop.core.paths import app_paths

    paths = app_paths({"CRONMIRROR_DEV_DIR": str(dev_dir)}).ensure()
    for source, on in (("jobs", True), ("gateway", True), ("crontab", False), ("launchd", False)):
        set_value(f"worker.sources.{source}", str(on).lower(), paths=paths, env={})
    (paths.config_dir / "jobs.toml").write_text(
        f'[jobs.bundle-check]\nname = "Bundle check"\ncommand = ["echo", "{COMMAND_OUTPUT}"]\n'
    )


def run_live(exe: Path, log: Callable[[str], None] = print) -> None:
    """The live run; raises LiveCheckError with what failed."""
    from tests.realgateway.harness import RealGateway
    from tests.supastack.stack import start_supastack
    from tests.xdesktop import DesktopError, desktop_with_tray

    # The directory outlives the stack: the gateway and the app write into it until they are stopped.
    with tempfile.TemporaryDirectory(prefix="cronmirror-live-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        t0 = time.monotonic()
        supabase = start_supastack()
        stack.callback(supabase.close)
        ca, cert, key = make_certificates(root)
        terminator = TlsTerminator(supabase.port, cert, key)
        stack.callback(terminator.close)
        https_port = terminator.start()
        gateway = RealGateway.create("openclaw", root / "gateway")
        stack.callback(gateway.stop)
        gateway.start()
        gateway.wait_ready()
        gateway_job = gateway.add_job("--name", "Gateway bundle check", "--every", "1h", "--no-deliver",
                                      "--command", "echo gateway ran this")["id"]  # fmt: skip
        log(f"  live: Supabase stand-in, TLS terminator and OpenClaw ready in {time.monotonic() - t0:.0f} s")
        dev_dir = root / "app"
        configure(dev_dir)
        try:
            display = stack.enter_context(desktop_with_tray())
        except DesktopError as exc:
            raise LiveCheckError(str(exc)) from None
        environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "CRONMIRROR_", "QT_"))},
            **gateway.worker_env(),  # HOME, PATH without the gateway's CLI, its config and state dirs
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "SSL_CERT_FILE": str(ca),
            "SUPABASE_URL": f"https://127.0.0.1:{https_port}",
            "SUPABASE_ANON_KEY": supabase.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": supabase.service_role_key,
            "CRONMIRROR_PROJECT_ID": PROJECT,
            "CRONMIRROR_DEV_DIR": str(dev_dir),
        }
        environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the X11 tray (XEmbed), as trayer offers
        output = (root / "app.out").open("wb")
        stack.callback(output.close)
        app = subprocess.Popen(
            [str(exe), "--tray-only", "--worker"], env=environ, stdout=output, stderr=subprocess.STDOUT
        )
        stack.callback(_stop, app)
        db = supabase.connect()
        stack.callback(db.close)

        def app_log() -> str:
            logs = sorted((dev_dir / "log").glob("*.log"))
            text = "".join(p.read_text(errors="replace") for p in logs)
            return text + (root / "app.out").read_text(errors="replace")

        def alive() -> None:
            if app.poll() is not None:
                raise LiveCheckError(f"the app exited with {app.returncode}")
            if "Traceback" in app_log():
                raise LiveCheckError("the app logged a traceback")

        def mirrored() -> bool:
            alive()
            rows = db.execute("select job_id from cron_mirror where project_id = %s", (PROJECT,)).fetchall()
            return {"jobs:bundle-check", gateway_job} <= {row[0] for row in rows}

        try:
            wait_for("the tray embedding the menu-bar icon", lambda: alive() or icon_in_tray(display))
            log("  live: menu-bar icon embedded in the tray (xcb, QSystemTrayIcon)")
            wait_for("the jobs.toml job and the gateway's job in cron_mirror", mirrored)
            log("  live: both jobs mirrored to Supabase over https (the gateway's over its WebSocket)")
            requests = {
                job: db.execute(
                    "insert into cron_run_requests (project_id, job_id) values (%s, %s) returning id",
                    (PROJECT, job),
                ).fetchone()[0]
                for job in ("jobs:bundle-check", gateway_job)
            }

            def finished() -> dict[str, tuple[str, Any]] | None:
                alive()
                rows = db.execute(
                    "select job_id, status, result from cron_run_requests where id = any(%s)",
                    (list(requests.values()),),
                ).fetchall()
                states = {row[0]: (row[1], row[2]) for row in rows}
                done = all(state[0] in ("done", "error", "cancelled") for state in states.values())
                return states if done and len(states) == len(requests) else None

            states = wait_for("both run requests finished", finished)
        except LiveCheckError as exc:
            raise LiveCheckError(f"{exc}\n{app_log()[-3000:]}") from None
        for job, (status, result) in states.items():
            if status != "done":
                raise LiveCheckError(f"the run request for {job} ended {status}: {json.dumps(result)[:500]}")
        if COMMAND_OUTPUT not in json.dumps(states["jobs:bundle-check"][1]):
            raise LiveCheckError(
                f"the command job's result lacks its output: {states['jobs:bundle-check'][1]}"
            )
        log("  live: both run requests done (Realtime over wss, a real subprocess, cron.run on the gateway)")
        if terminator.handshakes == 0:
            raise LiveCheckError("the app never connected through TLS")
        if "Traceback" in app_log() or " ERROR " in app_log():
            raise LiveCheckError("the app logged errors:\n" + app_log()[-3000:])
        log(f"  live: {terminator.handshakes} TLS connections, no error in the app's log")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
