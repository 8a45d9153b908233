"""The frozen app's entry point: the desktop app, exactly as `cronmirror-desktop` starts it."""

import sys

from cronmirror_desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
