"""Run a built bundle the way a user would and report what it costs (used by scripts/check-bundle).

What it checks, in order:
1. `--version`, and `--demo --screenshot` offscreen (the embedded SQLite store, the painted theme and icons,
   text): a 1280×800 PNG.
2. On Linux, the live run of scripts/check_bundle_live.py: Supabase over https, the hosted worker with a
   real subprocess, the gateway's WebSocket client, the xcb platform and the menu-bar icon.
3. What a run here cannot reach is at least in the bundle: the modules imported lazily or only on other
   machines (keyring's Secret Service backend, h2's protocol modules), certifi's CA bundle, tzdata, the
   Qt platform plugins (`REQUIRED_*`), and the root collation in the reduced ICU data.
4. On Linux, every bundled library is loaded by something (reachable by DT_NEEDED from the executable,
   libpython, an extension module or a Qt plugin: what PyInstaller collected for something build.spec
   then dropped shows up here), and every library needed is bundled or one PyInstaller deliberately
   leaves to the system (on the build machine a system copy would hide the gap).
5. The size is what `du -sm` says of the bundle folder (blocks on disk, hard links once, a symlink as the
   link itself), and the goal is on that figure. The list of the largest parts says where it goes.
"""

from __future__ import annotations

import math
import os
import re
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: `du -sm` of the Linux one-folder bundle must not exceed this (MiB, rounded up as du rounds).
GOAL_MB = 120
MIB = 1024 * 1024

#: Modules (in the archive, or an extension module file) and files the bundle must hold, and for what.
REQUIRED_MODULES = {
    "cronmirror_desktop.core.supabasestore": "the Supabase store (imported only when it is configured)",
    "worker.sources.defaults": "the worker's sources (imported by name)",
    "h2.connection": "HTTP/2 to Supabase (httpx imports it only once a server agrees to HTTP/2)",
    "hpack": "HTTP/2 header compression (imported by h2.connection)",
    "hyperframe": "HTTP/2 frames (imported by h2.connection)",
    "keyring.backends.SecretService": "the Linux keychain (found through keyring's entry points)",
    "secretstorage": "the Linux keychain (Secret Service over D-Bus)",
    "jeepney": "the Linux keychain (its D-Bus client)",
    "keyring.backends.macOS": "the macOS keychain",
    "_ssl": "TLS",
    "_sqlite3": "the embedded store",
    "cryptography.hazmat.bindings._rust": "the gateway's Ed25519 device identity, the Secret Service",
    "PySide6.QtNetwork": "the single-instance socket",
}
REQUIRED_FILES = {
    "certifi/cacert.pem": "the CA bundle httpx verifies Supabase's certificate with",
    "tzdata/zoneinfo/Europe/Berlin": "time zones where the system has no zone database",
    "cron_descriptor/locale": "cron_descriptor's texts",
    "keyring-*.dist-info/entry_points.txt": "keyring's list of backends",
    "cronmirror_desktop/resources/icons/cronmirror-256.png": "the app icon",
    "migrations/*.sql": "`doctor` and the docs",
}
LINUX_FILES = {
    "PySide6/Qt/plugins/platforms/libqxcb.so": "X11 desktops",
    "PySide6/Qt/plugins/platforms/libqwayland.so": "Wayland desktops",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so": "--screenshot without a display",
    "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so": "the desktop's dark mode and file dialogs",
    "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so": "dead keys",
}
#: ELF files that are loaded without a DT_NEEDED entry: the bootloader opens libpython with dlopen().
LOADED_BY_NAME = re.compile(r"libpython3\.\d+\.so(\.[\d.]+)?")
#: The dynamic loader is always the system's (PyInstaller's exclude list names it only as ld-linux.so).
SYSTEM_LOADER = re.compile(r"ld-linux[-\w]*\.so(\.\d+)*|ld64\.so(\.\d+)*|ld-musl[-\w]*\.so(\.\d+)*")


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


def internal_dir(folder: Path) -> Path:
    return folder / "_internal" if (folder / "_internal").is_dir() else folder


def archived_modules(exe: Path) -> set[str]:
    """The module names in the executable's PYZ archive (PyInstaller's own reader)."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(exe))
    names: set[str] = set()
    for name, entry in archive.toc.items():
        if entry[-1] == "z":  # the PYZ
            names |= set(archive.open_embedded_archive(name).toc)
    return names


def icu_problem(internal: Path) -> str | None:
    """What the bundled ICU data lacks of what build.spec keeps (packaging/icu_data.py), if anything."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))
    import icu_data

    for library in internal.glob("PySide6/Qt/lib/libicudata.so.*"):
        data = library.read_bytes()
        _symbol, offset, size = icu_data.data_symbol(data)
        _header, items = icu_data.read_items(data[offset : offset + size])
        lacking = set(icu_data.KEEP) - {name.partition("/")[2] for name, _ in items}
        if lacking:
            return f"{library.name} lacks {', '.join(sorted(lacking))}: the collation of the file dialog"
    return None


