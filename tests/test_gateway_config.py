"""How the native client finds the local gateway (gateway_config) and keeps its device key (..._device)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.realgateway.harness import RealGateway
from worker.sources.gateway_config import GatewayEndpoint, NoEndpoint, find_endpoint, loads_json5
from worker.sources.gateway_device import load_or_create


def write_config(state: Path, name: str, config: object) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    path = state / name
    path.write_text(json.dumps(config) if not isinstance(config, str) else config)
    return path


def test_the_harness_config_of_both_gateways_is_read_as_their_clis_read_it(tmp_path: Path) -> None:
    for kind in ("openclaw", "clawdbot"):
        gw = RealGateway.create(kind, tmp_path / kind, isolated=False)  # only writes its config
        found = find_endpoint(gw.worker_env(), gw.home)
        assert isinstance(found, GatewayEndpoint)
        assert (found.url, found.token, found.config_path) == (gw.url, gw.token, gw.config_path)
        assert gw.token not in repr(found)


def test_state_dir_lookup_environment_precedence_and_secret_references(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(
        home / ".clawdbot", "clawdbot.json", {"gateway": {"port": 19001, "auth": {"token": "${CB_TOKEN}"}}}
    )
    assert find_endpoint({"CB_TOKEN": "t1"}, home) == GatewayEndpoint(
        "ws://127.0.0.1:19001", (home / ".clawdbot" / "clawdbot.json").resolve(), "t1"
    )
    missing = find_endpoint({}, home)  # ${CB_TOKEN} unset: not a token we could send
    assert isinstance(missing, NoEndpoint)
    assert "not plain text" in missing.reason
    env = {"CB_TOKEN": "t1", "OPENCLAW_GATEWAY_PORT": "19002", "CLAWDBOT_GATEWAY_TOKEN": "t2"}
    found = find_endpoint(env, home)
    assert isinstance(found, GatewayEndpoint)
    assert (found.url, found.token) == ("ws://127.0.0.1:19002", "t2")
    assert found.scrub("said t2 twice: t2") == "said *** twice: ***"


@pytest.mark.parametrize(
    ("gateway", "reason"),
    [
        (
            {"mode": "remote", "remote": {"url": "wss://far"}},
            "the gateway is remote (gateway.mode = remote); its CLI knows how to reach it",
        ),
        (
            {"tls": {"enabled": True}},
            "the gateway uses TLS (gateway.tls); its CLI knows the certificate to trust",
        ),
        ({"bind": "tailnet"}, "the gateway binds 'tailnet', not the loopback address"),
        ({"port": "eighty"}, "the gateway port 'eighty' is not a number"),
        ({"auth": {"mode": "password"}}, "the gateway's password is not in its config or the environment"),
        ({"auth": {"mode": "token"}}, "the gateway's token is not in its config or the environment"),
        ({"auth": {"mode": "trusted-proxy"}}, "the gateway's auth mode 'trusted-proxy' needs its CLI"),
    ],
)
def test_gateways_the_native_client_cannot_reach_say_why(
    tmp_path: Path, gateway: object, reason: str
) -> None:
    path = write_config(tmp_path / ".openclaw", "openclaw.json", {"gateway": gateway})
    found = find_endpoint({"OPENCLAW_CONFIG_PATH": str(path)}, tmp_path)
    assert found == NoEndpoint(reason)


def test_no_config_no_guess_and_an_unreadable_one_is_named(tmp_path: Path) -> None:
    assert find_endpoint({}, tmp_path) == NoEndpoint(
        "found no gateway config (openclaw.json / clawdbot.json)"
    )
    path = write_config(tmp_path / ".openclaw", "openclaw.json", "{gateway: {port: ")
    found = find_endpoint({"OPENCLAW_CONFIG_PATH": str(path)}, tmp_path)
    assert isinstance(found, NoEndpoint)
    assert found.reason.startswith(f"cannot read the gateway config {path} (JSONDecodeError")


def test_json5_as_people_write_it() -> None:
    text = """{
      // the gateway
      gateway: { port: 18789, bind: 'loopback', auth: { mode: "token", token: 'it\\'s "quoted"', }, },
      /* a block
         comment */ list: [1, 2.5, -3e2, true, null,],
      "url": "http://example//not-a-comment", tab: "a\\tb", unicode: '\\u00e9',
    }"""
    assert loads_json5(text) == {
        "gateway": {"port": 18789, "bind": "loopback", "auth": {"mode": "token", "token": 'it\'s "quoted"'}},
        "list": [1, 2.5, -300.0, True, None],
        "url": "http://example//not-a-comment",
        "tab": "a\tb",
        "unicode": "é",
    }
    with pytest.raises(ValueError, match="unterminated"):
        loads_json5("{a: 'open")


# -- the device key --------------------------------------------------------------------------------------


def test_the_device_key_is_made_once_with_mode_0600_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "gateway-device.json"
    first = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create(path)
    assert (again.device_id, again.public_key) == (first.device_id, first.public_key)
    stored = json.loads(path.read_text())
    assert stored["deviceId"] == first.device_id
    assert "PRIVATE KEY" not in repr(first)
    assert first.device_id[:12] in repr(first)
    assert len(first.device_id) == 64
    signature = first.sign("v2|payload")
    raw = __import__("base64").urlsafe_b64decode(first.public_key + "==")
    Ed25519PublicKey.from_public_bytes(raw).verify(
        __import__("base64").urlsafe_b64decode(signature + "=="), b"v2|payload"
    )


def test_a_key_readable_by_others_is_narrowed_and_a_broken_one_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gateway-device.json"
    first = load_or_create(path)
    path.chmod(0o644)
    assert load_or_create(path).device_id == first.device_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text
    path.write_text("{not json")
    replaced = load_or_create(path)
    assert replaced.device_id != first.device_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "gateway-device.json.unreadable").read_text() == "{not json"
    assert "PRIVATE" not in caplog.text
