"""Entry point for the cronmirror CLI (not built yet)."""

import sys


def main() -> int:
    print("CronMirror: the cronmirror CLI is not built yet.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
