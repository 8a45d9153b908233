"""`python -m tests.supastack [--port PORT]`: a fresh stand-in until SIGTERM/SIGINT.

Prints exactly one line of JSON on stdout once PostgreSQL and the server are ready:
`{"url", "anon_key", "service_role_key", "jwt_secret", "db_url"}`. Logs go to stderr. On SIGTERM/SIGINT it
stops the server and the cluster and removes the cluster's temp directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType

from tests.pgcluster import PgUnavailable
from tests.supastack.stack import start_supastack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.supastack", description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="HTTP/WebSocket port (default: a free one)")
    parser.add_argument("--jwt-secret", default=None, help="HS256 secret (default: random)")
    parser.add_argument("--verbose", action="store_true", help="log to stderr at DEBUG level")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack = start_supastack(port=args.port, jwt_secret=args.jwt_secret)
    except PgUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        print(json.dumps(stack.info()), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
