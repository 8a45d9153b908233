"""Who asked: the audit trail's name for a person at this computer (`cli:alice@laptop`, `ui:alice@laptop`).

Written into requests (`requested_by`) and stop requests (`cancel_requested_by`): the user's login name and
the host name up to its first dot, nothing else (no paths, no secrets), cut to what the schema allows.
"""

from __future__ import annotations

import getpass
import socket

#: `requested_by` and `cancel_requested_by` hold at most this much (…_client_request_rules.sql).
MAX_REQUESTER = 200


def requester(kind: str) -> str:
    """`kind:user@host`, e.g. `requester("ui")` → "ui:alice@laptop"."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    host = socket.gethostname().split(".")[0] or "localhost"
    text = "".join(ch for ch in f"{kind}:{user}@{host}" if ch.isprintable())
    return text[:MAX_REQUESTER]
