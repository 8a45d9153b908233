"""Run a built bundle the way a user would and report what it costs (used by scripts/check-bundle).

The size is what `du -sm` says of the bundle folder (blocks on disk, hard links once, a symlink as the
link itself), and the goal is on that figure. The list of the largest parts says where it goes.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: `du -sm` of the Linux one-folder bundle must not exceed this (MiB, rounded up as du rounds).
GOAL_MB = 120
MIB = 1024 * 1024


@dataclass(frozen=True)
class Part:
    path: Path
    size: int  # bytes on disk, as du counts them
    is_dir: bool


def disk_usage(root: Path) -> dict[Path, int]:
    """Bytes on disk of `root` and of everything under it, like `du -a -B1`: every file and directory
    counts its allocated blocks, a hard-linked file only the first time, a symlink as itself."""
    seen: set[tuple[int, int]] = set()
    sizes: dict[Path, int] = {}

    def walk(path: Path) -> int:
        info = path.lstat()
        own = 0
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            own = info.st_blocks * 512
        if path.is_dir() and not path.is_symlink():
            own += sum(walk(child) for child in sorted(path.iterdir()))
        sizes[path] = own
        return own

    walk(root)
    return sizes


def largest_parts(root: Path, sizes: dict[Path, int], count: int = 20) -> list[Part]:
    """The `count` largest parts of the bundle, disjoint: a directory is opened (listed as its contents)
    while one of its entries is big enough to be in the list itself, so `PySide6/Qt/lib` shows its
    libraries but `tzdata/zoneinfo`, 600 small files, stays one line."""
    frontier = [root]
    opened: set[Path] = set()
    while True:
        frontier.sort(key=lambda p: sizes[p], reverse=True)
        threshold = sizes[frontier[count - 1]] if len(frontier) >= count else 0
        for path in frontier[:count]:
            if path in opened or not path.is_dir() or path.is_symlink():
                continue
            children = list(path.iterdir())
            opened.add(path)
            if path == root or (children and max(sizes[c] for c in children) > threshold):
                frontier.remove(path)
                frontier.extend(children)
                break
        else:
            return [Part(p, sizes[p], p.is_dir() and not p.is_symlink()) for p in frontier[:count]]


def report_size(folder: Path) -> int:
    """Print the largest parts and `du -sm`; return the latter."""
    sizes = disk_usage(folder)
    print(f"largest parts of {folder} (bytes on disk):")
    for part in largest_parts(folder, sizes):
        name = part.path.relative_to(folder).as_posix() + ("/" if part.is_dir else "")
        print(f"  {part.size / MIB:7.1f} MiB  {name}")
    return math.ceil(sizes[folder] / MIB)


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

    size = report_size(folder)
    print(f"bundle size: {size} MB by du -sm (goal <= {GOAL_MB} MB)")
    if size > GOAL_MB:
        failures.append("size")
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("bundle OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/CronMirror"))
