"""Entry point for the desktop app: `cronmirror-desktop` / `python -m cronmirror_desktop`."""

import sys


def main(argv: list[str] | None = None) -> int:
    # Imported here so `--version` and `--help` stay cheap and so a missing Qt reports itself clearly.
    from cronmirror_desktop.ui.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
