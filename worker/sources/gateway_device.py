"""The worker's device identity for the gateway: an Ed25519 key pair kept in the worker's state dir.

The gateway knows a client by `device.id` = hex SHA-256 of its raw 32-byte public key, and trusts it by a
signature over the connect challenge (gateway_protocol.device_auth_payload). The key file is created once
with mode 0600 (a broader mode found later is narrowed and logged), holds the private key as PKCS#8 PEM, and
is never logged, shown or put in a result: `repr()` of an identity shows the start of its id only.
A file that cannot be read as a key is replaced by a new identity (the gateway pairs it again; on loopback
silently), and the old file is kept beside it as `<name>.unreadable` for a person to look at.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import stat
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)

FILE_NAME = "gateway-device.json"
FILE_MODE = 0o600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DeviceIdentity:
    """An Ed25519 key pair; `device_id` and `public_key` are what the gateway sees."""

    __slots__ = ("_key", "device_id", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._key = key
        self.public_key = b64url(raw)
        self.device_id = hashlib.sha256(raw).hexdigest()

    @classmethod
    def generate(cls) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, payload: str) -> str:
        """base64url of the Ed25519 signature of `payload` (UTF-8), as the gateways verify it."""
        return b64url(self._key.sign(payload.encode("utf-8")))

    def private_pem(self) -> str:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")

    def __repr__(self) -> str:
        return f"DeviceIdentity({self.device_id[:12]}…)"


def load_or_create(path: Path) -> DeviceIdentity:
    """The identity in `path`, created (mode 0600) when there is none or it is unreadable."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return _create(path)
    if mode & 0o077:
        log.warning("the gateway device key %s was readable by others (mode %o); now 0600", path, mode)
        os.chmod(path, FILE_MODE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = serialization.load_pem_private_key(data["privateKeyPem"].encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError("not an Ed25519 key")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        kept = path.with_name(path.name + ".unreadable")
        log.warning("the gateway device key %s is unreadable (%s); replaced", path, type(exc).__name__)
        with contextlib.suppress(OSError):
            os.replace(path, kept)
        return _create(path)
    return DeviceIdentity(key)


def _create(path: Path) -> DeviceIdentity:
    identity = DeviceIdentity.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 1,
        "deviceId": identity.device_id,
        "publicKey": identity.public_key,
        "privateKeyPem": identity.private_pem(),
        "createdAtMs": int(time.time() * 1000),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600, so the key is never readable by others, not even for a moment.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a umask cannot widen it, but an existing tmp could have another mode
        os.write(fd, (json.dumps(document, indent=2) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    log.info("created the worker's gateway device identity %s in %s", identity.device_id[:12], path)
    return identity
