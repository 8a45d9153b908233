"""Run a built bundle the way a user would and report what it costs (used by scripts/check-bundle)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

GOAL_MB = 150


def size_mb(folder: Path) -> float:
    """Bytes on disk; PyInstaller links some libraries twice by symlink, so links don't count."""
    files = (f for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    return sum(f.stat().st_size for f in files) / 1024 / 1024


def main(bundle: str) -> int:
    folder = Path(bundle)
    exe = folder / ("CronMirror.exe" if sys.platform == "win32" else "CronMirror")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    failures = []

    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=env, timeout=60)
    print(f"--version: exit {version.returncode}: {(version.stdout or version.stderr).strip()}")
    if version.returncode != 0 or "CronMirror" not in version.stdout + version.stderr:
        failures.append("--version")

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "frozen.png"
        shot = subprocess.run(
            [str(exe), "--demo", "--screenshot", str(png)],
            capture_output=True,
            text=True,
            env={**env, "CRONMIRROR_DEV_DIR": tmp},
            timeout=120,
        )
        ok = shot.returncode == 0 and png.exists() and png.read_bytes()[:4] == b"\x89PNG"
        print(f"--demo --screenshot: exit {shot.returncode}, PNG {'written' if ok else 'missing'}")
        if not ok:
            print(shot.stderr[-3000:])
            failures.append("--demo --screenshot")

    size = size_mb(folder)
    print(f"bundle size: {size:.0f} MB (goal <= {GOAL_MB} MB)")
    if size > GOAL_MB:
        failures.append("size")
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("bundle OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/CronMirror"))
