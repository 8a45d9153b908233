"""CronMirror: see and trigger the scheduled jobs of an always-on Mac mini from any machine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cronmirror")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

APP_NAME = "CronMirror"
BUNDLE_ID = "app.cronmirror.desktop"
