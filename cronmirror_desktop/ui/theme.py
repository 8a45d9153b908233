"""Light and dark palettes, and the status colours that must stay readable in both.

The app uses the Fusion style everywhere (identical on macOS, Linux and offscreen renders) with palettes
close to macOS's own. Status chips are a tinted background with a darker (light theme) or lighter (dark
theme) text of the same hue; `tests/test_ui_theme.py` checks every pair against WCAG's 4.5:1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


class ThemeMode(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True)
class Chip:
    background: str
    foreground: str


#: Run request chips. Seed: queued yellow, running blue (pulsing), done green, error red; plus cancelled grey.
#: "late" is the job table's chip for a Late job (orange: it is not a failure, but something did not run).
CHIPS: dict[bool, dict[str, Chip]] = {
    False: {
        "queued": Chip("#FFF1C2", "#6B4E00"),
        "running": Chip("#D8E8FF", "#0A4A9E"),
        "done": Chip("#D9F2E0", "#17602E"),
        "error": Chip("#FCDEDC", "#9B1B1F"),
        "cancelled": Chip("#E6E6E9", "#4F4F55"),
        "unknown": Chip("#EFE3F7", "#5E2B7A"),
        "late": Chip("#FFE2C4", "#8A3F00"),
    },
    True: {
        "queued": Chip("#4A3A05", "#FFD75E"),
        "running": Chip("#0F3564", "#9CCBFF"),
        "done": Chip("#123F25", "#86E0A6"),
        "error": Chip("#5B1B1C", "#FFA3A0"),
        "cancelled": Chip("#3A3A3D", "#C9C9CF"),
        "unknown": Chip("#3E2550", "#E0B8F5"),
        "late": Chip("#4F2A06", "#FFB46B"),
    },
}

#: Colours of the job table's last-status icons and of the connection lights.
SIGNAL: dict[bool, dict[str, str]] = {
    False: {
        "ok": "#1E8E3E",
        "error": "#D93025",
        "skipped": "#8A8A8E",
        "never": "#B0B0B5",
        "warning": "#C77700",
        "info": "#1A73E8",
        "live": "#1E8E3E",
        "connecting": "#C77700",
        "down": "#D93025",
        "off": "#9A9AA0",
    },
    True: {
        "ok": "#34C759",
        "error": "#FF5F57",
        "skipped": "#98989D",
        "never": "#6E6E73",
        "warning": "#FFB340",
        "info": "#4DA3FF",
        "live": "#34C759",
        "connecting": "#FFB340",
        "down": "#FF5F57",
        "off": "#8E8E93",
    },
}


def chip(status: str, dark: bool) -> Chip:
    palette = CHIPS[dark]
    return palette.get(status, palette["unknown"])


def signal_color(name: str, dark: bool) -> QColor:
    return QColor(SIGNAL[dark].get(name, SIGNAL[dark]["info"]))


#: The selection's colour in both themes (white text on it: 5.5:1).
SELECTION = "#0A64D6"


def _palette(dark: bool) -> QPalette:
    p = QPalette()
    if dark:
        colors = {
            QPalette.ColorRole.Window: "#232325",
            QPalette.ColorRole.WindowText: "#E8E8ED",
            QPalette.ColorRole.Base: "#1C1C1E",
            QPalette.ColorRole.AlternateBase: "#242427",
            QPalette.ColorRole.ToolTipBase: "#2C2C2E",
            QPalette.ColorRole.ToolTipText: "#F2F2F7",
            QPalette.ColorRole.PlaceholderText: "#8E8E93",
            QPalette.ColorRole.Text: "#E8E8ED",
            QPalette.ColorRole.Button: "#3A3A3C",
            QPalette.ColorRole.ButtonText: "#F2F2F7",
            QPalette.ColorRole.BrightText: "#FF453A",
            QPalette.ColorRole.Light: "#4A4A4D",
            QPalette.ColorRole.Midlight: "#3A3A3C",
            QPalette.ColorRole.Mid: "#2C2C2E",
            QPalette.ColorRole.Dark: "#141415",
            QPalette.ColorRole.Shadow: "#000000",
            QPalette.ColorRole.Highlight: "#0A64D6",
            QPalette.ColorRole.HighlightedText: "#FFFFFF",
            QPalette.ColorRole.Link: "#4DA3FF",
            QPalette.ColorRole.LinkVisited: "#BF8BFF",
        }
        disabled_text = "#98989F"  # secondary text: ≥ 4.5:1 on Base and AlternateBase (was 3.1:1)
    else:
        colors = {
            QPalette.ColorRole.Window: "#EFEFF2",
            QPalette.ColorRole.WindowText: "#1D1D1F",
            QPalette.ColorRole.Base: "#FFFFFF",
            QPalette.ColorRole.AlternateBase: "#F5F5F7",
            QPalette.ColorRole.ToolTipBase: "#FFFFFF",
            QPalette.ColorRole.ToolTipText: "#1D1D1F",
            QPalette.ColorRole.PlaceholderText: "#8A8A8E",
            QPalette.ColorRole.Text: "#1D1D1F",
            QPalette.ColorRole.Button: "#FBFBFD",
            QPalette.ColorRole.ButtonText: "#1D1D1F",
            QPalette.ColorRole.BrightText: "#D70015",
            QPalette.ColorRole.Light: "#FFFFFF",
            QPalette.ColorRole.Midlight: "#E5E5EA",
            QPalette.ColorRole.Mid: "#C7C7CC",
            QPalette.ColorRole.Dark: "#A1A1A6",
            QPalette.ColorRole.Shadow: "#6E6E73",
            QPalette.ColorRole.Highlight: "#0A64D6",
            QPalette.ColorRole.HighlightedText: "#FFFFFF",
            QPalette.ColorRole.Link: "#0A64D6",
            QPalette.ColorRole.LinkVisited: "#6A3FB5",
        }
        disabled_text = "#6C6C70"  # secondary text: ≥ 4.5:1 on Base, AlternateBase and Window (was 2.4:1)
    for role, value in colors.items():
        p.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled_text))
    # One selection colour, focused or not: the job table and the Run requests dock take turns having the
    # focus, and a dimmer selection in whichever has not (#3D4E66 in dark) read as two different colours.
    for group in (QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Active):
        p.setColor(group, QPalette.ColorRole.Highlight, QColor(SELECTION))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#FFFFFF"))
    return p


#: Key in `Settings.ui` (the user's settings file) for the theme chosen in Settings.
THEME_KEY = "theme"


def stored_theme() -> ThemeMode:
    """The theme chosen in Settings (system when none was, or the file cannot be read)."""
    from cronmirror_desktop.core.settings import load_settings

    try:
        value = load_settings().settings.ui.get(THEME_KEY)
        return ThemeMode(value) if value else ThemeMode.SYSTEM
    except (ValueError, OSError):
        return ThemeMode.SYSTEM


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, mode: ThemeMode | str = ThemeMode.SYSTEM) -> bool:
    """Install Fusion and the palette for `mode`; returns True when the result is dark."""
    mode = ThemeMode(mode)
    dark = system_prefers_dark() if mode is ThemeMode.SYSTEM else mode is ThemeMode.DARK
    app.setStyle("Fusion")
    app.setPalette(_palette(dark))
    app.setProperty("cronmirror_dark", dark)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    app.setFont(font)
    return dark


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the palette in use is dark (judged by the window colour, so it follows any palette)."""
    if palette is None:
        palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def secondary_text(palette: QPalette) -> QColor:
    """Text colour for less important cells (disabled jobs, stale rows)."""
    return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1.0 .. 21.0)."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
