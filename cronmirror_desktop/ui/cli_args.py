"""The desktop app's command line (`cronmirror-desktop --help`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cronmirror_desktop import APP_NAME, __version__
from cronmirror_desktop.ui.theme import ThemeMode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cronmirror-desktop",
        description="See and trigger the scheduled jobs of your Mac mini, mirrored through Supabase.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo",
        action="store_true",
        help="show demo data from a throwaway local store (nothing you have is touched)",
    )
    mode.add_argument(
        "--local",
        action="store_true",
        help="use the embedded local store even when Supabase is configured",
    )
    parser.add_argument(
        "--project", metavar="ID", help="open this project (the id both tables are scoped by)"
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="once data is shown, save the main window as a PNG and exit",
    )
    parser.add_argument(
        "--theme",
        choices=[m.value for m in ThemeMode],
        default=None,
        help="light or dark appearance (default: the one chosen in Settings, else follow the system)",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="start the worker inside the app at launch: it mirrors this computer's jobs and runs the "
        "queued requests (it can also be started and stopped from the Worker menu)",
    )
    parser.add_argument(
        "--tray-only",
        action="store_true",
        help="live in the menu bar only: no window at start and, on macOS, no Dock icon "
        "(where no menu bar icon is possible, the window is shown instead)",
    )
    # For docs/screenshots: the screenshot shows the Worker menu open.
    parser.add_argument("--screenshot-worker-menu", action="store_true", help=argparse.SUPPRESS)
    # For docs/screenshots: the screenshot shows the Sources popover open.
    parser.add_argument("--screenshot-sources", action="store_true", help=argparse.SUPPRESS)
    # For docs/screenshots: the job whose details the screenshot shows (default: the demo's weekly review).
    parser.add_argument("--screenshot-job", metavar="JOB_ID", help=argparse.SUPPRESS)
    # For docs/screenshots: the job's context menu open, or its Edit dialog with this schedule typed in.
    parser.add_argument("--screenshot-job-menu", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--screenshot-edit", metavar="SCHEDULE", help=argparse.SUPPRESS)
    # For docs/screenshots: the dock shows the running request (its live output) instead of the failed one,
    # and the details pane is scrolled to the job's run history.
    parser.add_argument("--screenshot-watching", action="store_true", help=argparse.SUPPRESS)
    # For docs/screenshots: the window's size (default 1280x800), e.g. 900x600 for a narrow window.
    parser.add_argument("--screenshot-size", metavar="WxH", help=argparse.SUPPRESS)
    # For docs/screenshots: the demo's jobs.toml has a job it must leave out (the Sources badge shows it).
    parser.add_argument("--demo-mistake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store-file", metavar="PATH", type=Path, help="the local store's SQLite file")
    parser.add_argument(
        "--dev-dir",
        metavar="DIR",
        type=Path,
        help="keep every file (settings, local store, logs, window state) under DIR",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages to the console")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    return parser


def app_command(*flags: str) -> tuple[str, list[str]]:
    """How to start another CronMirror with `flags` (Show demo): this interpreter with `-m`, or, in the
    frozen bundle, the bundle's own executable (which is CronMirror and knows no `-m`)."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(flags)
    return sys.executable, ["-m", "cronmirror_desktop", *flags]
