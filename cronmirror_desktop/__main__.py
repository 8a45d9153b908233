"""Entry point for the desktop app (not built yet)."""

import sys


def main() -> int:
    print("CronMirror: the desktop app is not built yet.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
