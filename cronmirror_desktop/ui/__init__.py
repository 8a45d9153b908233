"""The PySide6 desktop app: windows, widgets, item models, tray and the hosted worker."""
