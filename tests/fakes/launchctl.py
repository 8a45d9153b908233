"""A fake `launchctl` for Linux: answers `print-disabled`, `kickstart -p` and `enable`/`disable` like macOS
does (the last two change what `print-disabled` lists, and print nothing), and logs calls.

Installed as an executable script named `launchctl` in a temp dir; tests give its path to
`LaunchdSource(launchctl=...)` or put the dir on PATH.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

SCRIPT = """#!/bin/sh
printf '%s\\n' "$*" >> {log}
case "$1" in
  print-disabled)
    cat {disabled}
    ;;
  kickstart)
    case "$3" in
      */com.example.missing)
        echo "Could not find service \\"com.example.missing\\" in domain for user gui: 501" >&2
        exit 113 ;;
    esac
    echo 4242
    ;;
  enable|disable)
    label="${{2##*/}}"
    if [ "$1" = disable ]; then state=disabled; else state=enabled; fi
    grep -v "\\"$label\\" =>" {disabled} > {disabled}.tmp
    awk -v line="	\\"$label\\" => $state" '{{ print }} /^disabled services = [{{]/ {{ print line }}' \
      {disabled}.tmp > {disabled}
    rm -f {disabled}.tmp
    ;;
  *) echo "Unrecognized subcommand: $1" >&2; exit 64 ;;
esac
"""


def install_fake_launchctl(directory: Path, disabled: dict[str, bool]) -> tuple[Path, Path]:
    """(path of the fake launchctl, path of its call log)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "launchctl.log"
    listing = directory / "print-disabled.txt"
    lines = [f'\t"{label}" => {"disabled" if off else "enabled"}' for label, off in disabled.items()]
    listing.write_text("disabled services = {\n" + "\n".join(lines) + "\n}\nlogin item associations = {\n}\n")
    exe = directory / "launchctl"
    exe.write_text(SCRIPT.format(log=shlex.quote(str(log)), disabled=shlex.quote(str(listing))))
    exe.chmod(0o755)
    return exe, log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


if __name__ == "__main__":  # pragma: no cover - handy by hand: python -m tests.fakes.launchctl DIR
    print(json.dumps([str(p) for p in install_fake_launchctl(Path(sys.argv[1]), {})]))
