"""The first frame carries only what it shows: what a start-up path leaves out of `sys.modules`.

Start-up time is spent mostly importing (docs/desktop-app.md, "Start-up and shut-down"). The window does
not need the Supabase client, HTTP, the keychain or the hosted worker to show jobs from the embedded
store, so those are imported only when something uses them: a Supabase store is opened, the Control API
is configured, a secret is read, the worker starts. Each test runs a real `cronmirror-desktop` in a fresh
interpreter (this process has imported everything already) and reads that interpreter's `sys.modules`
once its screenshot, the first frame with data, is saved. How fast that is stays in bench/ (`first_paint_ms`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Imported only by a Supabase store, the Control API client or a secret read.
NETWORK_AND_SECRETS = (
    "supabase",
    "realtime",
    "postgrest",
    "httpx",
    "websockets",
    "cronmirror_desktop.core.supabasestore",
    "cronmirror_desktop.core.controlapi.client",
)
#: The hosted worker's own parts (the demo seeds its store with the real sync code, which is not these).
HOSTED_WORKER = (
    "worker.hosted",
    "worker.configured",
    "worker.service",
    "worker.executor",
    "worker.sources.defaults",
    "worker.sources.gateway",
    "cryptography",
)
#: Dialogs and servers that are opened later, if ever.
LATER = (
    "cronmirror_desktop.ui.settings_dialog",
    "cronmirror_desktop.ui.add_job_dialog",
    "cronmirror_desktop.ui.single_instance",
    "PySide6.QtNetwork",
)

#: Runs `main(argv)` and prints the modules it left imported (argv comes as JSON in sys.argv[1]).
PROBE = """
import json, sys
from cronmirror_desktop.__main__ import main
code = main(json.loads(sys.argv[1]))
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

#: Imports the app's module only.
IMPORT_ONLY = """
import json, sys
import cronmirror_desktop.ui.app
print(json.dumps({"code": 0, "modules": sorted(sys.modules)}))
"""


def loaded_modules(tmp_path: Path, script: str, *argv: str) -> set[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUPABASE_", "VITE_", "CONTROL_API", "CRONMIRROR_"))
    }
    environ.update(
        QT_QPA_PLATFORM="offscreen",
        CRONMIRROR_DEV_DIR=str(tmp_path / "dev"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(argv))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    return set(result["modules"])


def imported(modules: set[str], families: tuple[str, ...]) -> list[str]:
    """The modules of `modules` that are one of `families` or inside one of them."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in families))


def test_importing_the_app_imports_no_store_network_worker_or_dialog(tmp_path: Path) -> None:
    modules = loaded_modules(tmp_path, IMPORT_ONLY)
    assert "PySide6.QtWidgets" in modules  # the probe saw a real import
    assert imported(modules, (*NETWORK_AND_SECRETS, "keyring", *HOSTED_WORKER, *LATER)) == []
    assert imported(modules, ("worker",)) == []


def test_the_demo_screenshot_path_leaves_the_network_keychain_and_hosted_worker_out(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    modules = loaded_modules(tmp_path, PROBE, "--demo", "--screenshot", str(shot))
    assert shot.stat().st_size > 0
    assert "worker.sync" in modules  # the demo's store is filled by the real worker code
    assert imported(modules, (*NETWORK_AND_SECRETS, "keyring", *HOSTED_WORKER, *LATER)) == []


@pytest.mark.parametrize("flags", [["--local"], []], ids=["local", "nothing-configured"])
def test_the_embedded_store_path_imports_no_worker_network_or_dialog(
    tmp_path: Path, flags: list[str]
) -> None:
    shot = tmp_path / "local.png"
    store = tmp_path / "jobs.sqlite3"
    modules = loaded_modules(tmp_path, PROBE, *flags, "--store-file", str(store), "--screenshot", str(shot))
    assert shot.stat().st_size > 0
    assert "cronmirror_desktop.core.localstore" in modules
    assert imported(modules, (*NETWORK_AND_SECRETS, *LATER)) == []
    assert imported(modules, ("worker",)) == []
