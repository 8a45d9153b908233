"""Where the local gateway listens and how to authenticate: read as its own CLI reads it.

Port: `OPENCLAW_GATEWAY_PORT` / `CLAWDBOT_GATEWAY_PORT`, else the config's `gateway.port`, else 18789.
Secret: `OPENCLAW_GATEWAY_TOKEN` / `CLAWDBOT_GATEWAY_TOKEN` (or `…_PASSWORD`), else the config's
`gateway.auth.token` / `gateway.auth.password` (`${VAR}` references resolved from the environment).
Config file: `OPENCLAW_CONFIG_PATH` / `MOLTBOT_CONFIG_PATH` / `CLAWDBOT_CONFIG_PATH`, else `openclaw.json` /
`moltbot.json` / `clawdbot.json` in the state dir (gateway_store.resolve_state_dir). The file is JSON5 for
the gateways; `loads_json5` reads the subset people write by hand (comments, unquoted keys, single quotes,
trailing commas).

When the native client cannot know how to reach the gateway (no config at all, a remote or TLS gateway, a
secret kept elsewhere, a config it cannot read), `find_endpoint` says why, and the source uses the CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.sources.gateway_store import CONFIG_NAMES, CONFIG_PATH_ENV, resolve_state_dir

DEFAULT_PORT = 18789
PORT_ENV = ("OPENCLAW_GATEWAY_PORT", "CLAWDBOT_GATEWAY_PORT")
TOKEN_ENV = ("OPENCLAW_GATEWAY_TOKEN", "CLAWDBOT_GATEWAY_TOKEN")
PASSWORD_ENV = ("OPENCLAW_GATEWAY_PASSWORD", "CLAWDBOT_GATEWAY_PASSWORD")
#: `gateway.bind` values that include the loopback address.
LOOPBACK_BINDS = {None, "", "loopback", "lan", "auto", "127.0.0.1", "localhost", "0.0.0.0", "::", "::1"}  # noqa: S104


@dataclass(frozen=True)
class GatewayEndpoint:
    url: str
    config_path: Path | None
    token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """`text` with the secret replaced, for anything that reaches a log, a listing or a result."""
        for secret in (self.token, self.password):
            if secret:
                text = text.replace(secret, "***")
        return text


@dataclass(frozen=True)
class NoEndpoint:
    """Why the native client cannot be used (the CLI path is taken instead)."""

    reason: str


def find_endpoint(env: Mapping[str, str], home: Path) -> GatewayEndpoint | NoEndpoint:
    config_path = _config_path(env, home)
    config: dict[str, Any] = {}
    if config_path is None and not (_first_env(env, PORT_ENV) or _first_env(env, TOKEN_ENV)):
        # Without a config there is no gateway to speak of (its CLI needs one too): do not guess a port.
        return NoEndpoint("found no gateway config (openclaw.json / clawdbot.json)")
    if config_path is not None:
        try:
            loaded = loads_json5(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return NoEndpoint(f"cannot read the gateway config {config_path} ({type(exc).__name__}: {exc})")
        if not isinstance(loaded, dict):
            return NoEndpoint(f"the gateway config {config_path} is not an object")
        config = loaded
    gateway = _dict(config.get("gateway"))
    if gateway.get("mode") == "remote":
        return NoEndpoint("the gateway is remote (gateway.mode = remote); its CLI knows how to reach it")
    if _dict(gateway.get("tls")).get("enabled") is True:
        return NoEndpoint("the gateway uses TLS (gateway.tls); its CLI knows the certificate to trust")
    bind = gateway.get("bind")
    if bind not in LOOPBACK_BINDS:
        return NoEndpoint(f"the gateway binds {bind!r}, not the loopback address")
    port = _port(env, gateway)
    if isinstance(port, NoEndpoint):
        return port
    auth = _dict(gateway.get("auth"))
    token = _first_env(env, TOKEN_ENV) or _secret(auth.get("token"), env)
    password = _first_env(env, PASSWORD_ENV) or _secret(auth.get("password"), env)
    mode = auth.get("mode")
    if mode in ("token", None) and token is None and auth.get("token") is not None:
        return NoEndpoint("the gateway token in its config is not plain text (a secret reference?)")
    if mode == "password" and password is None:
        return NoEndpoint("the gateway's password is not in its config or the environment")
    if mode == "token" and token is None:
        return NoEndpoint("the gateway's token is not in its config or the environment")
    if mode not in (None, "token", "password", "none"):
        return NoEndpoint(f"the gateway's auth mode {mode!r} needs its CLI")
    return GatewayEndpoint(f"ws://127.0.0.1:{port}", config_path, token, password)


def _config_path(env: Mapping[str, str], home: Path) -> Path | None:
    for key in CONFIG_PATH_ENV:
        value = env.get(key, "").strip()
        if value:
            return Path(value).expanduser()
    state_dir = resolve_state_dir(env, home)
    if state_dir is None:
        return None
    return next((state_dir / name for name in CONFIG_NAMES if (state_dir / name).is_file()), None)


def _port(env: Mapping[str, str], gateway: dict[str, Any]) -> int | NoEndpoint:
    raw: object = _first_env(env, PORT_ENV) or gateway.get("port", DEFAULT_PORT)
    try:
        port = int(str(raw))
    except ValueError:
        return NoEndpoint(f"the gateway port {raw!r} is not a number")
    if not 0 < port < 65536:
        return NoEndpoint(f"the gateway port {port} is out of range")
    return port


def _first_env(env: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    return next((env[k].strip() for k in keys if env.get(k, "").strip()), None)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _secret(value: object, env: Mapping[str, str]) -> str | None:
    """A plain string secret, with `${VAR}` references resolved; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    missing = [name for name in _ENV_REF.findall(value) if name not in env]
    if missing:
        return None
    return _ENV_REF.sub(lambda m: env[m.group(1)], value).strip() or None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# -- JSON5, the part people write ----------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def loads_json5(text: str) -> Any:
    """Parse JSON, or JSON5's common extras: // and /* */ comments, unquoted keys, 'single quotes',
    trailing commas. Raises ValueError otherwise (hex numbers, Infinity and multi-line strings are out)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end, literal = _string(text, i)
            out.append(literal)
            i = end
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i == -1 else i
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close == -1:
                raise ValueError("unterminated /* comment")
            i = close + 2
        elif ch in "}]":
            _drop_trailing_comma(out)
            out.append(ch)
            i += 1
        elif match := _IDENT.match(text, i):
            word = match.group(0)
            rest = text[match.end() :].lstrip()
            out.append(json.dumps(word) if rest.startswith(":") else word)
            i = match.end()
        else:
            out.append(ch)
            i += 1
    return json.loads("".join(out))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _string(text: str, start: int) -> tuple[int, str]:
    """The string literal at `start` (either quote) as a JSON string literal, and where it ends."""
    quote = text[start]
    i, chars = start + 1, []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u":
                chars.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt != "\n":  # a backslash before a newline continues the line
                chars.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if ch == quote:
            return i + 1, json.dumps("".join(chars))
        if ch == "\n":
            raise ValueError("newline inside a string")
        chars.append(ch)
        i += 1
    raise ValueError("unterminated string")


def _drop_trailing_comma(out: list[str]) -> None:
    for index in range(len(out) - 1, -1, -1):
        if out[index].isspace():
            continue
        if out[index] == ",":
            del out[index]
        return