def missing_contents(folder: Path, exe: Path) -> list[str]:
    """Required modules and files the bundle lacks, each with what needs it."""
    internal = internal_dir(folder)
    archived = archived_modules(exe)
    missing = []
    for module, why in REQUIRED_MODULES.items():
        *package, last = module.split(".")
        places = [internal.joinpath(*package), *internal.glob("python3*/lib-dynload")]
        if module not in archived and not any(any(p.glob(f"{last}.*so")) for p in places):
            missing.append(f"module {module}: {why}")
    files = {**REQUIRED_FILES, **(LINUX_FILES if sys.platform.startswith("linux") else {})}
    missing += [f"{pattern}: {why}" for pattern, why in files.items() if not any(internal.glob(pattern))]
    icu = icu_problem(internal)
    return [*missing, icu] if icu else missing


def needed_libraries(data: bytes) -> list[str]:
    """The DT_NEEDED names of an ELF64 little-endian file (its .dynamic section and string table)."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = []
    for section in sections:
        if section[1] != 6:  # SHT_DYNAMIC
            continue
        strtab_offset = sections[section[6]][4]
        for offset in range(section[4], section[4] + section[5], 16):
            tag, value = struct.unpack_from("<qQ", data, offset)
            if tag == 1:  # DT_NEEDED
                start = strtab_offset + value
                names.append(data[start : data.index(b"\0", start)].decode())
    return names


def library_problems(folder: Path) -> tuple[list[str], list[str]]:
    """(unreachable, unresolved): bundled `lib*.so*` files nothing loads (not reachable by DT_NEEDED from
    the executable, libpython, an extension module or a Qt plugin), and needed libraries that are neither
    bundled nor ones PyInstaller leaves to the system on purpose (libc, libGL, libxcb ...). The second
    matters because on the build machine the system's copy hides a library the bundle lacks."""
    from PyInstaller.depend.dylib import include_library

    elves: dict[Path, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    elves[path] = path.read_bytes()
    by_name: dict[str, list[Path]] = {}
    for path in elves:
        by_name.setdefault(path.name, []).append(path)

    def is_library(path: Path) -> bool:
        return path.name.startswith("lib") and ".so" in path.name and "plugins" not in path.parts

    todo = [p for p in elves if not is_library(p) or LOADED_BY_NAME.fullmatch(p.name)]
    reached = set(todo)
    unresolved = set()
    while todo:
        path = todo.pop()
        for name in needed_libraries(elves[path]):
            if name not in by_name and include_library(name) and not SYSTEM_LOADER.fullmatch(name):
                unresolved.add(f"{name} (needed by {path.relative_to(folder).as_posix()})")
            for found in by_name.get(name, ()):
                if found not in reached:
                    reached.add(found)
                    todo.append(found)
    unreachable = sorted(p.relative_to(folder).as_posix() for p in elves if p not in reached)
    return unreachable, sorted(unresolved)


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
        size = png_size(png.read_bytes()) if png.exists() else None
        ok = shot.returncode == 0 and size == (1280, 800)
        shown = f"{size[0]}×{size[1]}" if size else "missing"
        print(f"--demo --screenshot: exit {shot.returncode}, PNG {shown}")
        if not ok:
            print(shot.stderr[-3000:])
            failures.append("--demo --screenshot")

    if sys.platform.startswith("linux"):
        failures += live_run(exe)

    missing = missing_contents(folder, exe)
    print("contents: every required module and file is there" if not missing else "contents missing:")
    for item in missing:
        print(f"  {item}")
    if missing:
        failures.append("contents")

    if sys.platform.startswith("linux"):
        stray, unresolved = library_problems(folder)
        if not stray and not unresolved:
            print("libraries: each is loaded by something, and each one needed is there")
        for name in stray:
            print(f"  loaded by nothing: {name}")
        for name in unresolved:
            print(f"  needed but not bundled: {name}")
        if stray:
            failures.append("libraries nothing loads (drop them in build.spec, or explain a dlopen here)")
        if unresolved:
            failures.append("libraries needed but not bundled")

    size = report_size(folder)
    print(f"bundle size: {size} MB by du -sm (goal <= {GOAL_MB} MB)")
    if size > GOAL_MB:
        failures.append("size")
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("bundle OK")
    return 0


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk; None if it is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def live_run(exe: Path) -> Iterable[str]:
    """scripts/check_bundle_live.py; its failures (a missing prerequisite is one: nothing is skipped)."""
    import check_bundle_live as live

    missing = live.missing_prerequisites()
    if missing:
        print("live run: cannot run here, this machine lacks " + "; ".join(missing))
        return ["live run (prerequisites)"]
    print("live run: Supabase over https, hosted worker, OpenClaw gateway, menu-bar icon (about a minute)")
    try:
        live.run_live(exe)
    except live.LiveCheckError as exc:
        print(f"live run FAILED: {exc}")
        return ["live run"]
    return []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/CronMirror"))
