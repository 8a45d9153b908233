"""PySide6's import hook reads the source of every module imported after it (to see whether it uses
PySide6); the app must not keep those sources in memory (16 MB at start-up), and the hook's verdicts
must stay PySide6's own. In a fresh interpreter: this one imported Qt long ago."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, linecache, sys
import cronmirror_desktop.ui
from PySide6.QtWidgets import QWidget
import asyncio, csv, email.mime.text, uses_qt_here, plain_here
feature = sys.modules["shibokensupport.feature"]
print(json.dumps({
    "cached": [name for name in linecache.cache if not name.startswith("<")],
    "verdicts": {m: feature.pyside_feature_dict.get(m) for m in ("asyncio", "uses_qt_here", "plain_here")},
}))
"""


def test_modules_imported_after_pyside6_leave_no_source_in_memory(tmp_path: Path) -> None:
    (tmp_path / "uses_qt_here.py").write_text("from PySide6.QtCore import QObject\n")
    (tmp_path / "plain_here.py").write_text("X = 1\n")
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={"PYTHONPATH": f"{tmp_path}:{repo}", "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    seen = json.loads(out.stdout)
    # PySide6's check still ran, with its answers: a module naming PySide6 may use features, others not.
    assert seen["verdicts"] == {"asyncio": -1, "uses_qt_here": 0, "plain_here": -1}
    assert seen["cached"] == []
