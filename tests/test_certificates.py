"""The frozen app trusts certifi's authorities for every TLS connection, the Realtime WebSocket included,
unless a certificate file or folder was chosen; from source nothing changes."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import certifi
import pytest

from cronmirror_desktop.core.certificates import use_bundled_certificates


def test_the_frozen_app_uses_certifi_and_the_default_context_loads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert use_bundled_certificates() == certifi.where()
    # What websockets does for wss://: Python's default context, which reads SSL_CERT_FILE.
    loaded = ssl.create_default_context().get_ca_certs()
    with_certifi = ssl.create_default_context(cafile=certifi.where()).get_ca_certs()
    assert len(loaded) == len(with_certifi) > 100


def test_a_chosen_file_or_folder_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    chosen = str(tmp_path / "company-ca.pem")
    assert use_bundled_certificates({"SSL_CERT_FILE": chosen}) == chosen
    env = {"SSL_CERT_DIR": str(tmp_path)}
    assert use_bundled_certificates(env) is None
    assert "SSL_CERT_FILE" not in env


def test_from_source_the_system_store_is_used() -> None:
    assert not getattr(sys, "frozen", False)
    env: dict[str, str] = {}
    assert use_bundled_certificates(env) is None
    assert env == {}
