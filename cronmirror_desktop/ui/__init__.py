"""The PySide6 desktop app: windows, widgets, item models, tray and the hosted worker."""

import PySide6

from cronmirror_desktop.ui.pyside_sources import forget_module_sources

# Before any other module of the app is imported (see pyside_sources).
forget_module_sources()

del PySide6
