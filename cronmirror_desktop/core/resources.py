"""Where CronMirror's bundled files are, through importlib.resources (works from a checkout, a wheel and
the frozen app). Qt-free: the UI turns these paths into QIcons."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE = "cronmirror_desktop.resources"
APP_ICON_SIZES = (16, 32, 48, 64, 128, 256, 512, 1024)


def resource(*parts: str) -> Path:
    """A bundled file. Raises FileNotFoundError with its name when it is missing (a packaging bug)."""
    path = Path(str(files(PACKAGE).joinpath(*parts)))
    if not path.exists():
        raise FileNotFoundError(f"CronMirror resource missing: {'/'.join(parts)} (looked in {path.parent})")
    return path


def app_icon_files() -> list[Path]:
    """The app icon at every size (for QIcon.addFile, window icons and the Linux desktop entry)."""
    return [resource("icons", f"cronmirror-{size}.png") for size in APP_ICON_SIZES]


def tray_icon_files(active: bool = False) -> list[Path]:
    """The menu-bar template icon (1x and @2x); `active` while the hosted worker runs."""
    name = "tray-active-template" if active else "tray-template"
    return [resource("icons", f"{name}.png"), resource("icons", f"{name}@2x.png")]
