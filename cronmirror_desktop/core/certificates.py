"""Which certificate authorities TLS trusts in the frozen bundle.

httpx (the REST calls) brings certifi's bundle itself, but the Realtime WebSocket is opened with Python's
default context, which looks where the *bundled* OpenSSL was built to look: Debian's /usr/lib/ssl. On
Fedora, Arch or macOS that folder does not exist and every wss:// connection fails its certificate check.
So the frozen app points OpenSSL at certifi's bundle, unless the user (or their company's proxy setup)
already chose a file. From source, Python's own OpenSSL knows its system's store and nothing changes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping


def use_bundled_certificates(environ: MutableMapping[str, str] | None = None) -> str | None:
    """In the frozen app, set SSL_CERT_FILE to certifi's bundle when nothing is set; returns the file now
    in use through SSL_CERT_FILE (None: the system's store)."""
    env = os.environ if environ is None else environ
    if env.get("SSL_CERT_FILE") or env.get("SSL_CERT_DIR"):
        return env.get("SSL_CERT_FILE")
    if not getattr(sys, "frozen", False):
        return None
    import certifi

    env["SSL_CERT_FILE"] = certifi.where()
    return env["SSL_CERT_FILE"]
