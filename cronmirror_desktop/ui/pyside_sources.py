"""Keep PySide6's import hook from holding the source of every module in memory.

PySide6 (6.4 on) asks of every module imported after it whether its source mentions "PySide6" (to know
which modules may use `from __feature__ import ...`, PYSIDE-2029). It reads the source with
`inspect.getsource`, and that keeps every line of every file in `linecache` for good: about 400 files and
180,000 lines when the app has started, 16 MB of its memory. The check stays PySide6's own; what it left
in `linecache` is dropped at once. (A frozen app has no sources: nothing is read there.)
"""

from __future__ import annotations

import linecache
import sys
from types import ModuleType
from typing import Any

_FEATURE_MODULE = "shibokensupport.feature"
_CHECK = "_mod_uses_pyside"


def forget_module_sources() -> bool:
    """Wrap PySide6's check so it leaves `linecache` as it found it. False: PySide6 is not imported yet,
    or has no such check (another version); then nothing changes."""
    feature = sys.modules.get(_FEATURE_MODULE)
    check: Any = getattr(feature, _CHECK, None)
    if feature is None or not callable(check) or getattr(check, "__wrapped__", None) is not None:
        return False

    def uses_pyside(module: ModuleType) -> bool:
        before = set(linecache.cache)
        try:
            return bool(check(module))
        finally:
            for name in linecache.cache.keys() - before:
                linecache.cache.pop(name, None)

    uses_pyside.__wrapped__ = check  # type: ignore[attr-defined]
    setattr(feature, _CHECK, uses_pyside)
    # What it read while PySide6 itself was imported (a cache: whatever needs a line reads it again).
    linecache.clearcache()
    return True
