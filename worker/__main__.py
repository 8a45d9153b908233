"""Entry point for the worker (not built yet)."""

import sys


def main() -> int:
    print("CronMirror: the worker is not built yet.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
