"""CronMirror's resources (icons, desktop entry), installed as the package `cronmirror_desktop.resources`.

Loaded with `importlib.resources` (see `cronmirror_desktop/resources_access.py`), so they work from a source
checkout, an installed wheel and the frozen app alike. Regenerate the PNG sizes and the .icns from the SVG
sources with `python scripts/make_icons.py`.
"""
